// Segment / Analytics.js calls as the real-time collector receives them (seed 001 and Segment's
// e-commerce v2 spec): track calls named by the spec become Meta standard events, page calls
// PageView; identify, group, alias and screen calls carry no conversion and are skipped.
import { compilePath } from "../path.ts";
import type { FieldSource, Preset, Row } from "../types.ts";

/** Spec event names (compared case-, space- and underscore-insensitively) → Meta's names. */
export const SEGMENT_EVENT_NAMES: Readonly<Record<string, string>> = Object.freeze({
  "order completed": "Purchase",
  "product added": "AddToCart",
  "product viewed": "ViewContent",
  "product list viewed": "ViewContent",
  "products searched": "Search",
  "checkout started": "InitiateCheckout",
  "payment info entered": "AddPaymentInfo",
  "product added to wishlist": "AddToWishlist",
  "signed up": "CompleteRegistration",
  "trial started": "StartTrial",
  "form submitted": "Lead",
});

/** Track names with the word "lead" (Lead Generated, Lead Captured, …) are leads. */
const LEAD_WORD = /\blead\b/;

const SKIPPED_CALLS: Readonly<Record<string, string>> = Object.freeze({
  identify: "Segment identify call: user traits, no conversion",
  group: "Segment group call: account traits, no conversion",
  alias: "Segment alias call: identity merge, no conversion",
  screen: "Segment screen call: Meta has no screen-view event",
});

/** Properties whose presence wins over the Σ price × quantity of the products. */
const VALUE_PROPERTIES = ["revenue", "total", "value"] as const;

const get = {
  type: compilePath(["type"]),
  event: compilePath(["event"]),
  properties: compilePath(["properties"]),
  app: compilePath(["context", "app"]),
  device: compilePath(["context", "device"]),
  os: compilePath(["context", "os"]),
  screen: compilePath(["context", "screen"]),
  carrier: compilePath(["context", "network", "carrier"]),
  locale: compilePath(["context", "locale"]),
  timezone: compilePath(["context", "timezone"]),
};

type Item = Record<string, unknown>;

function isItem(value: unknown): value is Item {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === "";
}

function specKey(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, " ");
}

/** Meta's name for a Segment call, or undefined for a track call without an event name. */
export function segmentEventName(row: Row): string | undefined {
  const type = get.type(row) ?? "track";
  if (type === "page") return "PageView";
  const name = get.event(row);
  if (type !== "track" || typeof name !== "string") return undefined;
  const key = specKey(name);
  return SEGMENT_EVENT_NAMES[key] ?? (LEAD_WORD.test(key) ? "Lead" : name);
}

function properties(row: Row): Item {
  const value = get.properties(row);
  return isItem(value) ? value : {};
}

/** The products of an event: `properties.products`, or the properties themselves for one product. */
function products(props: Item): Item[] {
  if (Array.isArray(props.products)) return props.products.filter(isItem);
  return isBlank(props.product_id) && isBlank(props.sku) ? [] : [props];
}

function productId(item: Item): unknown {
  for (const key of ["product_id", "sku", "id"]) if (!isBlank(item[key])) return item[key];
  return undefined;
}

/** undefined when absent, NaN when unreadable (so the row error surfaces), else the number. */
function numeric(value: unknown): number | undefined {
  if (isBlank(value)) return undefined;
  return typeof value === "number" ? value : Number(value);
}

function quantity(item: Item): number {
  return numeric(item.quantity) ?? 1;
}

function eventValue(row: Row): unknown {
  const props = properties(row);
  for (const key of VALUE_PROPERTIES) if (!isBlank(props[key])) return props[key];
  let sum: number | undefined;
  for (const item of products(props)) {
    const price = numeric(item.price);
    if (price !== undefined) sum = (sum ?? 0) + price * quantity(item);
  }
  // Strip binary noise (19.99 × 3 = 59.970000000000006) without rounding away real digits.
  return sum === undefined ? undefined : Number.parseFloat(sum.toPrecision(12));
}

function contentIds(row: Row): string[] | undefined {
  const ids = products(properties(row))
    .map(productId)
    .filter((id) => !isBlank(id))
    .map(String);
  return ids.length > 0 ? ids : undefined;
}

function contents(row: Row): Item[] | undefined {
  const items = products(properties(row)).flatMap((item) => {
    const id = productId(item);
    if (isBlank(id)) return [];
    const content: Item = { id: String(id), quantity: quantity(item) };
    if (!isBlank(item.price)) content.item_price = item.price;
    return [content];
  });
  return items.length > 0 ? items : undefined;
}

function isApp(row: Row): boolean {
  return isItem(get.app(row)) || isItem(get.device(row));
}

function text(value: unknown): string {
  return isBlank(value) ? "" : String(value);
}

/** The 16 extinfo slots of an app event (spec §5.1), filled from Segment's mobile context. */
function extinfo(row: Row): string[] | undefined {
  if (!isApp(row)) return undefined;
  const app = (get.app(row) ?? {}) as Item;
  const os = (get.os(row) ?? {}) as Item;
  const device = (get.device(row) ?? {}) as Item;
  const screen = (get.screen(row) ?? {}) as Item;
  const osName = text(os.name).toLowerCase();
  return [
    osName === "ios" || osName === "ipados" ? "i2" : "a2",
    text(app.namespace),
    text(app.version),
    text(app.build),
    text(os.version),
    text(device.model),
    text(get.locale(row)),
    "",
    text(get.carrier(row)),
    text(screen.width),
    text(screen.height),
    text(screen.density),
    "",
    "",
    "",
    text(get.timezone(row)),
  ];
}

function derive(reads: readonly string[], description: string, fn: (row: Row) => unknown): FieldSource {
  return { derive: fn, reads, description };
}

const from = (paths: string | readonly string[], description: string): FieldSource => ({
  from: paths,
  description,
});

/** A trait of the user as Analytics.js sends it with every call, or as a property of the event. */
const traits = (name: string): string[] => [`context.traits.${name}`, `properties.${name}`];

/** Address parts sit in `traits.address` per Segment's spec, flat in traits in many setups. */
const address = (name: string): string[] => [`context.traits.address.${name}`, ...traits(name)];

export const SEGMENT_PRESET: Preset = {
  name: "segment",
  description: "Segment / Analytics.js track and page calls, e-commerce spec events mapped to Meta's",
  skip: (row) => {
    const type = get.type(row);
    return typeof type === "string" && Object.hasOwn(SKIPPED_CALLS, type) ? SKIPPED_CALLS[type] : undefined;
  },
  fields: {
    event_name: derive(
      ["type", "event"],
      "page → PageView; spec track names → Meta's; others as they are",
      (row) => segmentEventName(row),
    ),
    event_time: from(["timestamp", "originalTimestamp"], "Event timestamp (ISO 8601)"),
    action_source: derive(
      ["context.app", "context.device"],
      "app when the call has a mobile context, else website",
      (row) => (isApp(row) ? "app" : "website"),
    ),
    event_id: from("messageId", "Segment's message ID"),
    event_source_url: from(["context.page.url", "properties.url"], "Page URL"),
    referrer_url: from(["context.page.referrer", "properties.referrer"], "Page referrer"),
    "user_data.em": from(traits("email"), "Email from the context traits or properties"),
    "user_data.ph": from(traits("phone"), "Phone from the context traits or properties"),
    "user_data.fn": from(traits("firstName"), "First name"),
    "user_data.ln": from(traits("lastName"), "Last name"),
    "user_data.ct": from(address("city"), "City (traits or traits.address)"),
    "user_data.st": from(address("state"), "State (traits or traits.address)"),
    "user_data.zp": from(address("postalCode"), "Postal code (traits or traits.address)"),
    "user_data.country": from(address("country"), "Country (traits or traits.address)"),
    "user_data.db": from(traits("birthday"), "Birthday"),
    "user_data.ge": from(traits("gender"), "Gender"),
    "user_data.external_id": from("userId", "Segment userId"),
    "user_data.client_ip_address": from("context.ip", "IP address"),
    "user_data.client_user_agent": from("context.userAgent", "User agent"),
    "user_data.fbp": from(["context.fbp", "properties.fbp"], "_fbp cookie (Facebook Tag sync)"),
    "user_data.fbc": from(["context.fbc", "properties.fbc"], "_fbc cookie (Facebook Tag sync)"),
    "user_data.madid": from("context.device.advertisingId", "IDFA / GAID"),
    "user_data.anon_id": from("context.device.id", "Install ID (IDFV / FID)"),
    "custom_data.value": derive(
      [
        "properties.revenue",
        "properties.total",
        "properties.value",
        "properties.products",
        "properties.price",
      ],
      "revenue, total or value; else Σ price × quantity of the products",
      eventValue,
    ),
    "custom_data.currency": derive(
      ["properties.currency"],
      "currency, uppercased; USD when a value is sent",
      (row) => {
        const currency = properties(row).currency;
        if (!isBlank(currency)) return currency;
        return eventValue(row) === undefined ? undefined : "USD";
      },
    ),
    "custom_data.content_ids": derive(
      ["properties.products", "properties.product_id", "properties.sku"],
      "product_id (or sku) of each product",
      contentIds,
    ),
    "custom_data.contents": derive(
      ["properties.products", "properties.product_id", "properties.price", "properties.quantity"],
      "{id, quantity, item_price} of each product",
      contents,
    ),
    "custom_data.content_type": derive(["properties.products"], "product when products are present", (row) =>
      contentIds(row) ? "product" : undefined,
    ),
    "custom_data.content_name": from("properties.name", "Product or page name"),
    "custom_data.content_category": from("properties.category", "Product category"),
    "custom_data.num_items": derive(["properties.products"], "Σ quantity (Checkout Started only)", (row) => {
      if (segmentEventName(row) !== "InitiateCheckout") return undefined;
      const items = products(properties(row));
      return items.length > 0 ? items.reduce((sum, item) => sum + quantity(item), 0) : undefined;
    }),
    "custom_data.order_id": from("properties.order_id", "Order ID"),
    "custom_data.search_string": from("properties.query", "Search query (Products Searched)"),
    "app_data.advertiser_tracking_enabled": from("context.device.adTrackingEnabled", "iOS ATT status"),
    "app_data.extinfo": derive(
      ["context.app", "context.os", "context.device", "context.screen", "context.network", "context.locale"],
      "16 extinfo slots from the mobile context",
      extinfo,
    ),
  },
};
