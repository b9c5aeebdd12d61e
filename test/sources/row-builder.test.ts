import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rowBuilder } from "../../src/sources/row-builder.ts";

describe("rowBuilder", () => {
  it("makes a row of the columns from the values at an offset, in column order", () => {
    const build = rowBuilder(["id", "email", "value"]);
    const row = build(["x", "1", "a@x.com", 12.5, "y"], 1);
    assert.deepEqual(row, { id: "1", email: "a@x.com", value: 12.5 });
    assert.deepEqual(Object.keys(row), ["id", "email", "value"]);
    assert.equal(rowBuilder(["id", "email", "value"]), build, "one function per column set");
  });

  it("keeps a column whose value is missing, as undefined", () => {
    const row = rowBuilder(["a", "b"])(["1"], 0);
    assert.ok(Object.hasOwn(row, "b"));
    assert.equal(row.b, undefined);
  });

  it("takes any column name as data, never as code", () => {
    const names = ['a"b', "c\\", "line\nbreak", "}; throw 1; ({", "ünï", "12", "", "constructor"];
    const row = rowBuilder(names)(
      names.map((_, i) => i),
      0,
    );
    assert.deepEqual(
      names.map((name) => row[name]),
      names.map((_, i) => i),
    );
    assert.deepEqual(new Set(Object.keys(row)), new Set(names));
  });

  it("keeps column sets apart that join alike", () => {
    assert.deepEqual(rowBuilder([])([], 0), {});
    assert.deepEqual(rowBuilder([""])(["x"], 0), { "": "x" });
    assert.deepEqual(rowBuilder(["a", "b"])([1, 2], 0), { a: 1, b: 2 });
    assert.deepEqual(rowBuilder(["a\u0000b"])([3], 0), { "a\u0000b": 3 });
    assert.deepEqual(rowBuilder(["x", ""])([4, 5], 0), { x: 4, "": 5 });
    assert.deepEqual(rowBuilder(["x\u0000"])([6], 0), { "x\u0000": 6 });
  });

  it("defines a __proto__ column as an own property, leaving the prototype alone", () => {
    const row = rowBuilder(["__proto__", "x"])([{ polluted: true }, 1], 0);
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(row, "__proto__")?.value, { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
