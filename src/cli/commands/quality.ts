import { dryRun, MATCH_KEYS, type MatchKey, matchKeysOf } from "../../sync/dry-run.ts";
import { parseCommandArgs, parseInteger } from "../args.ts";
import { type Command, EXIT } from "../command.ts";
import { CONFIG_OPTION, loadFromArgs, selectConnections } from "../context.ts";

export const qualityCommand: Command = {
  name: "quality",
  usage: `Usage: capi-sync quality [CONNECTION...] [--limit N] [--json] [--config FILE]

Match-key coverage per event name, from the source as it would be sent (after normalization, so a
malformed email does not count): the share of events carrying em, ph, external_id, fn+ln, fbp, fbc,
client IP + user agent, zp, db, madid. More keys mean better Event Match Quality in Meta. Reads up to
N rows per connection (default 100000); nothing is sent.`,

  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { ...CONFIG_OPTION, limit: { type: "string" }, json: { type: "boolean", default: false } },
      true,
    );
    const loaded = await loadFromArgs(io, values.config);
    const limit = parseInteger(values.limit, "--limit") ?? 100_000;
    for (const [name, connection] of selectConnections(loaded, positionals)) {
      const byEvent = new Map<string, { events: number; keys: Map<MatchKey, number> }>();
      for await (const item of dryRun({
        name,
        connection,
        defaults: loaded.config.defaults,
        baseDir: loaded.baseDir,
        limit,
      })) {
        if (!item.event) continue;
        const eventName = item.event.event_name ?? "(none)";
        let entry = byEvent.get(eventName);
        if (!entry) {
          entry = { events: 0, keys: new Map() };
          byEvent.set(eventName, entry);
        }
        entry.events++;
        for (const key of matchKeysOf(item.event)) entry.keys.set(key, (entry.keys.get(key) ?? 0) + 1);
      }
      for (const [eventName, { events, keys }] of byEvent) {
        const shares = Object.fromEntries(
          MATCH_KEYS.map((k) => [k, Math.round(((keys.get(k) ?? 0) / events) * 1000) / 10]),
        );
        if (values.json) {
          io.stdout.write(
            `${JSON.stringify({ connection: name, event_name: eventName, events, coverage_pct: shares })}\n`,
          );
        } else {
          const cells = MATCH_KEYS.map((k) => `${k} ${shares[k]}%`).join("  ");
          io.stdout.write(`${name} ${eventName} (${events} events): ${cells}\n`);
        }
      }
    }
    return EXIT.ok;
  },
};
