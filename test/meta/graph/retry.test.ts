// Retries: throttling (AIMD window, server wait hints), deadlines, attempt limits, aborts.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { startEmulator } from "../../../src/emulator/index.ts";
import type { ServerEvent } from "../../../src/meta/event.ts";
import {
  type EventOutcome,
  GraphClient,
  type GraphClientOptions,
  type RequestReport,
  type SendSummary,
} from "../../../src/meta/graph/index.ts";
import { DATASET, fakeClock, TOKEN, validEvent } from "./helpers.ts";

const HOUR = 3_600_000;

async function run(url: string, events: ServerEvent[], options: Partial<GraphClientOptions> = {}) {
  const outcomes = new Map<number, EventOutcome>();
  const reports: RequestReport[] = [];
  const client = new GraphClient({
    accessToken: TOKEN,
    graphUrl: url,
    backoff: { baseMs: 2, capMs: 20 },
    ...options,
    onRequest: (r) => {
      reports.push(r);
      options.onRequest?.(r);
    },
  });
  let summary: SendSummary;
  try {
    summary = await client.dataset<number>(DATASET).send(
      events.map((event, ref) => ({ ref, event })),
      {
        onOutcome: (ref, outcome) => {
          assert.equal(outcomes.has(ref), false, `event ${ref} got two outcomes`);
          outcomes.set(ref, outcome);
        },
      },
    );
  } finally {
    await client.close();
  }
  return { outcomes, reports, summary };
}

const many = (count: number, nowSeconds?: number) =>
  Array.from({ length: count }, (_, i) => validEvent(i, nowSeconds));

describe("throttling", () => {
  it("halves the window on throttles and grows it back on successes", async () => {
    const emulator = await startEmulator({ port: 0, faults: { seed: 7, throttle: 0.25 } });
    const limits: number[] = [];
    try {
      const { summary } = await run(emulator.url, many(6000), {
        window: 8,
        maxBatchEvents: 50,
        onWindowChange: (_id, stats) => limits.push(stats.limit),
      });
      assert.equal(summary.delivered, 6000);
      assert.ok(summary.throttled > 0);
      // The first request goes alone; a success opens the window to its maximum at once.
      if (emulator.store.requests()[0]?.fault === undefined) assert.equal(limits[0], 8);
      else assert.equal(limits[0], 2, "after a throttled first request the window grows additively");
      const lowest = Math.min(...limits);
      assert.ok(lowest < 8, `never shrank: ${limits}`);
      const afterLowest = limits.slice(limits.indexOf(lowest));
      assert.ok(
        afterLowest.some((limit) => limit > lowest),
        `never grew back: ${limits}`,
      );
      for (let i = 1; i < limits.length; i++) {
        const [prev, next] = [limits[i - 1] as number, limits[i] as number];
        assert.ok(next === prev + 1 || next === Math.floor(prev / 2), `${prev} → ${next}`);
      }
    } finally {
      await emulator.close();
    }
  });

  it("waits at least Retry-After before retrying, and pauses the dataset once for it", async () => {
    const emulator = await startEmulator({
      port: 0,
      faults: { seed: 3, throttle: 0.5, retryAfterSeconds: 7 },
    });
    const clock = fakeClock(Date.now());
    try {
      const { summary } = await run(emulator.url, many(500), { maxBatchEvents: 50, ...clock });
      assert.equal(summary.delivered, 500);
      assert.ok(summary.throttled > 0);
      const throttles = emulator.store.requests().filter((r) => r.fault === "throttle").length;
      assert.equal(summary.throttled, throttles);
      assert.ok(clock.sleeps.filter((ms) => ms >= 7000).length >= 1, `sleeps: ${clock.sleeps}`);
      assert.ok(
        clock.sleeps.every((ms) => ms <= 7000),
        "a hinted wait pauses the dataset once, not once per batch on top",
      );
    } finally {
      await emulator.close();
    }
  });

  it("waits for estimated_time_to_regain_access (minutes) from X-Business-Use-Case-Usage", async () => {
    const emulator = await startEmulator({
      port: 0,
      faults: { seed: 5, throttle: 0.5, throttleRegainMinutes: 2 },
    });
    const clock = fakeClock(Date.now());
    try {
      const { summary } = await run(emulator.url, many(200), { maxBatchEvents: 50, ...clock });
      assert.equal(summary.delivered, 200);
      assert.ok(
        clock.sleeps.some((ms) => ms >= 120_000),
        `sleeps: ${clock.sleeps}`,
      );
    } finally {
      await emulator.close();
    }
  });
});

describe("deadlines", () => {
  it("expires an event whose age deadline passes while retrying, and stops retrying after 47 h", async () => {
    const emulator = await startEmulator({ port: 0, faults: { seed: 1, serverError: 1 } });
    const start = Date.now();
    const clock = fakeClock(start);
    const nowSeconds = Math.floor(start / 1000);
    // Age deadline: event_time + 7 d − 1 h, which is 10 minutes from now.
    const nearlyStale = validEvent(0, nowSeconds - 7 * 86_400 + 3600 + 600);
    const fresh = validEvent(1, nowSeconds);
    const requestTimes: number[] = [];
    try {
      const { outcomes } = await run(emulator.url, [nearlyStale, fresh], {
        ...clock,
        backoff: { baseMs: 60_000, capMs: HOUR },
        maxAttempts: 10_000,
        random: () => 0.99,
        onRequest: () => requestTimes.push(clock.now()),
      });
      for (const ref of [0, 1]) {
        const outcome = outcomes.get(ref);
        assert.equal(outcome?.status, "expired", JSON.stringify(outcome));
        assert.equal(outcome?.status === "expired" && outcome.last_error?.code, 1);
      }
      // The nearly stale event rode only in the requests of its first 10 minutes.
      assert.ok(requestTimes.length >= 40, `${requestTimes.length} requests`);
      assert.ok(
        requestTimes.every((t) => t - start < 47 * HOUR),
        "a request went out after the 47 h budget",
      );
      assert.ok((requestTimes.at(-1) as number) - start > 45 * HOUR, "gave up long before the budget");
      assert.equal(emulator.store.stats()[DATASET]?.live.received, 0);
    } finally {
      await emulator.close();
    }
  });

  it("never sends an event already past its age window; physical_store has 62 days", async () => {
    const emulator = await startEmulator({ port: 0 });
    const nowSeconds = Math.floor(Date.now() / 1000);
    const stale = validEvent(0, nowSeconds - 8 * 86_400);
    const store = { ...validEvent(1, nowSeconds - 30 * 86_400), action_source: "physical_store" as const };
    const staleStore = {
      ...validEvent(2, nowSeconds - 63 * 86_400),
      action_source: "physical_store" as const,
    };
    try {
      const { outcomes } = await run(emulator.url, [stale, store, staleStore]);
      assert.deepEqual(outcomes.get(0), { status: "expired" });
      assert.equal(outcomes.get(1)?.status, "delivered");
      assert.deepEqual(outcomes.get(2), { status: "expired" });
      assert.equal(emulator.store.requests().length, 1);
      assert.equal(emulator.store.stats()[DATASET]?.live.received, 1);
    } finally {
      await emulator.close();
    }
  });

  it("leaves events pending after maxAttempts tries", async () => {
    const emulator = await startEmulator({ port: 0, faults: { seed: 1, transient: 1 } });
    try {
      const { outcomes, summary } = await run(emulator.url, many(5), { maxAttempts: 3 });
      assert.equal(emulator.store.requests().length, 3);
      assert.equal(summary.pending, 5);
      const outcome = outcomes.get(0);
      assert.equal(outcome?.status === "pending" && outcome.reason, "retries_exhausted");
      assert.equal(outcome?.status === "pending" && outcome.last_error?.code, 2);
    } finally {
      await emulator.close();
    }
  });
});

describe("policy blocks and aborts", () => {
  it("pauses for policyPauseMs after code 368, then delivers", async () => {
    let requests = 0;
    const server = createServer((request, response) => {
      requests++;
      request.resume();
      request.on("end", () => {
        response.setHeader("content-type", "application/json");
        if (requests === 1) {
          response.statusCode = 400;
          response.end(
            '{"error":{"code":368,"message":"Temporarily blocked for policies violations","fbtrace_id":"P0l"}}',
          );
        } else {
          response.end('{"events_received":2,"messages":[],"fbtrace_id":"Ok1"}');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const clock = fakeClock(Date.now());
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { summary } = await run(url, many(2), { ...clock, policyPauseMs: 600_000 });
      assert.equal(summary.delivered, 2);
      assert.equal(requests, 2);
      assert.ok(
        clock.sleeps.some((ms) => ms >= 600_000),
        `sleeps: ${clock.sleeps}`,
      );
    } finally {
      server.close();
    }
  });

  it("an aborted send leaves unsettled events pending and resolves", async () => {
    const emulator = await startEmulator({ port: 0, latencyMs: 20 });
    const abort = new AbortController();
    const client = new GraphClient({ accessToken: TOKEN, graphUrl: emulator.url, maxBatchEvents: 100 });
    const statuses: string[] = [];
    try {
      setTimeout(() => abort.abort(), 60);
      const summary = await client.dataset<number>(DATASET).send(
        many(50_000).map((event, ref) => ({ ref, event })),
        { signal: abort.signal, onOutcome: (_ref, o) => statuses.push(o.status) },
      );
      assert.equal(summary.aborted, true);
      assert.ok(summary.delivered > 0 && summary.pending > 0);
      assert.ok(summary.events < 50_000, "stopped pulling from the source");
      assert.equal(summary.delivered + summary.pending, summary.events);
      assert.equal(statuses.length, summary.events);
      assert.equal(emulator.store.stats()[DATASET]?.live.unique, summary.delivered);
    } finally {
      await client.close();
      await emulator.close();
    }
  });
});
