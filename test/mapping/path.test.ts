import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import jsonata from "jsonata";
import { compilePath, plainPathSteps } from "../../src/mapping/path.ts";

/** jsonata marks its sequences with extra properties; compare the JSON a payload would carry. */
function asJson(value: unknown): string {
  return JSON.stringify({ value });
}

describe("plainPathSteps", () => {
  const cases: [string, string[] | undefined][] = [
    ["email", ["email"]],
    ["context.page.url", ["context", "page", "url"]],
    ["`order total`", ["order total"]],
    ["a.`b.c`", ["a", "b.c"]],
    ["and", ["and"]],
    ["total * 1.0", undefined],
    ["'physical_store'", undefined],
    ["true", undefined],
    ["a[0]", undefined],
    ["a[]", undefined],
    ["a.*", undefined],
    ["$x", undefined],
    ["a{b: c}", undefined],
    ["a#$i.b", undefined],
    ["a^(b)", undefined],
  ];
  for (const [expression, expected] of cases) {
    it(`${expression} → ${expected ? expected.join(" / ") : "not a plain path"}`, () => {
      assert.deepEqual(plainPathSteps(jsonata(expression).ast()), expected);
    });
  }
});

describe("compilePath agrees with jsonata", () => {
  const keys = ["a", "b", "c"];
  const leaf = fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.constant(null), fc.boolean());
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.array(tie("tree"), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom(...keys), tie("tree"), { maxKeys: 3 }),
    ),
  }));
  const row = fc.dictionary(fc.constantFrom(...keys), tree, { maxKeys: 3 });
  const path = fc.array(fc.constantFrom(...keys), { minLength: 1, maxLength: 4 });

  it("on random nested rows and paths", async () => {
    await fc.assert(
      fc.asyncProperty(row, path, async (data, steps) => {
        const expected = await jsonata(steps.join(".")).evaluate(data);
        assert.equal(asJson(compilePath(steps)(data)), asJson(expected));
      }),
      { numRuns: 2000 },
    );
  });

  const examples: [string, unknown][] = [
    ["a.b.c", { a: { b: [{ c: 1 }, { c: 2 }] } }],
    ["a.b", { a: { b: [1] } }],
    ["a.b", { a: [{ b: 1 }] }],
    ["a.b", { a: [{ b: [1] }] }],
    ["a.b", { a: [{ b: [1, 2] }, { b: 3 }] }],
    ["a.b", { a: [[{ b: 1 }], [{ b: 2 }]] }],
    ["a.b", { a: [] }],
    ["a", { a: [] }],
    ["a", { a: null }],
    ["toString", {}],
    ["a.constructor", { a: {} }],
  ];
  for (const [expression, data] of examples) {
    it(`${expression} on ${JSON.stringify(data)}`, async () => {
      const expected = await jsonata(expression).evaluate(data);
      assert.equal(asJson(compilePath(expression.split("."))(data)), asJson(expected));
    });
  }
});
