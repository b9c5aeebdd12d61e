// SIGTERM to a real `capi-sync serve` process while its run is delivering to a slow emulator: the
// process stops reading, lets the batches it holds finish, records the run and exits; every row is
// either delivered or left pending, and the next sync delivers the rest exactly once.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { samplePurchases, toCsv } from "../../src/cli/sample-data.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { openLedger } from "../../src/ledger/index.ts";
import { jsonLines, runCli } from "../helpers/cli.ts";

const DATASET = "551100220033";
const TOKEN = "EAAC-canary-shutdown-token-4e1d";
/** More rows than the pipeline buffers ahead of the client, so a stop leaves some unread. */
const ROWS = 8000;
const SERVE = new URL("../../src/cli/commands/serve.ts", import.meta.url).href;

function config(emulatorUrl: string, delivery: string): string {
  return `state: state.db
defaults: { default_country: US }
connections:
  orders:
    source: { kind: csv, path: data/orders.csv }
    key: order_id
    schedule: "0 0 1 1 *"
    destination: { dataset_id: "${DATASET}", access_token: "\${META_TOKEN}", graph_url: "${emulatorUrl}", ${delivery} }
`;
}

interface Serving {
  readonly child: ChildProcess;
  readonly url: Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: string | null; at: number }>;
  stdout(): string;
}

/** Runs the serve command in a child process the way bin/capi-sync.js runs commands. */
async function serve(dir: string): Promise<Serving> {
  const entry = join(dir, "serve-entry.mjs");
  await writeFile(
    entry,
    `import { serveCommand } from ${JSON.stringify(SERVE)};
process.exitCode = await serveCommand.run(process.argv.slice(2), {
  stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(),
});
`,
  );
  const child = spawn(process.execPath, [entry, "--config", join(dir, "capi-sync.yaml"), "--port", "0"], {
    env: { ...process.env, META_TOKEN: TOKEN },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let resolveUrl: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    const listening = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"capi-sync serve listening"/.exec(out);
    if (listening?.[1]) resolveUrl(listening[1]);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((resolve) => {
    child.on("exit", (code, signal) => {
      if (code !== 0) process.stderr.write(`serve stderr: ${err}\n`);
      resolve({ code, signal, at: Date.now() });
    });
  });
  return { child, url, exited, stdout: () => out };
}

describe("capi-sync serve: graceful shutdown", () => {
  let emulator: RunningEmulator;
  let dir: string;
  before(async () => {
    emulator = await startEmulator({ port: 0, datasets: [{ id: DATASET, tokens: [TOKEN] }], latencyMs: 80 });
    dir = await mkdtemp(join(tmpdir(), "capi-sync-shutdown-"));
    await mkdir(join(dir, "data"));
    await writeFile(
      join(dir, "data/orders.csv"),
      toCsv(samplePurchases(ROWS, Math.floor(Date.now() / 1000))),
    );
    await writeFile(join(dir, "capi-sync.yaml"), config(emulator.url, "batch_size: 200, max_in_flight: 2"));
  });
  after(async () => {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("on SIGTERM finishes the batches in flight, records the run, exits 0; the next sync sends the rest once", async () => {
    const serving = await serve(dir);
    const url = await serving.url;
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    // The connection never ran, so it runs at start-up; stop it once delivery is under way.
    const deliveredBy = () => emulator.store.stats()[DATASET]?.live.unique ?? 0;
    while (deliveredBy() < 400) await new Promise((r) => setTimeout(r, 20));
    const signalledAt = Date.now();
    serving.child.kill("SIGTERM");
    const exit = await serving.exited;
    assert.equal(exit.code, 0, "a clean shutdown");
    assert.ok(exit.at - signalledAt < 15_000, `exited ${exit.at - signalledAt} ms after SIGTERM`);

    const logs = jsonLines(serving.stdout()) as Array<{ msg: string; level: string }>;
    assert.ok(logs.some((l) => l.msg.startsWith("shutting down")));
    assert.ok(logs.some((l) => l.msg.startsWith("shut down cleanly")));
    assert.equal(serving.stdout().includes(TOKEN), false, "the token never reaches the logs");

    const deliveredAtStop = deliveredBy();
    const ledger = await openLedger(join(dir, "state.db"));
    try {
      const runs = await ledger.listRuns({ connection: "orders" });
      assert.equal(runs.length, 1);
      const [run] = runs;
      // How much the pipeline still sends after the signal is runConnection's business (what it
      // had prepared); serve's is that the run ends, recorded, within the grace period.
      assert.ok(
        run?.status === "stopped" || run?.status === "completed",
        `finished, not left running or interrupted (${run?.status})`,
      );
      assert.equal(run?.inFlightAtEnd ?? 0, 0, "no batch left unanswered");
      const counts = await ledger.countsByState("orders");
      assert.equal(counts.delivered, deliveredAtStop, "the ledger holds exactly what Meta received");
      assert.equal(counts.rejected + counts.expired + counts.skipped, 0);
    } finally {
      await ledger.close();
    }
    assert.equal(emulator.store.stats()[DATASET]?.live.duplicates, 0);

    // The next run, with wider batches to keep the test quick (event_id does not depend on them).
    await writeFile(join(dir, "capi-sync.yaml"), config(emulator.url, "batch_size: 1000, max_in_flight: 8"));
    const next = await runCli(["sync", "--json", "--config", join(dir, "capi-sync.yaml")], {
      env: { META_TOKEN: TOKEN },
    });
    assert.equal(next.code, 0, next.stderr);
    const [report] = jsonLines(next.stdout) as Array<{ delivered: number; skipped: number; pending: number }>;
    assert.equal(report?.delivered, ROWS - deliveredAtStop);
    assert.equal(report?.skipped, deliveredAtStop);
    assert.equal(report?.pending, 0);
    const stats = emulator.store.stats()[DATASET]?.live;
    assert.equal(stats?.unique, ROWS, "every row reached Meta");
    assert.equal(stats?.duplicates, 0, "and none twice");
  });
});
