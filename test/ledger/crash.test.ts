// A real process crash: a child records outcomes in a loop and is killed with SIGKILL at a random
// moment, several times. After each kill the ledger must be consistent and hold every batch the child
// acknowledged (it prints a batch number only after that batch's transaction committed).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openLedger } from "../../src/ledger/index.ts";

const LEDGER_MODULE = new URL("../../src/ledger/index.ts", import.meta.url).href;
const BATCH = 200;
const keysOf = (batch: number) => Array.from({ length: BATCH }, (_, i) => `b${batch}-k${i}`);

// The child: opens the ledger, starts a run, and records batch after batch until killed.
const CHILD = `
const { openLedger } = await import(process.env.LEDGER_MODULE);
const ledger = await openLedger(process.env.LEDGER_PATH, { synchronous: process.env.LEDGER_SYNC });
const run = await ledger.startRun("shop", { mode: "live" });
process.stdout.write("ready\\n");
for (let batch = Number(process.env.FIRST_BATCH); ; batch++) {
  const keys = Array.from({ length: ${BATCH} }, (_, i) => "b" + batch + "-k" + i);
  const batchId = await ledger.openBatch(run, { datasetId: "1234", events: keys.length });
  await ledger.recordOutcomes(run, keys.map((key) => ({ key, state: "delivered", eventId: "ev-" + key })), { batchId });
  process.stdout.write(batch + "\\n");
}
`;

const root = mkdtempSync(join(tmpdir(), "capi-ledger-crash-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Runs the child until a random moment after it is ready, kills it, returns the last acknowledged batch. */
async function runAndKill(
  path: string,
  firstBatch: number,
  synchronous: string,
): Promise<number | undefined> {
  const child: ChildProcess = spawn(process.execPath, ["--input-type=module", "-e", CHILD], {
    env: {
      ...process.env,
      LEDGER_MODULE,
      LEDGER_PATH: path,
      FIRST_BATCH: String(firstBatch),
      LEDGER_SYNC: synchronous,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let lastAcknowledged: number | undefined;
  let pending = "";
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on("exit", (_code, signal) => resolve(signal)),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "ready") resolve();
        else lastAcknowledged = Number(line);
      }
    });
    child.on("exit", () => reject(new Error(`child exited before ready: ${stderr}`)));
  });
  await ready;
  await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 120));
  child.kill("SIGKILL");
  assert.equal(await exited, "SIGKILL", stderr);
  return lastAcknowledged;
}

test("SIGKILL at random points loses no acknowledged outcome and leaves the ledger consistent", async () => {
  const path = join(root, "state.db");
  let nextBatch = 0;
  let acknowledgedBatches = 0;
  for (let round = 0; round < 6; round++) {
    const lastAcknowledged = await runAndKill(path, nextBatch, round % 2 === 0 ? "normal" : "full");

    const ledger = await openLedger(path);
    assert.deepEqual(await ledger.check(), { ok: true, problems: [] });

    // The child's run was found running under a dead process and marked interrupted.
    assert.equal(ledger.recoveredRuns.length, 1);
    const [recovered] = ledger.recoveredRuns;
    assert.equal(recovered?.status, "interrupted");
    assert.ok(recovered?.finishedAt instanceof Date);
    // The kill may land between openBatch and recordOutcomes: then one batch is in flight.
    assert.ok([0, BATCH].includes(recovered?.inFlightAtEnd ?? -1), `in flight: ${recovered?.inFlightAtEnd}`);
    assert.equal((await ledger.getRun(recovered?.id ?? 0))?.status, "interrupted");

    if (lastAcknowledged !== undefined) {
      acknowledgedBatches += lastAcknowledged - nextBatch + 1;
      const acknowledgedKeys = [];
      for (let batch = 0; batch <= lastAcknowledged; batch++) acknowledgedKeys.push(...keysOf(batch));
      assert.deepEqual(await ledger.filterNew("shop", acknowledgedKeys), [], `round ${round}`);
      nextBatch = lastAcknowledged + 1;
    }
    // The batch after the last acknowledged one committed entirely or not at all.
    const unacknowledged = await ledger.filterNew("shop", keysOf(nextBatch));
    assert.ok(
      [0, BATCH].includes(unacknowledged.length),
      `partial batch: ${unacknowledged.length} keys left`,
    );

    // Run counters agree with the rows: each key was applied once, by exactly one run.
    const runs = await ledger.listRuns({ limit: 1000 });
    const counted = runs.reduce((sum, run) => sum + run.counts.delivered, 0);
    assert.equal((await ledger.countsByState("shop")).delivered, counted);
    await ledger.close();
  }
  // The kills were not all before the first commit: the test exercised acknowledged writes.
  assert.ok(acknowledgedBatches > 0, "no batch was acknowledged in any round");
});
