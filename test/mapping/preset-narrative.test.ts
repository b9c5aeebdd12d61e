// The narrative preset on rows carrying Narrative's meta_conversion_event attribute (seed 000).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileMapping, type MapResult, type Row } from "../../src/mapping/index.ts";

const mapping = compileMapping({ preset: "narrative" }, { connection: "narrative", key: ["event_id"] });
const HASHED_EMAIL = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";

function mapped(row: Row): MapResult & { ok: true } {
  const result = mapping.map(row, 1) as MapResult;
  assert.equal(result.ok, true, JSON.stringify(result));
  return result as MapResult & { ok: true };
}

const conversion = {
  meta_dataset_id: 1234567890123456,
  event_id: "txn-881",
  event_name: "purchase",
  event_timestamp: "2026-11-20T14:03:00Z",
  source: "physical_store",
  opt_out: false,
  data_processing_options: ["LDU"],
  data_processing_options_country: 1,
  data_processing_options_state: 1000,
  custom_data: {
    value: 42.5,
    currency: "usd",
    order_id: "ord-881",
    content_ids: ["sku-1"],
    content_type: "product",
    contents: [{ id: "sku-1", quantity: 1, item_price: 42.5, delivery_category: "in_store" }],
    delivery_category: "in_store",
    item_number: "1",
  },
  store_data: { brand_page_id: 111222333, store_code: "NYC-5", store_page_id: 444555666 },
};

const identities = {
  sha256_hashed_email: HASHED_EMAIL,
  e164_phone_number: "+16505551212",
  person_name: { given_name: "Mary", family_name: "Major" },
  iso_3166_1_country: "US",
  postal_address: { city: "New York", state: "NY", postal_code: "10001" },
};

const expectedEvent = {
  event_id: "txn-881",
  event_name: "Purchase",
  event_time: 1795183380,
  action_source: "physical_store",
  opt_out: false,
  data_processing_options: ["LDU"],
  data_processing_options_country: 1,
  data_processing_options_state: 1000,
  custom_data: {
    value: 42.5,
    currency: "USD",
    order_id: "ord-881",
    content_ids: ["sku-1"],
    content_type: "product",
    contents: [{ id: "sku-1", quantity: 1, item_price: 42.5, delivery_category: "in_store" }],
    delivery_category: "in_store",
    item_number: "1",
    store_data: { brand_page_id: "111222333", store_code: "NYC-5", store_page_id: "444555666" },
  },
  user_data: {
    em: HASHED_EMAIL,
    ph: "+16505551212",
    fn: "Mary",
    ln: "Major",
    ct: "New York",
    st: "NY",
    zp: "10001",
    country: "US",
  },
};

describe("narrative preset", () => {
  it("maps a meta_conversion_event object column and routes by meta_dataset_id", () => {
    const result = mapped({ meta_conversion_event: conversion, ...identities });
    assert.equal(result.datasetId, "1234567890123456");
    assert.deepEqual(result.event, expectedEvent);
  });

  it("maps the same fields flattened at the top level of the row", () => {
    const result = mapped({ ...conversion, ...identities });
    assert.equal(result.datasetId, "1234567890123456");
    assert.deepEqual(result.event, expectedEvent);
  });

  it("routes each row to its own dataset", () => {
    const datasets = ["111", "222", "111"].map(
      (id, i) =>
        mapped({ meta_conversion_event: { ...conversion, meta_dataset_id: id, event_id: `e${i}` } })
          .datasetId,
    );
    assert.deepEqual(datasets, ["111", "222", "111"]);
  });

  it("reads mobile and unique identifiers, plain or as Rosetta Stone identifier objects", () => {
    const { event } = mapped({
      meta_conversion_event: { ...conversion, source: "app" },
      apple_idfa: {
        type: "idfa",
        value: "6D92078A-8246-4BA4-AE5B-76104861E7DC",
        context: "mobile_advertising",
      },
      unique_id: { type: "customer_id", value: "cust-42", context: "internal" },
      hashed_email: HASHED_EMAIL,
    });
    assert.equal(event.user_data.madid, "6D92078A-8246-4BA4-AE5B-76104861E7DC");
    assert.equal(event.user_data.external_id, "cust-42");
    assert.equal(event.user_data.em, HASHED_EMAIL);
  });

  // Seed 000's event-name table: every Narrative value and the Meta standard event it stands for.
  const narrativeEventNames: [string, string][] = [
    ["add_payment_info", "AddPaymentInfo"],
    ["add_to_cart", "AddToCart"],
    ["add_to_wishlist", "AddToWishlist"],
    ["complete_registration", "CompleteRegistration"],
    ["contact", "Contact"],
    ["customize_product", "CustomizeProduct"],
    ["donate", "Donate"],
    ["find_location", "FindLocation"],
    ["initiate_checkout", "InitiateCheckout"],
    ["lead", "Lead"],
    ["other", "Other"],
    ["purchase", "Purchase"],
    ["schedule", "Schedule"],
    ["search", "Search"],
    ["start_trial", "StartTrial"],
    ["submit_application", "SubmitApplication"],
    ["subscribe", "Subscribe"],
    ["view_content", "ViewContent"],
  ];
  for (const [narrative, meta] of narrativeEventNames) {
    it(`event_name ${narrative} → ${meta}`, () => {
      assert.equal(
        mapped({ meta_conversion_event: { ...conversion, event_name: narrative } }).event.event_name,
        meta,
      );
    });
  }
});
