// The client against the emulator: faults, bisection, byte caps, back-pressure, latency.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { type FaultOptions, type RunningEmulator, startEmulator } from "../../../src/emulator/index.ts";
import type { ServerEvent } from "../../../src/meta/event.ts";
import {
  type EventOutcome,
  eventJson,
  GraphClient,
  type GraphClientOptions,
  NOT_A_JSON_OBJECT,
  type OutboundEvent,
  type QueuedSource,
  type RequestReport,
  serializeEvent,
} from "../../../src/meta/graph/index.ts";
import { DATASET, purchaseWithoutValue, TOKEN, unhashedEmail, validEvent } from "./helpers.ts";

const FAST = { backoff: { baseMs: 2, capMs: 20 }, timeoutMs: 2000 } as const;

interface Delivery {
  readonly outcomes: Map<number, EventOutcome[]>;
  readonly reports: RequestReport[];
  readonly error: unknown;
}

async function deliver(
  emulator: { url: string },
  events: ServerEvent[],
  options: Partial<GraphClientOptions> = {},
  datasetId = DATASET,
): Promise<Delivery> {
  const reports: RequestReport[] = [];
  const client = new GraphClient({
    accessToken: TOKEN,
    graphUrl: emulator.url,
    ...FAST,
    ...options,
    onRequest: (r) => reports.push(r),
  });
  const outcomes = new Map<number, EventOutcome[]>();
  let error: unknown;
  try {
    await client.dataset<number>(datasetId).send(
      events.map((event, ref) => ({ ref, event })),
      {
        onOutcome: (ref, outcome) => {
          const list = outcomes.get(ref) ?? [];
          list.push(outcome);
          outcomes.set(ref, list);
        },
      },
    );
  } catch (caught) {
    error = caught;
  } finally {
    await client.close();
  }
  return { outcomes, reports, error };
}

/** Every event has exactly one outcome: delivered unless its index is listed as bad. */
function assertOutcomes(result: Delivery, count: number, bad: ReadonlyMap<number, number> = new Map()): void {
  assert.equal(result.error, undefined);
  assert.equal(result.outcomes.size, count);
  for (let ref = 0; ref < count; ref++) {
    const list = result.outcomes.get(ref) ?? [];
    assert.equal(list.length, 1, `event ${ref} has ${list.length} outcomes`);
    const outcome = list[0] as EventOutcome;
    const subcode = bad.get(ref);
    if (subcode === undefined) {
      assert.equal(outcome.status, "delivered", `event ${ref}: ${JSON.stringify(outcome)}`);
      continue;
    }
    assert.equal(outcome.status, "rejected", `bad event ${ref}: ${JSON.stringify(outcome)}`);
    if (outcome.status !== "rejected") continue;
    assert.equal(outcome.error.source, "meta");
    assert.equal(outcome.error.code, 100);
    assert.equal(outcome.error.error_subcode, subcode);
    assert.ok(outcome.error.error_user_title && outcome.error.error_user_msg && outcome.error.fbtrace_id);
  }
}

function events(count: number, bad: ReadonlyMap<number, number> = new Map()): ServerEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const subcode = bad.get(i);
    if (subcode === 2804009) return purchaseWithoutValue(i);
    if (subcode === 2804016) return unhashedEmail(i);
    return validEvent(i);
  });
}

/**
 * Duplicates in the emulator can only come from requests the client could not know the fate of:
 * a lost response is processed then retried (so it must be duplicated), a timeout or reset might be.
 */
function assertDuplicatesExplained(emulator: RunningEmulator, result: Delivery): void {
  const stats = emulator.store.stats()[DATASET]?.live;
  assert.ok(stats);
  const lost = emulator.store
    .requests()
    .filter((r) => r.fault === "lostResponse")
    .reduce((sum, r) => sum + (r.eventsReceived ?? 0), 0);
  const unknownFate = result.reports
    .filter((r) => r.outcome === "timeout" || r.outcome === "network")
    .reduce((sum, r) => sum + r.events, 0);
  assert.ok(stats.duplicates >= lost, `${stats.duplicates} duplicates, ${lost} events in lost responses`);
  assert.ok(
    stats.duplicates <= unknownFate,
    `${stats.duplicates} duplicates, ${unknownFate} events of unknown fate`,
  );
}

describe("delivery under faults", () => {
  const count = 2000;
  const bad = new Map([
    [17, 2804009],
    [1203, 2804016],
  ]);
  const cases: ReadonlyArray<readonly [string, FaultOptions]> = [
    ["no fault", {}],
    ["serverError", { serverError: 0.3 }],
    ["transient", { transient: 0.3 }],
    ["throttle", { throttle: 0.3 }],
    ["timeout", { timeout: 0.2, timeoutHoldMs: 800 }],
    ["drop", { drop: 0.3 }],
    ["lostResponse", { lostResponse: 0.3 }],
    [
      "a 20% mix",
      { serverError: 0.04, transient: 0.04, throttle: 0.04, timeout: 0.02, drop: 0.03, lostResponse: 0.03 },
    ],
  ];
  for (const [name, faults] of cases) {
    it(`${name}: every valid event delivered once, bad ones rejected with Meta's fields`, async () => {
      const emulator = await startEmulator({ port: 0, faults: { seed: 42, timeoutHoldMs: 800, ...faults } });
      try {
        const result = await deliver(emulator, events(count, bad), { maxBatchEvents: 50, timeoutMs: 400 });
        assertOutcomes(result, count, bad);
        const stats = emulator.store.stats()[DATASET]?.live;
        assert.equal(stats?.unique, count - bad.size);
        assertDuplicatesExplained(emulator, result);
        const kinds = Object.keys(faults).filter((k) => k !== "timeoutHoldMs");
        const happened = new Set(emulator.store.requests().map((r) => r.fault));
        const missing = kinds.filter((kind) => !happened.has(kind));
        // Each single fault must occur; the mix's rare kinds may not all come up in ~50 requests.
        assert.ok(missing.length <= (kinds.length > 1 ? 2 : 0), `faults that never happened: ${missing}`);
      } finally {
        await emulator.close();
      }
    });
  }
});

describe("events serialized ahead", () => {
  /** Sends each event as an object and as `serializeEvent` made it; what Meta received, per round. */
  async function both(list: ServerEvent[]) {
    const rounds = [];
    for (const ahead of [false, true]) {
      const emulator = await startEmulator({ port: 0 });
      const client = new GraphClient({ accessToken: TOKEN, graphUrl: emulator.url, ...FAST });
      const outcomes = new Map<number, EventOutcome>();
      try {
        const items: OutboundEvent<number>[] = list.map((event, ref) => {
          const serialized = ahead ? serializeEvent(event) : undefined;
          return serialized === undefined ? { ref, event } : { ref, ...serialized };
        });
        await client.dataset<number>(DATASET).send(items, {
          onOutcome: (ref, outcome) => outcomes.set(ref, outcome),
        });
        const received = emulator.store.events(DATASET).map((r) => JSON.stringify(r.event));
        rounds.push({ outcomes, received });
      } finally {
        await client.close();
        await emulator.close();
      }
    }
    return rounds as [(typeof rounds)[number], (typeof rounds)[number]];
  }

  it("are sent as the same bytes with the same verdicts, the age window read from their fields", async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const list = [
      validEvent(0),
      purchaseWithoutValue(1),
      validEvent(2, nowSeconds - 8 * 86_400),
      { ...validEvent(3, nowSeconds - 30 * 86_400), action_source: "physical_store" as const },
    ];
    const [asObjects, asJson] = await both(list);
    assert.deepEqual(asJson.received, asObjects.received);
    assert.equal(asJson.received.length, 2, "the stale event is never sent");
    /** An outcome less Meta's per-request trace id, which differs between the two rounds. */
    const verdicts = (outcomes: Map<number, EventOutcome>) =>
      JSON.stringify([...outcomes].sort(), (key, value) => (key === "fbtrace_id" ? undefined : value));
    assert.equal(verdicts(asJson.outcomes), verdicts(asObjects.outcomes));
    assert.deepEqual(
      [0, 1, 2, 3].map((ref) => asJson.outcomes.get(ref)?.status),
      ["delivered", "rejected", "expired", "delivered"],
    );
  });

  it("an event that does not serialize is refused alike: no JSON ahead, the client's verdict", async () => {
    const unserializable = { ...validEvent(0), custom_data: { value: 1n } } as unknown as ServerEvent;
    assert.equal(serializeEvent(unserializable), undefined);
    assert.equal(eventJson(unserializable), undefined);
    const [asObjects] = await both([unserializable]);
    assert.deepEqual(asObjects.outcomes.get(0), {
      status: "rejected",
      error: { source: "client", message: NOT_A_JSON_OBJECT },
    });
    assert.deepEqual(asObjects.received, []);
  });
});

describe("bisection against the emulator", () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator({ port: 0 });
  });
  after(() => emulator.close());

  for (const badList of [[613], [0, 1, 500, 998, 999], [250, 251, 252]]) {
    it(`isolates ${badList.length} bad among 1000 within ⌈log2 n⌉+1 extra requests each`, async () => {
      emulator.store.reset();
      const bad = new Map(badList.map((i, k) => [i, k % 2 === 0 ? 2804009 : 2804016]));
      const result = await deliver(emulator, events(1000, bad));
      assertOutcomes(result, 1000, bad);
      const requests = emulator.store.requests().length;
      assert.equal(result.reports.length, requests);
      assert.ok(requests <= 1 + bad.size * (Math.ceil(Math.log2(1000)) + 1), `${requests} requests`);
      const stats = emulator.store.stats()[DATASET]?.live;
      assert.equal(stats?.unique, 1000 - bad.size);
      assert.equal(stats?.duplicates, 0);
    });
  }
});

describe("batch limits", () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator({ port: 0, bodyLimit: 40_000 });
  });
  after(() => emulator.close());

  it("cuts batches by serialized size and rejects an event too big to send alone", async () => {
    emulator.store.reset();
    const list = events(300);
    const huge = validEvent(300);
    huge.custom_data = { ...huge.custom_data, note: "x".repeat(25_000) };
    list.push(huge);
    const result = await deliver(emulator, list, { maxBatchBytes: 20_000 });
    assert.equal(result.error, undefined);
    for (const report of result.reports) assert.ok(report.bytes <= 20_000, `${report.bytes} bytes`);
    const total = list.slice(0, 300).reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e)), 0);
    assert.ok(result.reports.length >= Math.ceil(total / 20_000), `${result.reports.length} requests`);
    const hugeOutcome = result.outcomes.get(300)?.[0];
    assert.equal(hugeOutcome?.status, "rejected");
    assert.equal(hugeOutcome?.status === "rejected" && hugeOutcome.error.source, "client");
    assert.equal(emulator.store.stats()[DATASET]?.live.unique, 300);
    assert.equal([...result.outcomes.values()].filter((o) => o[0]?.status === "delivered").length, 300);
  });

  it("splits in halves when the server answers 413", async () => {
    emulator.store.reset();
    const result = await deliver(emulator, events(400), { maxBatchBytes: 1_000_000 });
    assertOutcomes(result, 400);
    assert.ok(result.reports.some((r) => r.outcome === "too_large"));
    assert.equal(emulator.store.stats()[DATASET]?.live.unique, 400);
  });
});

describe("streaming", () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator({ port: 0, latencyMs: 10 });
  });
  after(() => emulator.close());

  it("pulls from the source only as fast as batches leave (memory stays bounded)", async () => {
    const window = 2;
    const batch = 50;
    let pulled = 0;
    let settled = 0;
    let most = 0;
    async function* source(): AsyncGenerator<OutboundEvent<number>> {
      for (let i = 0; i < 3000; i++) {
        pulled++;
        most = Math.max(most, pulled - settled);
        yield { ref: i, event: validEvent(i) };
      }
    }
    const client = new GraphClient({
      accessToken: TOKEN,
      graphUrl: emulator.url,
      window,
      maxBatchEvents: batch,
    });
    const summary = await client
      .dataset<number>(DATASET)
      .send(source(), { onOutcome: () => settled++ })
      .finally(() => client.close());
    assert.equal(summary.delivered, 3000);
    // The window and half a window more in batches (built ahead or on the wire), one being filled,
    // one in hand.
    assert.ok(most <= (window + Math.ceil(window / 2) + 1) * batch + 1, `${most} events held at once`);
  });

  it("sends a partial batch of a slow source after lingerMs", async () => {
    let resolveSeen: () => void = () => {};
    const seen = new Promise<void>((resolve) => {
      resolveSeen = resolve;
    });
    let delivered = 0;
    async function* slow(): AsyncGenerator<OutboundEvent<number>> {
      for (let i = 0; i < 3; i++) yield { ref: i, event: validEvent(1000 + i) };
      const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 3000).unref());
      assert.notEqual(await Promise.race([seen, timeout]), "timeout", "the partial batch was never sent");
    }
    const client = new GraphClient({ accessToken: TOKEN, graphUrl: emulator.url, lingerMs: 20 });
    const summary = await client
      .dataset<number>(DATASET)
      .send(slow(), {
        onOutcome: (_ref, outcome) => {
          if (outcome.status === "delivered" && ++delivered === 3) resolveSeen();
        },
      })
      .finally(() => client.close());
    assert.equal(summary.delivered, 3);
    assert.equal(summary.requests, 1);
  });
});

/** A queue with a producer that adds `burst` events at a time, then waits for room; counts its waits. */
class BurstQueue implements QueuedSource<number> {
  readonly items: OutboundEvent<number>[] = [];
  iteratorPulls = 0;
  readyTakes = 0;
  #produced = 0;
  readonly #total: number;
  readonly #burst: number;

  constructor(total: number, burst: number) {
    this.#total = total;
    this.#burst = burst;
    this.#refill();
  }

  #refill(): void {
    for (let i = 0; i < this.#burst && this.#produced < this.#total; i++) {
      const ref = this.#produced++;
      this.items.push({ ref, event: validEvent(5000 + ref) });
    }
  }

  takeReady(): OutboundEvent<number> | undefined {
    const item = this.items.shift();
    if (item !== undefined) this.readyTakes++;
    return item;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<OutboundEvent<number>> {
    for (;;) {
      this.iteratorPulls++;
      await new Promise((resolve) => setImmediate(resolve));
      this.#refill();
      const item = this.items.shift();
      if (item === undefined) return;
      yield item;
    }
  }
}

describe("a queued source", () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator({ port: 0 });
  });
  after(() => emulator.close());

  it("takes what the queue holds without a promise per event, and waits on the iterator only when it is empty", async () => {
    const queue = new BurstQueue(2500, 500);
    const refs = new Set<number>();
    const client = new GraphClient({ accessToken: TOKEN, graphUrl: emulator.url, ...FAST });
    const summary = await client
      .dataset<number>(DATASET)
      .send(queue, { onOutcome: (ref, outcome) => outcome.status === "delivered" && refs.add(ref) })
      .finally(() => client.close());
    assert.equal(summary.delivered, 2500);
    assert.equal(refs.size, 2500);
    // Five bursts: one wait on the iterator per burst (and one to learn the end), not one per event.
    assert.ok(queue.iteratorPulls <= 6, `${queue.iteratorPulls} waits on the iterator`);
    assert.equal(queue.readyTakes + queue.iteratorPulls - 1, 2500);
  });

  it("still sends a partial batch after lingerMs while the queue is empty", async () => {
    const queue = new BurstQueue(3, 3);
    let delivered = 0;
    let resolveSeen: () => void = () => {};
    const seen = new Promise<void>((resolve) => {
      resolveSeen = resolve;
    });
    const source: QueuedSource<number> = {
      takeReady: () => queue.takeReady(),
      async *[Symbol.asyncIterator]() {
        const timeout = new Promise<"timeout">((resolve) =>
          setTimeout(() => resolve("timeout"), 3000).unref(),
        );
        assert.notEqual(await Promise.race([seen, timeout]), "timeout", "the partial batch was never sent");
      },
    };
    const client = new GraphClient({ accessToken: TOKEN, graphUrl: emulator.url, lingerMs: 20 });
    const summary = await client
      .dataset<number>(DATASET)
      .send(source, {
        onOutcome: (_ref, outcome) => {
          if (outcome.status === "delivered" && ++delivered === 3) resolveSeen();
        },
      })
      .finally(() => client.close());
    assert.equal(summary.delivered, 3);
    assert.equal(summary.requests, 1);
  });
});

describe("events_received", () => {
  it("leaves a batch pending as ambiguous when Meta counts differently, without resending it", async () => {
    let requests = 0;
    const server = createServer((request, response) => {
      requests++;
      request.resume();
      request.on("end", () => {
        response.setHeader("content-type", "application/json");
        response.end('{"events_received":2,"messages":[],"fbtrace_id":"AmbIgu0us"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const result = await deliver({ url }, events(3));
      assert.equal(requests, 1);
      for (const [, [outcome]] of result.outcomes) {
        assert.deepEqual(outcome, { status: "pending", reason: "ambiguous" });
      }
      assert.equal(result.reports[0]?.events_received, 2);
      assert.equal(result.reports[0]?.fbtrace_id, "AmbIgu0us");
    } finally {
      server.close();
    }
  });
});

describe("latency", () => {
  it("keeps a window of requests in flight: 9 batches at 150 ms take about two round trips", async () => {
    const emulator = await startEmulator({ port: 0, latencyMs: 150, recordEvents: "count" });
    try {
      const started = performance.now();
      const result = await deliver(emulator, events(9000), { window: 8 });
      const elapsed = performance.now() - started;
      assertOutcomes(result, 9000);
      // The first request goes alone, then 8 at once. One at a time would take ≥ 1350 ms.
      assert.ok(elapsed < 1000, `${Math.round(elapsed)} ms`);
    } finally {
      await emulator.close();
    }
  });
});
