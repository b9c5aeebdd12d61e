/**
 * V8 flags the bin starts Node with (its shebang line; test/cli checks the two agree). On a machine
 * with a lot of memory V8 lets the main thread's young generation grow to ~100 MB, most of a sync's
 * peak RSS (bench/sync.ts: 439 MB → 321 MB with a cap). 16 MB semi-spaces measured no more peak RSS
 * than 4 MB and less CPU: with 4 MB the main thread scavenged every ~1,500 rows while the rows of
 * the chunks in flight were still alive, and copied them each time (bench/sync.ts, five pairs of
 * runs on a noisy machine: −8% to −20% sync CPU in four, +8% in one).
 * Only a flag given at start-up sizes the main thread's heap; worker threads size theirs with
 * `resourceLimits`.
 *
 * `--heap-growing-percent=100`: after a full collection a heap may grow to twice what survived,
 * where V8 on a machine with a lot of memory allows up to four times; a sync's main thread keeps
 * ~20 MB live, and its old generation reached 40–85 MB before it was collected. Peak RSS −17 MB
 * (bench/sync.ts: 276–278 against 293–295 MB, three alternating runs, events/s within noise); 50
 * and 30 cut more but cost up to 20% of events/s in GC (BENCHMARKS.md). The flag applies to every
 * heap of the process, the worker's included.
 *
 * `--no-parallel-scavenge`: each thread collects its own young generation alone, instead of handing
 * the work to V8's helper threads and waiting for them. A sync keeps both cores busy (the run's
 * thread and the worker), so the helpers only queued behind them: their CPU fell from ~7 to ~2.5
 * CPU-s per 1M rows, and events/s rose by ~15% (bench/sync.ts, three alternating pairs:
 * 40.4k–41.8k against 35.0k–36.5k, peak RSS unchanged; BENCHMARKS.md). Process-wide, like the other.
 */
export const MAIN_HEAP_FLAGS = [
  "--max-semi-space-size=16",
  "--heap-growing-percent=100",
  "--no-parallel-scavenge",
] as const;
