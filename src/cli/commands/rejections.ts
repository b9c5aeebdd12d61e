import { parseCommandArgs, parseInteger } from "../args.ts";
import { type Command, EXIT } from "../command.ts";
import { CONFIG_OPTION, loadFromArgs, openConfiguredLedger } from "../context.ts";

export const rejectionsCommand: Command = {
  name: "rejections",
  usage: `Usage: capi-sync rejections [--run ID] [--connection NAME] [--limit N] [--json] [--config FILE]

Lists rejected rows, newest first: the row key, the event_id, Meta's code/subcode (or the local
validation code), the field and the reason, with the fbtrace_id Meta support asks for. No customer
data is ever stored, so none is shown. Fix the data or mapping, then \`capi-sync replay --rejected\`.`,

  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      ...CONFIG_OPTION,
      run: { type: "string" },
      connection: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean", default: false },
    });
    const ledger = await openConfiguredLedger(await loadFromArgs(io, values.config));
    try {
      const runId = parseInteger(values.run, "--run");
      const rejections = await ledger.rejections({
        ...(runId !== undefined && { runId }),
        ...(values.connection && { connection: values.connection }),
        limit: parseInteger(values.limit, "--limit") ?? 100,
      });
      for (const r of rejections) {
        if (values.json) {
          io.stdout.write(`${JSON.stringify(r)}\n`);
          continue;
        }
        const code = `${r.code ?? "?"}${r.subcode ? `/${r.subcode}` : ""}`;
        io.stdout.write(
          `run ${r.runId} ${r.connection} key=${r.key} ${code}${r.path ? ` at ${r.path}` : ""}: ${r.message}` +
            `${r.fbtraceId ? ` (fbtrace_id ${r.fbtraceId})` : ""}\n`,
        );
      }
      if (!values.json && rejections.length === 0) io.stdout.write("no rejections\n");
      return EXIT.ok;
    } finally {
      await ledger.close();
    }
  },
};
