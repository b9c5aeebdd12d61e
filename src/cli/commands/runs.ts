import { parseCommandArgs, parseInteger } from "../args.ts";
import { type Command, EXIT } from "../command.ts";
import { CONFIG_OPTION, loadFromArgs, openConfiguredLedger } from "../context.ts";

export const runsCommand: Command = {
  name: "runs",
  usage: `Usage: capi-sync runs [CONNECTION] [--limit N] [--json] [--config FILE]

Lists recent runs, newest first: status (completed, stopped, failed, or interrupted when the process
died), rows read and outcomes per state. A stopped run shows why (e.g. Meta refused the token).`,

  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { ...CONFIG_OPTION, limit: { type: "string" }, json: { type: "boolean", default: false } },
      true,
    );
    const ledger = await openConfiguredLedger(await loadFromArgs(io, values.config));
    try {
      const runs = await ledger.listRuns({
        ...(positionals[0] && { connection: positionals[0] }),
        limit: parseInteger(values.limit, "--limit") ?? 20,
      });
      if (values.json) {
        for (const run of runs) io.stdout.write(`${JSON.stringify(run)}\n`);
        return EXIT.ok;
      }
      if (runs.length === 0) io.stdout.write("no runs yet\n");
      for (const r of runs) {
        const c = r.counts;
        io.stdout.write(
          `#${r.id} ${r.connection} ${r.kind}/${r.mode} ${r.status} ${r.startedAt.toISOString()}` +
            ` rows=${r.rowsRead ?? "?"} delivered=${c.delivered} rejected=${c.rejected} expired=${c.expired} skipped=${c.skipped}` +
            `${r.inFlightAtEnd ? ` in_flight_at_end=${r.inFlightAtEnd}` : ""}${r.error ? `\n    ${r.error}` : ""}\n`,
        );
      }
      return EXIT.ok;
    } finally {
      await ledger.close();
    }
  },
};
