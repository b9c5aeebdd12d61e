import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, test } from "node:test";
import {
  BASELINE_REASON,
  type Ledger,
  type LedgerOptions,
  OUTCOME_STATES,
  type Outcome,
  openLedger,
  type RowState,
} from "../../src/ledger/index.ts";

const root = mkdtempSync(join(tmpdir(), "capi-ledger-"));
after(() => rmSync(root, { recursive: true, force: true }));
let opened = 0;

/** A ledger in its own file, with a clock the test moves by hand. */
async function freshLedger(options: LedgerOptions = {}) {
  const clock = { now: 1_700_000_000_000 };
  const path = join(root, `ledger-${++opened}`, "state.db");
  const ledger = await openLedger(path, { now: () => clock.now, ...options });
  return { ledger, clock, path };
}

const deliveredOutcome = (key: string): Outcome => ({ key, state: "delivered", eventId: `ev-${key}` });
const rejectedOutcome = (key: string): Outcome => ({
  key,
  state: "rejected",
  eventId: `ev-${key}`,
  code: 100,
  subcode: 2804003,
  path: "event_time",
  message: "event_time is more than 7 days old",
});
const expiredOutcome = (key: string): Outcome => ({ key, state: "expired", reason: "event_time.too_old" });
const skippedOutcome = (key: string): Outcome => ({ key, state: "skipped", reason: "invalid:user_data" });
const OUTCOME_OF: Record<(typeof OUTCOME_STATES)[number], (key: string) => Outcome> = {
  delivered: deliveredOutcome,
  rejected: rejectedOutcome,
  expired: expiredOutcome,
  skipped: skippedOutcome,
};

async function stateOf(ledger: Ledger, connection: string, key: string): Promise<RowState | undefined> {
  const states = ["delivered", "rejected", "expired", "skipped", "reopened"] as const;
  const found = await ledger.findKeys(connection, { states, limit: 1_000_000 });
  return found.find((record) => record.key === key)?.state;
}

describe("filterNew", () => {
  test("returns every key, in order and with duplicates, for a connection never seen", async () => {
    const { ledger } = await freshLedger();
    assert.deepEqual(await ledger.filterNew("shop", ["b", "a", "b"]), ["b", "a", "b"]);
    assert.deepEqual(await ledger.filterNew("shop", []), []);
    await ledger.close();
  });

  for (const state of OUTCOME_STATES) {
    test(`drops keys whose outcome is ${state} and keeps the others in order`, async () => {
      const { ledger } = await freshLedger();
      const run = await ledger.startRun("shop", { mode: "live" });
      const result = await ledger.recordOutcomes(run, [OUTCOME_OF[state]("k2")]);
      assert.deepEqual(result, { applied: 1, ignored: 0 });
      assert.deepEqual(await ledger.filterNew("shop", ["k1", "k2", "k3", "k2"]), ["k1", "k3"]);
      assert.equal(await stateOf(ledger, "shop", "k2"), state);
      const counts = await ledger.countsByState("shop");
      assert.equal(counts[state], 1);
      assert.equal(
        Object.values(counts).reduce((a, b) => a + b, 0),
        1,
      );
      await ledger.close();
    });
  }
});

describe("outcome precedence", () => {
  for (const later of ["rejected", "expired", "skipped"] as const) {
    test(`a delivered key stays delivered when a later ${later} outcome arrives`, async () => {
      const { ledger } = await freshLedger();
      const run = await ledger.startRun("shop", { mode: "live" });
      await ledger.recordOutcomes(run, [deliveredOutcome("k")]);
      const result = await ledger.recordOutcomes(run, [OUTCOME_OF[later]("k")]);
      assert.deepEqual(result, { applied: 0, ignored: 1 });
      assert.equal(await stateOf(ledger, "shop", "k"), "delivered");
      assert.deepEqual(await ledger.rejections({ runId: run }), []);
      const summary = await ledger.finishRun(run, { status: "completed" });
      assert.deepEqual(summary.counts, { delivered: 1, rejected: 0, expired: 0, skipped: 0 });
      await ledger.close();
    });
  }

  const changes: [first: (typeof OUTCOME_STATES)[number], then: (typeof OUTCOME_STATES)[number]][] = [
    ["rejected", "delivered"],
    ["rejected", "skipped"],
    ["expired", "rejected"],
    ["skipped", "delivered"],
  ];
  for (const [first, then] of changes) {
    test(`a ${first} key becomes ${then}: the latest outcome wins below delivered`, async () => {
      const { ledger } = await freshLedger();
      const run = await ledger.startRun("shop", { mode: "live" });
      await ledger.recordOutcomes(run, [OUTCOME_OF[first]("k")]);
      assert.deepEqual(await ledger.recordOutcomes(run, [OUTCOME_OF[then]("k")]), { applied: 1, ignored: 0 });
      assert.equal(await stateOf(ledger, "shop", "k"), then);
      await ledger.close();
    });
  }

  test("an outcome without an event_id keeps the one recorded before it", async () => {
    const { ledger } = await freshLedger();
    const run = await ledger.startRun("shop", { mode: "live" });
    await ledger.recordOutcomes(run, [rejectedOutcome("k")]);
    await ledger.recordOutcomes(run, [expiredOutcome("k")]);
    const [record] = await ledger.findKeys("shop", { states: ["expired"] });
    assert.equal(record?.eventId, "ev-k");
    assert.equal(record?.reason, "event_time.too_old");
    await ledger.close();
  });
});

describe("outcomes of one call, many rows per statement", () => {
  /** Runs of one state longer and shorter than a statement's rows, repeats within and across runs. */
  function mixedOutcomes(): Outcome[] {
    const outcomes: Outcome[] = [];
    const key = (i: number) => `k${i}`;
    for (let i = 0; i < 150; i++) outcomes.push(deliveredOutcome(key(i)));
    outcomes.push(deliveredOutcome(key(7)));
    for (let i = 150; i < 153; i++) outcomes.push(skippedOutcome(key(i)));
    for (let i = 153; i < 223; i++) {
      outcomes.push(
        i % 3 === 0
          ? { key: key(i), state: "expired", eventId: `ev-${key(i)}`, reason: "retry deadline passed" }
          : expiredOutcome(key(i)),
      );
    }
    outcomes.push(rejectedOutcome(key(153)), rejectedOutcome(key(3)));
    for (const i of [5, 150, 300, 301, 300, 154]) outcomes.push(deliveredOutcome(key(i)));
    for (const i of [0, 302, 155, 303, 302]) outcomes.push(skippedOutcome(key(i)));
    outcomes.push({ key: key(156), state: "expired" });
    return outcomes;
  }

  interface Expected {
    state: string;
    eventId: string | null;
    reason: string | null;
    batch: boolean;
  }

  /** The precedence rules, one outcome at a time: delivered stays, otherwise the latest wins. */
  function expectedRows(outcomes: readonly Outcome[]) {
    const rows = new Map<string, Expected>();
    const counts = { delivered: 0, rejected: 0, expired: 0, skipped: 0 };
    let ignored = 0;
    for (const outcome of outcomes) {
      const before = rows.get(outcome.key);
      if (before?.state === "delivered") {
        ignored++;
        continue;
      }
      const eventId = "eventId" in outcome ? outcome.eventId : undefined;
      const reason = "reason" in outcome ? outcome.reason : undefined;
      rows.set(outcome.key, {
        state: outcome.state,
        eventId: eventId ?? before?.eventId ?? null,
        reason: reason ?? null,
        batch: outcome.state === "delivered" || outcome.state === "rejected",
      });
      counts[outcome.state]++;
    }
    return { rows, counts, ignored };
  }

  for (const hashKeys of [false, true]) {
    test(`every row as if written one by one${hashKeys ? ", keys hashed" : ""}`, async () => {
      const { ledger, path } = await freshLedger({ hashKeys });
      const run = await ledger.startRun("shop", { mode: "live" });
      const outcomes = mixedOutcomes();
      const batchId = await ledger.openBatch(run, { datasetId: "111", events: outcomes.length });
      const result = await ledger.recordOutcomes(run, outcomes, { batchId, fbtraceId: "TRACE" });
      const expected = expectedRows(outcomes);
      assert.deepEqual(result, { applied: outcomes.length - expected.ignored, ignored: expected.ignored });
      const summary = await ledger.finishRun(run, { status: "completed" });
      assert.deepEqual(summary.counts, expected.counts);
      await ledger.close();

      const db = new DatabaseSync(path, { readOnly: true });
      const stored = db
        .prepare("SELECT key, state, event_id, batch_id, rejection_id, reason, run_id FROM row_states")
        .all();
      const names = new Map(
        db
          .prepare("SELECT code, name FROM state_names")
          .all()
          .map((row) => [row.code, row.name]),
      );
      db.close();
      assert.equal(stored.length, expected.rows.size);
      const storedKey = (key: string) => (hashKeys ? createHash("sha256").update(key).digest("hex") : key);
      const byKey = new Map(
        stored.map((row) => [
          row.key instanceof Uint8Array ? Buffer.from(row.key).toString("hex") : String(row.key),
          row,
        ]),
      );
      for (const [key, want] of expected.rows) {
        const row = byKey.get(storedKey(key));
        assert.ok(row, `row ${key} is stored`);
        assert.deepEqual(
          {
            state: names.get(row.state),
            eventId: row.event_id,
            reason: row.reason,
            batch: row.batch_id === batchId,
            rejection: row.rejection_id !== null,
            run: row.run_id,
          },
          { ...want, rejection: want.state === "rejected", run },
          `row ${key}`,
        );
      }
    });
  }
});

describe("replay", () => {
  test("reopens rejected keys since a time; they come back from filterNew until delivered", async () => {
    const { ledger, clock } = await freshLedger();
    const first = await ledger.startRun("shop", { mode: "live" });
    await ledger.recordOutcomes(first, [rejectedOutcome("old"), deliveredOutcome("sent")]);
    clock.now += 60_000;
    const since = new Date(clock.now);
    await ledger.recordOutcomes(first, [rejectedOutcome("recent"), expiredOutcome("stale")]);
    await ledger.finishRun(first, { status: "completed" });

    const rejectedSince = await ledger.findKeys("shop", { states: ["rejected"], since });
    assert.deepEqual(
      rejectedSince.map((record) => record.key),
      ["recent"],
    );
    assert.equal(await ledger.reopen("shop", { states: ["rejected"], since }), 1);
    assert.equal(await stateOf(ledger, "shop", "recent"), "reopened");
    assert.equal(await stateOf(ledger, "shop", "old"), "rejected");
    assert.equal(await stateOf(ledger, "shop", "stale"), "expired");

    const source = ["old", "sent", "recent", "stale", "brand-new"];
    assert.deepEqual(await ledger.filterNew("shop", source, { reopenedOnly: true }), ["recent"]);
    assert.deepEqual(await ledger.filterNew("shop", source), ["recent", "brand-new"]);

    const replay = await ledger.startRun("shop", { mode: "live", kind: "replay" });
    await ledger.recordOutcomes(replay, [deliveredOutcome("recent")]);
    await ledger.finishRun(replay, { status: "completed" });
    assert.deepEqual(await ledger.filterNew("shop", source), ["brand-new"]);
    // The rejection stays in the history after the key is delivered.
    assert.deepEqual(
      (await ledger.rejections({ connection: "shop" })).map((rejection) => rejection.key),
      ["recent", "old"],
    );
    await ledger.close();
  });

  test("reopens expired keys only, all of them without since", async () => {
    const { ledger, clock } = await freshLedger();
    const run = await ledger.startRun("shop", { mode: "live" });
    await ledger.recordOutcomes(run, [expiredOutcome("e1"), rejectedOutcome("r1")]);
    clock.now += 1000;
    await ledger.recordOutcomes(run, [expiredOutcome("e2")]);
    await ledger.finishRun(run, { status: "completed" });
    assert.equal(await ledger.reopen("shop", { states: ["expired"], since: new Date(clock.now + 1) }), 0);
    assert.equal(await ledger.reopen("shop", { states: ["expired"] }), 2);
    assert.deepEqual(await ledger.filterNew("shop", ["e1", "e2", "r1"]), ["e1", "e2"]);
    await ledger.close();
  });
});

describe("baseline (deliver_existing: false)", () => {
  test("keys of the first run are skipped as baseline; later runs see only new keys", async () => {
    const { ledger } = await freshLedger();
    assert.equal(await ledger.baselineCompletedAt("shop"), undefined);

    // A first baseline run that dies before completing: the baseline is still pending.
    const interrupted = await ledger.startRun("shop", { mode: "live", kind: "baseline" });
    const firstChunk = ["a", "b"];
    await ledger.recordOutcomes(
      interrupted,
      (await ledger.filterNew("shop", firstChunk)).map((key) => ({
        key,
        state: "skipped",
        reason: BASELINE_REASON,
      })),
    );
    await ledger.finishRun(interrupted, { status: "failed", error: "source connection lost" });
    assert.equal(await ledger.baselineCompletedAt("shop"), undefined);

    const baseline = await ledger.startRun("shop", { mode: "live", kind: "baseline" });
    const pending = await ledger.filterNew("shop", ["a", "b", "c"]);
    assert.deepEqual(pending, ["c"]);
    await ledger.recordOutcomes(
      baseline,
      pending.map((key) => ({ key, state: "skipped", reason: BASELINE_REASON })),
    );
    await ledger.completeBaseline(baseline);
    await ledger.finishRun(baseline, { status: "completed" });
    assert.ok((await ledger.baselineCompletedAt("shop")) instanceof Date);
    assert.equal(await ledger.baselineCompletedAt("shop", "test"), undefined);

    assert.deepEqual(await ledger.filterNew("shop", ["a", "b", "c", "d"]), ["d"]);
    const skipped = await ledger.findKeys("shop", { states: ["skipped"] });
    assert.deepEqual(skipped.map((record) => [record.key, record.reason]).sort(), [
      ["a", BASELINE_REASON],
      ["b", BASELINE_REASON],
      ["c", BASELINE_REASON],
    ]);
    await ledger.close();
  });
});

describe("test and live namespaces", () => {
  test("a key delivered by a test run is still new for live, and the reverse", async () => {
    const { ledger } = await freshLedger();
    const testRun = await ledger.startRun("shop", { mode: "test" });
    await ledger.recordOutcomes(testRun, [deliveredOutcome("k1")]);
    await ledger.finishRun(testRun, { status: "completed" });
    assert.deepEqual(await ledger.filterNew("shop", ["k1", "k2"]), ["k1", "k2"]);
    assert.deepEqual(await ledger.filterNew("shop", ["k1", "k2"], { mode: "test" }), ["k2"]);

    const liveRun = await ledger.startRun("shop", { mode: "live" });
    await ledger.recordOutcomes(liveRun, [deliveredOutcome("k2")]);
    assert.deepEqual(await ledger.filterNew("shop", ["k1", "k2"], { mode: "test" }), ["k2"]);
    assert.equal((await ledger.countsByState("shop", "test")).delivered, 1);
    assert.equal((await ledger.countsByState("shop", "live")).delivered, 1);
    await ledger.close();
  });

  test("connections do not share keys", async () => {
    const { ledger } = await freshLedger();
    const run = await ledger.startRun("shop", { mode: "live" });
    await ledger.recordOutcomes(run, [deliveredOutcome("k")]);
    assert.deepEqual(await ledger.filterNew("crm", ["k"]), ["k"]);
    await ledger.close();
  });
});

describe("runs", () => {
  test("lifecycle: running, then finished with counts, rows read and a message", async () => {
    const { ledger, clock } = await freshLedger();
    const run = await ledger.startRun("shop", { mode: "live" });
    const running = await ledger.getRun(run);
    assert.equal(running?.status, "running");
    assert.equal(running?.kind, "sync");
    assert.equal(running?.finishedAt, undefined);

    await ledger.recordOutcomes(run, [deliveredOutcome("a"), deliveredOutcome("b"), rejectedOutcome("c")]);
    await ledger.recordOutcomes(run, [expiredOutcome("d"), skippedOutcome("e")]);
    clock.now += 5000;
    const summary = await ledger.finishRun(run, {
      status: "stopped",
      rowsRead: 7,
      error: "access token expired",
    });
    assert.equal(summary.status, "stopped");
    assert.equal(summary.rowsRead, 7);
    assert.equal(summary.error, "access token expired");
    assert.deepEqual(summary.counts, { delivered: 2, rejected: 1, expired: 1, skipped: 1 });
    assert.equal((summary.finishedAt?.getTime() ?? 0) - summary.startedAt.getTime(), 5000);
    assert.deepEqual(await ledger.getRun(run), summary);

    await assert.rejects(ledger.recordOutcomes(run, [deliveredOutcome("f")]), { code: "run_not_running" });
    await assert.rejects(ledger.finishRun(run, { status: "completed" }), { code: "run_not_running" });
    await assert.rejects(ledger.recordOutcomes(run + 100, []), { code: "unknown_run" });
    assert.equal(await ledger.getRun(run + 100), undefined);
    await ledger.close();
  });

  test("one running run per connection and mode", async () => {
    const { ledger } = await freshLedger();
    const live = await ledger.startRun("shop", { mode: "live" });
    await assert.rejects(ledger.startRun("shop", { mode: "live" }), { code: "run_in_progress" });
    const test = await ledger.startRun("shop", { mode: "test" });
    const other = await ledger.startRun("crm", { mode: "live" });
    assert.equal(new Set([live, test, other]).size, 3);
    await ledger.finishRun(live, { status: "completed" });
    assert.ok((await ledger.startRun("shop", { mode: "live" })) > other);
    await ledger.close();
  });

  test("listRuns is newest first, filtered by connection and limited", async () => {
    const { ledger } = await freshLedger();
    const ids: number[] = [];
    for (const connection of ["shop", "crm", "shop", "shop"]) {
      const run = await ledger.startRun(connection, { mode: "live" });
      await ledger.finishRun(run, { status: "completed" });
      ids.push(run);
    }
    assert.deepEqual(
      (await ledger.listRuns()).map((run) => run.id),
      [...ids].reverse(),
    );
    assert.deepEqual(
      (await ledger.listRuns({ connection: "shop", limit: 2 })).map((run) => run.id),
      [ids[3], ids[2]],
    );
    await ledger.close();
  });

  test("events of batches never answered are reported in flight at the end", async () => {
    const { ledger } = await freshLedger();
    const run = await ledger.startRun("shop", { mode: "live" });
    const answered = await ledger.openBatch(run, { datasetId: "111", events: 2 });
    await ledger.openBatch(run, { datasetId: "111", events: 300 });
    await ledger.recordOutcomes(run, [deliveredOutcome("a"), rejectedOutcome("b")], {
      batchId: answered,
      fbtraceId: "TRACE1",
    });
    const summary = await ledger.finishRun(run, { status: "failed", error: "network" });
    assert.equal(summary.inFlightAtEnd, 300);
    await ledger.close();
  });
});

describe("rejections", () => {
  test("carry code, subcode, field, message, dataset and fbtrace_id, by run and by connection", async () => {
    const { ledger } = await freshLedger();
    const shopRun = await ledger.startRun("shop", { mode: "live" });
    const batchId = await ledger.openBatch(shopRun, { datasetId: "1234567890", events: 1 });
    await ledger.recordOutcomes(shopRun, [rejectedOutcome("r1")], { batchId, fbtraceId: "AbCdTrace" });
    await ledger.recordOutcomes(shopRun, [
      {
        key: "r2",
        state: "rejected",
        code: "user_data.em.invalid",
        path: "user_data.em[0]",
        message: "not an email",
      },
    ]);
    const crmRun = await ledger.startRun("crm", { mode: "test" });
    await ledger.recordOutcomes(crmRun, [rejectedOutcome("r3")]);

    const [latest, first] = await ledger.rejections({ runId: shopRun });
    assert.deepEqual(first, {
      runId: shopRun,
      connection: "shop",
      mode: "live",
      key: "r1",
      eventId: "ev-r1",
      datasetId: "1234567890",
      fbtraceId: "AbCdTrace",
      code: 100,
      subcode: 2804003,
      path: "event_time",
      message: "event_time is more than 7 days old",
      at: first?.at,
    });
    assert.ok(first?.at instanceof Date);
    assert.equal(latest?.code, "user_data.em.invalid");
    assert.equal(latest?.datasetId, undefined);
    assert.deepEqual(
      (await ledger.rejections({ connection: "crm" })).map((rejection) => [rejection.key, rejection.mode]),
      [["r3", "test"]],
    );
    assert.equal((await ledger.rejections({ limit: 2 })).length, 2);
    await ledger.close();
  });
});

describe("lifecycle of the handle", () => {
  test("methods fail with `closed` after close", async () => {
    const { ledger } = await freshLedger();
    await ledger.close();
    await assert.rejects(ledger.filterNew("shop", ["k"]), { name: "LedgerError", code: "closed" });
  });

  test("state survives closing and reopening the file", async () => {
    const { ledger, path } = await freshLedger();
    const run = await ledger.startRun("shop", { mode: "live" });
    await ledger.recordOutcomes(run, [deliveredOutcome("k")]);
    await ledger.finishRun(run, { status: "completed" });
    await ledger.close();
    const again = await openLedger(path);
    assert.deepEqual(await again.filterNew("shop", ["k", "j"]), ["j"]);
    assert.equal((await again.getRun(run))?.counts.delivered, 1);
    assert.deepEqual(again.recoveredRuns, []);
    await again.close();
  });

  test(":memory: gives a working ledger without a file", async () => {
    const ledger = await openLedger(":memory:");
    const run = await ledger.startRun("shop", { mode: "live" });
    await ledger.recordOutcomes(run, [deliveredOutcome("k")]);
    assert.deepEqual(await ledger.filterNew("shop", ["k", "j"]), ["j"]);
    await ledger.close();
  });
});
