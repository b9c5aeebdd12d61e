// Meta's server-side checks on each element of `data`, as one ordered table (spec §2–§5, §11 step 5).
// Rules marked "always" are what Meta enforces with a 4xx; "strict" ones are what Meta only reports
// as diagnostics (spec §2.2, §3.3) and reject only in strict mode. Subcodes 28049xx are the
// emulator's own choice for errors no source pins down ([UNVERIFIED]); override them per rule.
import { HASH_REQUIRED_KEYS, TOO_BROAD_COMBINATIONS } from "../meta/user-data-keys.ts";
import {
  ACTION_SOURCES,
  BUSINESS_MESSAGING_EVENTS,
  DATA_PROCESSING_OPTIONS,
  DELIVERY_CATEGORIES,
  LDU_STATES_BY_COUNTRY,
} from "../meta/vocabulary.ts";
import type { ErrorTemplate, Evidence } from "./errors.ts";

export type RuleMode = "always" | "strict";
export type EventObject = Record<string, unknown>;

export interface RuleContext {
  readonly nowSeconds: number;
  readonly maxAgeSeconds: number;
  readonly physicalStoreMaxAgeSeconds: number;
  readonly maxFutureSeconds: number;
}

/** What a rule answers with: HTTP 400, code 100, "Invalid parameter" unless overridden. */
export interface RuleError {
  readonly code: number;
  readonly error_subcode: number;
  readonly message: string;
  readonly error_user_title: string;
  /** `{field}` is replaced by the failing field's name (never its value). */
  readonly error_user_msg: string;
  readonly status: number;
}

export interface EventRule {
  readonly id: string;
  readonly mode: RuleMode;
  readonly evidence: Evidence;
  readonly error: RuleError;
  /** The failing field (a key or dotted path) when the event breaks the rule, else undefined. */
  readonly check: (event: EventObject, ctx: RuleContext) => string | undefined;
}

const INVALID = "Invalid parameter";

function invalid(subcode: number, title: string, userMessage: string): RuleError {
  return {
    status: 400,
    code: 100,
    error_subcode: subcode,
    message: INVALID,
    error_user_title: title,
    error_user_msg: userMessage,
  };
}

// ---- value helpers (no allocation on the hot path) ----

function isObject(value: unknown): value is EventObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isBlank(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === "" ||
    (Array.isArray(value) && value.length === 0) ||
    (isObject(value) && isEmptyObject(value))
  );
}

function isEmptyObject(value: EventObject): boolean {
  for (const _ in value) return false;
  return true;
}

const INTEGER_STRING = /^-?\d{1,13}$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * `event_time` in seconds as Meta reads it in faithful mode: integers, integer-like strings
 * (offline-events doc example) and ISO-8601 strings (Segment PR #588) [OBS/3P].
 */
export function eventTimeSeconds(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? Math.floor(value) : undefined;
  if (typeof value !== "string") return undefined;
  if (INTEGER_STRING.test(value)) return Number(value);
  if (ISO_8601.test(value)) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
  }
  return undefined;
}

const NUMERIC_STRING = /^-?\d+(\.\d+)?$/;

function isNumeric(value: unknown): boolean {
  return (
    (typeof value === "number" && Number.isFinite(value)) ||
    (typeof value === "string" && NUMERIC_STRING.test(value))
  );
}

const ACTION_SOURCE_SET: ReadonlySet<unknown> = new Set(ACTION_SOURCES);
const MESSAGING_EVENT_SET: ReadonlySet<unknown> = new Set(BUSINESS_MESSAGING_EVENTS);
const DELIVERY_CATEGORY_SET: ReadonlySet<unknown> = new Set(DELIVERY_CATEGORIES);
const DPO_SET: ReadonlySet<unknown> = new Set(DATA_PROCESSING_OPTIONS);
/** ISO 4217 codes as ICU knows them; Meta lowercases or uppercases freely (spec §4). */
const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf("currency"));

/** Bit i set ⇔ the key belongs to TOO_BROAD_COMBINATIONS[i]. */
const BROAD_MASK_BY_KEY: ReadonlyMap<string, number> = (() => {
  const masks = new Map<string, number>();
  TOO_BROAD_COMBINATIONS.forEach((combination, i) => {
    for (const key of combination) masks.set(key, (masks.get(key) ?? 0) | (1 << i));
  });
  return masks;
})();
const ALL_BROAD = (1 << TOO_BROAD_COMBINATIONS.length) - 1;

const SHA256_HEX_LENGTH = 64;
/** Indexed by any UTF-16 code unit, so a read needs no range check. */
const IS_HEX_DIGIT = new Uint8Array(0x10000);
for (const digit of "0123456789abcdefABCDEF") IS_HEX_DIGIT[digit.charCodeAt(0)] = 1;
const HASH_APPENDIX = /^\.[A-Za-z0-9_-]+$/;

/**
 * A SHA-256 hex digest in any case, optionally followed by a Parameter Builder appendix of 2
 * (legacy) or 8 characters (spec §3.2, §3.3): the emulator's own reading, not meta/hash.ts.
 */
function looksHashed(value: string): boolean {
  const length = value.length;
  if (length !== SHA256_HEX_LENGTH && length !== SHA256_HEX_LENGTH + 3 && length !== SHA256_HEX_LENGTH + 9)
    return false;
  // Four digits per test: this loop runs for every hashed value of every event.
  const hex = IS_HEX_DIGIT;
  for (let i = 0; i < SHA256_HEX_LENGTH; i += 4) {
    const digits =
      (hex[value.charCodeAt(i)] as number) &
      (hex[value.charCodeAt(i + 1)] as number) &
      (hex[value.charCodeAt(i + 2)] as number) &
      (hex[value.charCodeAt(i + 3)] as number);
    if (digits === 0) return false;
  }
  return length === SHA256_HEX_LENGTH || HASH_APPENDIX.test(value.slice(SHA256_HEX_LENGTH));
}

/** Where each hash-required key stands in Meta's table: the first unhashed one names the error. */
const HASH_REQUIRED_RANK: ReadonlyMap<string, number> = new Map(
  HASH_REQUIRED_KEYS.map((key, rank) => [key, rank]),
);

/** The first hash-required key (in Meta's table order) holding a value that is not a hash. */
function unhashedKey(userData: EventObject): string | undefined {
  // One pass over the keys the object has (for-in reads V8's enum cache) is cheaper than ten
  // keyed reads, most of them of keys the event does not carry.
  let first = HASH_REQUIRED_KEYS.length;
  for (const key in userData) {
    const rank = HASH_REQUIRED_RANK.get(key);
    if (rank !== undefined && rank < first && !holdsHashes(userData[key])) first = rank;
  }
  return HASH_REQUIRED_KEYS[first];
}

/** Blank, a hash, or a list of hashes and blanks. */
function holdsHashes(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return true;
  if (typeof value === "string") return looksHashed(value);
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (item !== "" && (typeof item !== "string" || !looksHashed(item))) return false;
  }
  return true;
}

/** Spec §3.4: no customer information, or only keys within one too-broad combination. */
function isThin(userData: unknown): boolean {
  if (!isObject(userData)) return true;
  let present = false;
  let mask = ALL_BROAD;
  for (const key in userData) {
    if (isBlank(userData[key])) continue;
    present = true;
    mask &= BROAD_MASK_BY_KEY.get(key) ?? 0;
    // A key outside every combination already makes the event specific enough.
    if (mask === 0) return false;
  }
  return !present || mask !== 0;
}

function customData(event: EventObject): EventObject | undefined {
  const value = event.custom_data;
  return isObject(value) ? value : undefined;
}

function userData(event: EventObject): EventObject | undefined {
  const value = event.user_data;
  return isObject(value) ? value : undefined;
}

function badDeliveryCategory(data: EventObject): string | undefined {
  const own = data.delivery_category;
  if (own !== undefined && own !== null && !DELIVERY_CATEGORY_SET.has(own))
    return "custom_data.delivery_category";
  const contents = data.contents;
  if (!Array.isArray(contents)) return undefined;
  for (const item of contents) {
    if (!isObject(item)) continue;
    const category = item.delivery_category;
    if (category !== undefined && category !== null && !DELIVERY_CATEGORY_SET.has(category)) {
      return "custom_data.contents.delivery_category";
    }
  }
  return undefined;
}

function badDataProcessingOptions(event: EventObject): string | undefined {
  const options = event.data_processing_options;
  if (options === undefined || options === null) return undefined;
  if (!Array.isArray(options)) return "data_processing_options";
  let ldu = false;
  for (const option of options) {
    if (!DPO_SET.has(option)) return "data_processing_options";
    ldu = true;
  }
  if (!ldu) return undefined;
  const country = event.data_processing_options_country;
  const state = event.data_processing_options_state;
  if (country === undefined || country === null) return undefined;
  const states = typeof country === "number" ? LDU_STATES_BY_COUNTRY[country] : undefined;
  if (states === undefined) return "data_processing_options_country";
  if (state !== undefined && state !== null && !(typeof state === "number" && states.includes(state))) {
    return "data_processing_options_state";
  }
  return undefined;
}

const EXTINFO_LENGTH = 16;

function badExtinfo(event: EventObject): string | undefined {
  const appData = event.app_data;
  if (!isObject(appData)) return undefined;
  const extinfo = appData.extinfo;
  if (extinfo === undefined || extinfo === null) return undefined;
  if (Array.isArray(extinfo)) return extinfo.length === EXTINFO_LENGTH ? undefined : "app_data.extinfo";
  if (!isObject(extinfo)) return "app_data.extinfo";
  // Meta's Node SDK sends an object keyed "0".."15" (spec §5.1).
  for (let i = 0; i < EXTINFO_LENGTH; i++) if (!Object.hasOwn(extinfo, String(i))) return "app_data.extinfo";
  return Object.keys(extinfo).length === EXTINFO_LENGTH ? undefined : "app_data.extinfo";
}

/** Suggested shapes from spec §3.3, Parameter Builder appendix allowed. */
const FBC = /^fb\.\d+\.\d{10,13}\.\S+$/;
const FBP = /^fb\.\d+\.\d{10,13}\.\d+(\.[A-Za-z0-9_-]{2,8})?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]{2,45}$/;
const APPENDIX = /\.[A-Za-z0-9_-]{2}$|\.[A-Za-z0-9_-]{8}$/;

function malformedIp(value: string): boolean {
  if (IPV4.test(value) || (value.includes(":") && IPV6.test(value))) return false;
  const bare = value.replace(APPENDIX, "");
  return !(IPV4.test(bare) || (bare.includes(":") && IPV6.test(bare)));
}

function malformedString(value: unknown, pattern: RegExp): boolean {
  return (
    value !== undefined &&
    value !== null &&
    value !== "" &&
    (typeof value !== "string" || !pattern.test(value))
  );
}

const HTTP_URL = /^https?:\/\/\S+$/i;

/** Ordered: for each event, the first failing rule answers for the whole batch (spec §1.5, §11). */
export const EVENT_RULES: readonly EventRule[] = [
  {
    id: "event.not_object",
    mode: "always",
    evidence: "UNVERIFIED",
    error: invalid(
      2804901,
      "Invalid Event",
      "Each element of data must be a JSON object describing one event.",
    ),
    check: (event) => (isObject(event) ? undefined : "data"),
  },
  {
    id: "event_name.missing",
    mode: "always",
    evidence: "UNVERIFIED",
    error: invalid(
      2804902,
      "Missing Event Name",
      "The event_name parameter is required. Enter a standard or custom event name.",
    ),
    check: (event) =>
      typeof event.event_name === "string" && event.event_name !== "" ? undefined : "event_name",
  },
  {
    id: "event_time.missing",
    mode: "always",
    evidence: "UNVERIFIED",
    error: invalid(
      2804903,
      "Missing Event Time",
      "The event_time parameter is required. Enter a Unix timestamp in seconds.",
    ),
    check: (event) => (eventTimeSeconds(event.event_time) === undefined ? "event_time" : undefined),
  },
  {
    id: "event_time.too_old",
    mode: "always",
    evidence: "OBS",
    error: invalid(
      2804003,
      "Event Timestamp Too Old",
      "The timestamp for this event is too far in the past. Events need to be sent from your server within 7 days of when they occurred. Enter a timestamp that has occurred within the last 7 days.",
    ),
    check: (event, ctx) => {
      const time = eventTimeSeconds(event.event_time) as number;
      const maxAge =
        event.action_source === "physical_store" ? ctx.physicalStoreMaxAgeSeconds : ctx.maxAgeSeconds;
      return ctx.nowSeconds - time > maxAge ? "event_time" : undefined;
    },
  },
  {
    id: "event_time.in_future",
    mode: "always",
    evidence: "UNVERIFIED",
    error: invalid(
      2804904,
      "Event Timestamp In Future",
      "The timestamp for this event is in the future. Enter a Unix timestamp in seconds that has already occurred.",
    ),
    check: (event, ctx) =>
      (eventTimeSeconds(event.event_time) as number) - ctx.nowSeconds > ctx.maxFutureSeconds
        ? "event_time"
        : undefined,
  },
  {
    id: "action_source.invalid",
    mode: "always",
    evidence: "UNVERIFIED",
    error: invalid(
      2804905,
      "Invalid Action Source",
      "The action_source parameter must be one of: email, website, app, phone_call, chat, physical_store, system_generated, business_messaging, other.",
    ),
    check: (event) =>
      event.action_source === undefined ||
      event.action_source === null ||
      ACTION_SOURCE_SET.has(event.action_source)
        ? undefined
        : "action_source",
  },
  {
    id: "user_data.not_hashed",
    mode: "always",
    evidence: "OBS",
    error: invalid(
      2804016,
      "User Parameter Not Hashed",
      "The {field} parameter isn’t hashed. Hash all user parameters as SHA256, except for client user agent, click ID, and browser ID. Any other user parameters that are not hashed are automatically rejected by Facebook.",
    ),
    check: (event) => {
      const data = userData(event);
      return data === undefined ? undefined : unhashedKey(data);
    },
  },
  {
    id: "user_data.insufficient",
    mode: "always",
    evidence: "OBS",
    // Observed in Danish; English rendering of the same text (spec §3.4).
    error: invalid(
      2804050,
      "You haven't added sufficient customer information parameters for this event",
      "This event has no customer information parameters, or it has a combination of customer information parameters that is so broad that it's unlikely to be effective for matching. Learn more at developers.facebook.com/docs/marketing-api/conversions-api/best-practices/#req-rec-params",
    ),
    check: (event) => (isThin(event.user_data) ? "user_data" : undefined),
  },
  {
    id: "purchase.value_missing",
    mode: "always",
    evidence: "3P",
    error: invalid(
      2804009,
      "Missing Value for Purchase Event",
      "Your purchase event doesn’t include a value parameter. Enter a value. For example: 1.99",
    ),
    check: (event) => {
      if (event.event_name !== "Purchase") return undefined;
      const value = customData(event)?.value;
      return value === undefined || value === null || value === "" ? "custom_data.value" : undefined;
    },
  },
  {
    id: "custom_data.value_invalid",
    mode: "always",
    evidence: "UNVERIFIED",
    error: invalid(2804906, "Invalid Value", "The {field} parameter must be a number. For example: 1.99"),
    check: (event) => {
      const value = customData(event)?.value;
      return value === undefined || value === null || value === "" || isNumeric(value)
        ? undefined
        : "custom_data.value";
    },
  },
  {
    id: "custom_data.currency_invalid",
    mode: "always",
    evidence: "UNVERIFIED",
    error: invalid(
      2804907,
      "Invalid Currency Code",
      "The currency parameter must be a valid ISO 4217 three-letter currency code. For example: USD",
    ),
    check: (event) => {
      const currency = customData(event)?.currency;
      if (currency === undefined || currency === null || currency === "") return undefined;
      return typeof currency === "string" && CURRENCIES.has(currency.toUpperCase())
        ? undefined
        : "custom_data.currency";
    },
  },
  {
    id: "business_messaging.event_name",
    mode: "always",
    evidence: "3P",
    error: invalid(
      2804066,
      "Messaging Event Invalid Event Type",
      "This event name isn't supported for business messaging events. Use one of: Purchase, LeadSubmitted, InitiateCheckout, AddToCart, ViewContent, OrderCreated, OrderShipped, OrderDelivered, OrderCanceled, OrderReturned, CartAbandoned, QualifiedLead, RatingProvided, ReviewProvided.",
    ),
    check: (event) =>
      event.action_source === "business_messaging" && !MESSAGING_EVENT_SET.has(event.event_name)
        ? "event_name"
        : undefined,
  },
  {
    id: "custom_data.delivery_category_invalid",
    mode: "always",
    evidence: "UNVERIFIED",
    error: invalid(
      2804908,
      "Invalid Delivery Category",
      "The {field} parameter must be one of: in_store, curbside, home_delivery.",
    ),
    check: (event) => {
      const data = customData(event);
      return data === undefined ? undefined : badDeliveryCategory(data);
    },
  },
  {
    id: "data_processing_options.invalid",
    mode: "always",
    evidence: "UNVERIFIED",
    error: invalid(
      2804909,
      "Invalid Data Processing Options",
      "The {field} parameter is invalid. data_processing_options accepts only LDU, with a supported country and state.",
    ),
    check: badDataProcessingOptions,
  },
  {
    id: "app_data.extinfo_invalid",
    mode: "always",
    evidence: "UNVERIFIED",
    error: invalid(
      2804910,
      "Invalid Extended Device Info",
      "The extinfo parameter must contain exactly 16 values in the documented order. Fill missing values with an empty string.",
    ),
    check: badExtinfo,
  },
  // ---- strict only: Meta accepts these and reports diagnostics (spec §2.2, §3.3). The requirements
  // are documented, but Meta answers them with no error, so every envelope below is the emulator's.
  {
    id: "action_source.missing",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(2804920, "Missing Action Source", "The action_source parameter is required."),
    check: (event) =>
      event.action_source === undefined || event.action_source === null ? "action_source" : undefined,
  },
  {
    id: "event_time.not_integer",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(
      2804921,
      "Invalid Event Time",
      "The event_time parameter must be an integer Unix timestamp in seconds.",
    ),
    check: (event) => (Number.isInteger(event.event_time) ? undefined : "event_time"),
  },
  {
    id: "website.client_user_agent_missing",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(2804922, "Missing User Agent", "Website events require the client_user_agent parameter."),
    check: (event) =>
      event.action_source === "website" && isBlank(userData(event)?.client_user_agent)
        ? "user_data.client_user_agent"
        : undefined,
  },
  {
    id: "website.event_source_url_missing",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(
      2804923,
      "Missing Event Source URL",
      "Website events require the event_source_url parameter.",
    ),
    check: (event) =>
      event.action_source === "website" && isBlank(event.event_source_url) ? "event_source_url" : undefined,
  },
  {
    id: "event_source_url.invalid",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(
      2804924,
      "Invalid Event Source URL",
      "The event_source_url must begin with http:// or https://.",
    ),
    check: (event) => (malformedString(event.event_source_url, HTTP_URL) ? "event_source_url" : undefined),
  },
  {
    id: "user_data.fbc_malformed",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(
      2804925,
      "Invalid Click ID",
      "The fbc parameter must look like fb.1.<creation time ms>.<fbclid>.",
    ),
    check: (event) => (malformedString(userData(event)?.fbc, FBC) ? "user_data.fbc" : undefined),
  },
  {
    id: "user_data.fbp_malformed",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(
      2804926,
      "Invalid Browser ID",
      "The fbp parameter must look like fb.1.<creation time ms>.<random number>.",
    ),
    check: (event) => (malformedString(userData(event)?.fbp, FBP) ? "user_data.fbp" : undefined),
  },
  {
    id: "user_data.client_ip_address_malformed",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(
      2804927,
      "Invalid IP Address",
      "The client_ip_address parameter must be a valid IPv4 or IPv6 address.",
    ),
    check: (event) => {
      const ip = userData(event)?.client_ip_address;
      if (ip === undefined || ip === null || ip === "") return undefined;
      return typeof ip !== "string" || malformedIp(ip) ? "user_data.client_ip_address" : undefined;
    },
  },
  {
    id: "purchase.currency_missing",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(
      2804928,
      "Missing Currency for Purchase Event",
      "Purchase events require the currency parameter.",
    ),
    check: (event) =>
      event.event_name === "Purchase" && isBlank(customData(event)?.currency)
        ? "custom_data.currency"
        : undefined,
  },
  {
    id: "custom_data.value_without_currency",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(2804929, "Missing Currency", "Events with a value require the currency parameter."),
    check: (event) => {
      const data = customData(event);
      return data !== undefined && !isBlank(data.value) && isBlank(data.currency)
        ? "custom_data.currency"
        : undefined;
    },
  },
  {
    id: "app.app_data_missing",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(
      2804930,
      "Missing App Data",
      "App events require app_data with advertiser_tracking_enabled and extinfo.",
    ),
    check: (event) => (event.action_source === "app" && !isObject(event.app_data) ? "app_data" : undefined),
  },
  {
    id: "business_messaging.channel_missing",
    mode: "strict",
    evidence: "UNVERIFIED",
    error: invalid(
      2804931,
      "Missing Messaging Channel",
      "Business messaging events require the messaging_channel parameter.",
    ),
    check: (event) =>
      event.action_source === "business_messaging" && isBlank(event.messaging_channel)
        ? "messaging_channel"
        : undefined,
  },
];

/** Per-rule changes: turn a rule off, move it between modes, or change its envelope. */
export interface RuleOverride {
  readonly enabled?: boolean;
  readonly mode?: RuleMode;
  readonly error?: Partial<RuleError>;
}

export interface CompiledRule {
  readonly id: string;
  readonly template: ErrorTemplate;
  readonly check: EventRule["check"];
}

function templateOf(rule: EventRule, override: RuleOverride | undefined): ErrorTemplate {
  const error = { ...rule.error, ...override?.error };
  return { ...error, type: "OAuthException", is_transient: false, evidence: rule.evidence };
}

/**
 * The rules one emulator enforces, in table order, and the ones it only reports as warnings.
 * Unknown override ids throw so a typo cannot silently leave a rule on.
 */
export function compileRules(
  strict: boolean,
  overrides: Readonly<Record<string, RuleOverride>> = {},
): { enforced: CompiledRule[]; warnings: CompiledRule[] } {
  for (const id of Object.keys(overrides)) {
    if (!EVENT_RULES.some((rule) => rule.id === id)) throw new Error(`unknown emulator rule '${id}'`);
  }
  const enforced: CompiledRule[] = [];
  const warnings: CompiledRule[] = [];
  for (const rule of EVENT_RULES) {
    const override = overrides[rule.id];
    if (override?.enabled === false) continue;
    const compiled = { id: rule.id, template: templateOf(rule, override), check: rule.check };
    const mode = override?.mode ?? rule.mode;
    if (mode === "always" || strict) enforced.push(compiled);
    else warnings.push(compiled);
  }
  return { enforced, warnings };
}

export interface EventFailure {
  readonly index: number;
  readonly rule: CompiledRule;
  readonly field: string;
}

const NOT_OBJECT = "event.not_object";

/** The first (event, rule) that fails, scanning events in order; undefined when all pass. */
export function firstFailure(
  events: readonly unknown[],
  rules: readonly CompiledRule[],
  ctx: RuleContext,
): EventFailure | undefined {
  for (let index = 0; index < events.length; index++) {
    const event = events[index];
    const whole = isObject(event);
    for (const rule of rules) {
      // Every rule but the shape rule reads fields, so a non-object only meets the shape rule.
      if (!whole && rule.id !== NOT_OBJECT) continue;
      const field = rule.check(event as EventObject, ctx);
      if (field !== undefined) return { index, rule, field };
    }
  }
  return undefined;
}

/** Every rule an accepted event breaks: the diagnostics Meta would show in Events Manager. */
export function warningsFor(event: unknown, rules: readonly CompiledRule[], ctx: RuleContext): string[] {
  if (!isObject(event)) return [];
  const found: string[] = [];
  for (const rule of rules) {
    if (rule.check(event, ctx) !== undefined) found.push(rule.id);
  }
  return found;
}
