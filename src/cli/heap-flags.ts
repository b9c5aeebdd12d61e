/**
 * V8 flags the bin starts Node with (its shebang line; test/cli checks the two agree). On a machine
 * with a lot of memory V8 lets the main thread's young generation grow to ~100 MB, most of a sync's
 * peak RSS (bench/sync.ts: 439 MB → 321 MB with a cap). With 4 MB semi-spaces the main thread
 * scavenged every ~1,500 rows while the rows of the chunks in flight were still alive, and copied
 * them each time; 16 MB cost ~10% less sync CPU than 4.
 *
 * The old-generation limit is not there to be reached (a sync's main thread keeps ~13 MB live) but
 * because V8 lets a heap grow up to 4× its live size between full collections when the limit is
 * 1 GB or more (the default on any machine with 4 GB), and ~1.6× at 512 MB. V8 also starts marking
 * once the old generation's headroom is no more than the young generation's capacity, so with a
 * tight old generation 16 MB semi-spaces kept the main thread marking nearly all the time (GC
 * helpers 23–38 CPU-s at 5M rows against ~11); 12 MB leaves room. bench/sync.ts, 1M rows, peak
 * RSS: 237–245 MB against 254–283 without the limit; at 5M rows 244 against 271, for ~15% lower
 * throughput there (GC helpers 26 CPU-s against 11). The emulator keeps at most 192 MiB of
 * received events (src/emulator/options.ts) so that it stays far inside this limit.
 *
 * Only a flag given at start-up sizes the main thread's heap; worker threads size theirs with
 * `resourceLimits`. A user who needs more runs `node --max-old-space-size=N $(which capi-sync)`.
 */
export const MAIN_HEAP_FLAGS = ["--max-semi-space-size=12", "--max-old-space-size=512"] as const;
