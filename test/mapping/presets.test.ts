// Table-driven over the preset tables themselves: every field a preset declares must be a Meta
// field, every column path it reads must reach that field, and every computed field must have a
// worked example here — a field added to a preset without one fails this file.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CoercionName,
  compileMapping,
  type MapResult,
  metaField,
  PRESET_NAMES,
  PRESETS,
  type PresetName,
  type Row,
} from "../../src/mapping/index.ts";

const T = 1795183380;

/** A value each kind of field accepts, and what the draft event then holds. */
const SAMPLES: Record<CoercionName, [input: unknown, expected: unknown]> = {
  text: ["sample", "sample"],
  lowercase_text: ["Website", "website"],
  event_name: ["add_to_cart", "AddToCart"],
  unix_seconds: ["2026-11-20 14:03:00", T],
  number: ["1.5", 1.5],
  integer: ["2", 2],
  boolean: ["true", true],
  currency: ["eur", "EUR"],
  string_list: ["a,b", ["a", "b"]],
  option_list: ["LDU", ["LDU"]],
  contents: ['[{"id":"a","quantity":1}]', [{ id: "a", quantity: 1 }]],
  user_data_values: ["sample-1", "sample-1"],
  date_of_birth: ["1997-02-16", "19970216"],
  dataset_id: ["123456", "123456"],
  json: ["x", "x"],
};

function setPath(row: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split(".");
  let node = row;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1) as string] = value;
  return row;
}

function valueAt(result: MapResult, field: string): unknown {
  assert.equal(result.ok, true, JSON.stringify(result));
  if (result.ok !== true) return undefined;
  if (field === "dataset_id") return result.datasetId;
  return field
    .split(".")
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], result.event);
}

const compiled = new Map(
  PRESET_NAMES.map((name) => [name, compileMapping({ preset: name }, { connection: "t", key: ["row_id"] })]),
);

function mapWith(preset: PresetName, row: Row): MapResult {
  return compiled.get(preset)?.map({ row_id: 1, ...row }, 1) as MapResult;
}

for (const name of PRESET_NAMES) {
  const preset = PRESETS[name];
  describe(`preset ${name}`, () => {
    it("declares only Meta fields, each with a description", () => {
      for (const [field, source] of Object.entries(preset.fields)) {
        assert.ok(metaField(field), `${field} is not a Meta field`);
        assert.ok(source.description.trim().length > 0, `${field} has no description`);
      }
    });

    it("compiles with no overrides", () => {
      const mapping = compileMapping({ preset: name }, { connection: "t", key: [] });
      assert.equal(mapping.fields.length, Object.keys(preset.fields).length);
    });

    for (const [field, source] of Object.entries(preset.fields)) {
      if (!("from" in source)) continue;
      const spec = metaField(field);
      if (!spec) continue;
      const [input, expected] = SAMPLES[spec.coercion];
      for (const path of [source.from].flat()) {
        it(`${field} ← ${path}`, () => {
          assert.deepEqual(valueAt(mapWith(name, setPath({}, path, input)), field), expected);
        });
      }
      const paths = [source.from].flat();
      if (paths.length > 1 && spec.coercion === "user_data_values") {
        it(`${field} keeps every distinct value of ${paths.join(", ")}`, () => {
          const row = {};
          for (const [i, path] of paths.entries()) setPath(row, path, `v${i}`);
          assert.deepEqual(
            valueAt(mapWith(name, row), field),
            paths.map((_, i) => `v${i}`),
          );
        });
      } else if (paths.length > 1) {
        it(`${field} takes the first of ${paths.join(", ")} that has a value`, () => {
          const row = {};
          for (const [i, path] of paths.entries()) setPath(row, path, i === 0 ? "" : input);
          assert.deepEqual(valueAt(mapWith(name, row), field), expected);
        });
      }
    }
  });
}

/** Worked examples of every computed preset field: [preset, field, row, expected]. */
const DERIVED: [PresetName, string, Row, unknown][] = [
  [
    "narrative",
    "user_data.em",
    { sha256_hashed_email: "a".repeat(64), hashed_email: { value: "b".repeat(64) } },
    ["a".repeat(64), "b".repeat(64)],
  ],
  [
    "narrative",
    "user_data.ph",
    { e164_phone_number: "+16505551212", telephone_number: "(650) 555-1313" },
    ["+16505551212", "(650) 555-1313"],
  ],
  [
    "narrative",
    "user_data.madid",
    { android_advertising_id: "38400000-8cf0-11bd-b23e-10b96e40000d" },
    "38400000-8cf0-11bd-b23e-10b96e40000d",
  ],
  [
    "narrative",
    "user_data.madid",
    { mobile_id_unique_identifier: { type: "idfa", value: "IDFA-1" } },
    "IDFA-1",
  ],
  [
    "narrative",
    "user_data.external_id",
    { unique_id: { type: "customer_id", value: "c-1" }, narrative_id: "n-1" },
    ["c-1", "n-1"],
  ],
  ["narrative", "event_name", { meta_conversion_event: { event_name: "add_to_cart" } }, "AddToCart"],
  ["narrative", "event_name", { event_name: "other" }, "Other"],
  ["segment", "event_name", { type: "track", event: "Order Completed" }, "Purchase"],
  ["segment", "event_name", { type: "page" }, "PageView"],
  ["segment", "action_source", { type: "track", context: { app: { name: "Shop" } } }, "app"],
  ["segment", "action_source", { type: "track", context: { page: { url: "https://x" } } }, "website"],
  ["segment", "custom_data.value", { properties: { revenue: "25.5", total: 30 } }, 25.5],
  [
    "segment",
    "custom_data.value",
    { properties: { products: [{ price: 19.99, quantity: 3 }, { price: "5" }] } },
    64.97,
  ],
  ["segment", "custom_data.currency", { properties: { currency: "eur", total: 1 } }, "EUR"],
  ["segment", "custom_data.currency", { properties: { total: 1 } }, "USD"],
  [
    "segment",
    "custom_data.content_ids",
    { properties: { products: [{ product_id: "p1" }, { sku: "s2" }] } },
    ["p1", "s2"],
  ],
  [
    "segment",
    "custom_data.contents",
    { properties: { product_id: "p1", price: 9, quantity: 2 } },
    [{ id: "p1", quantity: 2, item_price: 9 }],
  ],
  ["segment", "custom_data.content_type", { properties: { product_id: "p1" } }, "product"],
  [
    "segment",
    "custom_data.num_items",
    {
      type: "track",
      event: "Checkout Started",
      properties: { products: [{ product_id: "a", quantity: 2 }, { product_id: "b" }] },
    },
    3,
  ],
  [
    "segment",
    "app_data.extinfo",
    {
      context: {
        app: { namespace: "com.shop", version: "2.1", build: "210" },
        os: { name: "iOS", version: "18.1" },
        device: { model: "iPhone16,1" },
        locale: "en-US",
        timezone: "Europe/Paris",
      },
    },
    [
      "i2",
      "com.shop",
      "2.1",
      "210",
      "18.1",
      "iPhone16,1",
      "en-US",
      "",
      "",
      "",
      "",
      "",
      "",
      "",
      "",
      "Europe/Paris",
    ],
  ],
];

describe("computed preset fields", () => {
  it("each has a worked example below", () => {
    for (const name of PRESET_NAMES) {
      for (const [field, source] of Object.entries(PRESETS[name].fields)) {
        if ("derive" in source) {
          assert.ok(
            DERIVED.some(([preset, f]) => preset === name && f === field),
            `${name} ${field} has no worked example`,
          );
        }
      }
    }
  });

  for (const [preset, field, row, expected] of DERIVED) {
    it(`${preset} ${field} ← ${JSON.stringify(row).slice(0, 80)}`, () => {
      assert.deepEqual(valueAt(mapWith(preset, row), field), expected);
    });
  }
});
