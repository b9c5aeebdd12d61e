/**
 * V8 flags the bin starts Node with (its shebang line; test/cli checks the two agree). On a machine
 * with a lot of memory V8 lets the main thread's young generation grow to ~100 MB, most of a sync's
 * peak RSS (bench/sync.ts: 439 MB → 321 MB with this flag, at the same speed). Only a flag given at
 * start-up sizes the main thread's heap; worker threads size theirs with `resourceLimits`.
 */
export const MAIN_HEAP_FLAGS = ["--max-semi-space-size=4"] as const;
