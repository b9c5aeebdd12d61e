// V8 flags the bin runs Node with (its shebang line and its first statement; test/cli checks they
// agree). All are process-wide: the worker's heap follows them too, except for the young
// generation, which worker threads size with `resourceLimits`. Figures: bench/sync.ts, 1M rows,
// alternating runs on a 2-core machine (BENCHMARKS.md has each).
//
// `--no-allocation-site-pretenuring`: V8 watches where objects are allocated, and once most of one
// site's objects survive a young collection it allocates that site's objects in the old
// generation from then on. A sync's rows and events live a few milliseconds, but a chunk waiting
// for the worker outlives a collection now and then; some runs tipped into pretenuring and stayed
// there. The main thread then promoted ~1.5 GB per 1M rows instead of ~150 MB and ran ~90 full
// collections instead of ~15, the worker twice as many, and the run lost ~10% of events/s. That
// was the "bimodal GC" earlier figures kept meeting. Without it every run took the fast path:
// 42.1k–43.1k events/s in four runs, where the same flags otherwise gave 36.7k–37.8k in three of
// four.
//
// `--no-parallel-scavenge`: each thread collects its own young generation, instead of handing the
// work to V8's helper threads and waiting for them. A sync keeps both cores busy (the run's thread
// and the worker), so the helpers only queued behind them. With pretenuring on: helpers 2.0–2.6
// against 7.2–7.5 CPU-s, 40.4k–41.8k against 35.0k–36.5k events/s; with it off: helpers 2.7
// against 4.2 CPU-s, 39.7k–40.5k against 38.4k–39.5k events/s (three pairs each, same peak RSS).
//
// `--max-semi-space-size=8`: unlimited, V8 lets the main thread's young generation grow to ~100 MB
// on a machine with a lot of memory. With pretenuring off, 8 MB cost ~1–2% of events/s against 16
// and 10–45 MB less peak RSS (252–257 against 263–299 MB, three pairs). With pretenuring on, the
// cost had been 10–20%.
//
// `--heap-growing-percent=50`: after a full collection a heap may grow by half of what survived
// before the next, where V8 on a machine with a lot of memory allows up to four times. A sync
// keeps ~20 MB live per thread. Peak RSS 232–252 MB against 253–256 at 100, for ~1 CPU-s more of
// GC per 1M rows (−1 to −2% events/s, three pairs).

import v8 from "node:v8";

/** The flags on the bin's shebang line, read by V8 as the process starts. */
export const SHEBANG_FLAGS = [
  "--max-semi-space-size=8",
  "--heap-growing-percent=50",
  "--no-allocation-site-pretenuring",
] as const;

/**
 * Flags the bin sets as its first act (`v8.setFlagsFromString`), before any thread of ours
 * allocates: V8 reads these at every collection, and a shebang line longer than 127 characters is
 * cut short by Linux kernels before 5.1, which would make Node refuse a truncated flag.
 */
export const LATE_FLAGS = ["--no-parallel-scavenge"] as const;

/** The same set as a command line (the benches start their processes with it). */
export const MAIN_HEAP_FLAGS = [...SHEBANG_FLAGS, ...LATE_FLAGS] as const;

/**
 * `capi-sync emulator`'s own, set when the command starts (V8 reads it at every full collection).
 * A request of 1,000 events is ~1.3 MB of JSON, and V8 allocates what it parses from a text of
 * 100 KiB or more straight in the old generation: ~2.5 MB there per request, dead once answered,
 * for ~12 MB live. Per 1M events in bench:sync (two alternating pairs, the bin's flags otherwise):
 * at the bin's 50%, 183–190 full collections, 10.9–11.1 CPU-s and 262–273 MB peak RSS; at 400%,
 * 28, 7.9–8.2 CPU-s and 318–325 MB, and the sync beside it made 7–11% more events/s. Node's
 * defaults gave 9.1 CPU-s and 395 MB.
 */
export const EMULATOR_FLAGS = ["--heap-growing-percent=400"] as const;

/** For a process that serves the emulator and nothing else: V8 flags are process-wide. */
export function useEmulatorHeap(): void {
  for (const flag of EMULATOR_FLAGS) v8.setFlagsFromString(flag);
}
