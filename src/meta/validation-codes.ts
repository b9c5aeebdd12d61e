// Every finding validateEvent can report, as one table: the CLI prints it, the Graph API client maps
// Meta's subcodes back onto it, and the tests check that each code has a case. Messages state the
// rule only; they never carry the offending value (the path names the field).

export type Severity = "error" | "warning";

export interface ValidationCodeSpec {
  /** Severity in Meta's faithful mode. */
  readonly severity: Severity;
  /** A warning Meta only flags in Events Manager; `strict: true` validation rejects it. */
  readonly strict?: true;
  readonly message: string;
  /** The `error_subcode` Meta answers with (code 100), when known (spec §6.3). */
  readonly metaSubcode?: number;
}

const error = (message: string, metaSubcode?: number): ValidationCodeSpec =>
  metaSubcode === undefined ? { severity: "error", message } : { severity: "error", message, metaSubcode };
const warning = (message: string): ValidationCodeSpec => ({ severity: "warning", message });
const strictWarning = (message: string): ValidationCodeSpec => ({
  severity: "warning",
  strict: true,
  message,
});

export const VALIDATION_CODES = {
  "event.not_object": error("A server event must be a JSON object."),

  "event_name.missing": error("event_name is required: a standard or custom event name."),
  "event_name.invalid": error("event_name must be a non-empty string."),
  "event_name.too_long": warning(
    "Custom event names longer than 50 characters are refused by the Meta Pixel.",
  ),
  "event_name.not_business_messaging": error(
    "business_messaging events accept only the 14 business-messaging event names (Purchase, LeadSubmitted, …).",
    2804066,
  ),

  "event_time.missing": error("event_time is required: a Unix timestamp in seconds (GMT)."),
  "event_time.invalid": error("event_time must be an integer Unix timestamp in seconds."),
  "event_time.string": strictWarning(
    "event_time is a string of digits; Meta converts it, but the documented type is an integer.",
  ),
  "event_time.milliseconds": error("event_time looks like milliseconds (13 digits); Meta expects seconds."),
  "event_time.too_old": error(
    "event_time is older than Meta accepts (7 days; 62 days for physical_store events).",
    2804003,
  ),
  "event_time.in_future": error("event_time is further in the future than the allowed clock skew."),

  "action_source.missing": error("action_source is required (website, app, physical_store, …)."),
  "action_source.invalid": error("action_source must be one of Meta's nine action sources."),

  "event_source_url.missing": strictWarning("Website events should carry event_source_url, the page URL."),
  "event_source_url.invalid": strictWarning(
    "event_source_url should be an absolute http:// or https:// URL.",
  ),
  "event_id.missing": strictWarning(
    "event_id is missing: without it Meta cannot deduplicate browser and server events.",
  ),
  "event_id.invalid": strictWarning("event_id should be a non-empty string."),

  "user_data.missing": error("user_data is required: the customer information Meta matches on."),
  "user_data.not_object": error("user_data must be a JSON object."),
  "user_data.empty": error("user_data holds no customer information parameter.", 2804050),
  "user_data.too_broad": error(
    "user_data only holds a combination Meta calls too broad to match on (e.g. gender with first or last name only).",
    2804050,
  ),
  "user_data.not_hashed": error(
    "This customer field must be sent as a SHA-256 hex digest of its normalized value.",
    2804016,
  ),
  "user_data.unknown_key": warning("Meta does not document this user_data key; it will likely be ignored."),
  "user_data.client_user_agent.missing": strictWarning(
    "Website events should carry user_data.client_user_agent.",
  ),
  "user_data.client_ip_address.invalid": strictWarning(
    "client_ip_address should be a valid IPv4 or IPv6 address, unhashed, without spaces.",
  ),
  "user_data.fbc.invalid": strictWarning(
    "fbc should look like fb.<subdomain index>.<creation time ms>.<fbclid>.",
  ),
  "user_data.fbp.invalid": strictWarning(
    "fbp should look like fb.<subdomain index>.<creation time ms>.<random number>.",
  ),

  "custom_data.not_object": error("custom_data must be a JSON object."),
  "custom_data.value.missing": error(
    "Purchase events require custom_data.value, a monetary amount.",
    2804009,
  ),
  "custom_data.value.invalid": error("custom_data.value must be a number or a numeric string."),
  "custom_data.predicted_ltv.invalid": error(
    "custom_data.predicted_ltv must be a number or a numeric string.",
  ),
  "custom_data.net_revenue.invalid": error("custom_data.net_revenue must be a number or a numeric string."),
  "custom_data.currency.missing": error("Purchase events require custom_data.currency, an ISO 4217 code."),
  "custom_data.currency.invalid": error(
    "custom_data.currency must be an ISO 4217 three-letter currency code.",
  ),
  "custom_data.currency.withdrawn": warning(
    "custom_data.currency is an ISO 4217 code that has been withdrawn.",
  ),
  "custom_data.currency.missing_with_value": warning(
    "custom_data.value is given without custom_data.currency; Meta cannot read the amount.",
  ),
  "custom_data.content_ids.invalid": error("custom_data.content_ids must be an array of strings or numbers."),
  "custom_data.content_type.invalid": warning("custom_data.content_type should be product or product_group."),
  "custom_data.num_items.invalid": error("custom_data.num_items must be an integer."),
  "custom_data.delivery_category.invalid": error(
    "custom_data.delivery_category must be in_store, curbside or home_delivery.",
  ),
  "custom_data.customer_segmentation.invalid": error(
    "custom_data.customer_segmentation must be one of Meta's customer segmentation values.",
  ),
  "custom_data.contents.invalid": error("custom_data.contents must be an array of objects."),
  "custom_data.contents.item.invalid": error("Each custom_data.contents item must be an object."),
  "custom_data.contents.id.missing": error("Each custom_data.contents item needs an id (string or number)."),
  "custom_data.contents.id.invalid": error("custom_data.contents id must be a non-empty string or a number."),
  "custom_data.contents.quantity.missing": error("Each custom_data.contents item needs a quantity."),
  "custom_data.contents.quantity.invalid": error("custom_data.contents quantity must be a positive integer."),
  "custom_data.contents.item_price.invalid": error(
    "custom_data.contents item_price must be a number or a numeric string.",
  ),
  "custom_data.contents.delivery_category.invalid": error(
    "custom_data.contents delivery_category must be in_store, curbside or home_delivery.",
  ),

  "customer_segmentation.invalid": error(
    "customer_segmentation must be one of Meta's customer segmentation values.",
  ),

  "data_processing_options.invalid": error(
    'data_processing_options must be an array holding only "LDU" (or empty for no LDU).',
  ),
  "data_processing_options_country.missing": error(
    "Limited Data Use requires data_processing_options_country (1 = USA, 0 = geolocate).",
  ),
  "data_processing_options_country.invalid": error(
    "data_processing_options_country must be 1 (USA) or 0 (geolocate).",
  ),
  "data_processing_options_state.missing": error(
    "Limited Data Use without client_ip_address requires data_processing_options_state.",
  ),
  "data_processing_options_state.invalid": error(
    "data_processing_options_state is not a state code Meta lists for this country (0 = geolocate).",
  ),
  "data_processing_options_country.without_ldu": warning(
    'data_processing_options_country is ignored unless data_processing_options holds "LDU".',
  ),
  "data_processing_options_state.without_ldu": warning(
    'data_processing_options_state is ignored unless data_processing_options holds "LDU".',
  ),

  "app_data.missing": error("App events require app_data."),
  "app_data.not_object": error("app_data must be a JSON object."),
  "app_data.advertiser_tracking_enabled.missing": error(
    "App events require app_data.advertiser_tracking_enabled.",
  ),
  "app_data.advertiser_tracking_enabled.invalid": error(
    "app_data.advertiser_tracking_enabled must be a boolean (or 0/1).",
  ),
  "app_data.extinfo.missing": error("App events require app_data.extinfo, the 16-slot device information."),
  "app_data.extinfo.invalid": error(
    'app_data.extinfo must be an array of 16 slots or an object keyed "0" to "15".',
  ),
  "app_data.extinfo.version.invalid": error("app_data.extinfo slot 0 must be a2 (Android) or i2 (iOS)."),
  "app_data.extinfo.os_version.missing": error("app_data.extinfo slot 4, the OS version, is required."),

  "messaging_channel.missing": error("business_messaging events require messaging_channel."),
  "messaging_channel.invalid": error("messaging_channel must be messenger, whatsapp or instagram."),

  "original_event_data.not_object": error("original_event_data must be a JSON object."),
  "original_event_data.event_time.invalid": error(
    "original_event_data.event_time must be an integer Unix timestamp in seconds.",
  ),
  "attribution_data.not_object": error("attribution_data must be a JSON object."),
} as const satisfies Record<string, ValidationCodeSpec>;

export type ValidationCode = keyof typeof VALIDATION_CODES;

/** The severity a code carries under the given mode. */
export function severityOf(code: ValidationCode, strict: boolean): Severity {
  const spec: ValidationCodeSpec = VALIDATION_CODES[code];
  return spec.severity === "error" || (strict && spec.strict === true) ? "error" : "warning";
}
