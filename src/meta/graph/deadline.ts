// How long an event may keep being retried (spec §2.1, §8): never past Meta's age window for its
// action_source (less a safety margin, so a batch is not rejected whole for one stale event), and
// never more than 47 h after the first attempt, inside the 48 h in which Meta deduplicates by
// event_id — a later resend could count twice.

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface DeadlinePolicy {
  /** Meta's age window for most events: 7 days (spec §2.1). */
  readonly ageWindowMs: number;
  /** For action_source `physical_store`: 62 days (spec §2.1, §5.2). */
  readonly physicalStoreAgeWindowMs: number;
  /** Subtracted from the age window: 1 h. */
  readonly ageMarginMs: number;
  /** Retry budget after the first attempt: 47 h. */
  readonly retryBudgetMs: number;
}

export const DEFAULT_DEADLINE_POLICY: DeadlinePolicy = {
  ageWindowMs: 7 * DAY_MS,
  physicalStoreAgeWindowMs: 62 * DAY_MS,
  ageMarginMs: HOUR_MS,
  retryBudgetMs: 47 * HOUR_MS,
};

/** The last instant (ms) Meta's age window allows, or +∞ when event_time is not a number. */
export function ageDeadlineMs(eventTime: unknown, actionSource: unknown, policy: DeadlinePolicy): number {
  const seconds = typeof eventTime === "string" && /^\d+$/.test(eventTime) ? Number(eventTime) : eventTime;
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return Number.POSITIVE_INFINITY;
  const window = actionSource === "physical_store" ? policy.physicalStoreAgeWindowMs : policy.ageWindowMs;
  return seconds * 1000 + window - policy.ageMarginMs;
}

/** The retry deadline once the first attempt happened at `firstAttemptMs`. */
export function retryDeadlineMs(ageDeadline: number, firstAttemptMs: number, policy: DeadlinePolicy): number {
  return Math.min(ageDeadline, firstAttemptMs + policy.retryBudgetMs);
}
