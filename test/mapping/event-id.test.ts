import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compileMapping,
  deriveEventId,
  type MapResult,
  RowKeyError,
  rowKey,
} from "../../src/mapping/index.ts";
import { sha256 } from "../../src/meta/hash.ts";

describe("rowKey", () => {
  it("serializes the key columns in order as a JSON array of text", () => {
    assert.equal(rowKey({ order_id: "o-1", line: 2, extra: "x" }, ["order_id", "line"]), '["o-1","2"]');
  });

  it("gives the same key whichever type a driver uses for the same number", () => {
    const keys = [{ id: 42 }, { id: 42n }, { id: "42" }].map((row) => rowKey(row, ["id"]));
    assert.deepEqual(new Set(keys), new Set(['["42"]']));
  });

  it("reads timestamps as ISO text and nested columns by path", () => {
    const at = new Date(Date.UTC(2026, 10, 20, 14, 3));
    assert.equal(
      rowKey({ at, properties: { order_id: "o9" } }, ["at", "properties.order_id"]),
      `["${at.toISOString()}","o9"]`,
    );
  });

  it("prefers a flat column whose name has a dot over a nested path", () => {
    assert.equal(rowKey({ "a.b": "flat", a: { b: "nested" } }, ["a.b"]), '["flat"]');
  });

  const broken: [string, Record<string, unknown>][] = [
    ["missing", { other: 1 }],
    ["null", { id: null }],
    ["empty", { id: "" }],
    ["an object", { id: { secret: "CANARY-key" } }],
  ];
  for (const [what, row] of broken) {
    it(`throws RowKeyError naming the column when it is ${what}`, () => {
      assert.throws(
        () => rowKey(row, ["id"]),
        (error: unknown) =>
          error instanceof RowKeyError &&
          error.column === "id" &&
          error.message.includes("id") &&
          !error.message.includes("CANARY"),
      );
    });
  }

  it("refuses to build a key from no columns", () => {
    assert.throws(() => rowKey({ id: 1 }, []), RowKeyError);
  });
});

describe("deriveEventId", () => {
  const base = deriveEventId("shop", '["o-1"]', "Purchase");

  it("is 32 hex digits of SHA-256 over connection, key and event name", () => {
    assert.match(base, /^[0-9a-f]{32}$/);
    assert.equal(base, sha256(JSON.stringify(["shop", '["o-1"]', "Purchase"])).slice(0, 32));
  });

  it("is the same for the same input and for the key values given as a list", () => {
    assert.equal(deriveEventId("shop", '["o-1"]', "Purchase"), base);
    assert.equal(deriveEventId("shop", ["o-1"], "Purchase"), base);
  });

  it("differs when the connection, the key or the event differ", () => {
    const others = [
      deriveEventId("shop-eu", '["o-1"]', "Purchase"),
      deriveEventId("shop", '["o-2"]', "Purchase"),
      deriveEventId("shop", '["o-1","1"]', "Purchase"),
      deriveEventId("shop", '["o-1"]', "AddToCart"),
    ];
    assert.equal(new Set([base, ...others]).size, others.length + 1);
  });

  it("cannot be confused by separators inside values", () => {
    assert.notEqual(deriveEventId("a", ["b,c"], "E"), deriveEventId("a", ["b", "c"], "E"));
    assert.notEqual(deriveEventId("a|b", ["c"], "E"), deriveEventId("a", ["b|c"], "E"));
  });
});

describe("event_id in a mapping", () => {
  const mapping = compileMapping({ preset: "columns" }, { connection: "shop", key: ["order_id"] });
  const row = { order_id: "o-1", event_name: "purchase", event_time: 1795183380, email: "a@x.com" };

  function eventId(result: MapResult | Promise<MapResult>): unknown {
    const settled = result as MapResult;
    assert.equal(settled.ok, true);
    return settled.ok === true ? settled.event.event_id : undefined;
  }

  it("is derived from connection, row key and canonical event name when unmapped", () => {
    assert.equal(eventId(mapping.map(row, 1)), deriveEventId("shop", rowKey(row, ["order_id"]), "Purchase"));
  });

  it("is stable across runs and differs per row and per event", () => {
    const again = compileMapping({ preset: "columns" }, { connection: "shop", key: ["order_id"] });
    assert.equal(eventId(again.map({ ...row }, 99)), eventId(mapping.map(row, 1)));
    assert.notEqual(eventId(mapping.map({ ...row, order_id: "o-2" }, 2)), eventId(mapping.map(row, 1)));
    assert.notEqual(eventId(mapping.map({ ...row, event_name: "Lead" }, 3)), eventId(mapping.map(row, 1)));
  });

  it("is taken from the row when mapped", () => {
    assert.equal(eventId(mapping.map({ ...row, event_id: "Purchase:o-1" }, 1)), "Purchase:o-1");
  });

  it("is a row error naming the key column when the key is missing", () => {
    const result = mapping.map({ event_name: "Purchase", event_time: 1795183380 }, 12) as MapResult;
    assert.equal(result.ok, false);
    if (result.ok !== false) return;
    assert.deepEqual(
      result.errors.map((e) => [e.path, e.code]),
      [["event_id", "mapping.missing_key"]],
    );
    assert.match(result.errors[0]?.message ?? "", /^row 12: event_id .*order_id/);
  });

  it("is a row error when there is no key to derive it from", () => {
    const keyless = compileMapping({ preset: "columns" }, { connection: "shop", key: [] });
    const result = keyless.map(row, 5) as MapResult;
    assert.equal(result.ok, false);
    if (result.ok === false) assert.equal(result.errors[0]?.code, "mapping.no_event_id");
  });
});
