// The columns preset on rows shaped like the Weld and SignalSmith examples (seeds 002, 004).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileMapping, type DraftEvent, type MapResult, type Row } from "../../src/mapping/index.ts";

const context = { connection: "warehouse", key: ["order_id"] };

async function draft(row: Row, fields: Record<string, string | null> = {}): Promise<DraftEvent> {
  const result: MapResult = await compileMapping({ preset: "columns", fields }, context).map(row, 1);
  assert.equal(result.ok, true, JSON.stringify(result));
  return (result as { event: DraftEvent }).event;
}

describe("columns preset", () => {
  it("maps a Weld purchase row (required, recommended, dedup and custom data columns)", async () => {
    const event = await draft({
      event_name: "Purchase",
      event_time: 1795183380,
      action_source: "website",
      event_id: "Purchase:order_456",
      event_source_url: "https://shop.example/checkout/done",
      email: "John_Smith@gmail.com",
      phone: "15551234567",
      first_name: "John",
      last_name: "Smith",
      city: "New York",
      state: "ny",
      zip: "10001",
      country: "us",
      client_ip_address: "2001:db8::1",
      client_user_agent: "Mozilla/5.0",
      fbc: "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
      fbp: "fb.1.1596403881668.1116446470",
      external_id: "usr_789",
      value: 49.99,
      currency: "USD",
      content_ids: ["sku-1", "sku-2"],
      content_type: "product",
      order_id: "order_456",
    });
    assert.deepEqual(event, {
      event_name: "Purchase",
      event_time: 1795183380,
      action_source: "website",
      event_id: "Purchase:order_456",
      event_source_url: "https://shop.example/checkout/done",
      user_data: {
        em: "John_Smith@gmail.com",
        ph: "15551234567",
        fn: "John",
        ln: "Smith",
        ct: "New York",
        st: "ny",
        zp: "10001",
        country: "us",
        external_id: "usr_789",
        client_ip_address: "2001:db8::1",
        client_user_agent: "Mozilla/5.0",
        fbc: "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
        fbp: "fb.1.1596403881668.1116446470",
      },
      custom_data: {
        value: 49.99,
        currency: "USD",
        order_id: "order_456",
        content_ids: ["sku-1", "sku-2"],
        content_type: "product",
      },
    });
  });

  it("passes SignalSmith's pre-hashed columns through beside the raw ones", async () => {
    const hashed = (c: string) => c.repeat(64);
    const event = await draft({
      order_id: "o-1",
      event_name: "Lead",
      event_time: "2026-11-20 14:03:00",
      email: "jane@example.com",
      hashed_email: hashed("a"),
      hashed_phone: hashed("b"),
      hashed_fn: hashed("c"),
      hashed_ln: hashed("d"),
      hashed_ct: hashed("e"),
      hashed_st: hashed("f"),
      hashed_zp: hashed("1"),
      hashed_country: hashed("2"),
    });
    assert.deepEqual(event.user_data, {
      em: ["jane@example.com", hashed("a")],
      ph: hashed("b"),
      fn: hashed("c"),
      ln: hashed("d"),
      ct: hashed("e"),
      st: hashed("f"),
      zp: hashed("1"),
      country: hashed("2"),
    });
  });

  it("maps an offline store sale from DB types (Date, numeric text, snake_case name)", async () => {
    const event = await draft({
      order_id: 1001,
      event_name: "purchase",
      event_time: new Date("2026-11-20T14:03:00Z"),
      action_source: "physical_store",
      phone: "+33 6 12 34 56 78",
      date_of_birth: new Date(Date.UTC(1990, 4, 17)),
      gender: "female",
      value: "120.00",
      currency: "eur",
      contents: '[{"id": "sku-9", "quantity": 2, "item_price": 60}]',
      num_items: "2",
      store_code: "PARIS-01",
      item_number: "1",
      data_processing_options: "[]",
    });
    assert.equal(event.event_name, "Purchase");
    assert.equal(event.event_time, 1795183380);
    assert.equal(event.user_data.db, "19900517");
    assert.equal(event.user_data.ge, "female");
    assert.deepEqual(event.custom_data, {
      value: 120,
      currency: "EUR",
      order_id: "1001",
      contents: [{ id: "sku-9", quantity: 2, item_price: 60 }],
      num_items: 2,
      item_number: "1",
      store_data: { store_code: "PARIS-01" },
    });
    assert.deepEqual(event.data_processing_options, []);
  });

  it("leaves out columns the table does not have and empty cells", async () => {
    const event = await draft({
      order_id: "o-1",
      event_name: "Purchase",
      event_time: 1795183380,
      email: "",
      phone: null,
    });
    assert.deepEqual(Object.keys(event).sort(), [
      "custom_data",
      "event_id",
      "event_name",
      "event_time",
      "user_data",
    ]);
    assert.deepEqual(event.user_data, {});
    assert.deepEqual(event.custom_data, { order_id: "o-1" });
  });

  it("lets fields rename columns the preset expects", async () => {
    const event = await draft(
      { order_id: "o-1", kind: "purchase", ts: "2026-11-20T14:03:00Z", customer_email: "a@x.com" },
      { event_name: "kind", event_time: "ts", "user_data.em": "[customer_email, hashed_email]" },
    );
    assert.equal(event.event_name, "Purchase");
    assert.equal(event.event_time, 1795183380);
    assert.equal(event.user_data.em, "a@x.com");
  });
});
