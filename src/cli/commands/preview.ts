import { dryRun } from "../../sync/dry-run.ts";
import { parseCommandArgs, parseInteger } from "../args.ts";
import { type Command, EXIT, UsageError } from "../command.ts";
import { CONFIG_OPTION, loadFromArgs, selectConnections } from "../context.ts";

export const previewCommand: Command = {
  name: "preview",
  usage: `Usage: capi-sync preview [CONNECTION] [--limit N] [--json] [--config FILE]

Meta's "payload helper", offline: reads the first N rows (default 5), maps, normalizes and hashes
them, and prints the exact event that would be sent with its validation verdict. Nothing is sent and
nothing is recorded. Customer data appears only hashed, as it would be sent.

Exit: 0 every previewed row is valid, 1 some row would be rejected.`,

  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { ...CONFIG_OPTION, limit: { type: "string" }, json: { type: "boolean", default: false } },
      true,
    );
    if (positionals.length > 1) throw new UsageError("preview takes one connection");
    const loaded = await loadFromArgs(io, values.config);
    const [[name, connection] = []] = selectConnections(loaded, positionals);
    if (!name || !connection) throw new UsageError("no connection configured");
    let invalid = 0;
    for await (const item of dryRun({
      name,
      connection,
      defaults: loaded.config.defaults,
      baseDir: loaded.baseDir,
      limit: parseInteger(values.limit, "--limit") ?? 5,
    })) {
      if (!item.valid) invalid++;
      if (values.json) {
        io.stdout.write(`${JSON.stringify(item)}\n`);
        continue;
      }
      const verdict = item.skipped ? `skipped (${item.skipped})` : item.valid ? "valid" : "INVALID";
      io.stdout.write(
        `── row ${item.rowNumber}${item.key ? ` key ${item.key}` : ""}${item.datasetId ? ` → dataset ${item.datasetId}` : ""}: ${verdict}\n`,
      );
      if (item.event) io.stdout.write(`${JSON.stringify(item.event, null, 2)}\n`);
      for (const e of item.errors) io.stdout.write(`  error   ${e.path}: ${e.message} [${e.code}]\n`);
      for (const w of item.warnings) io.stdout.write(`  warning ${w.path}: ${w.message} [${w.code}]\n`);
    }
    return invalid > 0 ? EXIT.invalidInput : EXIT.ok;
  },
};
