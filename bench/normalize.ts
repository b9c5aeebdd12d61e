// Normalize + hash + validate throughput on one thread: `npm run bench:normalize [-- --rows N]`.
// Rows come from bench/messy-rows.ts in chunks generated outside the timed sections, so memory
// stays flat and the clock sees only the per-event work: user_data through normalizeUserData,
// the event assembled from the other fields as a mapping would, then validateEvent.
import { parseArgs } from "node:util";
import type { ServerEvent } from "../src/meta/event.ts";
import { normalizeUserData } from "../src/meta/normalize.ts";
import { validateEvent } from "../src/meta/validate.ts";
import { canonicalEventName } from "../src/meta/vocabulary.ts";
import { type MessyRow, messyRows } from "./messy-rows.ts";

const CHUNK_ROWS = 1_000;

const { values } = parseArgs({ options: { rows: { type: "string", default: "1000000" } } });
const rows = Number(values.rows);
if (!Number.isInteger(rows) || rows <= 0) {
  process.stderr.write("--rows must be a positive integer\n");
  process.exit(2);
}

function toEvent(row: MessyRow): ServerEvent {
  const { user_data } = normalizeUserData(
    {
      em: row.em,
      ph: row.ph,
      fn: row.fn,
      ln: row.ln,
      ct: row.ct,
      st: row.st,
      zp: row.zp,
      country: row.country,
      db: row.db,
      ge: row.ge,
      external_id: row.external_id,
      client_ip_address: row.client_ip_address,
      client_user_agent: row.client_user_agent,
      fbp: row.fbp,
      fbc: row.fbc,
    },
    { defaultCountry: "US" },
  );
  const event: ServerEvent = {
    event_name: canonicalEventName(row.event_name),
    event_time: row.event_time,
    action_source: row.action_source as ServerEvent["action_source"],
    user_data,
    custom_data: { value: row.value, currency: row.currency, contents: row.contents },
  };
  if (row.event_source_url) event.event_source_url = row.event_source_url;
  return event;
}

const now = Math.floor(Date.now() / 1000);
const source = messyRows(rows, { seed: 1, now });
let timedNs = 0n;
let cpuMicros = 0;
let events = 0;
let withErrors = 0;
let warnings = 0;
while (events < rows) {
  const chunk: MessyRow[] = [];
  // next() rather than for-of: breaking out of for-of would close the generator.
  for (let step = source.next(); !step.done; step = source.next()) {
    chunk.push(step.value);
    if (chunk.length === CHUNK_ROWS) break;
  }
  if (chunk.length === 0) break;
  const cpuBefore = process.threadCpuUsage();
  const started = process.hrtime.bigint();
  for (const row of chunk) {
    const result = validateEvent(toEvent(row), { now });
    if (result.errors.length > 0) withErrors++;
    warnings += result.warnings.length;
  }
  timedNs += process.hrtime.bigint() - started;
  const cpu = process.threadCpuUsage(cpuBefore);
  cpuMicros += cpu.user + cpu.system;
  events += chunk.length;
}

const seconds = Number(timedNs) / 1e9;
const cpuSeconds = cpuMicros / 1e6;
process.stdout.write(
  `${JSON.stringify({
    bench: "normalize+hash+validate",
    events,
    seconds: Number(seconds.toFixed(3)),
    events_per_sec: Math.round(events / seconds),
    // This thread's CPU time in the same sections: what the rate would be on an idle core.
    cpu_seconds: Number(cpuSeconds.toFixed(3)),
    events_per_cpu_sec: Math.round(events / cpuSeconds),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    events_with_errors: withErrors,
    validation_warnings: warnings,
    node: process.version,
    date: new Date().toISOString(),
  })}\n`,
);
