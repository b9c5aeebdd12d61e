// Meta's closed vocabularies, as tables. Sources: shared/spec/meta-capi.md §2, §4, §5, §10.

/** The 17 standard events of the Meta Pixel reference plus PageView (spec §10). */
export const STANDARD_EVENTS = [
  "AddPaymentInfo",
  "AddToCart",
  "AddToWishlist",
  "CompleteRegistration",
  "Contact",
  "CustomizeProduct",
  "Donate",
  "FindLocation",
  "InitiateCheckout",
  "Lead",
  "PageView",
  "Purchase",
  "Schedule",
  "Search",
  "StartTrial",
  "SubmitApplication",
  "Subscribe",
  "ViewContent",
] as const;
export type StandardEventName = (typeof STANDARD_EVENTS)[number];

/** The nine `action_source` values (spec §2). */
export const ACTION_SOURCES = [
  "email",
  "website",
  "app",
  "phone_call",
  "chat",
  "physical_store",
  "system_generated",
  "business_messaging",
  "other",
] as const;
export type ActionSource = (typeof ACTION_SOURCES)[number];

/** Event names Meta accepts for `business_messaging` (spec §5.4); others get 2804066. */
export const BUSINESS_MESSAGING_EVENTS = [
  "Purchase",
  "LeadSubmitted",
  "InitiateCheckout",
  "AddToCart",
  "ViewContent",
  "OrderCreated",
  "OrderShipped",
  "OrderDelivered",
  "OrderCanceled",
  "OrderReturned",
  "CartAbandoned",
  "QualifiedLead",
  "RatingProvided",
  "ReviewProvided",
] as const;

export const MESSAGING_CHANNELS = ["messenger", "whatsapp", "instagram"] as const;
export type MessagingChannel = (typeof MESSAGING_CHANNELS)[number];

export const DELIVERY_CATEGORIES = ["in_store", "curbside", "home_delivery"] as const;
export type DeliveryCategory = (typeof DELIVERY_CATEGORIES)[number];

export const CONTENT_TYPES = ["product", "product_group"] as const;

export const CUSTOMER_SEGMENTATIONS = [
  "new_customer_to_business",
  "new_customer_to_business_line",
  "new_customer_to_product_area",
  "new_customer_to_medium",
  "existing_customer_to_business",
  "existing_customer_to_business_line",
  "existing_customer_to_product_area",
  "existing_customer_to_medium",
  "customer_in_loyalty_program",
] as const;
export type CustomerSegmentation = (typeof CUSTOMER_SEGMENTATIONS)[number];

/** The only value `data_processing_options` may hold (spec §2). */
export const DATA_PROCESSING_OPTIONS = ["LDU"] as const;

/**
 * Allowed `data_processing_options_country` → `data_processing_options_state` pairs for LDU.
 * Country 0 = geolocate (state must be 0); country 1 = USA with a listed state, or 0 = geolocate.
 */
export const LDU_STATES_BY_COUNTRY: Readonly<Record<number, readonly number[]>> = {
  0: [0],
  1: [0, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013],
};

/**
 * snake_case aliases as used by Narrative's `meta_conversion_event` schema and by warehouse tables,
 * mapped to Meta's PascalCase names. Derived from the standard names, so the table cannot drift.
 */
export const EVENT_NAME_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  ...Object.fromEntries(STANDARD_EVENTS.map((name) => [toSnakeCase(name), name])),
  ...Object.fromEntries(BUSINESS_MESSAGING_EVENTS.map((name) => [toSnakeCase(name), name])),
  // Narrative and Segment spellings that are not a plain snake_case of the standard name.
  initiated_checkout: "InitiateCheckout",
  content_view: "ViewContent",
  view_content: "ViewContent",
  page_view: "PageView",
  add_to_wishlist: "AddToWishlist",
  complete_registration: "CompleteRegistration",
  mobile_app_install: "MobileAppInstall",
  append_attribution: "AppendAttribution",
});

function toSnakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * Meta's name for an event: standard names and custom names pass through; snake_case aliases
 * (`add_to_cart`, `ADD_TO_CART`) become the standard PascalCase name.
 */
export function canonicalEventName(name: string): string {
  const trimmed = name.trim();
  return EVENT_NAME_ALIASES[trimmed.toLowerCase()] ?? trimmed;
}

export function isStandardEvent(name: string): name is StandardEventName {
  return (STANDARD_EVENTS as readonly string[]).includes(name);
}

export function isActionSource(value: unknown): value is ActionSource {
  return typeof value === "string" && (ACTION_SOURCES as readonly string[]).includes(value);
}
