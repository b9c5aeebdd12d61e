/**
 * V8 flags the bin starts Node with (its shebang line; test/cli checks the two agree). On a machine
 * with a lot of memory V8 lets the main thread's young generation grow to ~100 MB, most of a sync's
 * peak RSS (bench/sync.ts: 439 MB → 321 MB with a cap). 16 MB semi-spaces measured no more peak RSS
 * than 4 MB and less CPU: with 4 MB the main thread scavenged every ~1,500 rows while the rows of
 * the chunks in flight were still alive, and copied them each time (bench/sync.ts, five pairs of
 * runs on a noisy machine: −8% to −20% sync CPU in four, +8% in one).
 * The old-generation limit is not there to be reached (a sync's main thread keeps ~15 MB live) but
 * because V8 lets a heap grow up to 4× its live size between full collections when its limit is
 * high (≥ 1 GB, as on any machine with 4 GB or more), and up to ~1.6× at 512 MB: bench/sync.ts
 * peak RSS 227–244 MB against 271–283 in alternating runs, for ~0.3–0.5 CPU-s more on the main
 * thread per 1M rows. The emulator keeps at most 192 MiB of received events (src/emulator/options.ts)
 * so that it stays far inside this limit.
 * Only a flag given at start-up sizes the main thread's heap; worker threads size theirs with
 * `resourceLimits`.
 */
export const MAIN_HEAP_FLAGS = ["--max-semi-space-size=16", "--max-old-space-size=512"] as const;
