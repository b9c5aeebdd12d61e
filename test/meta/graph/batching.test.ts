// Serialized events, request bodies, batch cutting, the AIMD window and bisection, without a network.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  BatchBuilder,
  type BatchLimits,
  BufferPool,
  bodyBytes,
  bodySuffix,
  buildBody,
  type PendingEvent,
  splitIntoBatches,
} from "../../../src/meta/graph/batch.ts";
import { type AttemptResult, deliverWithBisection } from "../../../src/meta/graph/bisect.ts";
import type { DeliveryError } from "../../../src/meta/graph/index.ts";
import { AimdWindow, type WindowStats } from "../../../src/meta/graph/window.ts";

const suffix = bodySuffix({ test_event_code: "TEST42", partner_agent: "capi-sync", upload_tag: undefined });

/** Feeds payloads through a builder the way the client does; returns the batches and the refused. */
function build(payloads: unknown[], limits: BatchLimits) {
  const builder = new BatchBuilder<number>(limits, suffix, new BufferPool(limits.maxBodyBytes, 2));
  const batches: { events: PendingEvent<number>[]; body: Buffer }[] = [];
  const tooBig: number[] = [];
  payloads.forEach((payload, ref) => {
    const json = JSON.stringify(payload);
    if (builder.add(ref, json, Infinity)) return;
    if (builder.size > 0) batches.push(builder.take());
    if (!builder.add(ref, json, Infinity)) tooBig.push(ref);
  });
  if (builder.size > 0) batches.push(builder.take());
  return { batches, tooBig };
}

describe("request bodies", () => {
  it("writes the events into the body Meta expects, with the top-level parameters", () => {
    const { batches } = build([{ n: 1 }, { s: 'é"' }], { maxEvents: 1000, maxBodyBytes: 10_000 });
    assert.equal(batches.length, 1);
    const batch = batches[0] as { events: PendingEvent<number>[]; body: Buffer };
    const expected = { data: [{ n: 1 }, { s: 'é"' }], test_event_code: "TEST42", partner_agent: "capi-sync" };
    assert.deepEqual(JSON.parse(batch.body.toString()), expected);
    // A sub-batch body is built from the events' own bytes.
    assert.deepEqual(JSON.parse(buildBody(batch.events, suffix).toString()), expected);
    assert.deepEqual(JSON.parse(buildBody(batch.events.slice(1), suffix).toString()).data, [{ s: 'é"' }]);
    assert.equal(bodyBytes(batch.events, suffix), batch.body.length);
  });
});

describe("batch cutting", () => {
  const payloads = fc.array(fc.record({ t: fc.string({ maxLength: 80, unit: "binary" }), n: fc.integer() }), {
    maxLength: 300,
  });

  it("respects the count and byte limits, keeps order, and refuses only events too big alone", () => {
    fc.assert(
      fc.property(
        payloads,
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 80, max: 2000 }),
        (list, maxEvents, maxBodyBytes) => {
          const limits: BatchLimits = { maxEvents, maxBodyBytes };
          const { batches, tooBig } = build(list, limits);
          const alone = (i: number) =>
            Buffer.byteLength(`{"data":[${JSON.stringify(list[i])}`) + suffix.length <= maxBodyBytes;
          assert.deepEqual(
            tooBig,
            list.map((_, i) => i).filter((i) => !alone(i)),
          );
          const sent = batches.flatMap((b) => b.events.map((e) => e.ref));
          assert.deepEqual(
            sent,
            list.map((_, i) => i).filter((i) => alone(i)),
          );
          for (const batch of batches) {
            assert.ok(batch.events.length >= 1 && batch.events.length <= maxEvents);
            assert.ok(batch.body.length <= maxBodyBytes, "body over the byte cap");
            assert.deepEqual(
              JSON.parse(batch.body.toString()).data,
              batch.events.map((e) => JSON.parse(JSON.stringify(list[e.ref]))),
            );
          }
          // Greedy: a batch closes only when the event offered next would not fit (an event too big
          // even alone also closes it: it was offered, and refused).
          for (let i = 0; i + 1 < batches.length; i++) {
            const batch = batches[i] as { events: PendingEvent<number>[] };
            const offered = (batch.events.at(-1) as PendingEvent<number>).ref + 1;
            if (tooBig.includes(offered)) continue;
            const next = (batches[i + 1] as { events: PendingEvent<number>[] })
              .events[0] as PendingEvent<number>;
            assert.equal(next.ref, offered);
            const withNext = bodyBytes([...batch.events, next], suffix);
            assert.ok(batch.events.length === maxEvents || withNext > maxBodyBytes);
          }
          // Re-cutting the same events (as bisection does) gives batches within the same limits.
          for (const part of splitIntoBatches(
            batches.flatMap((b) => b.events),
            limits,
            suffix,
          )) {
            assert.ok(part.length <= maxEvents && bodyBytes(part, suffix) <= maxBodyBytes);
          }
        },
      ),
    );
  });
});

describe("AimdWindow", () => {
  it("sends the first request alone, then opens to the maximum", async () => {
    const window = new AimdWindow(8);
    assert.equal(window.limit, 1);
    await window.acquire();
    let second = false;
    const waiting = window.acquire().then(() => {
      second = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(second, false, "second request must wait for the first answer");
    window.onSuccess();
    await waiting;
    assert.equal(window.limit, 8);
  });

  it("halves once per round of throttles and grows back by one per window of successes", async () => {
    const changes: WindowStats[] = [];
    const window = new AimdWindow(16, { onChange: (s) => changes.push(s) });
    await window.acquire();
    window.onSuccess();
    window.release();
    const tickets = await Promise.all(Array.from({ length: 16 }, () => window.acquire()));
    for (const ticket of tickets) window.onThrottle(ticket);
    assert.equal(window.limit, 8, "a burst of throttles from one round is one signal");
    for (let i = 0; i < 16; i++) window.release();
    const next = await window.acquire();
    window.onThrottle(next);
    assert.equal(window.limit, 4);
    window.release();
    for (let i = 0; i < 4; i++) window.onSuccess();
    assert.equal(window.limit, 5);
    for (let i = 0; i < 5; i++) window.onSuccess();
    assert.equal(window.limit, 6);
    assert.deepEqual(
      changes.map((c) => c.limit),
      [16, 8, 4, 5, 6],
    );
  });

  it("never goes below one", async () => {
    const window = new AimdWindow(2);
    for (let i = 0; i < 5; i++) {
      const ticket = await window.acquire();
      window.onThrottle(ticket);
      window.release();
    }
    assert.equal(window.limit, 1);
  });

  it("rejects a waiting acquire when its signal aborts", async () => {
    const window = new AimdWindow(1);
    await window.acquire();
    const abort = new AbortController();
    const waiting = window.acquire(abort.signal);
    abort.abort(new Error("stop"));
    await assert.rejects(waiting, /stop/);
  });
});

describe("bisection", () => {
  const failure: DeliveryError = {
    source: "meta",
    code: 100,
    error_subcode: 2804009,
    message: "Invalid parameter",
  };

  /** Meta's atomic batches: one bad event rejects the request; the error names no event. */
  async function run(n: number, bad: ReadonlySet<number>) {
    const delivered: number[] = [];
    const rejected: number[] = [];
    let requests = 0;
    const attempt = async (events: number[]): Promise<AttemptResult<number>> => {
      requests++;
      if (events.some((e) => bad.has(e))) return { kind: "invalid", sent: events, error: failure };
      delivered.push(...events);
      return { kind: "accepted_all" };
    };
    const events = Array.from({ length: n }, (_, i) => i);
    await deliverWithBisection(events, {
      attempt,
      reject: (e, error) => {
        assert.equal(error, failure);
        rejected.push(e);
      },
      rejectTooLarge: () => assert.fail("no event is too large here"),
      rebatch: (set) => [set],
    });
    return { delivered, rejected, requests };
  }

  it("isolates each bad event, delivers every good one once, within ⌈log2 n⌉+1 extra requests per bad", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 1000 })
          .chain((n) =>
            fc.tuple(fc.constant(n), fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 6 })),
          ),
        async ([n, badList]) => {
          const bad = new Set(badList);
          const { delivered, rejected, requests } = await run(n, bad);
          assert.deepEqual(
            [...rejected].sort((a, b) => a - b),
            [...bad].sort((a, b) => a - b),
          );
          assert.equal(delivered.length, n - bad.size);
          assert.equal(new Set(delivered).size, delivered.length, "an event was delivered twice");
          assert.ok(delivered.every((e) => !bad.has(e)));
          const budget = 1 + bad.size * (Math.ceil(Math.log2(n)) + 1);
          assert.ok(
            requests <= budget,
            `${requests} requests for ${bad.size} bad among ${n} (budget ${budget})`,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("probes only left halves: none wasted when the bad event is last, one set-aside request when first", async () => {
    // Last: the right half shrinks 1000→500→250→125→62→31→15→7→3→1, one probe per step.
    assert.equal((await run(1000, new Set([999]))).requests, 1 + 9);
    // First: left halves 500→250→125→63→32→16→8→4→2→1, then one request for all the set-aside halves.
    assert.equal((await run(1000, new Set([0]))).requests, 1 + 10 + 1);
    assert.equal((await run(1, new Set([0]))).requests, 1);
  });

  it("does not infer a culprit when part of the left half was not delivered", async () => {
    // Event 0 expires before the first probe: its absence must not make event 1 look guilty.
    const rejected: number[] = [];
    const delivered: number[] = [];
    let first = true;
    await deliverWithBisection([0, 1, 2, 3], {
      attempt: async (events) => {
        if (first) {
          first = false;
          return { kind: "invalid", sent: events, error: failure };
        }
        const sent = events.filter((e) => e !== 0);
        if (sent.includes(3)) return { kind: "invalid", sent, error: failure };
        delivered.push(...sent);
        return sent.length === events.length ? { kind: "accepted_all" } : { kind: "settled" };
      },
      reject: (e) => rejected.push(e),
      rejectTooLarge: () => assert.fail(),
      rebatch: (set) => [set],
    });
    assert.deepEqual(rejected, [3]);
    assert.deepEqual(delivered.sort(), [1, 2]);
  });
});
