// The collector inside `serve`, in-process against the emulator: delivery runs in a process of its
// own (a file ledger) or in serve's (a ledger in memory), and either way the service's metrics,
// readiness, logs and shutdown behave as for scheduled runs. Killing the delivery process, or
// ending it at the grace period, loses no acknowledged event.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { type Ledger, openLedger } from "../../src/ledger/index.ts";
import { collectorRunner } from "../../src/service/collector-runner.ts";
import {
  configSecrets,
  createServiceLogger,
  type RunningService,
  readServiceConfig,
  startService,
} from "../../src/service/index.ts";

const DATASET = "770011223344";
const TOKEN = "EAAC-canary-collector-token-51f0";
const EXPIRED_TOKEN = "EAAC-canary-collector-expired-9a3c";
const WRITE_KEY = "collector-runner-write-key-4411";
const AUTH = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`;
const CANARY_EMAIL = "Zelda.Collector+runner@Example.net";

interface Served {
  readonly service: RunningService;
  readonly ledger: Ledger;
  readonly logs: () => Array<Record<string, unknown> & { level: string; msg: string }>;
}

async function serve(dir: string, options: { token?: string; state?: string; graphUrl: string }) {
  await writeFile(
    join(dir, "capi-sync.yaml"),
    `state: ${JSON.stringify(options.state ?? "state.db")}
connections:
  web:
    source: { kind: collector, write_keys: ["${WRITE_KEY}"], max_delay_ms: 50 }
    key: messageId
    mapping: { preset: segment }
    destination: { dataset_id: "${DATASET}", access_token: "${options.token ?? TOKEN}", graph_url: "${options.graphUrl}", batch_size: 10 }
`,
  );
  const loaded = await loadConfig(join(dir, "capi-sync.yaml"), {});
  const service = readServiceConfig({ service: { port: 0, log_level: "info" } });
  const captured: Buffer[] = [];
  const destination = new PassThrough();
  destination.on("data", (chunk: Buffer) => captured.push(chunk));
  const logger = createServiceLogger({
    level: service.log_level,
    destination,
    secrets: configSecrets(loaded.config),
  });
  const ledger = await openLedger(options.state === ":memory:" ? ":memory:" : join(dir, "state.db"));
  const running = await startService({
    loaded,
    service,
    ledger,
    logger,
    processMetrics: false,
    attachCollector: collectorRunner(),
  });
  const served: Served = {
    service: running,
    ledger,
    logs: () =>
      Buffer.concat(captured)
        .toString("utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown> & { level: string; msg: string }),
  };
  return served;
}

function purchase(id: string, withValue = true) {
  return {
    type: "track",
    event: "Order Completed",
    messageId: id,
    userId: `user-${id}`,
    timestamp: new Date().toISOString(),
    context: { ip: "203.0.113.10", userAgent: "Mozilla/5.0", traits: { email: CANARY_EMAIL } },
    properties: { order_id: id, currency: "eur", ...(withValue && { revenue: 42.5 }) },
  };
}

async function post(url: string, messages: unknown[]): Promise<number> {
  const response = await fetch(`${url}/v1/batch`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: AUTH },
    body: JSON.stringify({ batch: messages }),
  });
  await response.arrayBuffer();
  return response.status;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function metric(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const present = (match[2] ?? "").split(",");
    if (wanted.every((label) => present.includes(label))) sum += Number(match[3]);
  }
  return sum;
}

/** Until serve's queue for `web` is empty: every event delivered and acknowledged. */
async function untilAcknowledged(url: string): Promise<void> {
  await until(
    async () => (await metric(url, "capi_sync_collector_queue_depth", { connection: "web" })) === 0,
    10_000,
    "every event acknowledged",
  );
}

/** This process's children running the collector's delivery process (Linux: /proc), by pid. */
function deliveryChildren(): number[] {
  if (!existsSync("/proc/self/stat")) return [];
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (parent === process.pid && command.includes("collector-delivery-process")) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Posts purchases with these ids and waits until a request carrying them is on the wire to Meta. */
async function postUntilOnTheWire(url: string, ids: readonly string[]): Promise<void> {
  assert.equal(
    await post(
      url,
      ids.map((id) => purchase(id)),
    ),
    200,
  );
  await until(
    async () => (await metric(url, "capi_sync_requests_in_flight", { connection: "web" })) > 0,
    10_000,
    "a batch on the wire",
  );
}

const uniqueDelivered = (emulator: RunningEmulator): number =>
  emulator.store.stats()[DATASET]?.live.unique ?? 0;

describe("serve's collector delivery", () => {
  let emulator: RunningEmulator;
  const dirs: string[] = [];
  const workspace = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), "capi-sync-collector-runner-"));
    dirs.push(dir);
    return dir;
  };
  before(async () => {
    emulator = await startEmulator({
      port: 0,
      datasets: [{ id: DATASET, tokens: [TOKEN], expiredTokens: [EXPIRED_TOKEN] }],
    });
  });
  after(async () => {
    await emulator.close();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("delivers from a process of its own, and serve's metrics count every batch", async () => {
    emulator.store.reset();
    const startedAt = Math.floor(Date.now() / 1000);
    const s = await serve(await workspace(), { graphUrl: emulator.url });
    try {
      const children = deliveryChildren();
      if (existsSync("/proc/self/stat")) assert.equal(children.length, 1, "one delivery process");
      const messages = [
        ...Array.from({ length: 28 }, (_, i) => purchase(`ok-${i}`)),
        // A Purchase without a value: the validator rejects it, so a rejection code is counted.
        purchase("no-value-1", false),
        purchase("no-value-2", false),
      ];
      assert.equal(await post(s.service.url, messages), 200);
      await until(() => uniqueDelivered(emulator) >= 28, 15_000, "delivery");
      const url = s.service.url;
      await untilAcknowledged(url);
      assert.equal(
        await metric(url, "capi_sync_rows_total", { connection: "web", outcome: "delivered" }),
        28,
      );
      assert.equal(await metric(url, "capi_sync_rows_total", { connection: "web", outcome: "rejected" }), 2);
      assert.equal(await metric(url, "capi_sync_rejections_total", { connection: "web" }), 2);
      assert.ok(
        (await metric(url, "capi_sync_requests_total", { connection: "web", outcome: "success" })) >= 3,
      );
      assert.equal(await metric(url, "capi_sync_requests_in_flight", { connection: "web" }), 0);
      assert.ok(
        (await metric(url, "capi_sync_last_successful_run_timestamp_seconds", { connection: "web" })) >=
          startedAt,
      );
      const counts = await s.ledger.countsByState("web");
      assert.equal(counts.delivered, 28);
      assert.equal(counts.rejected, 2);
      assert.equal(JSON.stringify(s.logs()).includes(CANARY_EMAIL), false, "no customer data in logs");
    } finally {
      assert.equal((await s.service.shutdown({ graceMs: 5000 })).clean, true);
      await s.ledger.close();
    }
    assert.deepEqual(deliveryChildren(), [], "the delivery process ends with serve");
  });

  it("halts a connection whose token Meta refuses: one error line, /readyz 503, events stay queued", async () => {
    emulator.store.reset();
    const s = await serve(await workspace(), { graphUrl: emulator.url, token: EXPIRED_TOKEN });
    try {
      const url = s.service.url;
      assert.equal(await post(url, [purchase("refused-1"), purchase("refused-2")]), 200);
      await until(async () => (await fetch(`${url}/readyz`)).status === 503, 15_000, "the halt");
      const body = (await (await fetch(`${url}/readyz`)).json()) as {
        halted: Array<{ connection: string; kind: string; message: string }>;
      };
      assert.deepEqual(
        body.halted.map((h) => [h.connection, h.kind]),
        [["web", "auth"]],
      );
      assert.equal(await metric(url, "capi_sync_connection_halted", { connection: "web" }), 1);
      // Still accepted (Segment's libraries would otherwise drop them), and kept for the fix.
      assert.equal(await post(url, [purchase("refused-3")]), 200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await metric(url, "capi_sync_collector_queue_depth", { connection: "web" }), 3);
      assert.equal(uniqueDelivered(emulator), 0);
      const errors = s.logs().filter((line) => line.level === "error" || line.level === "fatal");
      assert.equal(errors.length, 1, `one error line: ${JSON.stringify(errors)}`);
      assert.equal(errors[0]?.connection, "web");
      assert.equal(errors[0]?.halted, true);
      assert.equal(errors[0]?.code, 190);
      assert.match(errors[0]?.msg ?? "", /halted/);
      assert.equal(
        JSON.stringify(s.logs()).includes(EXPIRED_TOKEN),
        false,
        "the token never reaches the logs",
      );
    } finally {
      await s.service.shutdown({ graceMs: 5000 });
      await s.ledger.close();
    }
  });

  it("keeps a halted connection halted when its delivery process is restarted", async (t) => {
    if (!existsSync("/proc/self/stat")) return t.skip("finds the delivery process through /proc");
    emulator.store.reset();
    const requestsToMeta = async (): Promise<number> =>
      ((await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as { requests: { logged: number } })
        .requests.logged;
    const s = await serve(await workspace(), { graphUrl: emulator.url, token: EXPIRED_TOKEN });
    try {
      const url = s.service.url;
      assert.equal(await post(url, [purchase("halt-1")]), 200);
      await until(async () => (await fetch(`${url}/readyz`)).status === 503, 15_000, "the halt");
      const before = await requestsToMeta();
      const [first] = deliveryChildren();
      assert.ok(first !== undefined);
      process.kill(first, "SIGKILL");
      await until(() => deliveryChildren().some((pid) => pid !== first), 10_000, "a new delivery process");
      assert.equal(await post(url, [purchase("halt-2")]), 200);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(await requestsToMeta(), before, "nothing more is sent for a halted connection");
      assert.equal(s.logs().filter((line) => line.halted === true).length, 1, "the halt is logged once");
      assert.equal((await fetch(`${url}/readyz`)).status, 503);
      assert.equal(await metric(url, "capi_sync_collector_queue_depth", { connection: "web" }), 2);
    } finally {
      await s.service.shutdown({ graceMs: 5000 });
      await s.ledger.close();
    }
  });

  it("restarts a delivery process that dies, and delivers everything it had not acknowledged", async (t) => {
    if (!existsSync("/proc/self/stat")) return t.skip("finds the delivery process through /proc");
    const slow = await startEmulator({
      port: 0,
      datasets: [{ id: DATASET, tokens: [TOKEN] }],
      latencyMs: 400,
    });
    const s = await serve(await workspace(), { graphUrl: slow.url });
    try {
      const url = s.service.url;
      const ids = Array.from({ length: 60 }, (_, i) => `crash-${i}`);
      await postUntilOnTheWire(url, ids);
      const [first] = deliveryChildren();
      assert.ok(first !== undefined);
      process.kill(first, "SIGKILL");
      await until(() => (slow.store.stats()[DATASET]?.live.unique ?? 0) >= ids.length, 20_000, "delivery");
      const events = slow.store.events(DATASET, { test: false });
      assert.deepEqual(
        [...new Set(events.map((e) => (e.event as { event_id: string }).event_id))].sort(),
        [...ids].sort(),
      );
      await untilAcknowledged(url);
      assert.notEqual(deliveryChildren()[0], first, "a new delivery process");
      assert.equal(await metric(url, "capi_sync_requests_in_flight", { connection: "web" }), 0);
      assert.ok(s.logs().some((line) => line.level === "error" && /stopped unexpectedly/.test(line.msg)));
      assert.equal((await s.ledger.countsByState("web")).delivered, ids.length);
    } finally {
      await s.service.shutdown({ graceMs: 5000 });
      await s.ledger.close();
      await slow.close();
    }
  });

  it("ends delivery at the grace period; the next start delivers what was not acknowledged, once", async () => {
    const slow = await startEmulator({
      port: 0,
      datasets: [{ id: DATASET, tokens: [TOKEN] }],
      latencyMs: 3000,
    });
    const dir = await workspace();
    const ids = Array.from({ length: 20 }, (_, i) => `grace-${i}`);
    const first = await serve(dir, { graphUrl: slow.url });
    try {
      const url = first.service.url;
      await postUntilOnTheWire(url, ids);
      const stopping = Date.now();
      const result = await first.service.shutdown({ graceMs: 300 });
      assert.ok(Date.now() - stopping < 2500, `shut down ${Date.now() - stopping} ms after the signal`);
      assert.equal(result.clean, false, "the batch on the wire outlived the grace period");
    } finally {
      await first.ledger.close();
      await slow.close();
    }
    await until(() => deliveryChildren().length === 0, 5000, "the delivery process to end");

    emulator.store.reset();
    const second = await serve(dir, { graphUrl: emulator.url });
    try {
      await until(() => uniqueDelivered(emulator) >= ids.length, 15_000, "delivery after the restart");
      // Meta's stand-in holds an event before its answer reaches the ledger.
      await until(
        async () => (await second.ledger.countsByState("web")).delivered === ids.length,
        5000,
        "every answer recorded",
      );
      assert.equal(emulator.store.stats()[DATASET]?.live.duplicates, 0);
    } finally {
      await second.service.shutdown({ graceMs: 5000 });
      await second.ledger.close();
    }
  });

  it("delivers in serve's own process when the ledger is in memory, over one connection to Meta for every micro-batch", async () => {
    emulator.store.reset();
    // Counts the TCP connections the delivery opens to Meta's stand-in.
    let connections = 0;
    const proxy = createServer((socket) => {
      connections++;
      const upstream = connect(emulator.port, "127.0.0.1");
      socket.pipe(upstream).pipe(socket);
      const end = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on("error", end).on("close", end);
      upstream.on("error", end).on("close", end);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const { port } = proxy.address() as AddressInfo;
    const s = await serve(await workspace(), { graphUrl: `http://127.0.0.1:${port}`, state: ":memory:" });
    try {
      assert.deepEqual(deliveryChildren(), [], "no delivery process for a ledger in memory");
      const url = s.service.url;
      // Three micro-batches, each delivered before the next is posted.
      for (let batch = 0; batch < 3; batch++) {
        const messages = Array.from({ length: 4 }, (_, i) => purchase(`mem-${batch}-${i}`));
        assert.equal(await post(url, messages), 200);
        await until(() => uniqueDelivered(emulator) >= 4 * (batch + 1), 15_000, `micro-batch ${batch}`);
      }
      await untilAcknowledged(url);
      assert.equal(
        await metric(url, "capi_sync_rows_total", { connection: "web", outcome: "delivered" }),
        12,
      );
      assert.equal((await s.ledger.countsByState("web")).delivered, 12);
      assert.equal(
        await metric(url, "capi_sync_requests_total", { connection: "web", outcome: "success" }),
        3,
        "each micro-batch's request is counted",
      );
      assert.equal(connections, 1, "the micro-batches share one keep-alive connection");
      assert.deepEqual(
        s.logs().filter((line) => line.msg === "delivery finished"),
        [],
        "no info line per micro-batch",
      );
    } finally {
      assert.equal((await s.service.shutdown({ graceMs: 5000 })).clean, true);
      await s.ledger.close();
      proxy.close();
    }
  });
});
