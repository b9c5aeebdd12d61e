import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Row } from "../../src/mapping/index.ts";
import { type ChunkRows, heldRowAt, packRows, rowCount } from "../../src/sync/row-pack.ts";
import type { HeldRow } from "../../src/sync/stage-protocol.ts";

/** What the worker receives: the packed rows through a structured clone, as postMessage does. */
function crossed(held: HeldRow[]): ChunkRows {
  return structuredClone(packRows(held));
}

function unpacked(rows: ChunkRows): HeldRow[] {
  return Array.from({ length: rowCount(rows) }, (_, i) => heldRowAt(rows, i));
}

function held(rows: Row[]): HeldRow[] {
  return rows.map((row, i) => ({ row, rowNumber: i + 2, key: `k${i}` }));
}

describe("rows packed for the worker", () => {
  it("rebuilds every row with the same keys, in the same order, and the same values", () => {
    const rows = held([
      { order_id: "1", email: "a@x.com", value: 12.5, when: new Date(Date.UTC(2026, 0, 2)), big: 7n },
      { order_id: "2", email: null, value: undefined, when: new Date(0), big: -1n },
      { order_id: "3", email: "", value: 0, when: new Date(1), big: 0n },
    ]);
    const back = unpacked(crossed(rows));
    assert.deepEqual(back, rows);
    for (let i = 0; i < rows.length; i++) {
      assert.deepEqual(Object.keys(back[i]?.row ?? {}), Object.keys(rows[i]?.row ?? {}));
    }
  });

  it("keeps rows of another shape whole, wherever they are in the chunk", () => {
    const rows = held([
      { a: 1, b: { nested: [1, 2] } },
      { b: 2, a: 1 },
      { a: 3, b: 4 },
      { a: 5 },
      { a: 6, b: 7, c: 8 },
      { a: 9, b: 10 },
    ]);
    const packed = packRows(rows);
    assert.deepEqual([...packed.others.keys()], [1, 3, 4]);
    const back = unpacked(structuredClone(packed));
    assert.deepEqual(back, rows);
    assert.deepEqual(Object.keys(back[1]?.row ?? {}), ["b", "a"]);
  });

  it("quotes any column name, and keeps a row of another shape with an own __proto__", () => {
    const odd = { 'a"b': 1, "line\nbreak": 2, ünï: 3, "12": 4, "": 5 };
    const proto = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Row;
    const rows = held([odd, { ...odd }, proto]);
    const back = unpacked(crossed(rows));
    assert.deepEqual(back, rows);
    assert.deepEqual(Object.keys(back[0]?.row ?? {}), Object.keys(odd));
    const rebuilt = back[2]?.row as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(rebuilt), Object.prototype);
    assert.ok(Object.hasOwn(rebuilt, "__proto__"));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("rebuilds an own __proto__ column as an own property, never as the prototype", () => {
    const proto = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Row;
    const rows = held([proto, JSON.parse('{"__proto__": 2, "x": 2}') as Row]);
    const back = unpacked(crossed(rows));
    assert.deepEqual(back, rows);
    for (const { row } of back) {
      assert.equal(Object.getPrototypeOf(row), Object.prototype);
      assert.deepEqual(Object.keys(row), ["__proto__", "x"]);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("passes rows held inline through as they are", () => {
    const rows = held([{ a: 1 }]);
    assert.equal(heldRowAt(rows, 0), rows[0]);
    assert.equal(rowCount(rows), 1);
    assert.equal(rowCount(packRows([])), 0);
  });
});
