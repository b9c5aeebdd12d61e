// Seeded fault injection: one draw per request that passed auth decides its fate, so the same seed
// and the same request sequence give the same faults.

export interface FaultOptions {
  seed?: number;
  /** HTTP 500, code 1 "An unknown error occurred." */
  serverError?: number;
  /** HTTP 500, code 2, is_transient: true. */
  transient?: number;
  /** A throttle envelope (code 4, 17, 613 or 80004) with usage headers. */
  throttle?: number;
  /** Hold the request for `timeoutHoldMs`, then drop the connection without answering. */
  timeout?: number;
  /** Destroy the connection before processing: nothing is recorded. */
  drop?: number;
  /** Process and record the events, then destroy the connection: the client never learns it worked. */
  lostResponse?: number;
  /** How long a timed-out request is held before its socket is destroyed. Default 3000 ms. */
  timeoutHoldMs?: number;
  /** `estimated_time_to_regain_access` (minutes) in throttle usage headers. Default 0. */
  throttleRegainMinutes?: number;
  /** When set, throttle responses also carry `Retry-After` with this many seconds. */
  retryAfterSeconds?: number;
}

export const FAULT_KINDS = [
  "serverError",
  "transient",
  "throttle",
  "timeout",
  "drop",
  "lostResponse",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultDraw {
  readonly kind: FaultKind | undefined;
  /** A second uniform draw in [0, 1), used to pick among variants (e.g. which throttle code). */
  readonly variant: number;
}

/** mulberry32: tiny, fast, and good enough to spread faults; not for anything secret. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultPlan {
  readonly #seed: number;
  readonly #thresholds: ReadonlyArray<readonly [FaultKind, number]>;
  readonly enabled: boolean;
  #random: () => number;

  constructor(options: FaultOptions = {}) {
    this.#seed = options.seed ?? 1;
    let cumulative = 0;
    const thresholds: Array<readonly [FaultKind, number]> = [];
    for (const kind of FAULT_KINDS) {
      const rate = options[kind] ?? 0;
      if (!(rate >= 0 && rate <= 1)) throw new RangeError(`fault rate '${kind}' must be between 0 and 1`);
      if (rate === 0) continue;
      cumulative += rate;
      thresholds.push([kind, cumulative]);
    }
    if (cumulative > 1 + 1e-9) throw new RangeError("fault rates must add up to at most 1");
    this.#thresholds = thresholds;
    this.enabled = thresholds.length > 0;
    this.#random = mulberry32(this.#seed);
  }

  next(): FaultDraw {
    if (!this.enabled) return { kind: undefined, variant: 0 };
    const roll = this.#random();
    const variant = this.#random();
    for (const [kind, threshold] of this.#thresholds) if (roll < threshold) return { kind, variant };
    return { kind: undefined, variant };
  }

  /** Back to the first draw of the seed. */
  reset(): void {
    this.#random = mulberry32(this.#seed);
  }
}
