import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ConfigError, parseConfig } from "../../src/config/load.ts";
import { maskSecrets } from "../../src/config/mask.ts";
import { configJsonSchema } from "../../src/config/schema.ts";

const TOKEN = "EAAB-canary-token-7f3e9a";
const PG_PASSWORD = "pg-canary-pass-55";

const EXAMPLE = `
state: .capi-sync/state.db
defaults: { default_country: US }
connections:
  store_purchases:
    source: { kind: csv, path: data/purchases.csv }
    key: order_id
    mapping:
      preset: columns
      fields: { custom_data.value: "total * 1.0", action_source: "'physical_store'" }
    destination:
      dataset_id: "123456789012345"
      access_token: \${META_ACCESS_TOKEN}
      app_secret: \${META_APP_SECRET:-}
      graph_url: http://127.0.0.1:4100
      api_version: v24.0
      test_event_code: TEST123
    deliver_existing: true
    schedule: "*/15 * * * *"
  warehouse:
    source: { kind: postgres, url: "postgres://etl:\${PG_PASSWORD}@db.internal:5432/shop", query: "select * from orders" }
    key: [order_id, line]
    destination: { dataset_id: "1", access_token: "\${META_ACCESS_TOKEN}" }
`;

const env = { META_ACCESS_TOKEN: TOKEN, PG_PASSWORD };

describe("config", () => {
  it("parses the issue's example with interpolation and defaults", () => {
    const config = parseConfig(EXAMPLE, env);
    const store = config.connections.store_purchases;
    assert.ok(store);
    assert.equal(store.destination.access_token, TOKEN);
    assert.equal(store.source.kind, "csv");
    assert.equal(store.mapping.fields["custom_data.value"], "total * 1.0");
    assert.equal(config.defaults.default_country, "US");
    const warehouse = config.connections.warehouse;
    assert.ok(warehouse);
    assert.equal(warehouse.mapping.preset, "columns");
    assert.equal(warehouse.deliver_existing, true);
    assert.equal(warehouse.destination.graph_url, "https://graph.facebook.com");
    assert.deepEqual(warehouse.key, ["order_id", "line"]);
  });

  it("names a missing variable without inventing a value", () => {
    assert.throws(
      () => parseConfig(EXAMPLE, { PG_PASSWORD }),
      (e: unknown) => e instanceof ConfigError && /META_ACCESS_TOKEN/.test(e.message),
    );
  });

  const invalid: Array<[string, string, RegExp]> = [
    ["unknown source kind", EXAMPLE.replace("kind: csv", "kind: excel"), /source/],
    ["non-numeric dataset", EXAMPLE.replace('"123456789012345"', '"pixel-abc"'), /dataset_id/],
    ["bad api version", EXAMPLE.replace("api_version: v24.0", "api_version: latest"), /api_version/],
    [
      "unknown key",
      EXAMPLE.replace("deliver_existing: true", "deliver_existng: true"),
      /deliver_existng|Unrecognized/,
    ],
    ["not YAML", "connections: [a, b", /YAML/],
  ];
  for (const [name, text, pattern] of invalid) {
    it(`rejects ${name} with the key path and without secrets`, () => {
      assert.throws(
        () => parseConfig(text, env),
        (e: unknown) =>
          e instanceof ConfigError &&
          pattern.test(e.message) &&
          !e.message.includes(TOKEN) &&
          !e.message.includes(PG_PASSWORD),
      );
    });
  }

  it("points at the line of a YAML error and explains unquoted variables in flow mappings", () => {
    assert.throws(
      () => parseConfig(`connections:\n  a: { access_token: \${META_ACCESS_TOKEN} }\n`, env),
      (e: unknown) => e instanceof ConfigError && /line 2/.test(e.message) && /quote/.test(e.message),
    );
  });

  it("masks every secret for display, keeping URL hosts readable", () => {
    const masked = JSON.stringify(maskSecrets(parseConfig(EXAMPLE, env)));
    assert.ok(!masked.includes(TOKEN), "token masked");
    assert.ok(!masked.includes(PG_PASSWORD), "db password masked");
    assert.ok(masked.includes("db.internal"), "host kept");
    assert.ok(masked.includes("123456789012345"), "dataset id is not a secret");
  });

  it("keeps the committed JSON Schema in step with the zod schema (npm run schema)", () => {
    const committed = JSON.parse(
      readFileSync(new URL("../../schema/capi-sync.schema.json", import.meta.url), "utf8"),
    );
    assert.deepEqual(committed, configJsonSchema());
  });
});
