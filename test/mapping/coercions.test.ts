import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CompiledMapping, compileMapping, type MapResult, type Row } from "../../src/mapping/index.ts";

// Each case maps one source column `src` to one Meta field and reads the field back from the
// draft event, so the table exercises the same path a real mapping takes.

/** `date -u -d "2026-11-20 14:03:00" +%s` */
const T = 1795183380;

const mappings = new Map<string, CompiledMapping>();

function mapOne(field: string, value: unknown): MapResult {
  let mapping = mappings.get(field);
  if (!mapping) {
    mapping = compileMapping({ fields: { [field]: "src" } }, { connection: "c", key: ["id"] });
    mappings.set(field, mapping);
  }
  return mapping.map({ id: 1, src: value } as Row, 7) as MapResult;
}

function at(event: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], event);
}

const converts: [field: string, input: unknown, expected: unknown][] = [
  // event_time: unix seconds and milliseconds, text forms, driver objects
  ["event_time", T, T],
  ["event_time", T + 0.9, T],
  ["event_time", T * 1000 + 123, T],
  ["event_time", BigInt(T) * 1_000_000n + 5n, T],
  ["event_time", String(T), T],
  ["event_time", String(T * 1000), T],
  ["event_time", "2026-11-20T14:03:00Z", T],
  ["event_time", "2026-11-20T14:03:00.999Z", T],
  ["event_time", "2026-11-20T14:03:00", T],
  ["event_time", "2026-11-20 14:03:00", T],
  ["event_time", "2026-11-20 14:03:00.123456", T],
  ["event_time", "2026-11-20 14:03:00 UTC", T],
  ["event_time", "2026-11-20 14:03:00+00", T],
  ["event_time", "2026-11-20 19:33:00+05:30", T],
  ["event_time", "2026-11-20T09:03:00-0500", T],
  ["event_time", "2026-11-20", 1795132800],
  ["event_time", new Date(T * 1000 + 456), T],
  ["original_event_data.event_time", "2026-11-20 14:03:00", T],
  // event names: snake_case aliases of Narrative and warehouses; custom names pass
  ["event_name", "purchase", "Purchase"],
  ["event_name", "ADD_TO_CART", "AddToCart"],
  ["event_name", "initiate_checkout", "InitiateCheckout"],
  ["event_name", " Lead ", "Lead"],
  ["event_name", "loyalty_signup", "loyalty_signup"],
  ["action_source", "Physical_Store", "physical_store"],
  // numbers
  ["custom_data.value", "49.99", 49.99],
  ["custom_data.value", 12, 12],
  ["custom_data.value", " 1e3 ", 1000],
  ["custom_data.value", 7n, 7],
  ["custom_data.predicted_ltv", "310.5", 310.5],
  ["custom_data.num_items", "3", 3],
  ["custom_data.num_items", 2.0, 2],
  ["data_processing_options_country", "1", 1],
  // lists
  ["custom_data.content_ids", ["a", 2], ["a", "2"]],
  ["custom_data.content_ids", "sku-1, sku-2,,", ["sku-1", "sku-2"]],
  ["custom_data.content_ids", '["sku-1","sku-2"]', ["sku-1", "sku-2"]],
  ["custom_data.content_ids", "sku-1", ["sku-1"]],
  ["custom_data.content_ids", 42, ["42"]],
  ["custom_data.content_ids", [], undefined],
  ["data_processing_options", "LDU", ["LDU"]],
  ["data_processing_options", '["LDU"]', ["LDU"]],
  ["data_processing_options", [], []],
  [
    "custom_data.contents",
    '[{"id": 1, "quantity": "2", "item_price": "9.5"}]',
    [{ id: "1", quantity: 2, item_price: 9.5 }],
  ],
  [
    "custom_data.contents",
    [{ id: "a", quantity: 1, delivery_category: "in_store", brand: "x" }],
    [{ id: "a", quantity: 1, delivery_category: "in_store", brand: "x" }],
  ],
  ["custom_data.contents", { id: "a", quantity: "3" }, [{ id: "a", quantity: 3 }]],
  ["custom_data.contents", '{"id": "a", "quantity": 1}', [{ id: "a", quantity: 1 }]],
  // text and case
  ["custom_data.currency", " usd ", "USD"],
  ["custom_data.order_id", 1234, "1234"],
  ["custom_data.order_id", 98765432109876543210n, "98765432109876543210"],
  ["event_source_url", " https://shop.example/p ", "https://shop.example/p"],
  // booleans
  ["opt_out", "true", true],
  ["opt_out", "1", true],
  ["opt_out", 0, false],
  ["opt_out", "f", false],
  ["opt_out", "No", false],
  ["app_data.advertiser_tracking_enabled", true, true],
  // customer data stays raw; lists allowed where Meta takes them
  ["user_data.em", " Jane@Example.com ", "Jane@Example.com"],
  ["user_data.em", ["a@x.com", "b@x.com", "a@x.com"], ["a@x.com", "b@x.com"]],
  ["user_data.ph", 16505551212, "16505551212"],
  ["user_data.external_id", ["c1", 2], ["c1", "2"]],
  ["user_data.client_ip_address", "203.0.113.7", "203.0.113.7"],
  ["user_data.db", new Date(Date.UTC(1997, 1, 16)), "19970216"],
  ["user_data.db", new Date(1997, 1, 16), "19970216"],
  ["user_data.db", "1997-02-16T00:00:00.000Z", "19970216"],
  ["user_data.db", "2/16/1997", "2/16/1997"],
  ["user_data.db", " 1997-02-16 ", "19970216"],
  ["user_data.db", "1997-02-16 00:00:00", "19970216"],
  ["user_data.db", "   ", undefined],
  ["user_data.db", ["1997-02-16", " 16.02.1997 "], ["19970216", "16.02.1997"]],
  ["user_data.db", ["1997-02-16"], "19970216"],
  // routing and free-form custom properties
  ["dataset_id", 1234567890123456, "1234567890123456"],
  ["dataset_id", " 987 ", "987"],
  ["custom_data.loyalty_tier", "gold", "gold"],
  ["custom_data.mileage.value", 42, 42],
  ["custom_data.options", '{"gift": true}', { gift: true }],
  ["app_data.extinfo", '["i2","com.app"]', ["i2", "com.app"]],
  // empty means absent
  ["custom_data.value", "", undefined],
  ["custom_data.value", "   ", undefined],
  ["event_time", null, undefined],
  ["user_data.em", ["", null], undefined],
  ["custom_data.loyalty_tier", "", undefined],
];

describe("value coercions", () => {
  for (const [field, input, expected] of converts) {
    const label =
      typeof input === "bigint" ? `${input}n` : input instanceof Date ? input.toISOString() : input;
    it(`${field} ← ${JSON.stringify(label)}`, () => {
      const result = mapOne(field, input);
      assert.equal(result.ok, true, JSON.stringify(result));
      if (result.ok !== true) return;
      const actual = field === "dataset_id" ? result.datasetId : at(result.event, field);
      assert.deepEqual(actual, expected);
    });
  }
});

describe("contents a row holds as objects", () => {
  it("are coerced into copies: the row's own objects stay as they were", () => {
    const items = [{ id: 7, quantity: "2", item_price: "", brand: "x" }];
    const input = structuredClone(items);
    const result = mapOne("custom_data.contents", input);
    assert.equal(result.ok, true);
    if (result.ok !== true) return;
    assert.deepEqual(at(result.event, "custom_data.contents"), [{ id: "7", quantity: 2, brand: "x" }]);
    assert.deepEqual(input, items);
  });
});

const rejects: [field: string, input: unknown][] = [
  ["event_time", "yesterday"],
  ["event_time", "2026-02-30 10:00:00"],
  ["event_time", "2026-11-20 25:00:00"],
  ["event_time", "20/11/2026"],
  ["event_time", -5],
  ["event_time", { seconds: 1 }],
  ["event_time", new Date(Number.NaN)],
  ["event_name", { name: "Purchase" }],
  ["custom_data.value", "$12.50"],
  ["custom_data.value", "12,50"],
  ["custom_data.value", Number.NaN],
  ["custom_data.value", [1]],
  ["custom_data.num_items", "2.5"],
  ["custom_data.content_ids", '["a", '],
  ["custom_data.content_ids", '{"a": 1}'],
  ["custom_data.content_ids", [{ id: "a" }]],
  ["custom_data.contents", "sku-1"],
  ["custom_data.contents", ["sku-1"]],
  ["custom_data.contents", [{ id: "a", quantity: "many" }]],
  ["opt_out", "maybe"],
  ["opt_out", 2],
  ["user_data.em", { email: "a@x.com" }],
  ["user_data.client_ip_address", ["1.1.1.1"]],
  ["dataset_id", "pixel-12"],
];

describe("unreadable values are row errors naming the row and the field", () => {
  for (const [field, input] of rejects) {
    it(`${field} ← ${typeof input === "object" ? JSON.stringify(input) : String(input)}`, () => {
      const result = mapOne(field, input);
      assert.equal(result.ok, false);
      if (result.ok !== false) return;
      assert.equal(result.errors.length, 1);
      const [error] = result.errors;
      assert.equal(error?.path, field);
      assert.match(error?.code ?? "", /^mapping\.invalid_/);
      assert.ok(error?.message.startsWith(`row 7: ${field} `), error?.message);
    });
  }
});
