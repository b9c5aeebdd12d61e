// Throttling (spec §7): Meta's throttle answers with their usage headers, and a token bucket per
// dataset ("a configurable token-bucket"). Which bucket Meta charges a CAPI call to is
// [UNVERIFIED]; the emulator charges the dataset and answers like the business-use-case limit.
import { type ErrorTemplate, type Rejection, rejectWith, THROTTLE_ERRORS } from "./errors.ts";

/** The business-use-case limit (80004): what a per-dataset bucket most resembles. */
export const BUC_THROTTLE = THROTTLE_ERRORS.find((template) => template.code === 80004) as ErrorTemplate;

/** A throttle envelope with the usage headers; `regainMinutes` as Meta estimates it. */
export function throttleRejection(
  datasetId: string,
  template: ErrorTemplate,
  regainMinutes: number,
  retryAfterSeconds?: number,
): Rejection {
  const usage = { call_count: 100, total_cputime: 100, total_time: 100 };
  const headers: Record<string, string> = {
    "x-app-usage": JSON.stringify(usage),
    "x-business-use-case-usage": JSON.stringify({
      [datasetId]: [
        {
          type: "ads_management",
          ...usage,
          estimated_time_to_regain_access: regainMinutes,
          ads_api_access_tier: "standard_access",
        },
      ],
    }),
  };
  if (retryAfterSeconds !== undefined) headers["retry-after"] = String(retryAfterSeconds);
  return rejectWith(template, {}, { headers });
}

export interface RateLimitOptions {
  /** Sustained requests per second per dataset. */
  requestsPerSecond: number;
  /** Requests allowed in a burst. Default: one second's worth (at least 1). */
  burst?: number;
}

export class RateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: RateLimitOptions, now: () => number) {
    if (!(options.requestsPerSecond > 0))
      throw new RangeError("rateLimit.requestsPerSecond must be positive");
    this.#ratePerMs = options.requestsPerSecond / 1000;
    this.#burst = options.burst ?? Math.max(1, options.requestsPerSecond);
    if (!(this.#burst >= 1)) throw new RangeError("rateLimit.burst must be at least 1");
    this.#now = now;
  }

  /** Takes one token for the dataset; when none is left, the ms until one will be. */
  take(datasetId: string): { allowed: true } | { allowed: false; waitMs: number } {
    const now = this.#now();
    const bucket = this.#buckets.get(datasetId) ?? { tokens: this.#burst, at: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#ratePerMs);
    bucket.at = now;
    this.#buckets.set(datasetId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, waitMs: Math.ceil((1 - bucket.tokens) / this.#ratePerMs) };
  }

  reset(): void {
    this.#buckets.clear();
  }
}
