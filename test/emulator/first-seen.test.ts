import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FirstSeenIndex } from "../../src/emulator/first-seen.ts";

/** The behaviour FirstSeenIndex must have, written with a Map. */
class MapModel {
  readonly #firstSeen = new Map<string, number>();

  seenWithin(key: string, nowMs: number, windowMs: number): boolean {
    const first = this.#firstSeen.get(key);
    if (first !== undefined && nowMs - first <= windowMs) return true;
    this.#firstSeen.set(key, nowMs);
    return false;
  }

  get size(): number {
    return this.#firstSeen.size;
  }
}

describe("FirstSeenIndex", () => {
  it("answers exactly like a Map of first-seen times, through growth and expired windows", () => {
    // Few distinct characters and short keys: many repeats, prefixes and equal-length near misses.
    const key = fc.oneof(
      fc.string({ unit: fc.constantFrom("a", "b", "é", "\u{1F600}", "\u0000"), maxLength: 6 }),
      fc.string({ unit: "binary", maxLength: 40 }),
    );
    const step = fc.record({ key, advanceMs: fc.integer({ min: 0, max: 40 }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 400 }), fc.integer({ min: 0, max: 100 }), (steps, windowMs) => {
        const index = new FirstSeenIndex();
        const model = new MapModel();
        let nowMs = 1_700_000_000_000;
        for (const { key, advanceMs } of steps) {
          nowMs += advanceMs;
          assert.equal(index.seenWithin(key, nowMs, windowMs), model.seenWithin(key, nowMs, windowMs), key);
        }
        assert.equal(index.size, model.size);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps every one of 200,000 keys, and tells keys that differ in one code unit apart", () => {
    const index = new FirstSeenIndex();
    const count = 200_000;
    for (let i = 0; i < count; i++) assert.equal(index.seenWithin(`ord-${i}`, 0, 10), false);
    assert.equal(index.size, count);
    for (let i = 0; i < count; i++) assert.equal(index.seenWithin(`ord-${i}`, 5, 10), true, `ord-${i}`);
    assert.equal(index.seenWithin(`ord-${count}`, 5, 10), false);
    // Same length, same hash-table neighbourhood at worst: only equal code units match.
    assert.equal(index.seenWithin("ord-1\u0100", 5, 10), false);
    assert.equal(index.seenWithin("", 5, 10), false);
    assert.equal(index.seenWithin("", 6, 10), true);
    assert.equal(index.size, count + 3);
  });

  it("restarts a key's window only once it has run out (48 h from the first receipt, not the last)", () => {
    const index = new FirstSeenIndex();
    assert.equal(index.seenWithin("W", 0, 100), false);
    assert.equal(index.seenWithin("W", 60, 100), true);
    assert.equal(index.seenWithin("W", 100, 100), true);
    assert.equal(index.seenWithin("W", 101, 100), false);
    assert.equal(index.seenWithin("W", 201, 100), true);
    assert.equal(index.seenWithin("W", 202, 100), false);
    assert.equal(index.size, 1);
  });
});
