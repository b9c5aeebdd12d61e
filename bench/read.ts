// What reading costs, per source kind: the bench's rows (bench/bench-data.ts) read into the sync's
// chunks (sync/row-chunks.ts, of the run's size, keys included) and dropped; no mapping, ledger or delivery. Each run
// is a process of its own, whose CPU and peak RSS are reported. Prints one JSON line per run.
//   node bench/read.ts [--rows 1000000] [--seed 1] [--runs 3] [--source csv|ndjson|duckdb|postgres|mysql|sqlite]
import { fork } from "node:child_process";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { MAIN_HEAP_FLAGS } from "../src/cli/heap-flags.ts";
import { benchSource, ensureCsv } from "./bench-data.ts";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    seed: { type: "string", default: "1" },
    runs: { type: "string", default: "3" },
    source: { type: "string", default: "csv" },
    role: { type: "string", default: "main" },
    "source-config": { type: "string" },
  },
});

interface ReadResult {
  readonly rows: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
}

async function readRole(): Promise<void> {
  const { openSource } = await import("../src/sources/index.ts");
  const { ChunkReader } = await import("../src/sync/row-chunks.ts");
  const { CHUNK_ROWS } = await import("../src/sync/run.ts");
  const source = openSource(JSON.parse(args["source-config"] as string), { cwd: process.cwd() });
  const reader = new ChunkReader(source, {}, (row) => String(row.order_id), CHUNK_ROWS);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let rows = 0;
  for (let chunk = await reader.read(); chunk !== undefined; chunk = await reader.read()) rows += chunk.rows;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await source.close();
  const result: ReadResult = {
    rows,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  process.send?.(result);
}

async function main(): Promise<void> {
  const rows = Number(args.rows);
  const csv = await ensureCsv(rows, Number(args.seed));
  const source = await benchSource(String(args.source), csv);
  for (let run = 0; run < Number(args.runs); run++) {
    // Started with the bin's heap flags, as the run's thread of a user's `sync` is.
    const child = fork(
      new URL(import.meta.url).pathname,
      ["--role", "read", "--source-config", JSON.stringify(source)],
      { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [...MAIN_HEAP_FLAGS] },
    );
    const [result] = (await once(child, "message")) as [ReadResult];
    await once(child, "exit");
    console.log(
      JSON.stringify({
        bench: "read",
        source: args.source,
        rows: result.rows,
        seconds: Number(result.seconds.toFixed(2)),
        rows_per_s: Math.round(result.rows / result.seconds),
        cpu_s: Number(result.cpuSeconds.toFixed(2)),
        cpu_us_per_row: Number(((result.cpuSeconds * 1e6) / result.rows).toFixed(2)),
        peak_rss_mb: result.peakRssMb,
        ok: result.rows === rows,
      }),
    );
    if (result.rows !== rows) process.exitCode = 1;
  }
}

if (args.role === "read") await readRole();
else await main();
