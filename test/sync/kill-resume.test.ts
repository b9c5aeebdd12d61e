// SIGKILL a real `capi-sync sync` process at random points, run it again, and prove that every valid
// row ends delivered exactly once in the ledger and at the emulator; only events in flight at a kill
// may reach Meta twice, and then with the same event_id (so Meta's dedup drops them).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { samplePurchases, toCsv } from "../../src/cli/sample-data.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { openLedger } from "../../src/ledger/index.ts";

const BIN = new URL("../../bin/capi-sync.js", import.meta.url).pathname;
const DATASET = "777000777";
const TOKEN = "kill-test-token";
const ROWS = 12_000;
const KILLS = 6;
/** Client window × events per batch: the most events one kill can leave in flight. */
const MAX_IN_FLIGHT_EVENTS = 8 * 100;

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** When to kill: after a delay, or once the emulator holds a number of unique events (mid-delivery). */
type KillPoint = { readonly afterMs: number } | { readonly atUnique: number };

function runSync(
  configPath: string,
  kill?: KillPoint,
  uniqueAtEmulator?: () => number,
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "sync", "--json", "--config", configPath], {
      env: { ...process.env, META_TOKEN: TOKEN },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    let timer: NodeJS.Timeout | undefined;
    if (kill !== undefined && "afterMs" in kill)
      timer = setTimeout(() => child.kill("SIGKILL"), kill.afterMs);
    else if (kill !== undefined && uniqueAtEmulator !== undefined) {
      timer = setInterval(() => {
        if (uniqueAtEmulator() >= kill.atUnique) child.kill("SIGKILL");
      }, 5);
    }
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      clearInterval(timer);
      if (code !== null && code !== 0) reject(new Error(`sync exited ${code}: ${stderr}`));
      else resolve({ code, signal });
    });
  });
}

describe("kill -9 and resume", () => {
  let emulator: RunningEmulator;
  let dir: string;
  before(async () => {
    emulator = await startEmulator({ port: 0, datasets: [{ id: DATASET, tokens: [TOKEN] }], latencyMs: 50 });
    dir = await mkdtemp(join(tmpdir(), "capi-sync-kill-"));
    await mkdir(join(dir, "data"));
    await writeFile(join(dir, "data/rows.csv"), toCsv(samplePurchases(ROWS, Math.floor(Date.now() / 1000))));
    await writeFile(
      join(dir, "capi-sync.yaml"),
      `state: state.db
defaults: { default_country: US }
connections:
  orders:
    source: { kind: csv, path: data/rows.csv }
    key: order_id
    destination: { dataset_id: "${DATASET}", access_token: "\${META_TOKEN}", graph_url: "${emulator.url}", max_in_flight: 8, batch_size: 100 }
`,
    );
  });
  after(async () => {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(`delivers every row exactly once after ${KILLS} SIGKILLs at random points`, async () => {
    const seed = Number(process.env.CAPI_SYNC_KILL_SEED ?? Date.now() % 100_000);
    const random = seeded(seed);
    const configPath = join(dir, "capi-sync.yaml");
    let killed = 0;
    let midDelivery = 0;
    const unique = () => emulator.store.stats()[DATASET]?.live.unique ?? 0;
    // Every other kill lands at a random moment of start-up or reading; the others once the emulator
    // has received a random share of the rows still to deliver, so some surely land mid-delivery
    // however long start-up takes on a loaded machine.
    for (let i = 0; i < KILLS; i++) {
      const before = unique();
      if (before === ROWS) break;
      const kill: KillPoint =
        i % 2 === 0
          ? { afterMs: Math.floor(100 + random() * 600) }
          : { atUnique: before + Math.max(1, Math.floor((ROWS - before) * (0.1 + random() * 0.6))) };
      const { signal } = await runSync(configPath, kill, unique);
      if (signal === "SIGKILL") killed++;
      const afterKill = unique();
      if (signal === "SIGKILL" && afterKill > before && afterKill < ROWS) midDelivery++;
    }
    const final = await runSync(configPath);
    assert.equal(final.code, 0, `seed ${seed}`);

    const ledger = await openLedger(join(dir, "state.db"));
    try {
      assert.deepEqual((await ledger.check()).problems, [], `ledger consistent (seed ${seed})`);
      const counts = await ledger.countsByState("orders");
      assert.equal(counts.delivered, ROWS, `every row delivered per the ledger (seed ${seed})`);
      const runs = await ledger.listRuns({ connection: "orders", limit: 100 });
      assert.ok(
        runs.every((r) => r.status !== "running"),
        "no run is left looking alive",
      );
      assert.ok(runs.filter((r) => r.status === "interrupted").length <= killed);
    } finally {
      await ledger.close();
    }
    assert.ok(midDelivery > 0, `at least one kill landed while events were being delivered (seed ${seed})`);
    const stats = emulator.store.stats()[DATASET]?.live;
    assert.equal(stats?.unique, ROWS, `every row reached Meta (seed ${seed})`);
    assert.ok(
      (stats?.duplicates ?? 0) <= killed * MAX_IN_FLIGHT_EVENTS,
      `only events in flight at a kill are sent twice: ${stats?.duplicates} duplicates, ${killed} kills (seed ${seed})`,
    );
    // A resend carries the event_id of the first delivery, so Meta's dedup drops it.
    const idOf = (e: { event: unknown }) => (e.event as { event_id?: string }).event_id;
    const firstIds = new Set(
      emulator.store
        .events(DATASET, { test: false })
        .filter((e) => e.duplicateOf === undefined)
        .map(idOf),
    );
    for (const duplicate of emulator.store.duplicates(DATASET, { test: false })) {
      assert.ok(firstIds.has(idOf(duplicate)), "a resent event has the event_id of its first delivery");
    }
  });
});
