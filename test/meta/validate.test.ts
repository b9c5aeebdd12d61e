import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Diagnostic } from "../../src/meta/diagnostics.ts";
import { sha256 } from "../../src/meta/hash.ts";
import { HASH_REQUIRED_KEYS } from "../../src/meta/user-data-keys.ts";
import {
  severityOf,
  VALIDATION_CODES,
  type ValidateOptions,
  type ValidationCode,
  validateEvent,
} from "../../src/meta/validate.ts";
import {
  ACTION_SOURCES,
  BUSINESS_MESSAGING_EVENTS,
  CONTENT_TYPES,
  CUSTOMER_SEGMENTATIONS,
  DELIVERY_CATEGORIES,
  MESSAGING_CHANNELS,
  STANDARD_EVENTS,
} from "../../src/meta/vocabulary.ts";

const NOW = 1_790_000_000;
const DAY = 86_400;
/** Planted in failing values so a leak into a message is easy to spot. */
const CANARY = "zq-canary-9317";

type Json = Record<string, unknown>;
interface TestEvent extends Json {
  user_data: Json;
  custom_data: Json & { contents: Json[] };
}

const h = sha256;
const UA =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15";
const IOS_EXTINFO = [
  "i2",
  "com.example.app",
  "1.2",
  "1.2.0 (45)",
  "17.5.1",
  "iPhone15,2",
  "en_US",
  "CET",
].concat(Array(8).fill(""));

/** A website Purchase that passes every rule, strict ones included. */
function baseEvent(): TestEvent {
  return {
    event_name: "Purchase",
    event_time: NOW - 60,
    action_source: "website",
    event_id: "order-1001",
    event_source_url: "https://shop.example.com/checkout/thanks?order=1001",
    user_data: {
      em: [h("john_smith@gmail.com")],
      ph: h("16505551212"),
      external_id: "crm-4411",
      client_ip_address: "203.0.113.7",
      client_user_agent: UA,
      fbc: "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
      fbp: "fb.1.1596403881668.1116446470",
    },
    custom_data: {
      value: 142.52,
      currency: "USD",
      content_type: "product",
      content_ids: ["sku-1", 2, "sku-3"],
      contents: [
        { id: "sku-1", quantity: 1, item_price: 100 },
        { id: 2, quantity: 2, item_price: "21.26", delivery_category: "home_delivery" },
        { id: "sku-3", quantity: 1 },
      ],
      num_items: 4,
      delivery_category: "home_delivery",
    },
  };
}

function appEvent(event: TestEvent): void {
  event.action_source = "app";
  delete event.event_source_url;
  event.app_data = { advertiser_tracking_enabled: true, extinfo: [...IOS_EXTINFO] };
}

/** An app event carrying `appData`, or none when undefined. */
function withAppData(appData: unknown): (event: TestEvent) => void {
  return (event) => {
    appEvent(event);
    if (appData === undefined) delete event.app_data;
    else event.app_data = appData;
  };
}

function messagingEvent(event: TestEvent): void {
  event.action_source = "business_messaging";
  event.messaging_channel = "whatsapp";
  delete event.event_source_url;
  event.user_data = { ctwa_clid: "ARAkLkA8rmlFeiCktEJQ", whatsapp_business_account_id: "1200000001" };
}

function offlineEvent(event: TestEvent, ageSeconds: number): void {
  event.action_source = "physical_store";
  event.event_time = NOW - ageSeconds;
}

function limitedDataUse(event: TestEvent, country?: unknown, state?: unknown): void {
  event.data_processing_options = ["LDU"];
  if (country !== undefined) event.data_processing_options_country = country;
  if (state !== undefined) event.data_processing_options_state = state;
}

interface Case {
  readonly name: string;
  /** Changes the base event in place; `input` replaces it altogether. */
  readonly mutate?: (event: TestEvent) => void;
  readonly input?: unknown;
  readonly options?: ValidateOptions;
  /** Expected codes, any order; `code@path` also pins the path. */
  readonly errors?: readonly string[];
  readonly warnings?: readonly string[];
}

const NO_UA_WARNING = "user_data.client_user_agent.missing";

const CASES: readonly Case[] = [
  { name: "base website Purchase is valid" },
  { name: "base website Purchase is valid in strict mode", options: { strict: true } },

  // The event itself
  { name: "null is not an event", input: null, errors: ["event.not_object@event"] },
  { name: "an array is not an event", input: [baseEvent()], errors: ["event.not_object"] },
  { name: "a number is not an event", input: 42, errors: ["event.not_object"] },
  { name: "a JSON string is not an event", input: JSON.stringify(baseEvent()), errors: ["event.not_object"] },

  // event_name
  {
    name: "event_name missing",
    mutate: (e) => delete e.event_name,
    errors: ["event_name.missing@event_name"],
  },
  { name: "event_name empty", mutate: (e) => (e.event_name = ""), errors: ["event_name.missing"] },
  { name: "event_name not a string", mutate: (e) => (e.event_name = 4242), errors: ["event_name.invalid"] },
  { name: "event_name blank", mutate: (e) => (e.event_name = "    "), errors: ["event_name.invalid"] },
  {
    name: "custom event_name over 50 characters",
    mutate: (e) => (e.event_name = `${CANARY}_`.padEnd(51, "x")),
    warnings: ["event_name.too_long"],
  },
  {
    name: "custom event_name of 50 characters",
    mutate: (e) => (e.event_name = "QuoteRequested".padEnd(50, "x")),
  },

  // event_time
  {
    name: "event_time missing",
    mutate: (e) => delete e.event_time,
    errors: ["event_time.missing@event_time"],
  },
  {
    name: "event_time fractional",
    mutate: (e) => (e.event_time = NOW - 60.5),
    errors: ["event_time.invalid"],
  },
  {
    name: "event_time ISO-8601",
    mutate: (e) => (e.event_time = "2026-09-20T10:00:00Z"),
    errors: ["event_time.invalid"],
  },
  { name: "event_time free text", mutate: (e) => (e.event_time = CANARY), errors: ["event_time.invalid"] },
  {
    name: "event_time integer-like string is a warning",
    mutate: (e) => (e.event_time = String(NOW - 60)),
    warnings: ["event_time.string"],
  },
  {
    name: "event_time integer-like string is an error in strict mode",
    mutate: (e) => (e.event_time = String(NOW - 60)),
    options: { strict: true },
    errors: ["event_time.string"],
  },
  {
    name: "event_time integer-like string is still judged for age",
    mutate: (e) => (e.event_time = String(NOW - 8 * DAY)),
    errors: ["event_time.too_old"],
    warnings: ["event_time.string"],
  },
  {
    name: "event_time in milliseconds",
    mutate: (e) => (e.event_time = (NOW - 60) * 1000),
    errors: ["event_time.milliseconds"],
  },
  {
    name: "event_time older than 7 days",
    mutate: (e) => (e.event_time = NOW - 7 * DAY - 1),
    errors: ["event_time.too_old@event_time"],
  },
  { name: "event_time exactly 7 days old", mutate: (e) => (e.event_time = NOW - 7 * DAY) },
  { name: "physical_store event 30 days old", mutate: (e) => offlineEvent(e, 30 * DAY) },
  { name: "physical_store event 62 days old", mutate: (e) => offlineEvent(e, 62 * DAY) },
  {
    name: "physical_store event 63 days old",
    mutate: (e) => offlineEvent(e, 63 * DAY),
    errors: ["event_time.too_old"],
  },
  {
    name: "website event 30 days old",
    mutate: (e) => (e.event_time = NOW - 30 * DAY),
    errors: ["event_time.too_old"],
  },
  {
    name: "maxAgeSeconds is configurable",
    mutate: (e) => (e.event_time = NOW - 2 * 3600),
    options: { maxAgeSeconds: 3600 },
    errors: ["event_time.too_old"],
  },
  {
    name: "physicalStoreMaxAgeSeconds is configurable",
    mutate: (e) => offlineEvent(e, 10 * DAY),
    options: { physicalStoreMaxAgeSeconds: 7 * DAY },
    errors: ["event_time.too_old"],
  },
  {
    name: "event_time more than 10 minutes ahead",
    mutate: (e) => (e.event_time = NOW + 601),
    errors: ["event_time.in_future"],
  },
  { name: "event_time exactly 10 minutes ahead", mutate: (e) => (e.event_time = NOW + 600) },
  {
    name: "maxFutureSeconds is configurable",
    mutate: (e) => (e.event_time = NOW + 1),
    options: { maxFutureSeconds: 0 },
    errors: ["event_time.in_future"],
  },

  // action_source
  {
    name: "action_source missing",
    mutate: (e) => delete e.action_source,
    errors: ["action_source.missing@action_source"],
  },
  {
    name: "action_source in the wrong case",
    mutate: (e) => (e.action_source = "Website"),
    errors: ["action_source.invalid"],
  },
  {
    name: "action_source unknown",
    mutate: (e) => (e.action_source = CANARY),
    errors: ["action_source.invalid"],
  },
  {
    name: "action_source that is a prototype key",
    mutate: (e) => (e.action_source = "constructor"),
    errors: ["action_source.invalid"],
  },
  ...(["email", "phone_call", "chat", "system_generated", "other"] as const).map(
    (source): Case => ({ name: `action_source ${source}`, mutate: (e) => (e.action_source = source) }),
  ),

  // user_data: presence and Meta's too-broad combinations (spec §3.4)
  {
    name: "user_data missing",
    mutate: (e) => delete (e as Json).user_data,
    errors: ["user_data.missing@user_data"],
    warnings: [NO_UA_WARNING],
  },
  {
    name: "user_data an array",
    mutate: (e) => ((e as Json).user_data = [h("a@b.co")]),
    errors: ["user_data.not_object"],
    warnings: [NO_UA_WARNING],
  },
  {
    name: "user_data empty object",
    mutate: (e) => (e.user_data = {}),
    errors: ["user_data.empty"],
    warnings: [NO_UA_WARNING],
  },
  {
    name: "user_data with only empty values",
    mutate: (e) => (e.user_data = { em: [""], ph: "", fn: null }),
    errors: ["user_data.empty"],
    warnings: [NO_UA_WARNING],
  },
  {
    name: "spec example: ge, ct, st, country only",
    mutate: (e) => (e.user_data = { ge: h("f"), ct: h("paris"), st: h("ca"), country: h("us") }),
    errors: ["user_data.too_broad@user_data"],
    warnings: [NO_UA_WARNING],
  },
  {
    name: "spec combination: ct, country, st, zp, ge, client_user_agent",
    mutate: (e) =>
      (e.user_data = {
        ct: h("paris"),
        country: h("fr"),
        st: h("idf"),
        zp: h("75018"),
        ge: h("m"),
        client_user_agent: UA,
      }),
    errors: ["user_data.too_broad"],
  },
  {
    name: "the broad location combination plus an IP address is enough",
    mutate: (e) =>
      (e.user_data = {
        ct: h("paris"),
        country: h("fr"),
        ge: h("m"),
        client_user_agent: UA,
        client_ip_address: "::1",
      }),
  },
  {
    name: "spec combination: fn + ge",
    mutate: (e) => (e.user_data = { fn: h("mary"), ge: h("f") }),
    errors: ["user_data.too_broad"],
    warnings: [NO_UA_WARNING],
  },
  {
    name: "spec combination: ln + ge",
    mutate: (e) => (e.user_data = { ln: [h("smith")], ge: h("f") }),
    errors: ["user_data.too_broad"],
    warnings: [NO_UA_WARNING],
  },
  {
    name: "spec combination: db + client_user_agent",
    mutate: (e) => (e.user_data = { db: h("19970216"), client_user_agent: UA }),
    errors: ["user_data.too_broad"],
  },
  {
    name: "client_user_agent alone is a subset of a broad combination",
    mutate: (e) => (e.user_data = { client_user_agent: UA }),
    errors: ["user_data.too_broad"],
  },
  {
    name: "empty keys do not rescue a broad combination",
    mutate: (e) => (e.user_data = { fn: h("mary"), ge: h("f"), em: [""], ph: null }),
    errors: ["user_data.too_broad"],
    warnings: [NO_UA_WARNING],
  },
  {
    name: "fn + ln + ge is not a broad combination",
    mutate: (e) => (e.user_data = { fn: h("mary"), ln: h("smith"), ge: h("f"), client_user_agent: UA }),
  },
  {
    name: "spec example: em alone is fine",
    mutate: (e) => (e.user_data = { em: h("john_smith@gmail.com") }),
    warnings: [NO_UA_WARNING],
  },
  {
    name: "unknown user_data keys are not customer information",
    mutate: (e) => (e.user_data = { [`${CANARY}_key`]: CANARY }),
    errors: ["user_data.empty"],
    warnings: [`user_data.unknown_key@user_data.${CANARY}_key`, NO_UA_WARNING],
  },
  {
    name: "unknown user_data key beside known ones",
    mutate: (e) => (e.user_data.favourite_colour = CANARY),
    warnings: ["user_data.unknown_key@user_data.favourite_colour"],
  },

  // user_data hashing (2804016)
  ...HASH_REQUIRED_KEYS.map(
    (key): Case => ({
      name: `unhashed ${key}`,
      mutate: (e) => (e.user_data[key] = `${CANARY} plain ${key}`),
      errors: [`user_data.not_hashed@user_data.${key}`],
    }),
  ),
  {
    name: "unhashed first element of a list",
    mutate: (e) => (e.user_data.em = [`${CANARY}@example.com`, h("b@example.com")]),
    errors: ["user_data.not_hashed@user_data.em[0]"],
  },
  {
    name: "unhashed second element of a list",
    mutate: (e) => (e.user_data.em = [h("a@example.com"), `${CANARY}@example.com`, ""]),
    errors: ["user_data.not_hashed@user_data.em[1]"],
  },
  {
    name: "a phone number sent as a number is not hashed",
    mutate: (e) => (e.user_data.ph = 16505551212),
    errors: ["user_data.not_hashed@user_data.ph"],
  },
  {
    name: "an MD5 digest is not SHA-256",
    mutate: (e) => (e.user_data.ph = "5d41402abc4b2a76b9719d911017c592"),
    errors: ["user_data.not_hashed"],
  },
  {
    name: "hashes with a Parameter Builder appendix and uppercase hex pass",
    mutate: (e) => {
      e.user_data.em = `${h("john_smith@gmail.com")}.ABcDEFGh`;
      e.user_data.ph = [h("16505551212").toUpperCase(), `${h("16505551213")}.AQ`];
    },
  },
  {
    name: "external_id may be sent unhashed",
    mutate: (e) => (e.user_data.external_id = ["crm-4411", "CRM 4412"]),
  },

  // client_ip_address, fbc, fbp (Meta flags these in Events Manager only)
  {
    name: "client_ip_address out of range",
    mutate: (e) => (e.user_data.client_ip_address = "999.10.10.10"),
    warnings: ["user_data.client_ip_address.invalid@user_data.client_ip_address"],
  },
  {
    name: "client_ip_address hashed",
    mutate: (e) => (e.user_data.client_ip_address = h("203.0.113.7")),
    warnings: ["user_data.client_ip_address.invalid"],
  },
  {
    name: "client_ip_address with a space",
    mutate: (e) => (e.user_data.client_ip_address = "203.0.113.7 "),
    warnings: ["user_data.client_ip_address.invalid"],
  },
  {
    name: "client_ip_address invalid is an error in strict mode",
    mutate: (e) => (e.user_data.client_ip_address = CANARY),
    options: { strict: true },
    errors: ["user_data.client_ip_address.invalid"],
  },
  {
    name: "client_ip_address IPv6",
    mutate: (e) => (e.user_data.client_ip_address = "2001:db8::8a2e:370:7334"),
  },
  {
    name: "client_ip_address with a Parameter Builder appendix",
    mutate: (e) => (e.user_data.client_ip_address = "168.212.226.204.ABcDEFGh"),
  },
  {
    name: "client_ip_address IPv6 with a legacy appendix",
    mutate: (e) => (e.user_data.client_ip_address = "2001:db8::1.AQ"),
  },
  {
    name: "fbc malformed",
    mutate: (e) => (e.user_data.fbc = CANARY),
    warnings: ["user_data.fbc.invalid@user_data.fbc"],
  },
  {
    name: "fbc with a seconds timestamp and an appendix",
    mutate: (e) => (e.user_data.fbc = "fb.1.1554763741.IwAR2xyz.ABcDEFGh"),
  },
  {
    name: "fbc malformed is an error in strict mode",
    mutate: (e) => (e.user_data.fbc = "fb.1.notatime.IwAR2xyz"),
    options: { strict: true },
    errors: ["user_data.fbc.invalid"],
  },
  {
    name: "fbp malformed",
    mutate: (e) => (e.user_data.fbp = `fb.1.${CANARY}`),
    warnings: ["user_data.fbp.invalid"],
  },
  {
    name: "fbp malformed is an error in strict mode",
    mutate: (e) => (e.user_data.fbp = "fb.1.1596403881668.abc"),
    options: { strict: true },
    errors: ["user_data.fbp.invalid@user_data.fbp"],
  },
  { name: "fbp with an appendix", mutate: (e) => (e.user_data.fbp = "fb.1.1596403881668.1116446470.Bg") },

  // custom_data: value and currency
  {
    name: "custom_data not an object",
    mutate: (e) => ((e as Json).custom_data = CANARY),
    errors: ["custom_data.not_object", "custom_data.value.missing", "custom_data.currency.missing"],
  },
  {
    name: "Purchase without value",
    mutate: (e) => delete e.custom_data.value,
    errors: ["custom_data.value.missing@custom_data.value"],
  },
  {
    name: "Purchase without custom_data",
    mutate: (e) => delete (e as Json).custom_data,
    errors: ["custom_data.value.missing", "custom_data.currency.missing"],
  },
  { name: "Purchase with a numeric string value", mutate: (e) => (e.custom_data.value = "142.52") },
  {
    name: "Purchase with a non-numeric value",
    mutate: (e) => (e.custom_data.value = `${CANARY}`),
    errors: ["custom_data.value.invalid@custom_data.value"],
  },
  {
    name: "value that is not finite",
    mutate: (e) => (e.custom_data.value = Number.POSITIVE_INFINITY),
    errors: ["custom_data.value.invalid"],
  },
  {
    name: "Purchase without currency",
    mutate: (e) => delete e.custom_data.currency,
    errors: ["custom_data.currency.missing@custom_data.currency"],
  },
  { name: "currency in lowercase", mutate: (e) => (e.custom_data.currency = "usd") },
  { name: "currency in mixed case", mutate: (e) => (e.custom_data.currency = "Eur") },
  { name: "currency added to ISO 4217 in 2025", mutate: (e) => (e.custom_data.currency = "XCG") },
  {
    name: "currency not in ISO 4217",
    mutate: (e) => (e.custom_data.currency = "ZQX"),
    errors: ["custom_data.currency.invalid@custom_data.currency"],
  },
  {
    name: "currency spelled out",
    mutate: (e) => (e.custom_data.currency = CANARY),
    errors: ["custom_data.currency.invalid"],
  },
  {
    name: "currency as an ISO numeric code",
    mutate: (e) => (e.custom_data.currency = 840),
    errors: ["custom_data.currency.invalid"],
  },
  {
    name: "currency recently withdrawn",
    mutate: (e) => (e.custom_data.currency = "HRK"),
    warnings: ["custom_data.currency.withdrawn"],
  },
  {
    name: "value without currency on a non-Purchase event",
    mutate: (e) => {
      e.event_name = "AddToCart";
      delete e.custom_data.currency;
    },
    warnings: ["custom_data.currency.missing_with_value@custom_data.currency"],
  },
  {
    name: "non-numeric value on a non-Purchase event",
    mutate: (e) => {
      e.event_name = "InitiateCheckout";
      e.custom_data.value = "about twelve";
    },
    errors: ["custom_data.value.invalid"],
  },
  {
    name: "currency checked on a non-Purchase event",
    mutate: (e) => {
      e.event_name = "AddToCart";
      e.custom_data.currency = "DOLLARS";
    },
    errors: ["custom_data.currency.invalid"],
  },
  {
    name: "Lead without value or currency",
    mutate: (e) => {
      e.event_name = "Lead";
      e.custom_data = { contents: [] };
    },
  },
  {
    name: "predicted_ltv not numeric",
    mutate: (e) => (e.custom_data.predicted_ltv = CANARY),
    errors: ["custom_data.predicted_ltv.invalid"],
  },
  {
    name: "net_revenue not numeric",
    mutate: (e) => (e.custom_data.net_revenue = { amount: 3 }),
    errors: ["custom_data.net_revenue.invalid"],
  },
  {
    name: "predicted_ltv and net_revenue numeric",
    mutate: (e) => Object.assign(e.custom_data, { predicted_ltv: "300.5", net_revenue: 12 }),
  },

  // custom_data: products
  {
    name: "content_ids not an array",
    mutate: (e) => (e.custom_data.content_ids = "sku-1,sku-2"),
    errors: ["custom_data.content_ids.invalid@custom_data.content_ids"],
  },
  {
    name: "content_ids holding an object",
    mutate: (e) => (e.custom_data.content_ids = ["sku-1", { id: CANARY }]),
    errors: ["custom_data.content_ids.invalid"],
  },
  { name: "content_ids empty", mutate: (e) => (e.custom_data.content_ids = []) },
  {
    name: "content_type outside product/product_group",
    mutate: (e) => (e.custom_data.content_type = CANARY),
    warnings: ["custom_data.content_type.invalid@custom_data.content_type"],
  },
  { name: "content_type product_group", mutate: (e) => (e.custom_data.content_type = "product_group") },
  {
    name: "num_items fractional",
    mutate: (e) => (e.custom_data.num_items = 2.5),
    errors: ["custom_data.num_items.invalid"],
  },
  {
    name: "num_items as a string",
    mutate: (e) => (e.custom_data.num_items = "4"),
    errors: ["custom_data.num_items.invalid"],
  },
  {
    name: "delivery_category unknown",
    mutate: (e) => (e.custom_data.delivery_category = CANARY),
    errors: ["custom_data.delivery_category.invalid@custom_data.delivery_category"],
  },
  { name: "delivery_category curbside", mutate: (e) => (e.custom_data.delivery_category = "curbside") },
  {
    name: "contents not an array",
    mutate: (e) => ((e.custom_data as Json).contents = { id: "sku-1", quantity: 1 }),
    errors: ["custom_data.contents.invalid@custom_data.contents"],
  },
  {
    name: "contents item not an object",
    mutate: (e) => ((e.custom_data.contents as unknown[])[1] = CANARY),
    errors: ["custom_data.contents.item.invalid@custom_data.contents[1]"],
  },
  {
    name: "contents item without id",
    mutate: (e) => delete e.custom_data.contents[0]?.id,
    errors: ["custom_data.contents.id.missing@custom_data.contents[0].id"],
  },
  {
    name: "contents item with an object id",
    mutate: (e) => Object.assign(e.custom_data.contents[0] ?? {}, { id: { sku: CANARY } }),
    errors: ["custom_data.contents.id.invalid@custom_data.contents[0].id"],
  },
  {
    name: "contents item without quantity",
    mutate: (e) => delete e.custom_data.contents[2]?.quantity,
    errors: ["custom_data.contents.quantity.missing@custom_data.contents[2].quantity"],
  },
  ...[0, -1, 1.5, "2"].map(
    (quantity): Case => ({
      name: `contents quantity ${JSON.stringify(quantity)} is not a positive integer`,
      mutate: (e) => Object.assign(e.custom_data.contents[2] ?? {}, { quantity }),
      errors: ["custom_data.contents.quantity.invalid@custom_data.contents[2].quantity"],
    }),
  ),
  {
    name: "contents item_price not numeric",
    mutate: (e) => Object.assign(e.custom_data.contents[0] ?? {}, { item_price: CANARY }),
    errors: ["custom_data.contents.item_price.invalid@custom_data.contents[0].item_price"],
  },
  {
    name: "contents delivery_category unknown",
    mutate: (e) => Object.assign(e.custom_data.contents[1] ?? {}, { delivery_category: CANARY }),
    errors: ["custom_data.contents.delivery_category.invalid@custom_data.contents[1].delivery_category"],
  },

  // customer_segmentation, at event level or in custom_data (spec §2)
  {
    name: "customer_segmentation at event level",
    mutate: (e) => (e.customer_segmentation = "new_customer_to_business"),
  },
  {
    name: "customer_segmentation at event level unknown",
    mutate: (e) => (e.customer_segmentation = CANARY),
    errors: ["customer_segmentation.invalid@customer_segmentation"],
  },
  {
    name: "customer_segmentation in custom_data",
    mutate: (e) => (e.custom_data.customer_segmentation = "customer_in_loyalty_program"),
  },
  {
    name: "customer_segmentation in custom_data unknown",
    mutate: (e) => (e.custom_data.customer_segmentation = CANARY),
    errors: ["custom_data.customer_segmentation.invalid@custom_data.customer_segmentation"],
  },

  // Limited Data Use (spec §2)
  { name: "empty data_processing_options means no LDU", mutate: (e) => (e.data_processing_options = []) },
  { name: "LDU for California", mutate: (e) => limitedDataUse(e, 1, 1000) },
  { name: "LDU with geolocation", mutate: (e) => limitedDataUse(e, 0, 0) },
  { name: "LDU for the USA without state but with an IP address", mutate: (e) => limitedDataUse(e, 1) },
  {
    name: "data_processing_options not an array",
    mutate: (e) => (e.data_processing_options = "LDU"),
    errors: ["data_processing_options.invalid@data_processing_options"],
  },
  {
    name: "data_processing_options holding an unknown option",
    mutate: (e) => {
      limitedDataUse(e, 1, 1000);
      e.data_processing_options = ["LDU", CANARY];
    },
    errors: ["data_processing_options.invalid"],
  },
  {
    name: "data_processing_options in lowercase",
    mutate: (e) => (e.data_processing_options = ["ldu"]),
    errors: ["data_processing_options.invalid"],
  },
  {
    name: "LDU without a country",
    mutate: (e) => limitedDataUse(e),
    errors: ["data_processing_options_country.missing@data_processing_options_country"],
  },
  {
    name: "LDU with an unknown country",
    mutate: (e) => limitedDataUse(e, 2, 0),
    errors: ["data_processing_options_country.invalid"],
  },
  {
    name: "LDU with the country as a string",
    mutate: (e) => limitedDataUse(e, "1", 1000),
    errors: ["data_processing_options_country.invalid"],
  },
  {
    name: "LDU without state nor IP address",
    mutate: (e) => {
      limitedDataUse(e, 1);
      delete e.user_data.client_ip_address;
    },
    errors: ["data_processing_options_state.missing@data_processing_options_state"],
  },
  {
    name: "LDU with an unlisted state",
    mutate: (e) => limitedDataUse(e, 1, 999),
    errors: ["data_processing_options_state.invalid"],
  },
  {
    name: "LDU with a US state under geolocated country",
    mutate: (e) => limitedDataUse(e, 0, 1000),
    errors: ["data_processing_options_state.invalid"],
  },
  {
    name: "country without LDU",
    mutate: (e) => (e.data_processing_options_country = 1),
    warnings: ["data_processing_options_country.without_ldu@data_processing_options_country"],
  },
  {
    name: "country and state with LDU switched off",
    mutate: (e) =>
      Object.assign(e, {
        data_processing_options: [],
        data_processing_options_country: 1,
        data_processing_options_state: 1000,
      }),
    warnings: ["data_processing_options_country.without_ldu", "data_processing_options_state.without_ldu"],
  },

  // App events (spec §5.1)
  { name: "app event with an extinfo array", mutate: appEvent },
  {
    name: "app event with an extinfo object, as Meta's Node SDK sends it",
    mutate: (e) => {
      appEvent(e);
      e.app_data = { advertiser_tracking_enabled: 0, extinfo: { 0: "a2", 1: "com.example.app", 4: "14" } };
    },
  },
  {
    name: "app event without app_data",
    mutate: withAppData(undefined),
    errors: ["app_data.missing@app_data"],
  },
  {
    name: "app_data not an object",
    mutate: withAppData([true, IOS_EXTINFO]),
    errors: ["app_data.not_object@app_data"],
  },
  {
    name: "app event without advertiser_tracking_enabled",
    mutate: withAppData({ extinfo: IOS_EXTINFO }),
    errors: ["app_data.advertiser_tracking_enabled.missing@app_data.advertiser_tracking_enabled"],
  },
  {
    name: "advertiser_tracking_enabled not a flag",
    mutate: withAppData({ advertiser_tracking_enabled: CANARY, extinfo: IOS_EXTINFO }),
    errors: ["app_data.advertiser_tracking_enabled.invalid"],
  },
  {
    name: "app event without extinfo",
    mutate: withAppData({ advertiser_tracking_enabled: false }),
    errors: ["app_data.extinfo.missing@app_data.extinfo"],
  },
  {
    name: "extinfo with 15 slots",
    mutate: withAppData({ advertiser_tracking_enabled: 1, extinfo: IOS_EXTINFO.slice(1) }),
    errors: ["app_data.extinfo.invalid@app_data.extinfo"],
  },
  {
    name: "extinfo object with a 17th slot",
    mutate: withAppData({ advertiser_tracking_enabled: 1, extinfo: { 0: "a2", 4: "14", 16: "x" } }),
    errors: ["app_data.extinfo.invalid"],
  },
  {
    name: "extinfo as a string",
    mutate: withAppData({ advertiser_tracking_enabled: 1, extinfo: IOS_EXTINFO.join(",") }),
    errors: ["app_data.extinfo.invalid"],
  },
  {
    name: "extinfo with an unknown version",
    mutate: withAppData({ advertiser_tracking_enabled: 1, extinfo: [CANARY, ...IOS_EXTINFO.slice(1)] }),
    errors: ["app_data.extinfo.version.invalid@app_data.extinfo[0]"],
  },
  {
    name: "extinfo without OS version",
    mutate: (e) => {
      appEvent(e);
      const extinfo = [...IOS_EXTINFO];
      extinfo[4] = "";
      e.app_data = { advertiser_tracking_enabled: 1, extinfo };
    },
    errors: ["app_data.extinfo.os_version.missing@app_data.extinfo[4]"],
  },
  {
    name: "extinfo object without OS version",
    mutate: withAppData({ advertiser_tracking_enabled: 1, extinfo: { 0: "a2" } }),
    errors: ["app_data.extinfo.os_version.missing"],
  },

  // Business messaging (spec §5.4)
  { name: "business_messaging Purchase over WhatsApp", mutate: messagingEvent },
  ...BUSINESS_MESSAGING_EVENTS.map(
    (name): Case => ({
      name: `business_messaging accepts ${name}`,
      mutate: (e) => {
        messagingEvent(e);
        e.event_name = name;
      },
    }),
  ),
  {
    name: "business_messaging without messaging_channel",
    mutate: (e) => {
      messagingEvent(e);
      delete e.messaging_channel;
    },
    errors: ["messaging_channel.missing@messaging_channel"],
  },
  {
    name: "business_messaging over an unknown channel",
    mutate: (e) => {
      messagingEvent(e);
      e.messaging_channel = CANARY;
    },
    errors: ["messaging_channel.invalid"],
  },
  {
    name: "business_messaging with a standard name outside its list",
    mutate: (e) => {
      messagingEvent(e);
      e.event_name = "Contact";
    },
    errors: ["event_name.not_business_messaging@event_name"],
  },
  {
    name: "business_messaging with a custom name",
    mutate: (e) => {
      messagingEvent(e);
      e.event_name = CANARY;
    },
    errors: ["event_name.not_business_messaging"],
  },

  // Quality fields Meta only flags (errors in strict mode)
  {
    name: "website event without event_source_url",
    mutate: (e) => delete e.event_source_url,
    warnings: ["event_source_url.missing@event_source_url"],
  },
  {
    name: "website event without event_source_url in strict mode",
    mutate: (e) => delete e.event_source_url,
    options: { strict: true },
    errors: ["event_source_url.missing"],
  },
  {
    name: "website event without client_user_agent",
    mutate: (e) => delete e.user_data.client_user_agent,
    warnings: ["user_data.client_user_agent.missing@user_data.client_user_agent"],
  },
  {
    name: "website event without client_user_agent in strict mode",
    mutate: (e) => delete e.user_data.client_user_agent,
    options: { strict: true },
    errors: [NO_UA_WARNING],
  },
  {
    name: "event_source_url without a scheme",
    mutate: (e) => (e.event_source_url = `shop.example.com/${CANARY}`),
    warnings: ["event_source_url.invalid@event_source_url"],
  },
  {
    name: "event_source_url with another scheme, strict",
    mutate: (e) => (e.event_source_url = `ftp://example.com/${CANARY}`),
    options: { strict: true },
    errors: ["event_source_url.invalid"],
  },
  {
    name: "non-web event without URL or user agent",
    mutate: (e) => {
      e.action_source = "system_generated";
      delete e.event_source_url;
      delete e.user_data.client_user_agent;
    },
    options: { strict: true },
  },
  {
    name: "event without event_id",
    mutate: (e) => delete e.event_id,
    warnings: ["event_id.missing@event_id"],
  },
  {
    name: "event without event_id in strict mode",
    mutate: (e) => delete e.event_id,
    options: { strict: true },
    errors: ["event_id.missing"],
  },
  { name: "event_id as a number", mutate: (e) => (e.event_id = 100_100_100), warnings: ["event_id.invalid"] },

  // original_event_data and attribution_data (spec §5.3)
  {
    name: "original_event_data",
    mutate: (e) =>
      (e.original_event_data = { event_name: "Purchase", event_time: NOW - 3 * DAY, order_id: "o-1" }),
  },
  {
    name: "original_event_data not an object",
    mutate: (e) => (e.original_event_data = CANARY),
    errors: ["original_event_data.not_object@original_event_data"],
  },
  {
    name: "original_event_data.event_time not an integer",
    mutate: (e) => (e.original_event_data = { event_name: "Purchase", event_time: `${CANARY}` }),
    errors: ["original_event_data.event_time.invalid@original_event_data.event_time"],
  },
  {
    name: "attribution_data",
    mutate: (e) => (e.attribution_data = { ad_id: "2384", attribution_share: 0.5 }),
  },
  {
    name: "attribution_data not an object",
    mutate: (e) => (e.attribution_data = [CANARY]),
    errors: ["attribution_data.not_object@attribution_data"],
  },
];

function inputOf(testCase: Case): unknown {
  if ("input" in testCase) return testCase.input;
  const event = baseEvent();
  testCase.mutate?.(event);
  return event;
}

function run(testCase: Case) {
  return validateEvent(inputOf(testCase), { now: NOW, ...testCase.options });
}

function assertFindings(actual: readonly Diagnostic[], expected: readonly string[] = [], kind: string): void {
  const codeOf = (entry: string) => entry.split("@")[0];
  assert.deepEqual(
    actual.map((d) => d.code).sort(),
    expected.map(codeOf).sort(),
    `${kind}: ${JSON.stringify(actual.map((d) => `${d.code}@${d.path}`))}`,
  );
  for (const entry of expected.filter((e) => e.includes("@"))) {
    assert.ok(
      actual.some((d) => `${d.code}@${d.path}` === entry),
      `${kind}: no ${entry} in ${JSON.stringify(actual.map((d) => `${d.code}@${d.path}`))}`,
    );
  }
}

describe("validateEvent rules", () => {
  for (const testCase of CASES) {
    it(testCase.name, () => {
      const { errors, warnings } = run(testCase);
      assertFindings(errors, testCase.errors, "errors");
      assertFindings(warnings, testCase.warnings, "warnings");
    });
  }
});

describe("validateEvent code table", () => {
  it("every code has a failing case", () => {
    const covered = new Set(
      CASES.flatMap((c) => [...(c.errors ?? []), ...(c.warnings ?? [])].map((e) => e.split("@")[0])),
    );
    const uncovered = Object.keys(VALIDATION_CODES).filter((code) => !covered.has(code));
    assert.deepEqual(uncovered, []);
  });

  it("every code a case expects exists, with the severity the case saw", () => {
    for (const testCase of CASES) {
      const strict = testCase.options?.strict === true;
      for (const [list, severity] of [
        [testCase.errors, "error"],
        [testCase.warnings, "warning"],
      ] as const) {
        for (const entry of list ?? []) {
          const code = entry.split("@")[0] as ValidationCode;
          assert.ok(Object.hasOwn(VALIDATION_CODES, code), `${testCase.name}: unknown code ${code}`);
          assert.equal(severityOf(code, strict), severity, `${testCase.name}: ${code}`);
        }
      }
    }
  });

  it("maps Meta's documented subcodes", () => {
    const expected: Record<string, number> = {
      "event_time.too_old": 2804003,
      "user_data.not_hashed": 2804016,
      "user_data.empty": 2804050,
      "user_data.too_broad": 2804050,
      "custom_data.value.missing": 2804009,
      "event_name.not_business_messaging": 2804066,
    };
    const actual = Object.fromEntries(
      Object.entries(VALIDATION_CODES)
        .filter(([, spec]) => "metaSubcode" in spec)
        .map(([code, spec]) => [code, (spec as { metaSubcode: number }).metaSubcode]),
    );
    assert.deepEqual(actual, expected);
  });

  it("only warnings are promoted by strict mode", () => {
    for (const [code, spec] of Object.entries(VALIDATION_CODES)) {
      if ("strict" in spec) assert.equal(spec.severity, "warning", code);
    }
  });
});

/** Every string and number leaf of a value, as text. */
function leaves(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === "string" || typeof value === "number") into.add(String(value));
  else if (typeof value === "object" && value !== null) for (const v of Object.values(value)) leaves(v, into);
  return into;
}

describe("validateEvent messages never quote the offending value", () => {
  // Meta's closed vocabulary names rules ("physical_store events …"); it is never an offending value.
  const vocabulary = new Set<string>([
    ...ACTION_SOURCES,
    ...STANDARD_EVENTS,
    ...BUSINESS_MESSAGING_EVENTS,
    ...MESSAGING_CHANNELS,
    ...DELIVERY_CATEGORIES,
    ...CONTENT_TYPES,
    ...CUSTOMER_SEGMENTATIONS,
  ]);
  const base = leaves(baseEvent());
  const failing = CASES.filter((c) => (c.errors?.length ?? 0) + (c.warnings?.length ?? 0) > 0);

  it("has failing cases that plant the canary", () => {
    const planted = failing.filter((c) => [...leaves(inputOf(c))].some((v) => v.includes(CANARY)));
    assert.ok(planted.length >= 30, `only ${planted.length} cases plant the canary`);
  });

  for (const testCase of failing) {
    it(testCase.name, () => {
      // Values the case introduced; very short ones ("LDU", "0") would match ordinary words.
      const introduced = [...leaves(inputOf(testCase))].filter(
        (v) => !base.has(v) && !vocabulary.has(v) && v.length >= 4,
      );
      const { errors, warnings } = run(testCase);
      for (const diagnostic of [...errors, ...warnings]) {
        assert.ok(!diagnostic.message.includes(CANARY), `${diagnostic.code} quotes the canary`);
        for (const value of introduced) {
          assert.ok(!diagnostic.message.includes(value), `${diagnostic.code} message quotes an input value`);
        }
      }
    });
  }
});

describe("validateEvent on arbitrary input", () => {
  const knownCodes = new Set(Object.keys(VALIDATION_CODES));
  function assertWellFormed(input: unknown): void {
    const result = validateEvent(input, { now: NOW });
    assert.ok(Array.isArray(result.errors) && Array.isArray(result.warnings));
    for (const d of [...result.errors, ...result.warnings]) {
      assert.ok(typeof d.path === "string" && d.path.length > 0);
      assert.ok(knownCodes.has(d.code), d.code);
      assert.ok(typeof d.message === "string" && d.message.length > 0);
    }
  }

  it("never throws on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => assertWellFormed(input)),
      { numRuns: 500 },
    );
  });

  it("never throws on arbitrary JavaScript values", () => {
    const anything = fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withNullPrototype: true,
      withSet: true,
      withSparseArray: true,
      withTypedArray: true,
    });
    fc.assert(
      fc.property(anything, (input) => assertWellFormed(input)),
      { numRuns: 300 },
    );
  });

  it("never throws on events whose known fields hold arbitrary JSON", () => {
    const fieldsOf = (keys: readonly string[], value: fc.Arbitrary<unknown>) =>
      fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: keys.length });
    const leaf = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(...ACTION_SOURCES, "LDU", "Purchase", "a2"),
    );
    const contents = fc.array(
      fc.oneof(fieldsOf(["id", "quantity", "item_price", "delivery_category"], leaf), leaf),
    );
    const event = fc.record(
      {
        event_name: fc.oneof(fc.constantFrom("Purchase", "Lead", "OrderShipped"), leaf),
        event_time: fc.oneof(fc.integer({ min: NOW - 100 * DAY, max: NOW + DAY }), leaf),
        action_source: fc.oneof(fc.constantFrom(...ACTION_SOURCES), leaf),
        user_data: fc.oneof(
          fieldsOf(["em", "ph", "ge", "fn", "client_ip_address", "fbc", "fbp", "x"], leaf),
          leaf,
        ),
        custom_data: fc.oneof(
          fc.record(
            { value: leaf, currency: leaf, contents, content_ids: leaf, num_items: leaf },
            { requiredKeys: [] },
          ),
          leaf,
        ),
        app_data: fc.oneof(
          fc.record(
            { advertiser_tracking_enabled: leaf, extinfo: fc.oneof(fc.array(leaf), leaf) },
            { requiredKeys: [] },
          ),
          leaf,
        ),
        data_processing_options: fc.oneof(fc.array(fc.constantFrom("LDU", "x")), leaf),
        data_processing_options_country: fc.oneof(fc.constantFrom(0, 1, 2), leaf),
        data_processing_options_state: fc.oneof(fc.constantFrom(0, 1000), leaf),
        original_event_data: leaf,
        attribution_data: leaf,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(event, (input) => assertWellFormed(input)),
      { numRuns: 500 },
    );
  });
});

describe("validateEvent results", () => {
  it("returns fresh arrays a caller may extend", () => {
    const first = validateEvent(baseEvent(), { now: NOW });
    first.warnings.push({ path: "x", code: "x", message: "x" });
    assert.deepEqual(validateEvent(baseEvent(), { now: NOW }).warnings, []);
  });

  it("judges event_time against the clock by default", () => {
    const event = baseEvent();
    event.event_time = Math.floor(Date.now() / 1000) - 60;
    assert.deepEqual(validateEvent(event).errors, []);
    event.event_time = Math.floor(Date.now() / 1000) - 8 * DAY;
    assert.deepEqual(
      validateEvent(event).errors.map((d) => d.code),
      ["event_time.too_old"],
    );
  });
});
