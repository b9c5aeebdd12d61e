import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openLedger } from "../../src/ledger/index.ts";
import { OutcomeRecorder } from "../../src/sync/outcome-recorder.ts";

test("OutcomeRecorder: outcomes of interleaved answers keep their own dataset and fbtrace_id in the ledger", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "capi-sync-recorder-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ledger = await openLedger(join(dir, "state.db"));
  t.after(() => ledger.close());
  const runId = await ledger.startRun("orders", { mode: "live", kind: "sync" });
  const written: string[][] = [];
  const recorder = new OutcomeRecorder(ledger, runId, (outcomes) => written.push(outcomes.map((o) => o.key)));

  const rejected = (key: string) => ({
    key,
    state: "rejected" as const,
    code: 100,
    message: "Invalid parameter",
  });
  // Answers of two datasets (one fbtrace_id seen with both), local verdicts, one after another and back.
  const plan: [string, string | undefined, string | undefined][] = [
    ["k1", "111", "trace-A"],
    ["k2", "111", "trace-A"],
    ["k3", "222", "trace-A"],
    ["k4", "111", "trace-A"],
    ["k5", "111", "trace-C"],
    ["k6", undefined, undefined],
    ["k7", "222", "trace-A"],
    ["k8", undefined, undefined],
  ];
  for (const [key, datasetId, fbtraceId] of plan) recorder.add(rejected(key), datasetId, fbtraceId);
  await recorder.flush();
  // After a flush the groups start over.
  recorder.add(rejected("k9"), "111", "trace-A");
  recorder.add(rejected("k10"), "333", "trace-D");
  await recorder.flush();

  const where = new Map(
    (await ledger.rejections({ runId })).map((r) => [r.key, `${r.datasetId ?? "-"}/${r.fbtraceId ?? "-"}`]),
  );
  assert.deepEqual(Object.fromEntries(where), {
    k1: "111/trace-A",
    k2: "111/trace-A",
    k3: "222/trace-A",
    k4: "111/trace-A",
    k5: "111/trace-C",
    k6: "-/-",
    k7: "222/trace-A",
    k8: "-/-",
    k9: "111/trace-A",
    k10: "333/trace-D",
  });
  // One ledger write per group, in the order the groups began.
  assert.deepEqual(written, [["k1", "k2", "k4"], ["k3", "k7"], ["k5"], ["k6", "k8"], ["k9"], ["k10"]]);
});
