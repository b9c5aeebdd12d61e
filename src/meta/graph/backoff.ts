// Retry timing: exponential backoff with full jitter, and the server's own hints (Retry-After,
// `estimated_time_to_regain_access` in X-Business-Use-Case-Usage, spec §7).

export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  readonly baseMs: number;
  /** No delay above this, whatever the attempt. */
  readonly capMs: number;
}

/**
 * Full jitter ("Exponential Backoff and Jitter", AWS architecture blog): a uniform draw in
 * [0, min(cap, base·2^(retry−1))]. Spreads retries of many batches so they don't return together.
 */
export function fullJitterDelay(retry: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

type HeaderValue = string | string[] | undefined;

function firstValue(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from `nowMs`; undefined when absent or unreadable. */
export function retryAfterMs(value: HeaderValue, nowMs: number): number | undefined {
  const text = firstValue(value)?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * The longest `estimated_time_to_regain_access` (minutes, per Meta's rate-limiting docs) in an
 * `X-Business-Use-Case-Usage` header: `{"<business id>": [{"type": …, "estimated_time_to_regain_access": 5}]}`.
 */
export function regainAccessMs(value: HeaderValue): number | undefined {
  const text = firstValue(value);
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  let longest: number | undefined;
  for (const entries of Object.values(parsed)) {
    for (const entry of Array.isArray(entries) ? entries : [entries]) {
      const minutes = (entry as { estimated_time_to_regain_access?: unknown } | null)
        ?.estimated_time_to_regain_access;
      if (typeof minutes === "number" && minutes > 0) longest = Math.max(longest ?? 0, minutes * 60_000);
    }
  }
  return longest;
}

/** The server's wait hint for an answer: the longer of Retry-After and the BUC regain time. */
export function serverWaitHintMs(headers: Record<string, HeaderValue>, nowMs: number): number | undefined {
  const afterMs = retryAfterMs(headers["retry-after"], nowMs);
  const regainMs = regainAccessMs(headers["x-business-use-case-usage"]);
  if (afterMs === undefined) return regainMs;
  return regainMs === undefined ? afterMs : Math.max(afterMs, regainMs);
}
