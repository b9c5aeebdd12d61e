// The segment preset on Analytics.js calls as Segment documents them (seed 001, e-commerce v2).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileMapping, type DraftEvent, type MapResult, type Row } from "../../src/mapping/index.ts";

const mapping = compileMapping({ preset: "segment" }, { connection: "web", key: ["messageId"] });

function mapped(row: Row): DraftEvent {
  const result = mapping.map(row, 1) as MapResult;
  assert.equal(result.ok, true, JSON.stringify(result));
  return (result as { event: DraftEvent }).event;
}

const webContext = {
  ip: "203.0.113.7",
  userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)",
  page: { url: "https://shop.example/checkout/thanks", referrer: "https://shop.example/cart" },
  traits: { email: "Jane.Doe@Example.com", phone: "+1 650 555 1212", firstName: "Jane", lastName: "Doe" },
  fbp: "fb.1.1596403881668.1116446470",
  fbc: "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
};

function track(event: string, properties: Record<string, unknown>, extra: Row = {}): Row {
  return {
    type: "track",
    event,
    messageId: `ajs-${event}`,
    timestamp: "2026-11-20T14:03:00.512Z",
    originalTimestamp: "2026-11-20T14:02:59.000Z",
    userId: "user-42",
    anonymousId: "anon-1",
    context: webContext,
    properties,
    ...extra,
  };
}

describe("segment preset", () => {
  it("maps Order Completed to a Purchase with identity, products, value and currency", () => {
    const event = mapped(
      track("Order Completed", {
        checkout_id: "fksdjfsdjfisjf9sdfjsd9f",
        order_id: "50314b8e9bcf000000000000",
        total: 27.5,
        revenue: 25,
        shipping: 3,
        tax: 2,
        discount: 2.5,
        currency: "usd",
        products: [
          {
            product_id: "507f1f77bcf86cd799439011",
            sku: "45790-32",
            name: "Monopoly",
            price: 19,
            quantity: 1,
          },
          { product_id: "505bd76785ebb509fc183733", sku: "46493-32", name: "Uno", price: 3, quantity: 2 },
        ],
      }),
    );
    assert.deepEqual(event, {
      event_name: "Purchase",
      event_time: 1795183380,
      action_source: "website",
      event_id: "ajs-Order Completed",
      event_source_url: "https://shop.example/checkout/thanks",
      referrer_url: "https://shop.example/cart",
      user_data: {
        em: "Jane.Doe@Example.com",
        ph: "+1 650 555 1212",
        fn: "Jane",
        ln: "Doe",
        external_id: "user-42",
        client_ip_address: "203.0.113.7",
        client_user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)",
        fbp: "fb.1.1596403881668.1116446470",
        fbc: "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
      },
      custom_data: {
        value: 25,
        currency: "USD",
        content_ids: ["507f1f77bcf86cd799439011", "505bd76785ebb509fc183733"],
        contents: [
          { id: "507f1f77bcf86cd799439011", quantity: 1, item_price: 19 },
          { id: "505bd76785ebb509fc183733", quantity: 2, item_price: 3 },
        ],
        content_type: "product",
        order_id: "50314b8e9bcf000000000000",
      },
    });
  });

  it("sums price × quantity when an order has no revenue or total, and defaults currency to USD", () => {
    const event = mapped(
      track("Order Completed", {
        order_id: "o-2",
        products: [
          { sku: "a", price: "19.99", quantity: 3 },
          { sku: "b", price: 5 },
        ],
      }),
    );
    assert.equal(event.custom_data?.value, 64.97);
    assert.equal(event.custom_data?.currency, "USD");
    assert.deepEqual(event.custom_data?.content_ids, ["a", "b"]);
  });

  const named: [
    segment: string,
    meta: string,
    properties: Record<string, unknown>,
    check: Record<string, unknown>,
  ][] = [
    [
      "Product Added",
      "AddToCart",
      { product_id: "p1", price: 9.5, quantity: 2, currency: "eur", name: "Mug" },
      { value: 19, currency: "EUR", content_ids: ["p1"], content_name: "Mug" },
    ],
    [
      "Product Viewed",
      "ViewContent",
      { product_id: "p1", price: 9.5, category: "Kitchen" },
      { value: 9.5, content_category: "Kitchen", content_type: "product" },
    ],
    [
      "Product List Viewed",
      "ViewContent",
      { list_id: "l1", products: [{ product_id: "p1" }, { product_id: "p2" }] },
      { content_ids: ["p1", "p2"] },
    ],
    ["Products Searched", "Search", { query: "blue hotpants" }, { search_string: "blue hotpants" }],
    [
      "Checkout Started",
      "InitiateCheckout",
      {
        order_id: "o1",
        value: 30,
        products: [
          { product_id: "a", quantity: 2, price: 10 },
          { product_id: "b", price: 10 },
        ],
      },
      { num_items: 3, value: 30, order_id: "o1" },
    ],
    ["Payment Info Entered", "AddPaymentInfo", { checkout_id: "c1", order_id: "o1" }, { order_id: "o1" }],
    [
      "Product Added to Wishlist",
      "AddToWishlist",
      { product_id: "p1", price: 4, quantity: 3 },
      { value: 12, content_ids: ["p1"] },
    ],
    ["Signed Up", "CompleteRegistration", {}, {}],
    ["Trial Started", "StartTrial", {}, {}],
    ["Lead Generated", "Lead", {}, {}],
    ["Form Submitted", "Lead", {}, {}],
    ["order_completed", "Purchase", { total: 5 }, { value: 5 }],
    ["Video Played", "Video Played", {}, {}],
  ];
  for (const [segment, meta, properties, check] of named) {
    it(`track "${segment}" → ${meta}`, () => {
      const event = mapped(track(segment, properties));
      assert.equal(event.event_name, meta);
      for (const [key, value] of Object.entries(check))
        assert.deepEqual(event.custom_data?.[key], value, key);
    });
  }

  it("sends num_items only with InitiateCheckout", () => {
    const event = mapped(track("Order Completed", { products: [{ product_id: "a", quantity: 2 }] }));
    assert.equal(event.custom_data?.num_items, undefined);
  });

  it("maps a page call to PageView with the page URL", () => {
    const event = mapped({
      type: "page",
      name: "Home",
      messageId: "ajs-page-1",
      timestamp: "2026-11-20T14:03:00Z",
      anonymousId: "anon-1",
      context: { ip: "203.0.113.7", userAgent: "UA", page: { url: "https://shop.example/" } },
      properties: { url: "https://shop.example/", title: "Shop" },
    });
    assert.equal(event.event_name, "PageView");
    assert.equal(event.event_source_url, "https://shop.example/");
    assert.equal(event.action_source, "website");
    assert.equal(event.custom_data?.value, undefined);
    assert.equal(event.custom_data?.currency, undefined);
  });

  for (const type of ["identify", "group", "alias", "screen"]) {
    it(`skips ${type} calls with a reason`, () => {
      const result = mapping.map(
        { type, messageId: "m", userId: "u", traits: { email: "a@x.com" } },
        1,
      ) as MapResult;
      assert.equal(result.ok, "skip");
      if (result.ok === "skip") assert.match(result.reason, new RegExp(type));
    });
  }

  it("maps an app event: action_source app, device IDs and app_data from the mobile context", () => {
    const event = mapped(
      track(
        "Order Completed",
        { order_id: "o-9", revenue: 10, currency: "GBP" },
        {
          context: {
            ip: "203.0.113.9",
            app: { name: "Shop", version: "2.1.0", build: "210", namespace: "com.shop.ios" },
            device: { id: "IDFV-1", advertisingId: "IDFA-1", adTrackingEnabled: true, model: "iPhone16,1" },
            os: { name: "iOS", version: "18.1" },
            screen: { width: 393, height: 852, density: 3 },
            network: { carrier: "EE" },
            locale: "en-GB",
            timezone: "Europe/London",
            traits: { email: "a@x.com", address: { city: "London", postalCode: "SW1A 1AA", country: "GB" } },
          },
        },
      ),
    );
    assert.equal(event.action_source, "app");
    assert.equal(event.user_data.madid, "IDFA-1");
    assert.equal(event.user_data.anon_id, "IDFV-1");
    assert.equal(event.user_data.ct, "London");
    assert.equal(event.user_data.zp, "SW1A 1AA");
    assert.equal(event.user_data.country, "GB");
    assert.equal(event.app_data?.advertiser_tracking_enabled, true);
    assert.deepEqual(event.app_data?.extinfo, [
      "i2",
      "com.shop.ios",
      "2.1.0",
      "210",
      "18.1",
      "iPhone16,1",
      "en-GB",
      "",
      "EE",
      "393",
      "852",
      "3",
      "",
      "",
      "",
      "Europe/London",
    ]);
  });

  it("merges identity from context traits and properties without repeats", () => {
    const event = mapped(track("Signed Up", { email: "other@example.com" }, {}));
    assert.deepEqual(event.user_data.em, ["Jane.Doe@Example.com", "other@example.com"]);
    const same = mapped(track("Signed Up", { email: "Jane.Doe@Example.com" }));
    assert.equal(same.user_data.em, "Jane.Doe@Example.com");
  });

  it("reports an unreadable product price as row errors on the fields that carry it", () => {
    const result = mapping.map(
      track("Order Completed", { products: [{ sku: "a", price: "free" }] }),
      17,
    ) as MapResult;
    assert.equal(result.ok, false);
    if (result.ok === false) {
      assert.deepEqual(
        result.errors.map((e) => e.path),
        ["custom_data.value", "custom_data.contents"],
      );
      assert.match(result.errors[0]?.message ?? "", /^row 17: custom_data\.value /);
    }
  });
});
