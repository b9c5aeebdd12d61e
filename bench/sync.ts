// End-to-end sync throughput: a CSV of messy rows (all 11 customer fields) → runConnection → the
// emulator, with a fresh SQLite ledger. Three processes, so that none pollutes another's figures:
// this one (generates the CSV once, orchestrates), the emulator (`--role emulator`) and the sync
// itself (`--role sync`), whose own maxRSS and CPU are reported. The emulator runs as `capi-sync
// emulator` does (the bin's flags and the command's, src/cli/heap-flags.ts); its CPU and peak RSS
// are reported too, since it shares the machine. Prints one JSON line.
//   node bench/sync.ts [--rows 1000000] [--seed 1] [--runs 1] [--window 8]
//                      [--source csv|ndjson|duckdb|postgres|mysql|sqlite] [--inline]
//                      [--node-flags="--max-semi-space-size=4"] [--cpu-prof DIR] [--rerun]
// --source: how the same rows are read (bench/bench-data.ts). ndjson: the CSV's rows as JSON lines;
//   duckdb: a query over the CSV; postgres, mysql, sqlite: the CSV loaded once into a table of the
//   machine's server or a SQLite file (bench/source-tables.ts).
// --inline: no worker thread (runConnection's `worker: false`), for comparison.
// --node-flags: Node/V8 flags for the sync process, reported in the output; by default the ones the
//   bin starts Node with (src/cli/heap-flags.ts), so the process is sized as a user's `sync` is.
// --rerun: a second sync over the same ledger, where every row is already delivered (skip speed).
// BENCH_SYNC_EXEC_ARGV / BENCH_EMULATOR_EXEC_ARGV: extra Node flags for the measured sync process or
//   the emulator's (diagnostics, e.g. `--import` of a profiler); not used by the warm-up run.
// The CSV is written to bench/.data/ (gitignored) and reused while its rows, seed and age fit.
// Like the bin (bin/capi-sync.js), the processes keep stripped sources in Node's compile cache, and
// a 1,000-row sync runs first so that the measured one finds it warm, as every run after a user's
// first does. NODE_DISABLE_COMPILE_CACHE=1 turns the cache off (`compile_cache: "off"`), about
// what a first run costs (which strips every file and also writes the cache).
import { fork } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import module from "node:module";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MAIN_HEAP_FLAGS, useEmulatorHeap } from "../src/cli/heap-flags.ts";
import { benchSource, ensureCsv } from "./bench-data.ts";

const DATASET = "1234567890";
const TOKEN = "test-token";
const HERE = new URL(".", import.meta.url).pathname;

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    seed: { type: "string", default: "1" },
    runs: { type: "string", default: "1" },
    window: { type: "string", default: "8" },
    source: { type: "string", default: "csv" },
    "cpu-prof": { type: "string" },
    rerun: { type: "boolean", default: false },
    inline: { type: "boolean", default: false },
    "node-flags": { type: "string", default: MAIN_HEAP_FLAGS.join(" ") },
    role: { type: "string", default: "main" },
    "source-config": { type: "string" },
    url: { type: "string" },
    ledger: { type: "string" },
  },
});

interface SyncResult {
  readonly report: Record<string, unknown> & { delivered: number; rows: number; status: string };
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly cpuSeconds: number;
  readonly threadCpu: Record<string, number>;
  readonly rerun?: { seconds: number; skipped: number; peakRssMb: number };
}

async function emulatorRole(): Promise<void> {
  useEmulatorHeap();
  const { startEmulator } = await import("../src/emulator/index.ts");
  // "count": dedup keys and counters only, so the emulator's memory is not the stored events.
  const emulator = await startEmulator({ port: 0, recordEvents: "count" });
  process.on("message", async (message) => {
    if (message !== "report") return;
    const live = emulator.store.stats()[DATASET]?.live;
    const usage = process.resourceUsage();
    process.send?.({
      unique: live?.unique ?? 0,
      duplicates: live?.duplicates ?? 0,
      cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
      peakRssMb: Math.round(usage.maxRSS / 1024),
    });
    await emulator.close();
    process.disconnect();
  });
  process.send?.({ url: emulator.url });
}

async function syncRole(): Promise<void> {
  const { connectionSchema } = await import("../src/config/schema.ts");
  const { openLedger } = await import("../src/ledger/index.ts");
  const { runConnection } = await import("../src/sync/run.ts");
  const source = JSON.parse(args["source-config"] as string) as unknown;
  const connection = connectionSchema.parse({
    source,
    key: "order_id",
    destination: {
      dataset_id: DATASET,
      access_token: TOKEN,
      graph_url: args.url,
      max_in_flight: Number(args.window),
      timeout_ms: 30_000,
    },
  });
  const ledger = await openLedger(args.ledger as string);
  const threads = new ThreadCpu();
  const run = () =>
    runConnection({
      name: "bench",
      connection,
      defaults: { default_country: "US" },
      baseDir: HERE,
      ledger,
      worker: !args.inline,
    });
  try {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const report = await run();
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const threadCpu = threads.stop();
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    let rerun: SyncResult["rerun"];
    if (args.rerun) {
      const again = performance.now();
      const second = await run();
      rerun = {
        seconds: (performance.now() - again) / 1000,
        skipped: second.skipped,
        peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      };
    }
    const result: SyncResult = {
      report: report as unknown as SyncResult["report"],
      seconds,
      peakRssMb,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      threadCpu,
      ...(rerun && { rerun }),
    };
    process.send?.(result);
  } finally {
    await ledger.close();
  }
}

async function main(): Promise<void> {
  const rows = Number(args.rows);
  const seed = Number(args.seed);
  const csv = await ensureCsv(rows, seed);
  if (compileCache !== undefined) {
    const warmUp = await benchOnce(await ensureCsv(WARM_UP_ROWS, seed), WARM_UP_ROWS, { warmUp: true });
    if (warmUp.ok !== true) throw new Error(`the warm-up run failed: ${JSON.stringify(warmUp)}`);
  }
  const results: Array<Record<string, unknown>> = [];
  for (let run = 0; run < Number(args.runs); run++) results.push(await benchOnce(csv, rows));
  for (const result of results) console.log(JSON.stringify(result));
  if (results.length > 1) {
    const rates = results.map((r) => r.events_per_s as number);
    const rss = results.map((r) => r.sync_peak_rss_mb as number);
    console.log(
      JSON.stringify({
        bench: "sync-summary",
        rows,
        runs: results.length,
        events_per_s_best: Math.max(...rates),
        events_per_s_worst: Math.min(...rates),
        sync_peak_rss_mb_max: Math.max(...rss),
      }),
    );
  }
  if (results.some((r) => r.ok !== true)) process.exitCode = 1;
}

const WARM_UP_ROWS = 1000;
/** The bin's cache (bin/capi-sync.js), handed to the processes below through the variable. */
const compileCache = process.env.NODE_DISABLE_COMPILE_CACHE
  ? undefined
  : module.enableCompileCache?.(
      process.env.NODE_COMPILE_CACHE ||
        join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "capi-sync", "compile-cache"),
    ).directory;
if (compileCache !== undefined) process.env.NODE_COMPILE_CACHE ??= compileCache;

async function benchOnce(
  csv: string,
  rows: number,
  { warmUp = false } = {},
): Promise<Record<string, unknown>> {
  const source = await benchSource(String(args.source), csv);
  const emulator = fork(new URL(import.meta.url).pathname, ["--role", "emulator"], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    // Started as `capi-sync emulator` is: the bin's flags here, the command's own in the role.
    // Then diagnostics only (e.g. --cpu-prof of the emulator).
    execArgv: [
      ...MAIN_HEAP_FLAGS,
      ...((!warmUp && process.env.BENCH_EMULATOR_EXEC_ARGV?.split(" ").filter(Boolean)) || []),
    ],
  });
  const [{ url }] = (await once(emulator, "message")) as [{ url: string }];
  const dir = await mkdtemp(join(tmpdir(), "capi-sync-bench-"));
  const profiling = warmUp ? undefined : args["cpu-prof"];
  const nodeFlags = String(args["node-flags"]).split(" ").filter(Boolean);
  try {
    const sync = fork(
      new URL(import.meta.url).pathname,
      [
        "--role",
        "sync",
        "--source-config",
        JSON.stringify(source),
        "--url",
        url,
        "--ledger",
        join(dir, "state.db"),
        "--window",
        String(args.window),
        "--source",
        String(args.source),
        ...(args.rerun && !warmUp ? ["--rerun"] : []),
        ...(args.inline ? ["--inline"] : []),
      ],
      {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        execArgv: [
          ...(profiling ? ["--cpu-prof", "--cpu-prof-dir", profiling] : []),
          ...nodeFlags,
          // Diagnostics only (e.g. --import of a memory sampler); not part of what is measured.
          ...((!warmUp && process.env.BENCH_SYNC_EXEC_ARGV?.split(" ").filter(Boolean)) || []),
        ],
      },
    );
    const exited = once(sync, "exit");
    const answered = once(sync, "message") as Promise<[SyncResult]>;
    const first = await Promise.race([answered, exited]);
    if (!("report" in (first[0] as object))) throw new Error("the sync process exited without a report");
    const [result] = first as [SyncResult];
    await exited;
    emulator.send("report");
    const [server] = (await once(emulator, "message")) as [
      { unique: number; duplicates: number; cpuSeconds: number; peakRssMb: number },
    ];
    const { report } = result;
    return {
      bench: "sync",
      source: args.source,
      worker: !args.inline,
      ...(nodeFlags.length > 0 && { node_flags: nodeFlags.join(" ") }),
      compile_cache: compileCache === undefined ? "off" : "warm",
      rows,
      status: report.status,
      delivered: report.delivered,
      rejected: report.rejected,
      expired: report.expired,
      skipped: report.skipped,
      pending: report.pending,
      seconds: Number(result.seconds.toFixed(2)),
      rows_per_s: Math.round(report.rows / result.seconds),
      events_per_s: Math.round(report.delivered / result.seconds),
      sync_peak_rss_mb: result.peakRssMb,
      sync_cpu_s: Number(result.cpuSeconds.toFixed(2)),
      sync_cpu_us_per_row: Math.round((result.cpuSeconds * 1e6) / report.rows),
      sync_thread_cpu_s: result.threadCpu,
      server_cpu_s: Number(server.cpuSeconds.toFixed(2)),
      server_peak_rss_mb: server.peakRssMb,
      server_unique: server.unique,
      server_duplicates: server.duplicates,
      ...(result.rerun && {
        rerun_seconds: Number(result.rerun.seconds.toFixed(2)),
        rerun_rows_per_s: Math.round(rows / result.rerun.seconds),
        rerun_skipped: result.rerun.skipped,
        rerun_peak_rss_mb: result.rerun.peakRssMb,
      }),
      ok:
        report.status === "completed" &&
        report.delivered === server.unique &&
        server.duplicates === 0 &&
        report.pending === 0,
    };
  } finally {
    if (emulator.connected) emulator.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * CPU seconds per kind of thread of this process (Linux): the run's thread, the delivery worker,
 * V8's helpers (parallel GC, compilation) and the rest (libuv pool, SQLite). Sampled, because a
 * worker's counters vanish with it.
 */
class ThreadCpu {
  readonly #seen = new Map<string, { kind: string; seconds: number }>();
  readonly #timer: NodeJS.Timeout;
  readonly #tick = 100;

  constructor() {
    this.#timer = setInterval(() => this.#sample(), 250);
  }

  stop(): Record<string, number> {
    clearInterval(this.#timer);
    this.#sample();
    const totals: Record<string, number> = {};
    for (const { kind, seconds } of this.#seen.values()) totals[kind] = (totals[kind] ?? 0) + seconds;
    for (const kind of Object.keys(totals)) totals[kind] = Number((totals[kind] as number).toFixed(2));
    return totals;
  }

  #sample(): void {
    let tasks: string[];
    try {
      tasks = readdirSync("/proc/self/task");
    } catch {
      return;
    }
    for (const tid of tasks) {
      try {
        const comm = readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const seconds = (Number(fields[11]) + Number(fields[12])) / this.#tick;
        const kind =
          comm === "MainThread"
            ? "main"
            : comm === "WorkerThread"
              ? "worker"
              : comm === "V8Worker"
                ? "v8_helpers"
                : "other";
        this.#seen.set(tid, { kind, seconds });
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  }
}

if (args.role === "emulator") await emulatorRole();
else if (args.role === "sync") await syncRole();
else await main();
