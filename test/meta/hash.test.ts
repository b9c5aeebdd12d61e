import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isSha256Hex, looksHashed, sha256 } from "../../src/meta/hash.ts";

/** The validator regex of spec §3.2, hex accepted in either case (§3.2: "accept uppercase leniently"). */
const SPEC_HASHED = /^[a-fA-F0-9]{64}(\.[A-Za-z0-9_-]{2}|\.[A-Za-z0-9_-]{8})?$/;

describe("hash", () => {
  it("sha256 is lowercase hex of the UTF-8 bytes", () => {
    for (const value of ["john_smith@gmail.com", "valéry", "정", ""]) {
      assert.equal(sha256(value), createHash("sha256").update(Buffer.from(value, "utf8")).digest("hex"));
    }
    assert.equal(
      sha256("john_smith@gmail.com"),
      "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
    );
  });

  it("looksHashed agrees with the spec's regex on hex-like and arbitrary strings", () => {
    const hexChar = fc.constantFrom(..."0123456789abcdefABCDEFgxz.-_ é");
    const hexLike = fc.array(hexChar, { minLength: 60, maxLength: 76 }).map((chars) => chars.join(""));
    const digestWithTail = fc
      .tuple(fc.constant(sha256("x")), fc.string({ maxLength: 10 }))
      .map(([digest, tail]) => `${digest}${tail}`);
    fc.assert(
      fc.property(fc.oneof(hexLike, digestWithTail, fc.string()), (value) => {
        assert.equal(looksHashed(value), SPEC_HASHED.test(value));
      }),
      { numRuns: 5000 },
    );
  });

  it("isSha256Hex ignores surrounding spaces and case, and nothing else", () => {
    const digest = sha256("a");
    assert.equal(isSha256Hex(` ${digest.toUpperCase()}\t`), true);
    assert.equal(isSha256Hex(`${digest}.AQ`), false);
    assert.equal(isSha256Hex(digest.slice(1)), false);
    assert.equal(isSha256Hex(`${digest.slice(1)}g`), false);
  });
});
