import { GraphClient } from "../../meta/graph/index.ts";
import { openSource, type SourceConfig, SourceError } from "../../sources/index.ts";
import { compileConnection } from "../../sync/prepare.ts";
import { parseCommandArgs } from "../args.ts";
import { type Command, EXIT } from "../command.ts";
import { CONFIG_OPTION, loadFromArgs, openConfiguredLedger, selectConnections } from "../context.ts";

export const checkCommand: Command = {
  name: "check",
  usage: `Usage: capi-sync check [CONNECTION...] [--config FILE]

Checks, for each connection (default: all), without sending any event:
  config   the file parses, secrets resolve, the mapping compiles
  state    the ledger opens (and is not from a newer capi-sync)
  source   reachable and readable: files exist, the query runs, the key columns exist
  meta     the Graph API accepts the token for the dataset (an empty request Meta refuses only
           after checking both; nothing is recorded)

Exit: 0 all good, 1 a source or the state failed, 3 Meta refused the token or the dataset.`,

  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { ...CONFIG_OPTION }, true);
    const loaded = await loadFromArgs(io, values.config);
    const say = (ok: boolean, what: string, detail: string) =>
      io.stdout.write(`${ok ? "ok  " : "FAIL"} ${what.padEnd(28)} ${detail}\n`);
    say(true, "config", loaded.path);
    let exit: number = EXIT.ok;
    try {
      const ledger = await openConfiguredLedger(loaded);
      await ledger.close();
      say(true, "state", loaded.config.state);
    } catch (error) {
      say(false, "state", error instanceof Error ? error.message : "unreadable");
      exit = EXIT.invalidInput;
    }
    for (const [name, connection] of selectConnections(loaded, positionals)) {
      compileConnection(name, connection, loaded.config.defaults);
      say(true, `${name}: mapping`, `preset ${connection.mapping.preset}`);
      const source = openSource(connection.source as SourceConfig, { cwd: loaded.baseDir });
      try {
        const { columns } = await source.check();
        const keys = Array.isArray(connection.key) ? connection.key : [connection.key];
        const missing = columns ? keys.filter((k) => !columns.includes(k.split(".")[0] as string)) : [];
        if (missing.length > 0) {
          say(false, `${name}: source`, `${source.describe()}: key column ${missing.join(", ")} not found`);
          exit = Math.max(exit, EXIT.invalidInput);
        } else {
          say(
            true,
            `${name}: source`,
            `${source.describe()}${columns ? ` (${columns.length} columns)` : ""}`,
          );
        }
      } catch (error) {
        say(false, `${name}: source`, error instanceof SourceError ? error.message : "unreadable");
        exit = Math.max(exit, EXIT.invalidInput);
      } finally {
        await source.close();
      }
      const destination = connection.destination;
      if (destination.dataset_id === undefined) {
        say(true, `${name}: meta`, "dataset routed per row: token checked on the first sync");
        continue;
      }
      const client = new GraphClient({
        accessToken: destination.access_token,
        graphUrl: destination.graph_url,
        ...(destination.app_secret && { appSecret: destination.app_secret }),
        ...(destination.api_version && { apiVersion: destination.api_version }),
      });
      try {
        const probe = await client.probe(destination.dataset_id);
        if (probe.ok) say(true, `${name}: meta`, `token accepted for dataset ${destination.dataset_id}`);
        else {
          say(false, `${name}: meta`, probe.message);
          exit =
            probe.kind === "auth" || probe.kind === "config"
              ? EXIT.stopped
              : Math.max(exit, EXIT.invalidInput);
        }
      } finally {
        await client.close();
      }
    }
    return exit;
  },
};
