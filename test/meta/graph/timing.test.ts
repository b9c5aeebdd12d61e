// Backoff, server wait hints and retry deadlines.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  ageDeadlineMs,
  DEFAULT_DEADLINE_POLICY,
  fullJitterDelay,
  regainAccessMs,
  retryAfterMs,
  retryDeadlineMs,
  serverWaitHintMs,
} from "../../../src/meta/graph/index.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("fullJitterDelay", () => {
  const policy = { baseMs: 100, capMs: 5000 };

  it("draws uniformly below min(cap, base·2^(retry−1))", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, r) => {
          const ceiling = Math.min(5000, 100 * 2 ** (retry - 1));
          const delay = fullJitterDelay(retry, policy, () => r);
          assert.ok(delay >= 0 && delay <= ceiling, `${delay} outside [0, ${ceiling}]`);
          assert.equal(delay, Math.floor(r * ceiling));
        },
      ),
    );
  });

  it("doubles the ceiling per retry until the cap", () => {
    const top = (retry: number) => fullJitterDelay(retry, policy, () => 0.999999);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(top), [99, 199, 399, 799, 1599, 3199, 4999]);
  });
});

describe("server wait hints", () => {
  const now = Date.parse("2026-09-15T12:00:00Z");

  it("reads Retry-After as seconds or as an HTTP date", () => {
    assert.equal(retryAfterMs("7", now), 7000);
    assert.equal(retryAfterMs("1.5", now), 1500);
    assert.equal(retryAfterMs("Tue, 15 Sep 2026 12:00:30 GMT", now), 30_000);
    assert.equal(retryAfterMs("Tue, 15 Sep 2026 11:00:00 GMT", now), 0);
    assert.equal(retryAfterMs(["3", "9"], now), 3000);
    assert.equal(retryAfterMs("soon", now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
  });

  it("reads the longest estimated_time_to_regain_access, in minutes", () => {
    const header = JSON.stringify({
      "111": [{ type: "ads_management", call_count: 100, estimated_time_to_regain_access: 2 }],
      "222": [
        { type: "ads_insights", estimated_time_to_regain_access: 5 },
        { type: "custom_audience", estimated_time_to_regain_access: 0 },
      ],
    });
    assert.equal(regainAccessMs(header), 5 * 60_000);
    assert.equal(
      regainAccessMs(JSON.stringify({ "1": [{ estimated_time_to_regain_access: 0 }] })),
      undefined,
    );
    assert.equal(regainAccessMs("not json"), undefined);
  });

  it("takes the longer of the two", () => {
    const usage = JSON.stringify({ "1": [{ estimated_time_to_regain_access: 1 }] });
    assert.equal(serverWaitHintMs({ "retry-after": "5", "x-business-use-case-usage": usage }, now), 60_000);
    assert.equal(
      serverWaitHintMs({ "retry-after": "120", "x-business-use-case-usage": usage }, now),
      120_000,
    );
    assert.equal(serverWaitHintMs({}, now), undefined);
  });
});

describe("retry deadlines", () => {
  const policy = DEFAULT_DEADLINE_POLICY;
  const eventTime = 1_790_000_000;

  it("is the age window less one hour: 7 days, or 62 for physical_store", () => {
    assert.equal(ageDeadlineMs(eventTime, "website", policy), eventTime * 1000 + 7 * DAY - HOUR);
    assert.equal(ageDeadlineMs(eventTime, "physical_store", policy), eventTime * 1000 + 62 * DAY - HOUR);
    assert.equal(ageDeadlineMs(String(eventTime), "app", policy), eventTime * 1000 + 7 * DAY - HOUR);
    assert.equal(ageDeadlineMs("yesterday", "website", policy), Number.POSITIVE_INFINITY);
  });

  it("never exceeds 47 hours after the first attempt", () => {
    const age = ageDeadlineMs(eventTime, "physical_store", policy);
    const first = eventTime * 1000 + DAY;
    assert.equal(retryDeadlineMs(age, first, policy), first + 47 * HOUR);
    const late = eventTime * 1000 + 6.5 * DAY;
    const websiteAge = ageDeadlineMs(eventTime, "website", policy);
    assert.equal(retryDeadlineMs(websiteAge, late, policy), websiteAge);
  });

  it("takes configured windows", () => {
    const custom = { ...policy, ageWindowMs: DAY, ageMarginMs: 0 };
    assert.equal(ageDeadlineMs(eventTime, "website", custom), eventTime * 1000 + DAY);
  });
});
