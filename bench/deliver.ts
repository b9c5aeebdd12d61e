// Delivery throughput: N valid events through GraphClient to a server on loopback, which runs in a
// child process (this file, with --child) so the two don't share an event loop. Prints one JSON line.
//   node bench/deliver.ts [--events 1000000] [--window 16] [--latency-ms 0] [--batch 1000] [--server emulator|sink]
// --server emulator (default): the project's emulator, which parses, validates and dedups every event.
// --server sink: a bare node:http server that counts events without parsing them, to show what the
//   client alone can do when the server costs (almost) nothing.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { ServerEvent } from "../src/meta/event.ts";
import { GraphClient, type OutboundEvent } from "../src/meta/graph/index.ts";

const DATASET = "1234567890";
const TOKEN = "test-token";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    window: { type: "string", default: "16" },
    "latency-ms": { type: "string", default: "0" },
    batch: { type: "string", default: "1000" },
    server: { type: "string", default: "emulator" },
    child: { type: "boolean", default: false },
  },
});

interface ChildReport {
  readonly received: number;
  readonly unique: number;
  readonly duplicates: number;
  readonly peakRssMb: number;
  readonly cpuSeconds: number;
}

interface Server {
  readonly url: string;
  /** Events received, and how many of them were duplicates (the sink cannot tell: 0). */
  stats(): { received: number; unique: number; duplicates: number };
  close(): Promise<void>;
}

async function startSink(latencyMs: number): Promise<Server> {
  // Each bench event has exactly one "event_name" key, so counting it counts events.
  const marker = Buffer.from('"event_name":');
  let received = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const body = Buffer.concat(chunks);
      let count = 0;
      for (let at = body.indexOf(marker); at >= 0; at = body.indexOf(marker, at + marker.length)) count++;
      received += count;
      if (latencyMs > 0) await sleep(latencyMs);
      response.setHeader("content-type", "application/json; charset=UTF-8");
      response.end(`{"events_received":${count},"messages":[],"fbtrace_id":"Sink"}`);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ received, unique: received, duplicates: 0 }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function startEmulatorServer(latencyMs: number): Promise<Server> {
  const { startEmulator } = await import("../src/emulator/index.ts");
  // "count": dedup keys and counters only, so the emulator's memory is not the stored events.
  const emulator = await startEmulator({ port: 0, latencyMs, recordEvents: "count" });
  return {
    url: emulator.url,
    stats: () => {
      const live = emulator.store.stats()[DATASET]?.live;
      return { received: live?.received ?? 0, unique: live?.unique ?? 0, duplicates: live?.duplicates ?? 0 };
    },
    close: () => emulator.close(),
  };
}

if (args.child) {
  const latencyMs = Number(args["latency-ms"]);
  const server = args.server === "sink" ? await startSink(latencyMs) : await startEmulatorServer(latencyMs);
  process.on("message", async (message) => {
    if (message !== "report") return;
    const usage = process.resourceUsage();
    const report: ChildReport = {
      ...server.stats(),
      peakRssMb: Math.round(usage.maxRSS / 1024),
      cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    };
    process.send?.(report);
    await server.close();
    process.disconnect();
  });
  process.send?.({ url: server.url });
} else {
  await main();
}

/** 1,000 fake customers with SHA-256-shaped hex values, shared by the events: cheap and valid. */
function customers(): ServerEvent["user_data"][] {
  const hex = () => randomBytes(32).toString("hex");
  return Array.from({ length: 1000 }, () => ({
    em: [hex()],
    ph: [hex()],
    fn: [hex()],
    ln: [hex()],
    external_id: [hex()],
    client_ip_address: "203.0.113.7",
    client_user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
    fbp: "fb.1.1700000000000.1234567890",
  }));
}

function* events(count: number): Generator<OutboundEvent<number>> {
  const people = customers();
  const eventTime = Math.floor(Date.now() / 1000) - 60;
  for (let i = 0; i < count; i++) {
    yield {
      ref: i,
      event: {
        event_name: "Purchase",
        event_time: eventTime,
        event_id: `ord-${i}`,
        action_source: "website",
        event_source_url: "https://shop.example/checkout",
        user_data: people[i % people.length] as ServerEvent["user_data"],
        custom_data: { value: 10 + (i % 90), currency: "USD", order_id: `ord-${i}` },
      },
    };
  }
}

async function main(): Promise<void> {
  const count = Number(args.events);
  const window = Number(args.window);
  const latencyMs = Number(args["latency-ms"]);
  const batch = Number(args.batch);
  const childArgs = ["--child", "--server", String(args.server), "--latency-ms", String(latencyMs)];
  const child = fork(new URL(import.meta.url).pathname, childArgs, {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const { url } = await new Promise<{ url: string }>((resolve) => child.once("message", resolve as never));

  let delivered = 0;
  let other = 0;
  const durations: number[] = [];
  const client = new GraphClient({
    accessToken: TOKEN,
    graphUrl: url,
    window,
    maxBatchEvents: batch,
    timeoutMs: 30_000,
    onRequest: (report) => durations.push(report.duration_ms),
  });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const summary = await client.dataset<number>(DATASET).send(events(count), {
    onOutcome: (_ref, outcome) => {
      if (outcome.status === "delivered") delivered++;
      else other++;
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await client.close();

  child.send("report");
  const server = await new Promise<ChildReport>((resolve) => child.once("message", resolve as never));
  const ideal = latencyMs > 0 ? (window * batch) / (latencyMs / 1000) : undefined;
  const result = {
    bench: "deliver",
    server: args.server,
    events: count,
    delivered,
    not_delivered: other,
    requests: summary.requests,
    retries: summary.retries,
    window,
    batch,
    latency_ms: latencyMs,
    seconds: Number(seconds.toFixed(3)),
    events_per_s: Math.round(delivered / seconds),
    batches_per_s: Math.round(summary.requests / seconds),
    ...(ideal === undefined
      ? {}
      : {
          ideal_events_per_s: Math.round(ideal),
          of_ideal: Number((delivered / seconds / ideal).toFixed(3)),
        }),
    request_ms_p50: percentile(durations, 0.5),
    request_ms_p99: percentile(durations, 0.99),
    mb_sent: Math.round(summary.bytes_sent / 1e6),
    client_peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    client_cpu_s: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
    server_peak_rss_mb: server.peakRssMb,
    server_cpu_s: Number(server.cpuSeconds.toFixed(2)),
    server_received: server.received,
    server_unique: server.unique,
    server_duplicates: server.duplicates,
  };
  console.log(JSON.stringify(result));
  if (delivered !== count || server.unique !== count) process.exitCode = 1;
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
}
