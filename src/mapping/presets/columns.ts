// Flat warehouse columns named as in the Weld and SignalSmith reverse-ETL pages (seeds 002, 004):
// one row per event, one column per Meta field. Columns a table lacks simply do not map.
import type { FieldSource, Preset } from "../types.ts";

const from = (columns: string | readonly string[], description: string): FieldSource => ({
  from: columns,
  description,
});

export const COLUMNS_PRESET: Preset = {
  name: "columns",
  description: "Flat columns, one per Meta field (Weld / SignalSmith naming); hashed_* columns pass through",
  fields: {
    event_name: from("event_name", "Purchase, Lead, … or snake_case purchase; custom names pass through"),
    event_time: from(
      "event_time",
      "Unix seconds or milliseconds, ISO 8601, or a DB timestamp (UTC if no zone)",
    ),
    action_source: from("action_source", "website, physical_store, app, phone_call, email, chat, …"),
    event_id: from("event_id", "Deduplication ID shared with the Pixel; derived from the row key if absent"),
    event_source_url: from("event_source_url", "URL where the event happened (website events)"),
    referrer_url: from("referrer_url", "Referrer of the page"),
    opt_out: from("opt_out", "true: attribution only"),
    data_processing_options: from("data_processing_options", 'Limited Data Use: "LDU" or ["LDU"]'),
    data_processing_options_country: from("data_processing_options_country", "1 = USA, 0 = geolocate"),
    data_processing_options_state: from("data_processing_options_state", "1000 = California, 0 = geolocate"),
    "user_data.em": from(["email", "hashed_email"], "email (hashed later) and/or hashed_email (SHA-256)"),
    "user_data.ph": from(["phone", "hashed_phone"], "phone with country code and/or hashed_phone"),
    "user_data.fn": from(["first_name", "hashed_fn"], "first_name and/or hashed_fn"),
    "user_data.ln": from(["last_name", "hashed_ln"], "last_name and/or hashed_ln"),
    "user_data.ge": from("gender", "gender: f/m or words"),
    "user_data.db": from("date_of_birth", "date_of_birth: a date, YYYY-MM-DD or YYYYMMDD"),
    "user_data.ct": from(["city", "hashed_ct"], "city and/or hashed_ct"),
    "user_data.st": from(["state", "hashed_st"], "state and/or hashed_st"),
    "user_data.zp": from(["zip", "hashed_zp"], "zip and/or hashed_zp"),
    "user_data.country": from(
      ["country", "hashed_country"],
      "country (ISO code or name) and/or hashed_country",
    ),
    "user_data.external_id": from("external_id", "Your user/customer ID"),
    "user_data.client_ip_address": from("client_ip_address", "IPv4 or IPv6 address"),
    "user_data.client_user_agent": from("client_user_agent", "Browser user agent"),
    "user_data.fbc": from("fbc", "_fbc cookie (click ID)"),
    "user_data.fbp": from("fbp", "_fbp cookie (browser ID)"),
    "user_data.madid": from("madid", "Mobile advertiser ID (IDFA / GAID)"),
    "user_data.anon_id": from("anon_id", "App install ID"),
    "user_data.lead_id": from("lead_id", "Meta Lead Ads lead ID"),
    "user_data.subscription_id": from("subscription_id", "Subscription ID"),
    "custom_data.value": from("value", "Monetary value"),
    "custom_data.currency": from("currency", "ISO 4217 code (uppercased)"),
    "custom_data.order_id": from("order_id", "Order or transaction ID"),
    "custom_data.content_ids": from("content_ids", "Product IDs: array, JSON array or comma-separated"),
    "custom_data.content_type": from("content_type", "product or product_group"),
    "custom_data.contents": from("contents", "[{id, quantity, item_price}] as array or JSON text"),
    "custom_data.content_name": from("content_name", "Name of the page or product"),
    "custom_data.content_category": from("content_category", "Category of the page or product"),
    "custom_data.num_items": from("num_items", "Number of items (InitiateCheckout)"),
    "custom_data.predicted_ltv": from("predicted_ltv", "Predicted lifetime value"),
    "custom_data.search_string": from("search_string", "Search query (Search)"),
    "custom_data.delivery_category": from("delivery_category", "in_store, curbside or home_delivery"),
    "custom_data.item_number": from("item_number", "Distinguishes events within one order"),
    "custom_data.store_data.store_code": from("store_code", "Store identifier (physical_store)"),
  },
};
