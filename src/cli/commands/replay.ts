import { parseCommandArgs } from "../args.ts";
import { type Command, EXIT, UsageError } from "../command.ts";
import { CONFIG_OPTION, loadFromArgs, openConfiguredLedger, selectConnections } from "../context.ts";
import { exitCodeFor, runAndReport } from "./sync.ts";

export const replayCommand: Command = {
  name: "replay",
  usage: `Usage: capi-sync replay --rejected|--expired [--since DATE] [CONNECTION...] [--json] [--config FILE]

Sends again the rows whose last outcome was rejected (after you fixed the data or the mapping) or
expired, optionally only those recorded since DATE (ISO 8601). Rows still in the source are read,
judged and delivered as in \`sync\`; rows delivered meanwhile are never sent again.`,

  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...CONFIG_OPTION,
        rejected: { type: "boolean", default: false },
        expired: { type: "boolean", default: false },
        since: { type: "string" },
        json: { type: "boolean", default: false },
      },
      true,
    );
    const states = [
      ...(values.rejected ? ["rejected" as const] : []),
      ...(values.expired ? ["expired" as const] : []),
    ];
    if (states.length === 0) throw new UsageError("say what to replay: --rejected, --expired or both");
    const since = values.since === undefined ? undefined : new Date(values.since);
    if (since && Number.isNaN(since.getTime()))
      throw new UsageError("--since takes an ISO 8601 date or time");
    const loaded = await loadFromArgs(io, values.config);
    const connections = selectConnections(loaded, positionals);
    const ledger = await openConfiguredLedger(loaded);
    const reports = [];
    try {
      for (const [name, connection] of connections) {
        const mode = connection.destination.test_event_code ? "test" : "live";
        const reopened = await ledger.reopen(name, { states, mode, ...(since && { since }) });
        if (!values.json) io.stdout.write(`${name}: ${reopened} row(s) to replay\n`);
        if (reopened === 0) continue;
        reports.push(
          await runAndReport(io, { loaded, ledger, name, connection, json: values.json, kind: "replay" }),
        );
      }
    } finally {
      await ledger.close();
    }
    return reports.length === 0 ? EXIT.ok : exitCodeFor(reports);
  },
};
