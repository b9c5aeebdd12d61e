import type { LoadedConfig } from "../../config/load.ts";
import type { ConnectionConfig } from "../../config/schema.ts";
import type { Ledger } from "../../ledger/index.ts";
import { type RunCounts, type RunReport, runConnection } from "../../sync/run.ts";
import { parseCommandArgs } from "../args.ts";
import { type Command, type CommandIo, EXIT } from "../command.ts";
import { CONFIG_OPTION, loadFromArgs, openConfiguredLedger, selectConnections } from "../context.ts";
import { formatReport, jsonReport, ProgressLine } from "../report.ts";

export const syncCommand: Command = {
  name: "sync",
  usage: `Usage: capi-sync sync [CONNECTION...] [--config FILE] [--json]

Runs each named connection (default: all) once: reads the source, skips rows already accounted for
in the ledger, maps, normalizes, hashes and validates each new row, delivers valid events to Meta in
batches of up to 1000, and records every row's outcome (delivered, rejected with Meta's or the
validator's reason, expired, skipped). Rows whose fate is unknown when a run stops are sent again by
the next run with the same event_id.

Options:
  -c, --config FILE  config file (default capi-sync.yaml)
  --json             one JSON line per connection:
                     {"connection","rows","delivered","rejected","expired","skipped","pending","duration_ms",...}

Exit: 0 every run completed (rejected rows included), 1 a run failed (e.g. source unreadable),
3 a run stopped on an auth or config error from Meta.`,

  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { ...CONFIG_OPTION, json: { type: "boolean", default: false } },
      true,
    );
    const loaded = await loadFromArgs(io, values.config);
    const connections = selectConnections(loaded, positionals);
    const ledger = await openConfiguredLedger(loaded);
    const reports: RunReport[] = [];
    try {
      for (const [name, connection] of connections) {
        const report = await runAndReport(io, {
          loaded,
          ledger,
          name,
          connection,
          json: values.json,
          kind: "sync",
        });
        reports.push(report);
        if (report.stopKind === "auth" || report.stopKind === "config") break;
      }
    } finally {
      await ledger.close();
    }
    return exitCodeFor(reports);
  },
};

/** Runs one connection with a progress line on a terminal, then prints its report (text or JSON). */
export async function runAndReport(
  io: CommandIo,
  run: {
    loaded: LoadedConfig;
    ledger: Ledger;
    name: string;
    connection: ConnectionConfig;
    json: boolean;
    kind: "sync" | "replay";
  },
): Promise<RunReport> {
  const report = await runWithProgress(io, run.json, (onProgress) =>
    runConnection({
      name: run.name,
      connection: run.connection,
      defaults: run.loaded.config.defaults,
      baseDir: run.loaded.baseDir,
      ledger: run.ledger,
      kind: run.kind,
      ...(onProgress && { onProgress }),
    }),
  );
  io.stdout.write(run.json ? `${JSON.stringify(jsonReport(report))}\n` : formatReport(report));
  return report;
}

export async function runWithProgress(
  io: CommandIo,
  quiet: boolean,
  run: (onProgress: ((counts: RunCounts) => void) | undefined) => Promise<RunReport>,
): Promise<RunReport> {
  const progress = quiet ? undefined : new ProgressLine(io.stderr, "sync");
  try {
    return await run(progress?.update);
  } finally {
    progress?.done();
  }
}

export function exitCodeFor(reports: readonly RunReport[]): number {
  if (reports.some((r) => r.stopKind === "auth" || r.stopKind === "config")) return EXIT.stopped;
  if (reports.some((r) => r.status !== "completed")) return EXIT.invalidInput;
  return EXIT.ok;
}
