// ServiceMetrics on its own: counters that follow a run's report whatever progress came before,
// bounded label values, and the collector's counters.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Ledger, Outcome } from "../../src/ledger/index.ts";
import { MAX_CODES_PER_CONNECTION, ServiceMetrics } from "../../src/service/index.ts";
import type { RunCounts, RunReport } from "../../src/sync/run.ts";

async function series(metrics: ServiceMetrics, name: string): Promise<Map<string, number>> {
  const json = await metrics.registry.getSingleMetric(name)?.get();
  const out = new Map<string, number>();
  for (const v of json?.values ?? []) {
    const labels = Object.entries(v.labels)
      .map(([k, l]) => `${k}=${l}`)
      .sort()
      .join(",");
    out.set(labels, v.value);
  }
  return out;
}

function report(counts: RunCounts, status: RunReport["status"] = "completed"): RunReport {
  return { connection: "c", runId: 1, mode: "live", kind: "sync", status, duration_ms: 1500, ...counts };
}

describe("service metrics", () => {
  it("row counters equal the final report, whatever progress was seen (same object, mutated)", async () => {
    const metrics = new ServiceMetrics(["c"], { processMetrics: false });
    const run = metrics.startRun("c");
    const live: RunCounts = { rows: 0, delivered: 0, rejected: 0, expired: 0, skipped: 0, pending: 0 };
    for (let i = 0; i < 5; i++) {
      live.rows += 1000;
      live.delivered += 990;
      live.rejected += 10;
      run.onProgress(live); // runConnection passes its own counts object each time
    }
    run.finished(
      report({ rows: 5200, delivered: 5100, rejected: 50, expired: 2, skipped: 40, pending: 8 }),
      1_700_000_000_000,
    );
    assert.deepEqual(await series(metrics, "capi_sync_rows_read_total"), new Map([["connection=c", 5200]]));
    assert.deepEqual(
      await series(metrics, "capi_sync_rows_total"),
      new Map([
        ["connection=c,outcome=delivered", 5100],
        ["connection=c,outcome=rejected", 50],
        ["connection=c,outcome=expired", 2],
        ["connection=c,outcome=skipped", 40],
        ["connection=c,outcome=pending", 8],
      ]),
    );
    assert.deepEqual(
      await series(metrics, "capi_sync_last_successful_run_timestamp_seconds"),
      new Map([["connection=c", 1_700_000_000]]),
    );
    // A second run adds to the counters and moves the timestamp only if it completes.
    const second = metrics.startRun("c");
    second.finished(
      report({ rows: 10, delivered: 0, rejected: 0, expired: 0, skipped: 0, pending: 10 }, "stopped"),
      1_800_000_000_000,
    );
    assert.equal((await series(metrics, "capi_sync_rows_read_total")).get("connection=c"), 5210);
    assert.equal((await series(metrics, "capi_sync_rows_total")).get("connection=c,outcome=pending"), 18);
    assert.equal(
      (await series(metrics, "capi_sync_last_successful_run_timestamp_seconds")).get("connection=c"),
      1_700_000_000,
    );
    assert.deepEqual(
      await series(metrics, "capi_sync_runs_total"),
      new Map([
        ["connection=c,status=completed", 1],
        ["connection=c,status=stopped", 1],
      ]),
    );
  });

  it("counts rejections by code from what the ledger recorded, capped per connection", async () => {
    const metrics = new ServiceMetrics(["c"], { processMetrics: false });
    const recorded: Outcome[][] = [];
    const fake = {
      recordOutcomes: async (_runId: number, outcomes: readonly Outcome[]) => {
        recorded.push([...outcomes]);
        return { applied: outcomes.length, ignored: 0 };
      },
    } as unknown as Ledger;
    const ledger = metrics.startRun("c").observe(fake);
    await ledger.recordOutcomes(1, [
      { key: "a", state: "rejected", code: 100, subcode: 2804003, message: "m" },
      { key: "b", state: "rejected", code: 100, subcode: 2804003, message: "m" },
      { key: "c", state: "rejected", code: "custom_data.value", message: "m" },
      { key: "d", state: "delivered", eventId: "e" },
      { key: "e", state: "rejected", code: "bad label value with spaces", message: "m" },
    ]);
    const many: Outcome[] = Array.from({ length: MAX_CODES_PER_CONNECTION + 5 }, (_, i) => ({
      key: `k${i}`,
      state: "rejected",
      code: 1000 + i,
      message: "m",
    }));
    await ledger.recordOutcomes(1, many);
    assert.equal(recorded.length, 2, "the real ledger got every call");
    const byCode = await series(metrics, "capi_sync_rejections_total");
    assert.equal(byCode.get("code=100/2804003,connection=c"), 2);
    assert.equal(byCode.get("code=custom_data.value,connection=c"), 1);
    assert.equal(byCode.size, MAX_CODES_PER_CONNECTION + 1, "at most the cap, plus `other`");
    // The cap was reached by the 2 codes above plus 48 of the numeric ones: 7 overflow, 1 unlabelable.
    assert.equal(byCode.get("code=other,connection=c"), MAX_CODES_PER_CONNECTION + 5 - 48 + 1);
    let total = 0;
    for (const v of byCode.values()) total += v;
    assert.equal(total, 4 + many.length, "every rejection counted once");
  });

  it("turns the collector's counter events into series with bounded routes", async () => {
    const metrics = new ServiceMetrics([], { processMetrics: false });
    metrics.collectorMetric({ name: "request", route: "/v1/batch", status: 200, bytes: 10 });
    metrics.collectorMetric({ name: "request", route: "/wp-login.php", status: 404, bytes: 0 });
    metrics.collectorMetric({ name: "accepted", connection: "web", count: 3 });
    metrics.collectorMetric({
      name: "rejected",
      connection: undefined,
      code: "write_key_missing",
      count: 1,
    });
    assert.deepEqual(
      await series(metrics, "capi_sync_collector_requests_total"),
      new Map([
        ["route=/v1/batch,status=200", 1],
        ["route=other,status=404", 1],
      ]),
    );
    assert.deepEqual(
      await series(metrics, "capi_sync_collector_messages_total"),
      new Map([
        ["code=,connection=web,outcome=accepted", 3],
        ["code=write_key_missing,connection=(unknown),outcome=rejected", 1],
      ]),
    );
    metrics.setQueueDepthSource(() => [["web", 42]]);
    assert.deepEqual(
      await series(metrics, "capi_sync_collector_queue_depth"),
      new Map([["connection=web", 42]]),
    );
  });
});
