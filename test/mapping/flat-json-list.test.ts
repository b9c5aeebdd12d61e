import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseFlatObjectList } from "../../src/mapping/flat-json-list.ts";

/** Escapes and control characters, which the fast reader leaves to JSON.parse. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters JSON refuses raw in a string.
const NOT_PLAIN = /[\\\u0000-\u001f]/;

/** JSON.parse's reading, or "throws". */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return "throws";
  }
}

/** What the fast reader gives must be what JSON.parse gives, key order and -0 included. */
function assertAgrees(text: string): void {
  const fast = parseFlatObjectList(text);
  if (fast === undefined) return;
  const slow = parsed(text);
  assert.notEqual(slow, "throws", `JSON.parse refuses what the fast reader read: ${text}`);
  assert.deepEqual(fast, slow, text);
  assert.deepEqual(
    fast.map((item) => Object.keys(item)),
    (slow as object[]).map((item) => Object.keys(item)),
    `key order of ${text}`,
  );
  assert.ok(
    fast.every((item) => Object.getPrototypeOf(item) === Object.prototype),
    `plain objects from ${text}`,
  );
}

const scalar = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.double(),
  fc.integer(),
  fc.constantFrom(true, false, null, -0, 0, 1e21, 5e-324, Number.MAX_SAFE_INTEGER + 2),
);
const key = fc.oneof(
  fc.constantFrom("id", "quantity", "item_price", "delivery_category", "__proto__", "constructor", "0", ""),
  fc.string(),
);
const flatObject = fc.array(fc.tuple(key, scalar), { maxLength: 6 });
/** A list of flat objects written by hand, so keys repeat and `__proto__` is a key like any other. */
const flatList = fc
  .tuple(fc.array(flatObject, { minLength: 1, maxLength: 4 }), fc.constantFrom("", " ", "  "))
  .map(([objects, space]) => {
    const items = objects.map(
      (pairs) =>
        `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${space}${JSON.stringify(v)}`).join(`,${space}`)}}`,
    );
    return `[${items.join(`,${space}`)}]`;
  });

/** One character of the text replaced, dropped or repeated: mostly text JSON.parse refuses. */
const damaged = fc
  .tuple(
    flatList,
    fc.nat(),
    fc.constantFrom("drop", "repeat", "replace"),
    fc.string({ minLength: 1, maxLength: 1 }),
  )
  .map(([text, at, how, char]) => {
    const i = at % text.length;
    if (how === "drop") return text.slice(0, i) + text.slice(i + 1);
    if (how === "repeat") return text.slice(0, i + 1) + text.slice(i);
    return text.slice(0, i) + char + text.slice(i + 1);
  });

describe("a list of flat objects read without JSON.parse", () => {
  it("reads the warehouse shape of contents as JSON.parse does", () => {
    const text =
      '[{"id":"SKU-14214","quantity":1,"item_price":78.92},{"id":"SKU-72104","quantity":2,"item_price":159.74}]';
    assert.deepEqual(parseFlatObjectList(text), JSON.parse(text));
    assert.deepEqual(parseFlatObjectList('[{"id": "a", "quantity": -0.5e+2}, {}]'), [
      { id: "a", quantity: -50 },
      {},
    ]);
  });

  it("agrees with JSON.parse on generated lists, spaced or not", () => {
    fc.assert(
      fc.property(flatList, (text) => {
        assertAgrees(text);
        // Lists without `__proto__` and escapes are read here, not handed on.
        if (!text.includes('"__proto__"') && !NOT_PLAIN.test(text)) {
          assert.notEqual(parseFlatObjectList(text), undefined, text);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("reads nothing that JSON.parse refuses, and differs from it on nothing it reads", () => {
    fc.assert(fc.property(damaged, assertAgrees), { numRuns: 5000 });
    fc.assert(
      fc.property(fc.string(), (text) => assertAgrees(`[${text}]`)),
      { numRuns: 2000 },
    );
  });

  it("leaves to JSON.parse what is outside the shape", () => {
    const handedOn = [
      "[]",
      '{"id":"a"}',
      '[{"id":{"nested":1}}]',
      '[{"ids":["a"]}]',
      '[{"id":"a\\"b"}]',
      '[{"id":"line\nbreak"}]',
      '[\t{"id":"a"}]',
      '[{"__proto__":{"polluted":1}}]',
      '[{"id":"a"}',
      '[{"id":"a"}] x',
      '[{"quantity":01}]',
      '[{"quantity":1.}]',
      '[{"quantity":+1}]',
      '[{"quantity":.5}]',
      '[{"quantity":1e}]',
      '[{"flag":tru}]',
      '[{"id":"a",}]',
      '[{"id":"a"},]',
    ];
    for (const text of handedOn) {
      assert.equal(parseFlatObjectList(text), undefined, text);
    }
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  });
});
