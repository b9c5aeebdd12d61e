// Collector ingestion on loopback: `node bench/collector.ts [--seconds 8] [--synchronous normal|full]
// [--drain] [--deliver] [--phases closed-single,closed-batch,open-single,open-batch]`.
//
// --deliver: the collector runs inside a real `capi-sync serve` that delivers every accepted event
// through the pipeline to the emulator (its own process); the bench waits until Meta's stand-in
// holds every acknowledged event and reports the delivery rate too.
//
// The collector runs in a child process (src/service/collector/standalone.ts); this process is the
// load generator (undici pools). An acknowledgement is the 200 the collector sends after the commit
// that holds the request's messages, so its latency is ingestion + durable commit.
//   closed-*: a fixed number of requests in flight, each sent as soon as the previous returns —
//             the sustained maximum.
//   open-*:   requests sent on a fixed schedule (--rate events/s), latency measured from the planned
//             send time, so a stalled server cannot hide its backlog (no coordinated omission).
// Each phase runs a 1 s warm-up first. Events per request: 1 (single) or --batch (batch).
import { type ChildProcess, fork, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import type { StandaloneConfig, StandaloneStats } from "../src/service/collector/standalone.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    synchronous: { type: "string", default: "normal" },
    drain: { type: "boolean", default: false },
    deliver: { type: "boolean", default: false },
    rate: { type: "string", default: "10000" },
    batch: { type: "string", default: "20" },
    concurrency: { type: "string", default: "32" },
    phases: { type: "string", default: "closed-single,closed-batch,open-single,open-batch" },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const batchSize = Number(values.batch);
const concurrency = Number(values.concurrency);
const synchronous = values.synchronous === "full" ? "full" : "normal";
const phases = values.phases.split(",");

const WRITE_KEY = "bench-key";
const AUTH = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`;
const HEADERS = { "content-type": "application/json", authorization: AUTH };

/** A realistic Order Completed as analytics.js sends it (~1 KB); `@ID@` becomes a unique messageId. */
const TRACK_TEMPLATE = JSON.stringify({
  type: "track",
  event: "Order Completed",
  messageId: "@ID@",
  anonymousId: "0b8a3f7e-6c1d-4e7a-9f1b-2d3c4e5f6a7b",
  userId: "user-4711",
  timestamp: new Date().toISOString(),
  properties: {
    order_id: "o-4711",
    revenue: 59.97,
    currency: "EUR",
    products: [
      { product_id: "sku-1", price: 19.99, quantity: 2 },
      { product_id: "sku-2", price: 19.99, quantity: 1 },
    ],
  },
  context: {
    ip: "198.51.100.23",
    userAgent:
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    page: {
      url: "https://shop.example/checkout/thanks?fbclid=IwAR2xYzAbCdEf",
      referrer: "https://shop.example/cart",
    },
    traits: { email: "jane.doe@example.com", firstName: "Jane", lastName: "Doe", city: "Paris" },
    library: { name: "analytics.js", version: "next-1.70.0" },
  },
}).split("@ID@");

let sequence = 0;
// Bodies are spliced from the template so that the generator spends its CPU on HTTP, not JSON.
function track(): string {
  sequence++;
  return `${TRACK_TEMPLATE[0]}bench-${process.pid}-${sequence}${TRACK_TEMPLATE[1]}`;
}

function body(events: number): { path: string; text: string } {
  if (events === 1) return { path: "/v1/track", text: track() };
  return { path: "/v1/batch", text: `{"batch":[${Array.from({ length: events }, track).join(",")}]}` };
}

interface PhaseResult {
  readonly name: string;
  readonly events: number;
  readonly requests: number;
  readonly failures: number;
  readonly seconds: number;
  readonly latenciesMs: Float64Array;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function send(pool: Pool, events: number): Promise<boolean> {
  const { path, text } = body(events);
  const response = await pool.request({ method: "POST", path, headers: HEADERS, body: text });
  await response.body.dump();
  return response.statusCode === 200;
}

async function closedLoop(pool: Pool, events: number, durationMs: number, inFlight: number) {
  const latencies: number[] = [];
  let failures = 0;
  const end = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        const ok = await send(pool, events).catch(() => false);
        if (ok) latencies.push(performance.now() - started);
        else failures++;
      }
    }),
  );
  return { latencies, failures };
}

async function openLoop(pool: Pool, events: number, durationMs: number, eventsPerSecond: number) {
  const latencies: number[] = [];
  let failures = 0;
  const intervalMs = (1000 * events) / eventsPerSecond;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  let planned = 0;
  while (planned * intervalMs < durationMs) {
    const plannedAt = start + planned * intervalMs;
    const now = performance.now();
    if (plannedAt > now + 1) {
      await sleep(plannedAt - now);
      continue;
    }
    planned++;
    pending.push(
      send(pool, events).then(
        (ok) => {
          if (ok) latencies.push(performance.now() - plannedAt);
          else failures++;
        },
        () => {
          failures++;
        },
      ),
    );
  }
  await Promise.all(pending);
  return { latencies, failures };
}

async function phase(url: string, name: string): Promise<PhaseResult> {
  const [loop, shape] = name.split("-");
  const events = shape === "batch" ? batchSize : 1;
  const inFlight = shape === "batch" ? Math.max(1, Math.round(concurrency / 4)) : concurrency;
  const pool = new Pool(url, { connections: loop === "open" ? 256 : inFlight, pipelining: 1 });
  const run = (durationMs: number) =>
    loop === "open"
      ? openLoop(pool, events, durationMs, rate)
      : closedLoop(pool, events, durationMs, inFlight);
  try {
    await run(1000);
    const started = performance.now();
    const { latencies, failures } = await run(seconds * 1000);
    const elapsed = (performance.now() - started) / 1000;
    const sorted = Float64Array.from(latencies).sort();
    return {
      name,
      events: latencies.length * events,
      requests: latencies.length,
      failures,
      seconds: elapsed,
      latenciesMs: sorted,
    };
  } finally {
    await pool.close();
  }
}

async function stats(child: ChildProcess): Promise<StandaloneStats> {
  child.send("stats");
  const [message] = (await once(child, "message")) as [{ stats: StandaloneStats }];
  return message.stats;
}

/** The columns both modes print for a phase: rate, latency percentiles, failures. */
function phaseColumns(result: PhaseResult): string[] {
  return [
    result.name.padEnd(13),
    (result.events / result.seconds).toFixed(0).padStart(9),
    (result.requests / result.seconds).toFixed(0).padStart(7),
    percentile(result.latenciesMs, 50).toFixed(2).padStart(8),
    percentile(result.latenciesMs, 99).toFixed(2).padStart(8),
    (result.latenciesMs.at(-1) ?? Number.NaN).toFixed(1).padStart(8),
    String(result.failures).padStart(9),
  ];
}

const DATASET = "1234567890";
const TOKEN = "bench-token";

/** The emulator in a process of its own, counting unique events (its memory stays flat). */
async function emulatorChild(): Promise<{ url: string; child: ChildProcess; unique(): Promise<number> }> {
  const script = `import { startEmulator } from ${JSON.stringify(new URL("../src/emulator/index.ts", import.meta.url).href)};
const e = await startEmulator({ port: 0, recordEvents: "count", datasets: [{ id: "${DATASET}", tokens: ["${TOKEN}"] }] });
process.send({ url: e.url });
process.on("message", () => process.send({ unique: e.store.stats()["${DATASET}"]?.live.unique ?? 0 }));`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [{ url }] = (await once(child, "message")) as [{ url: string }];
  return {
    url,
    child,
    async unique() {
      child.send("stats");
      const [message] = (await once(child, "message")) as [{ unique: number }];
      return message.unique;
    },
  };
}

/** `capi-sync serve` with one collector connection delivering to the emulator. */
async function serveChild(dir: string, emulatorUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const configPath = join(dir, "capi-sync.yaml");
  writeFileSync(
    configPath,
    `state: state.db
service: { port: 0, log_level: info }
connections:
  web:
    source: { kind: collector, write_keys: ["${WRITE_KEY}"] }
    key: messageId
    mapping: { preset: segment }
    destination: { dataset_id: "${DATASET}", access_token: "${TOKEN}", graph_url: "${emulatorUrl}" }
`,
  );
  const bin = new URL("../bin/capi-sync.js", import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, "serve", "--config", configPath, "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const found = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (found?.[1]) resolve(found[1]);
    });
    child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  return { url, child };
}

async function deliverMain(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "collector-deliver-bench-"));
  const emulator = await emulatorChild();
  const serving = await serveChild(dir, emulator.url);
  try {
    process.stdout.write(
      `serve ${serving.url} delivering to emulator ${emulator.url}; ${seconds}s per phase, open-loop rate ${rate} events/s, batch ${batchSize}\n\n`,
    );
    process.stdout.write("phase          events/s   req/s   p50 ms   p99 ms   max ms  failures\n");
    const started = performance.now();
    let acknowledged = 0;
    for (const name of phases) {
      const result = await phase(serving.url, name);
      acknowledged += result.events;
      process.stdout.write(`${phaseColumns(result).join(" ")}\n`);
    }
    // Warm-ups are acknowledged too; the emulator must end up holding at least every measured event.
    let unique = await emulator.unique();
    const deadline = performance.now() + 120_000;
    while (unique < acknowledged && performance.now() < deadline) {
      await sleep(250);
      unique = await emulator.unique();
    }
    const elapsed = (performance.now() - started) / 1000;
    process.stdout.write(
      `\n${JSON.stringify({ bench: "collector+deliver", acknowledged_measured: acknowledged, delivered_unique: unique, seconds: Number(elapsed.toFixed(1)), delivered_per_sec: Math.round(unique / elapsed), all_delivered: unique >= acknowledged, node: process.version, date: new Date().toISOString() })}\n`,
    );
  } finally {
    serving.child.kill("SIGTERM");
    await once(serving.child, "exit");
    emulator.child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "collector-bench-"));
  const config: StandaloneConfig = {
    queuePath: join(dir, "queue.db"),
    synchronous,
    drain: values.drain,
    connections: [{ name: "web", writeKeys: [WRITE_KEY] }],
  };
  const child = fork(
    new URL("../src/service/collector/standalone.ts", import.meta.url),
    [JSON.stringify(config)],
    {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  try {
    const [{ url }] = (await once(child, "message")) as [{ url: string }];
    process.stdout.write(
      `collector ${url} (child ${child.pid}), synchronous=${synchronous}, drain=${values.drain}, ` +
        `${seconds}s per phase, open-loop rate ${rate} events/s, batch ${batchSize}\n\n`,
    );
    process.stdout.write(
      "phase          events/s   req/s   p50 ms   p99 ms   max ms  failures  commits  commit ms  server CPU\n",
    );
    for (const name of phases) {
      const before = await stats(child);
      const result = await phase(url, name);
      const afterPhase = await stats(child);
      const cpuSeconds =
        (afterPhase.cpu.user + afterPhase.cpu.system - before.cpu.user - before.cpu.system) /
        1e6 /
        result.seconds;
      const commits = afterPhase.queue.commits - before.queue.commits;
      const row = [
        ...phaseColumns(result),
        String(commits).padStart(8),
        ((afterPhase.queue.writeMsTotal - before.queue.writeMsTotal) / Math.max(1, commits))
          .toFixed(2)
          .padStart(10),
        `${(cpuSeconds * 100).toFixed(0)}%`.padStart(11),
      ];
      process.stdout.write(`${row.join(" ")}\n`);
    }
    const final = await stats(child);
    process.stdout.write(
      `\nstored ${final.queue.rowsAppended} events in ${final.queue.commits} commits; depth ${final.depth}\n`,
    );
  } finally {
    child.kill("SIGTERM");
    await once(child, "exit");
    rmSync(dir, { recursive: true, force: true });
  }
}

await (values.deliver ? deliverMain() : main());
