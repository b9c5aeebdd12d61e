// A collector connection's delivery loop on its own, against the emulator and a real ledger: how it
// halts. The queue is a list kept by the test, which records what the loop acknowledges and gives back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ConnectionConfig, connectionSchema } from "../../src/config/schema.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { type Ledger, openLedger } from "../../src/ledger/index.ts";
import type { Logger } from "../../src/meta/graph/index.ts";
import type { QueuedRow, WaitForRowsOptions } from "../../src/service/collector/index.ts";
import {
  type DeliveryLoopOptions,
  type DeliveryQueue,
  type DeliveryReporter,
  deliverLoop,
  type HaltNotice,
} from "../../src/service/collector-delivery.ts";

const DATASET = "660011223344";
const EXPIRED_TOKEN = "EAAC-canary-loop-expired-77d1";

/** Hands its rows out once, then waits (as an empty queue does) until the loop stops. */
class ListQueue implements DeliveryQueue {
  readonly acked: number[] = [];
  readonly released: number[] = [];
  claims = 0;
  readonly #rows: QueuedRow[];

  constructor(rows: QueuedRow[]) {
    this.#rows = rows;
  }

  async waitForRows(_connection: string, options: WaitForRowsOptions): Promise<QueuedRow[]> {
    if (this.claims++ === 0) return this.#rows;
    await new Promise((_, reject) => {
      options.signal?.addEventListener("abort", () => reject(options.signal?.reason), { once: true });
    });
    return [];
  }

  async ack(ids: readonly number[]): Promise<void> {
    this.acked.push(...ids);
  }

  release(ids: readonly number[]): void {
    this.released.push(...ids);
  }
}

function purchase(id: number): QueuedRow {
  return {
    id,
    connection: "web",
    receivedAt: new Date(),
    notes: [],
    message: {
      type: "track",
      event: "Order Completed",
      messageId: `loop-${id}`,
      userId: `user-${id}`,
      timestamp: new Date().toISOString(),
      context: { ip: "203.0.113.10", userAgent: "Mozilla/5.0" },
      properties: { order_id: `o-${id}`, revenue: 12.5, currency: "EUR", email: `u${id}@example.com` },
    },
  };
}

function connection(
  graphUrl: string,
  mapping: Record<string, unknown> = { preset: "segment" },
): ConnectionConfig {
  return connectionSchema.parse({
    source: { kind: "collector", write_keys: ["loop-write-key-0001"] },
    key: "messageId",
    mapping,
    destination: { dataset_id: DATASET, access_token: EXPIRED_TOKEN, graph_url: graphUrl },
  });
}

function recorder() {
  const halts: HaltNotice[] = [];
  const lines: { level: string; fields: object; message: string | undefined }[] = [];
  const at =
    (level: string) =>
    (fields: object, message?: string): void => {
      lines.push({ level, fields, message });
    };
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  const reporter: DeliveryReporter = {
    startBatch: () => ({
      client: {},
      requests: { started() {}, ended() {} },
      recorded() {},
      finished() {},
      failed() {},
    }),
    halted: (_connection, notice) => halts.push(notice),
  };
  return { halts, lines, logger, reporter };
}

/** The loop must end by itself (a halt); a loop still running after `ms` fails the test. */
async function endsWithin(loop: Promise<void>, stop: AbortController, ms: number): Promise<void> {
  const timer = setTimeout(() => stop.abort(new Error("the loop did not halt")), ms);
  try {
    await loop;
  } finally {
    clearTimeout(timer);
  }
  assert.equal(stop.signal.aborted, false, "the loop halted by itself");
}

/** What every test's loop shares: connection "web", no defaults, micro-batches after 10 ms. */
function loopOptions(
  options: Pick<DeliveryLoopOptions, "connection" | "queue" | "ledger" | "logger" | "reporter" | "signal">,
): DeliveryLoopOptions {
  return { name: "web", defaults: undefined, baseDir: process.cwd(), maxDelayMs: 10, ...options };
}

describe("the collector delivery loop", () => {
  let emulator: RunningEmulator;
  let ledger: Ledger;
  before(async () => {
    emulator = await startEmulator({
      port: 0,
      datasets: [{ id: DATASET, tokens: ["unused-token"], expiredTokens: [EXPIRED_TOKEN] }],
    });
    ledger = await openLedger(":memory:");
  });
  after(async () => {
    await ledger.close();
    await emulator.close();
  });

  it("halts on Meta's refusal even when the batch then fails to finish: once, with Meta's code, rows given back", async () => {
    // The ledger fails to close the run after the refusal (a busy file, say): the batch fails, and
    // the connection must still halt rather than retry with a client that no longer sends.
    let failures = 0;
    const flaky = new Proxy(ledger, {
      get(target, property, receiver) {
        if (property === "finishRun")
          return async () => {
            failures++;
            throw Object.assign(new Error("database is locked"), { errstr: "database is locked" });
          };
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const queue = new ListQueue([purchase(1), purchase(2), purchase(3)]);
    const { halts, lines, logger, reporter } = recorder();
    const stop = new AbortController();
    await endsWithin(
      deliverLoop(
        loopOptions({
          connection: connection(emulator.url),
          queue,
          ledger: flaky,
          logger,
          reporter,
          signal: stop.signal,
        }),
      ),
      stop,
      10_000,
    );
    assert.equal(failures, 1);
    assert.equal(halts.length, 1);
    assert.equal(halts[0]?.kind, "auth");
    assert.equal(
      (halts[0]?.fields as { code?: unknown } | undefined)?.code,
      190,
      "the client's line is folded in",
    );
    assert.deepEqual(queue.acked, []);
    assert.deepEqual([...queue.released].sort(), [1, 2, 3]);
    assert.equal(queue.claims, 1, "no batch after the refusal");
    assert.deepEqual(
      lines.filter((line) => line.level === "error"),
      [],
      "the refusal is reported once, by the halt",
    );
    assert.equal(JSON.stringify({ halts, lines }).includes(EXPIRED_TOKEN), false);
  });

  it("pauses after a micro-batch whose run failed before it tries again", async () => {
    // Every claim finds a new row; every run fails, as its client's hook throws after each request.
    let claims = 0;
    const queue: DeliveryQueue = {
      waitForRows: async () => [purchase(100 + claims++)],
      ack: async () => undefined,
      release: () => undefined,
    };
    const { halts, reporter, logger } = recorder();
    const stop = new AbortController();
    let requests = 0;
    // A token the emulator takes: the runs fail by the hook, not by Meta's refusal.
    const valid = connectionSchema.parse({
      source: { kind: "collector", write_keys: ["loop-write-key-0001"] },
      key: "messageId",
      mapping: { preset: "segment" },
      destination: { dataset_id: DATASET, access_token: "unused-token", graph_url: emulator.url },
    });
    const loop = deliverLoop({
      ...loopOptions({ connection: valid, queue, ledger, logger, reporter, signal: stop.signal }),
      name: "web-retry",
      client: {
        onRequest: () => {
          requests++;
          throw new Error("hook blew up");
        },
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    stop.abort();
    await loop;
    assert.deepEqual(halts, []);
    assert.ok(requests >= 1, "the runs reached Meta");
    assert.ok(
      claims >= 1 && claims <= 3,
      `one try a second, not as fast as the loop turns (${claims} claims)`,
    );
  });

  it("halts a connection whose mapping does not compile, before it claims a row", async () => {
    const queue = new ListQueue([purchase(4)]);
    const { halts, reporter, logger } = recorder();
    const stop = new AbortController();
    await endsWithin(
      deliverLoop(
        loopOptions({
          connection: connection(emulator.url, {
            preset: "segment",
            fields: { "custom_data.value": "$sum(" },
          }),
          queue,
          ledger,
          logger,
          reporter,
          signal: stop.signal,
        }),
      ),
      stop,
      5000,
    );
    assert.equal(halts.length, 1);
    assert.equal(halts[0]?.kind, "config");
    assert.match(halts[0]?.message ?? "", /custom_data\.value/);
    assert.equal(queue.claims, 0);
  });
});
