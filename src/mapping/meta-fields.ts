// The Meta fields a mapping may fill, each with the coercion its values go through
// (spec §2–§5). Paths are dotted into the ServerEvent; `dataset_id` is the one target that is not
// part of the event: it routes the event to a dataset.
import { USER_DATA_KEYS, type UserDataKey } from "../meta/user-data-keys.ts";
import type { CoercionName } from "./coercions.ts";

export interface MetaFieldSpec {
  readonly coercion: CoercionName;
  readonly description: string;
}

/** Routing target: the Meta dataset (pixel) that receives the event, when it varies per row. */
export const ROUTING_FIELD = "dataset_id";

const field = (coercion: CoercionName, description: string): MetaFieldSpec => ({ coercion, description });

function userDataField(key: UserDataKey): MetaFieldSpec {
  const spec = USER_DATA_KEYS[key];
  if (key === "db") return field("date_of_birth", "Date of birth (raw or SHA-256); dates become YYYYMMDD");
  if (spec.multi)
    return field("user_data_values", `Customer information \`${key}\`, raw or SHA-256; one or many`);
  return field("text", `Customer information \`${key}\`, never hashed`);
}

export const META_FIELDS: Readonly<Record<string, MetaFieldSpec>> = Object.freeze({
  [ROUTING_FIELD]: field("dataset_id", "Routing: the dataset (pixel) ID this row's event goes to"),
  event_name: field("event_name", "Standard or custom event name; snake_case aliases become Meta's names"),
  event_time: field("unix_seconds", "When the event happened: unix s/ms, ISO 8601 or a DB timestamp (UTC)"),
  action_source: field("lowercase_text", "Where the conversion happened: website, physical_store, app, …"),
  event_id: field(
    "text",
    "Deduplication ID; derived from the connection, row key and event name if unmapped",
  ),
  event_source_url: field("text", "Browser URL of the event (website events)"),
  referrer_url: field("text", "HTTP referrer of the page"),
  opt_out: field("boolean", "Use the event for attribution only"),
  data_processing_options: field("option_list", 'Limited Data Use: ["LDU"], or [] for none'),
  data_processing_options_country: field("integer", "LDU country: 1 = USA, 0 = geolocate"),
  data_processing_options_state: field("integer", "LDU state: 1000 = California, 0 = geolocate"),
  customer_segmentation: field("text", "Customer segment of the buyer"),
  messaging_channel: field("lowercase_text", "Business messaging channel: messenger, whatsapp, instagram"),
  ...Object.fromEntries(
    (Object.keys(USER_DATA_KEYS) as UserDataKey[]).map((key) => [`user_data.${key}`, userDataField(key)]),
  ),
  "custom_data.value": field("number", "Monetary value of the event"),
  "custom_data.currency": field("currency", "ISO 4217 currency code, uppercased"),
  "custom_data.content_ids": field("string_list", "Product IDs: array, JSON array or comma-separated text"),
  "custom_data.content_type": field("text", "product or product_group"),
  "custom_data.contents": field("contents", "Products: [{id, quantity, item_price}] as array or JSON text"),
  "custom_data.content_name": field("text", "Name of the page or product"),
  "custom_data.content_category": field("text", "Category of the page or product"),
  "custom_data.num_items": field("integer", "Number of items (InitiateCheckout)"),
  "custom_data.order_id": field("text", "Order ID (offline deduplication key)"),
  "custom_data.item_number": field("text", "Distinguishes events within one order"),
  "custom_data.predicted_ltv": field("number", "Predicted lifetime value"),
  "custom_data.net_revenue": field("number", "Margin value of the event"),
  "custom_data.search_string": field("text", "Search query (Search)"),
  "custom_data.status": field("text", "Registration status (CompleteRegistration)"),
  "custom_data.delivery_category": field("text", "in_store, curbside or home_delivery"),
  "custom_data.customer_segmentation": field("text", "Customer segment of the buyer"),
  "custom_data.store_data.store_code": field("text", "Store identifier (physical_store)"),
  "custom_data.store_data.store_page_id": field("text", "Facebook Page ID of the store"),
  "custom_data.store_data.brand_page_id": field("text", "Facebook Page ID of the brand"),
  "app_data.advertiser_tracking_enabled": field("boolean", "iOS ATT status (app events)"),
  "app_data.application_tracking_enabled": field("boolean", "App-level tracking opt-in"),
  "app_data.extinfo": field("json", "16 device fields, array or JSON text (app events)"),
  "app_data.campaign_ids": field("text", "Campaign IDs from the install referrer"),
  "app_data.install_referrer": field("text", "Android install referrer"),
  "app_data.installer_package": field("text", "Android installer package"),
  "app_data.url_schemes": field("string_list", "App URL schemes"),
  "app_data.vendor_id": field("text", "iOS IDFV"),
  "app_data.windows_attribution_id": field("text", "Windows attribution ID"),
  "original_event_data.event_name": field("event_name", "Name of the original event"),
  "original_event_data.event_time": field("unix_seconds", "Time of the original event"),
  "original_event_data.order_id": field("text", "Order ID of the original event"),
  "original_event_data.event_id": field("text", "Event ID of the original event"),
  "attribution_data.ad_id": field("text", "Ad ID of the touchpoint (AppendAttribution)"),
  "attribution_data.touchpoint_ts": field("unix_seconds", "Time of the touchpoint"),
  "attribution_data.attribution_share": field("number", "Share of credit, 0–1"),
  "attribution_data.attribution_value": field("number", "share × value"),
});

/** Objects Meta leaves open: any key below them is a custom property (spec §4, §5.3). */
const OPEN_OBJECTS = ["custom_data", "attribution_data"];
const OPEN_FIELD = field("json", "Custom property, passed as it is");
const NAME_SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The spec of a Meta field path, or undefined when Meta has no such field. */
export function metaField(path: string): MetaFieldSpec | undefined {
  if (Object.hasOwn(META_FIELDS, path)) return META_FIELDS[path];
  const [root, ...rest] = path.split(".");
  if (
    rest.length === 0 ||
    !OPEN_OBJECTS.includes(root as string) ||
    !rest.every((s) => NAME_SEGMENT.test(s))
  ) {
    return undefined;
  }
  // A known field cannot be extended below (custom_data.value.x), nor can user_data be opened.
  for (let i = 1; i < rest.length; i++) {
    if (Object.hasOwn(META_FIELDS, [root, ...rest.slice(0, i)].join("."))) return undefined;
  }
  return OPEN_FIELD;
}
