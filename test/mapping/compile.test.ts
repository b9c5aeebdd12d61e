import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import {
  compileMapping,
  type MappingConfig,
  MappingConfigError,
  type MapResult,
  type Row,
} from "../../src/mapping/index.ts";

const context = { connection: "shop", key: ["order_id"] };
const baseRow = {
  order_id: "o-1",
  event_name: "Purchase",
  event_time: 1795183380,
  email: "jane@example.com",
  client_ip_address: "203.0.113.7",
};

async function mapped(config: MappingConfig, row: Row): Promise<MapResult & { ok: true }> {
  const result = await compileMapping(config, context).map(row, 1);
  assert.equal(result.ok, true, JSON.stringify(result));
  return result as MapResult & { ok: true };
}

async function failed(config: MappingConfig, row: Row, rowNumber = 1): Promise<MapResult & { ok: false }> {
  const result = await compileMapping(config, context).map(row, rowNumber);
  assert.equal(result.ok, false, JSON.stringify(result));
  return result as MapResult & { ok: false };
}

describe("JSONata expressions", () => {
  it("evaluate the issue's example: a computed value and a literal action_source", async () => {
    const config = {
      preset: "columns",
      fields: { "custom_data.value": "total * 1.0", action_source: "'physical_store'" },
    };
    const mapping = compileMapping(config, context);
    assert.equal(mapping.async, true);
    assert.deepEqual(
      mapping.fields.filter((f) => f.path === "custom_data.value" || f.path === "action_source"),
      [
        { path: "action_source", source: "'physical_store'" },
        { path: "custom_data.value", source: "total * 1.0" },
      ],
    );
    const result = await mapping.map({ ...baseRow, total: 12.5 }, 1);
    assert.equal(result.ok, true);
    if (result.ok !== true) return;
    assert.equal(result.event.custom_data?.value, 12.5);
    assert.equal(result.event.action_source, "physical_store");
  });

  it("compute over nested arrays, call functions and choose by condition", async () => {
    const { event } = await mapped(
      {
        fields: {
          "custom_data.value": "$sum(items.(price * qty))",
          "custom_data.content_ids": "items.sku",
          event_name: "status = 'paid' ? 'purchase' : 'lead'",
          "user_data.em": "$lowercase(contact.email)",
          "custom_data.contents": "items.{ 'id': sku, 'quantity': qty, 'item_price': price }",
        },
      },
      {
        ...baseRow,
        status: "paid",
        items: [
          { sku: "a", price: 2, qty: 3 },
          { sku: "b", price: 1.5, qty: 2 },
        ],
        contact: { email: "JANE@EXAMPLE.COM" },
      },
    );
    assert.equal(event.custom_data?.value, 9);
    assert.deepEqual(event.custom_data?.content_ids, ["a", "b"]);
    assert.equal(event.event_name, "Purchase");
    assert.equal(event.user_data.em, "jane@example.com");
    assert.deepEqual(event.custom_data?.contents, [
      { id: "a", quantity: 3, item_price: 2 },
      { id: "b", quantity: 2, item_price: 1.5 },
    ]);
  });

  it("accept the single object JSONata yields for a one-item list of contents", async () => {
    const { event } = await mapped(
      { fields: { "custom_data.contents": "items.{ 'id': sku, 'quantity': qty }" } },
      { ...baseRow, items: [{ sku: "a", qty: 1 }] },
    );
    assert.deepEqual(event.custom_data?.contents, [{ id: "a", quantity: 1 }]);
  });

  it("take the fast path for column paths and literals: the mapping stays synchronous", () => {
    const mapping = compileMapping(
      {
        fields: {
          "custom_data.value": "amount",
          action_source: "'physical_store'",
          "custom_data.order_id": "`order id`",
        },
      },
      context,
    );
    assert.equal(mapping.async, false);
    const result = mapping.map({ ...baseRow, amount: "7", "order id": "X-1" }, 1);
    assert.ok(!(result instanceof Promise));
    assert.equal(result.ok, true);
    if (result.ok !== true) return;
    assert.equal(result.event.custom_data?.value, 7);
    assert.equal(result.event.custom_data?.order_id, "X-1");
    assert.equal(result.event.action_source, "physical_store");
  });

  it("report a failing expression as a row error with JSONata's code, not its message", async () => {
    const { errors } = await failed(
      { fields: { "custom_data.value": "$number(total)" } },
      { ...baseRow, total: "CANARY-5d1e" },
      41,
    );
    assert.deepEqual(
      errors.map((e) => [e.path, e.code]),
      [["custom_data.value", "mapping.expression_failed"]],
    );
    assert.match(errors[0]?.message ?? "", /^row 41: custom_data\.value expression failed \(JSONata D\d+\)$/);
  });
});

describe("fields over a preset", () => {
  it("override a preset field", async () => {
    const { event } = await mapped(
      { fields: { "user_data.em": "contact_email" } },
      { ...baseRow, contact_email: "b@x.com" },
    );
    assert.equal(event.user_data.em, "b@x.com");
  });

  it("remove a preset field with null or an empty string", async () => {
    const { event } = await mapped(
      { fields: { "user_data.client_ip_address": null, "user_data.em": "" } },
      { ...baseRow, phone: "+16505551212" },
    );
    assert.equal(event.user_data.client_ip_address, undefined);
    assert.equal(event.user_data.em, undefined);
    assert.equal(event.user_data.ph, "+16505551212");
  });

  it("extend the preset with other Meta fields, custom properties and constants", async () => {
    const { event } = await mapped(
      {
        fields: {
          "custom_data.loyalty_tier": "tier",
          "custom_data.value": 10,
          opt_out: true,
          "custom_data.store_data.store_code": "store",
        },
      },
      { ...baseRow, tier: "gold", store: "S-9" },
    );
    assert.equal(event.custom_data?.loyalty_tier, "gold");
    assert.equal(event.custom_data?.value, 10);
    assert.equal(event.opt_out, true);
    assert.deepEqual(event.custom_data?.store_data, { store_code: "S-9" });
  });

  it("place custom properties named like what every object inherits as own properties, prototypes untouched", async () => {
    const { event } = await mapped(
      {
        fields: {
          "custom_data.constructor.x": "tier",
          "custom_data.__proto__": "tier",
          "custom_data.toString": "store",
        },
      },
      { ...baseRow, tier: "gold", store: "S-9" },
    );
    const sent = JSON.parse(JSON.stringify(event));
    assert.deepEqual(sent.custom_data, {
      order_id: "o-1",
      constructor: { x: "gold" },
      ["__proto__"]: "gold",
      toString: "S-9",
    });
    assert.equal(Object.getPrototypeOf(event.custom_data), Object.prototype);
    assert.equal(Object.hasOwn(Object, "x"), false);
    assert.equal(Object.hasOwn(Object.prototype, "x"), false);
  });

  it("map the same without generated code (--disallow-code-generation-from-strings)", () => {
    const config: MappingConfig = {
      fields: { "custom_data.store_data.store_code": "store", "custom_data.tier": "tier", opt_out: true },
    };
    const row = { ...baseRow, tier: "gold", store: "S-9", phone: "+1 650 555 1212" };
    const script = `
      const { compileMapping } = await import(${JSON.stringify(new URL("../../src/mapping/index.ts", import.meta.url).href)});
      let generated = true;
      try { new Function("return 1"); } catch { generated = false; }
      const result = compileMapping(${JSON.stringify(config)}, ${JSON.stringify(context)}).map(${JSON.stringify(row)}, 1);
      process.stdout.write(JSON.stringify({ generated, result }));`;
    const child = spawnSync(
      process.execPath,
      ["--disallow-code-generation-from-strings", "--input-type=module", "-e", script],
      { encoding: "utf8" },
    );
    assert.equal(child.status, 0, child.stderr);
    const { generated, result } = JSON.parse(child.stdout);
    assert.equal(generated, false);
    assert.deepEqual(result, JSON.parse(JSON.stringify(compileMapping(config, context).map(row, 1))));
  });

  it("read a row's own columns only, never what its prototype carries", async () => {
    const inherited = Object.assign(Object.create({ email: "inherited@example.com", tier: "gold" }), baseRow);
    delete inherited.email;
    const { event } = await mapped({ fields: { "custom_data.tier": "tier" } }, inherited);
    assert.equal(event.user_data.em, undefined);
    assert.equal(event.custom_data?.tier, undefined);
  });

  it("let a config field take its whole branch: the preset's fields below it give way", async () => {
    // The columns preset maps custom_data.store_data.store_code; the config maps its parent.
    const { event } = await mapped(
      { fields: { "custom_data.store_data": "store" } },
      { ...baseRow, store: { store_code: "S-1", brand_page_id: "42" }, store_code: "S-9" },
    );
    assert.deepEqual(event.custom_data?.store_data, { store_code: "S-1", brand_page_id: "42" });
  });

  it("apply a static action_source to every event, as SignalSmith does", async () => {
    const mapping = compileMapping({ fields: { action_source: "'website'" } }, context);
    for (const [i, row] of [baseRow, { ...baseRow, order_id: "o-2", action_source: "app" }].entries()) {
      const result = mapping.map(row, i + 1) as MapResult;
      assert.equal(result.ok === true && result.event.action_source, "website");
    }
  });
});

describe("row errors", () => {
  it("list every unreadable field of a row, each naming the row and the field", async () => {
    const { errors } = await failed(
      { preset: "columns" },
      { ...baseRow, event_time: "soon", value: "lots", opt_out: "perhaps" },
      1234,
    );
    assert.deepEqual(
      errors.map((e) => e.path),
      ["event_time", "opt_out", "custom_data.value"],
    );
    for (const error of errors)
      assert.ok(error.message.startsWith(`row 1234: ${error.path} `), error.message);
  });

  it("never carry the value that failed (canary)", async () => {
    const canary = "CANARY-9b7c@example.com";
    const row = {
      order_id: { canary },
      event_name: { canary },
      event_time: canary,
      email: { canary },
      value: canary,
      currency: [canary],
      num_items: canary,
      content_ids: `[${canary}`,
      contents: canary,
      opt_out: canary,
      data_processing_options_country: canary,
      total: canary,
      meta_dataset_id: canary,
    };
    const mapping = compileMapping(
      {
        fields: {
          "custom_data.net_revenue": "$number(total)",
          "custom_data.status": "$error(total)",
          dataset_id: "meta_dataset_id",
        },
      },
      context,
    );
    const result = await mapping.map(row, 3);
    assert.equal(result.ok, false);
    if (result.ok !== false) return;
    assert.ok(result.errors.length >= 10, `only ${result.errors.length} errors`);
    assert.ok(!JSON.stringify(result).includes("CANARY"), JSON.stringify(result));
  });

  it("never carry a key value that failed (canary)", async () => {
    const mapping = compileMapping({}, { connection: "shop", key: ["txn"] });
    const result = (await mapping.map({ ...baseRow, txn: { canary: "CANARY-k3y" } }, 8)) as MapResult;
    assert.equal(result.ok, false);
    if (result.ok !== false) return;
    assert.equal(result.errors[0]?.code, "mapping.missing_key");
    assert.match(result.errors[0]?.message ?? "", /^row 8: event_id .*txn/);
    assert.ok(!JSON.stringify(result).includes("CANARY"));
  });
});

describe("compile errors name the field", () => {
  const cases: [string, MappingConfig, RegExp][] = [
    [
      "bad JSONata syntax",
      { fields: { "custom_data.value": "total *" } },
      /custom_data\.value.*invalid JSONata/,
    ],
    ["an unknown preset", { preset: "hubspot" }, /unknown preset 'hubspot'.*columns, narrative, segment/],
    [
      "a column name instead of a Meta field",
      { fields: { email: "email" } },
      /field email: is not a Meta field \(did you mean user_data\.em\?\)/,
    ],
    [
      "a raw name under user_data",
      { fields: { "user_data.email": "e" } },
      /user_data\.email.*did you mean user_data\.em/,
    ],
    ["a bare custom_data key", { fields: { value: "v" } }, /field value: .*did you mean custom_data\.value/],
    [
      "an unknown user_data key",
      { fields: { "user_data.shoe_size": "s" } },
      /user_data\.shoe_size: is not a Meta field/,
    ],
    [
      "a path below a typed field",
      { fields: { "custom_data.value.cents": "c" } },
      /custom_data\.value\.cents/,
    ],
    ["an unknown top-level field", { fields: { event_type: "t" } }, /event_type: is not a Meta field/],
    [
      "a custom property below another one",
      { fields: { "custom_data.tier": "t", "custom_data.tier.level": "l" } },
      /field custom_data\.tier\.level: cannot sit below custom_data\.tier, which is mapped too/,
    ],
    ["a prototype name", { fields: { constructor: "c" } }, /constructor: is not a Meta field/],
    [
      "a constant Meta cannot take",
      { fields: { event_time: "'yesterday'" } },
      /event_time: constant is not a timestamp/,
    ],
    [
      "a value that is neither path nor constant",
      { fields: { event_name: { a: 1 } as never } },
      /event_name: must be/,
    ],
  ];
  for (const [what, config, message] of cases) {
    it(what, () => {
      assert.throws(
        () => compileMapping(config, context),
        (error: unknown) => error instanceof MappingConfigError && message.test(error.message),
      );
    });
  }
});
