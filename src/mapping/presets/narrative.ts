// Narrative's `meta_conversion_event` Rosetta Stone attribute and its identity attributes
// (seed 000). The event's fields sit in an object column `meta_conversion_event`, or flattened at
// the top level of the row; both are read. Identity attributes are separate columns.
import { compilePath } from "../path.ts";
import type { FieldSource, Preset, Row } from "../types.ts";

/** A field of meta_conversion_event, nested or flattened. */
function event(name: string, description: string): FieldSource {
  return { from: [`meta_conversion_event.${name}`, name], description };
}

/**
 * Identity attributes come as plain strings or as Rosetta Stone identifier objects
 * ({type, value, context}); either way the value is what Meta matches on.
 */
function identity(columns: readonly string[], description: string, firstOnly = false): FieldSource {
  const getters = columns.map((column) => compilePath(column.split(".")));
  const all = (row: Row) => getters.flatMap((get) => identifierValues(get(row)));
  return {
    derive: firstOnly ? (row: Row) => all(row)[0] : all,
    reads: columns,
    description,
  };
}

function identifierValues(value: unknown): unknown[] {
  if (value === undefined || value === null || value === "") return [];
  if (Array.isArray(value)) return value.flatMap(identifierValues);
  if (typeof value === "object" && "value" in value)
    return identifierValues((value as { value: unknown }).value);
  return [value];
}

/**
 * Narrative's event names that are no snake_case alias of a Meta standard event (seed 000 maps
 * `other` to Meta's `Other`); the rest go through canonicalEventName with every other source.
 */
const NARRATIVE_ONLY_EVENT_NAMES: Readonly<Record<string, string>> = Object.freeze({ other: "Other" });

const nestedEventName = compilePath(["meta_conversion_event", "event_name"]);
const flatEventName = compilePath(["event_name"]);

function eventName(row: Row): unknown {
  const nested = nestedEventName(row);
  return nested === undefined || nested === null || nested === "" ? flatEventName(row) : nested;
}

const CUSTOM_DATA = [
  ["value", "Monetary value (required for purchase)"],
  ["currency", "ISO 4217 code (required for purchase)"],
  ["order_id", "Order ID (offline deduplication)"],
  ["predicted_ltv", "Predicted lifetime value"],
  ["content_ids", "Product SKUs or content IDs"],
  ["content_type", "product or product_group"],
  ["contents", "[{id, quantity, item_price, delivery_category}]"],
  ["num_items", "Number of items (initiate_checkout)"],
  ["search_string", "Search query (search)"],
  ["delivery_category", "curbside, home_delivery or in_store"],
  ["item_number", "Distinguishes events within one order"],
] as const;

const STORE_DATA = [
  ["brand_page_id", "Facebook Page ID of the brand"],
  ["store_code", "Store identifier (max 64 characters)"],
  ["store_page_id", "Facebook Page ID of the store"],
] as const;

export const NARRATIVE_PRESET: Preset = {
  name: "narrative",
  description:
    "Narrative's meta_conversion_event attribute (nested or flattened) plus its identity attributes",
  fields: {
    dataset_id: event("meta_dataset_id", "Dataset (pixel) ID the event is routed to"),
    event_id: event("event_id", "Deduplication ID"),
    event_name: {
      derive: (row: Row) => {
        const name = eventName(row);
        return typeof name === "string" && Object.hasOwn(NARRATIVE_ONLY_EVENT_NAMES, name)
          ? NARRATIVE_ONLY_EVENT_NAMES[name]
          : name;
      },
      reads: ["meta_conversion_event.event_name", "event_name"],
      description: "purchase, add_to_cart, … (snake_case, mapped to Meta's names)",
    },
    event_time: event("event_timestamp", "timestamptz of the event"),
    action_source: event("source", "physical_store, website, app, email, phone_call, chat, …"),
    event_source_url: event("source_url", "Browser URL (website events)"),
    opt_out: event("opt_out", "true: attribution only"),
    data_processing_options: event("data_processing_options", '["LDU"] for Limited Data Use'),
    data_processing_options_country: event("data_processing_options_country", "1 = USA, 0 = geolocate"),
    data_processing_options_state: event("data_processing_options_state", "1000 = California, 0 = geolocate"),
    ...Object.fromEntries(
      CUSTOM_DATA.map(([name, description]) => [
        `custom_data.${name}`,
        event(`custom_data.${name}`, description),
      ]),
    ),
    ...Object.fromEntries(
      STORE_DATA.map(([name, description]) => [
        `custom_data.store_data.${name}`,
        event(`store_data.${name}`, description),
      ]),
    ),
    "user_data.em": identity(["sha256_hashed_email", "hashed_email"], "sha256_hashed_email, hashed_email"),
    "user_data.ph": identity(
      ["e164_phone_number", "telephone_number"],
      "e164_phone_number, telephone_number",
    ),
    "user_data.fn": {
      from: ["person_name.given_name", "person_name.first_name"],
      description: "person_name's given name",
    },
    "user_data.ln": {
      from: ["person_name.family_name", "person_name.last_name", "person_name.surname"],
      description: "person_name's family name",
    },
    "user_data.ct": {
      from: ["postal_address.city", "postal_address.locality"],
      description: "postal_address city",
    },
    "user_data.st": {
      from: ["postal_address.state", "postal_address.region"],
      description: "postal_address state",
    },
    "user_data.zp": {
      from: ["postal_address.postal_code", "postal_address.zip_code", "postal_address.zip"],
      description: "postal_address postal code",
    },
    "user_data.country": {
      from: ["iso_3166_1_country", "postal_address.country", "postal_address.country_code"],
      description: "iso_3166_1_country, else the postal_address country",
    },
    "user_data.madid": identity(
      ["apple_idfa", "android_advertising_id", "mobile_id_unique_identifier"],
      "apple_idfa, android_advertising_id or mobile_id_unique_identifier (first present)",
      true,
    ),
    "user_data.external_id": identity(["unique_id", "narrative_id"], "unique_id and narrative_id"),
    "user_data.client_ip_address": { from: ["ip_address", "client_ip_address"], description: "IP address" },
    "user_data.client_user_agent": { from: ["user_agent", "client_user_agent"], description: "User agent" },
    "user_data.fbp": { from: "fbp", description: "_fbp cookie" },
    "user_data.fbc": { from: "fbc", description: "_fbc cookie" },
  },
};
