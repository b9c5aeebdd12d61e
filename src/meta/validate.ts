// Judges one server event against Meta's rules (spec §2–§5, §11) before it is sent. Hot path: the
// tables below are built once; a call allocates nothing but its result unless it has something to say.
import { isIP } from "node:net";
import { isActiveCurrency, isWithdrawnCurrency } from "./currencies.ts";
import type { Diagnostic, ValidationResult } from "./diagnostics.ts";
import { looksHashed } from "./hash.ts";
import { TOO_BROAD_COMBINATIONS, USER_DATA_KEYS, type UserDataKey } from "./user-data-keys.ts";
import { VALIDATION_CODES, type ValidationCode, type ValidationCodeSpec } from "./validation-codes.ts";
import {
  ACTION_SOURCES,
  BUSINESS_MESSAGING_EVENTS,
  CONTENT_TYPES,
  CUSTOMER_SEGMENTATIONS,
  DATA_PROCESSING_OPTIONS,
  DELIVERY_CATEGORIES,
  LDU_STATES_BY_COUNTRY,
  MESSAGING_CHANNELS,
} from "./vocabulary.ts";

export type { Severity, ValidationCode, ValidationCodeSpec } from "./validation-codes.ts";
export { severityOf, VALIDATION_CODES } from "./validation-codes.ts";

export interface ValidateOptions {
  /** Unix seconds to judge event_time against; default: the clock. */
  now?: number;
  /** Oldest accepted event_time, in seconds before `now`; default 7 days (Meta's 2804003). */
  maxAgeSeconds?: number;
  /** The same for `physical_store` events; default 62 days (spec §2.1, unverified live). */
  physicalStoreMaxAgeSeconds?: number;
  /** Tolerated clock skew into the future; default 600 s (no documented rule, spec §2.1). */
  maxFutureSeconds?: number;
  /** Reject what Meta only flags: missing UA/URL on web events, bad fbc/fbp/IP, missing event_id. */
  strict?: boolean;
  /**
   * user_data is normalizeUserData's output, untouched since: every value under a key that must be
   * hashed is a digest it computed or checked, so the digests are not checked a second time.
   */
  userDataNormalized?: boolean;
}

const DAY_SECONDS = 86_400;
const DEFAULT_MAX_AGE_SECONDS = 7 * DAY_SECONDS;
const DEFAULT_PHYSICAL_STORE_MAX_AGE_SECONDS = 62 * DAY_SECONDS;
const DEFAULT_MAX_FUTURE_SECONDS = 600;
/** The Meta Pixel's limit for custom event names (spec §10). */
const CUSTOM_EVENT_NAME_MAX_LENGTH = 50;
/** 13 digits: a millisecond timestamp between 2001 and 2286. */
const MILLISECOND_TIMESTAMPS = { from: 1e12, below: 1e13 };

type JsonObject = { readonly [key: string]: unknown };

interface Context {
  readonly strict: boolean;
  readonly checkDigests: boolean;
  readonly now: number;
  readonly maxAgeSeconds: number;
  readonly physicalStoreMaxAgeSeconds: number;
  readonly maxFutureSeconds: number;
  errors: Diagnostic[] | undefined;
  warnings: Diagnostic[] | undefined;
}

/**
 * Every error and warning Meta's rules give for `event`, each with a path, a stable code from
 * VALIDATION_CODES and a message that never quotes the value. Never throws.
 *
 * event_time as a string of digits is accepted with an `event_time.string` warning (an error under
 * `strict`): Meta converts such strings, and the offline-events docs show one.
 */
export function validateEvent(event: unknown, options: ValidateOptions = {}): ValidationResult {
  const context: Context = {
    strict: options.strict === true,
    checkDigests: options.userDataNormalized !== true,
    now: options.now ?? Date.now() / 1000,
    maxAgeSeconds: options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS,
    physicalStoreMaxAgeSeconds: options.physicalStoreMaxAgeSeconds ?? DEFAULT_PHYSICAL_STORE_MAX_AGE_SECONDS,
    maxFutureSeconds: options.maxFutureSeconds ?? DEFAULT_MAX_FUTURE_SECONDS,
    errors: undefined,
    warnings: undefined,
  };
  if (isObject(event)) {
    for (const rule of RULES) rule(event, context);
  } else {
    report(context, "event", "event.not_object");
  }
  return { errors: context.errors ?? [], warnings: context.warnings ?? [] };
}

function report(context: Context, path: string, code: ValidationCode): void {
  const spec: ValidationCodeSpec = VALIDATION_CODES[code];
  const diagnostic: Diagnostic = { path, code, message: spec.message };
  if (spec.severity === "error" || (context.strict && spec.strict === true)) {
    if (context.errors === undefined) context.errors = [diagnostic];
    else context.errors.push(diagnostic);
  } else if (context.warnings === undefined) {
    context.warnings = [diagnostic];
  } else {
    context.warnings.push(diagnostic);
  }
}

// ── Value tests ──────────────────────────────────────────────────────────────────────────────

const INTEGER_STRING = /^\d+$/;
const NUMERIC_STRING = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const HTTP_URL = /^https?:\/\/[^\s/?#]/i;
/** Spec §3.3; fbc's click id is taken verbatim from the URL, so only whitespace is ruled out. */
const FBC = /^fb\.\d+\.\d{10,13}\.\S+$/;
const FBP = /^fb\.\d+\.\d{10,13}\.\d+(?:\.[A-Za-z0-9_-]{2,8})?$/;
/** The Parameter Builder appendix (spec §3.3): 8 characters, or 2 for the legacy form. */
const PARAMETER_BUILDER_APPENDIX = /\.(?:[A-Za-z0-9_-]{2}|[A-Za-z0-9_-]{8})$/;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Meta treats null and empty strings as not sent. */
function isAbsent(value: unknown): value is undefined | null | "" {
  return value === undefined || value === null || value === "";
}

/** Whether a user_data value carries anything to match on. */
function hasContent(value: unknown): boolean {
  if (Array.isArray(value)) {
    for (const element of value) if (hasContent(element)) return true;
    return false;
  }
  return !isAbsent(value);
}

function isNumeric(value: unknown): boolean {
  return typeof value === "number"
    ? Number.isFinite(value)
    : typeof value === "string" && NUMERIC_STRING.test(value);
}

function isInteger(value: unknown): boolean {
  return Number.isInteger(value);
}

function isPositiveInteger(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) > 0;
}

function isIntegerTimestamp(value: unknown): boolean {
  return Number.isInteger(value) || (typeof value === "string" && INTEGER_STRING.test(value));
}

function isNonEmptyString(value: unknown): boolean {
  return typeof value === "string" && value.length > 0;
}

/** Content and product ids: Meta's examples use strings, warehouses often hold numbers. */
function isId(value: unknown): boolean {
  return isNonEmptyString(value) || (typeof value === "number" && Number.isFinite(value));
}

function isIdList(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (const element of value) if (!isId(element)) return false;
  return true;
}

function isHttpUrl(value: unknown): boolean {
  return typeof value === "string" && HTTP_URL.test(value);
}

function isIsoCurrencyCode(value: unknown): boolean {
  return typeof value === "string" && (isActiveCurrency(value) || isWithdrawnCurrency(value));
}

function isNotWithdrawnCurrency(value: unknown): boolean {
  return typeof value !== "string" || !isWithdrawnCurrency(value);
}

function isTrackingFlag(value: unknown): boolean {
  return typeof value === "boolean" || value === 0 || value === 1;
}

/** Dotted quad with each part 0–255; node's isIP runs a much larger regex that also covers IPv6. */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function isIpAddress(value: string): boolean {
  if (IPV4.test(value) || isIP(value) !== 0) return true;
  const appendix = PARAMETER_BUILDER_APPENDIX.exec(value);
  return appendix !== null && isIP(value.slice(0, appendix.index)) !== 0;
}

function oneOf(values: readonly string[]): (value: unknown) => boolean {
  const allowed = new Set(values);
  return (value) => typeof value === "string" && allowed.has(value);
}

const isActionSource = oneOf(ACTION_SOURCES);
const isBusinessMessagingEvent = oneOf(BUSINESS_MESSAGING_EVENTS);
const isDeliveryCategory = oneOf(DELIVERY_CATEGORIES);
const isCustomerSegmentation = oneOf(CUSTOMER_SEGMENTATIONS);
const isExtinfoVersion = oneOf(["a2", "i2"]);

// ── Tables ───────────────────────────────────────────────────────────────────────────────────

/** A field that, when given, must pass `valid`. */
interface FieldRule {
  readonly field: string;
  readonly valid: (value: unknown) => boolean;
  readonly code: ValidationCode;
}

/** Checked wherever they appear, whatever the event. */
const EVENT_FIELD_RULES: readonly FieldRule[] = [
  { field: "event_source_url", valid: isHttpUrl, code: "event_source_url.invalid" },
  { field: "event_id", valid: isNonEmptyString, code: "event_id.invalid" },
  { field: "customer_segmentation", valid: isCustomerSegmentation, code: "customer_segmentation.invalid" },
  { field: "messaging_channel", valid: oneOf(MESSAGING_CHANNELS), code: "messaging_channel.invalid" },
  { field: "custom_data", valid: isObject, code: "custom_data.not_object" },
  { field: "app_data", valid: isObject, code: "app_data.not_object" },
  { field: "original_event_data", valid: isObject, code: "original_event_data.not_object" },
  { field: "attribution_data", valid: isObject, code: "attribution_data.not_object" },
];

const CUSTOM_DATA_FIELD_RULES: readonly FieldRule[] = [
  { field: "value", valid: isNumeric, code: "custom_data.value.invalid" },
  { field: "predicted_ltv", valid: isNumeric, code: "custom_data.predicted_ltv.invalid" },
  { field: "net_revenue", valid: isNumeric, code: "custom_data.net_revenue.invalid" },
  { field: "currency", valid: isIsoCurrencyCode, code: "custom_data.currency.invalid" },
  { field: "currency", valid: isNotWithdrawnCurrency, code: "custom_data.currency.withdrawn" },
  { field: "content_ids", valid: isIdList, code: "custom_data.content_ids.invalid" },
  { field: "content_type", valid: oneOf(CONTENT_TYPES), code: "custom_data.content_type.invalid" },
  { field: "num_items", valid: isInteger, code: "custom_data.num_items.invalid" },
  { field: "delivery_category", valid: isDeliveryCategory, code: "custom_data.delivery_category.invalid" },
  {
    field: "customer_segmentation",
    valid: isCustomerSegmentation,
    code: "custom_data.customer_segmentation.invalid",
  },
];

const CONTENT_FIELD_RULES: readonly FieldRule[] = [
  { field: "id", valid: isId, code: "custom_data.contents.id.invalid" },
  { field: "quantity", valid: isPositiveInteger, code: "custom_data.contents.quantity.invalid" },
  { field: "item_price", valid: isNumeric, code: "custom_data.contents.item_price.invalid" },
  {
    field: "delivery_category",
    valid: isDeliveryCategory,
    code: "custom_data.contents.delivery_category.invalid",
  },
];

const ORIGINAL_EVENT_DATA_FIELD_RULES: readonly FieldRule[] = [
  { field: "event_time", valid: isIntegerTimestamp, code: "original_event_data.event_time.invalid" },
];

/** Field rules for the objects nested in an event; a container that is not an object is skipped. */
const NESTED_FIELD_RULES: readonly { container: string; prefix: string; rules: readonly FieldRule[] }[] = [
  { container: "custom_data", prefix: "custom_data.", rules: CUSTOM_DATA_FIELD_RULES },
  {
    container: "original_event_data",
    prefix: "original_event_data.",
    rules: ORIGINAL_EVENT_DATA_FIELD_RULES,
  },
];

/** A field that must be present (and not empty); `container` names the object holding it. */
interface Requirement {
  readonly container?: "user_data" | "custom_data";
  readonly field: string;
  readonly code: ValidationCode;
}

const REQUIRED_FOR_EVERY_EVENT: readonly Requirement[] = [{ field: "event_id", code: "event_id.missing" }];

const REQUIRED_BY_ACTION_SOURCE: ReadonlyMap<string, readonly Requirement[]> = new Map([
  [
    "website",
    [
      { field: "event_source_url", code: "event_source_url.missing" },
      { container: "user_data", field: "client_user_agent", code: "user_data.client_user_agent.missing" },
    ],
  ],
  ["app", [{ field: "app_data", code: "app_data.missing" }]],
  ["business_messaging", [{ field: "messaging_channel", code: "messaging_channel.missing" }]],
]);

const REQUIRED_BY_EVENT_NAME: ReadonlyMap<string, readonly Requirement[]> = new Map([
  [
    "Purchase",
    [
      { container: "custom_data", field: "value", code: "custom_data.value.missing" },
      { container: "custom_data", field: "currency", code: "custom_data.currency.missing" },
    ],
  ],
]);

const CONTENT_REQUIREMENTS: readonly Requirement[] = [
  { field: "id", code: "custom_data.contents.id.missing" },
  { field: "quantity", code: "custom_data.contents.quantity.missing" },
];

interface KeyFormat {
  readonly valid: (value: string) => boolean;
  readonly code: ValidationCode;
}

/** user_data keys with a format of their own; a value failing it is reported under that key. */
const USER_DATA_FORMATS: Readonly<Record<string, KeyFormat>> = {
  client_ip_address: { valid: isIpAddress, code: "user_data.client_ip_address.invalid" },
  fbc: { valid: (value) => FBC.test(value), code: "user_data.fbc.invalid" },
  fbp: { valid: (value) => FBP.test(value), code: "user_data.fbp.invalid" },
};

/** Everything checked about one documented user_data key, so a key costs one lookup. */
interface UserDataKeyRule {
  readonly hashRequired: boolean;
  /**
   * A bit per too-broad combination holding the key. ANDing the masks of an event's keys leaves a
   * bit set exactly when all its keys fit inside that combination (spec §3.4).
   */
  readonly tooBroadMask: number;
  readonly format: KeyFormat | undefined;
}

const USER_DATA_RULES: ReadonlyMap<string, UserDataKeyRule> = new Map(
  (Object.keys(USER_DATA_KEYS) as UserDataKey[]).map((key) => [
    key,
    {
      hashRequired: USER_DATA_KEYS[key].hashing === "required",
      tooBroadMask: TOO_BROAD_COMBINATIONS.reduce(
        (mask, combination, index) => (combination.includes(key) ? mask | (1 << index) : mask),
        0,
      ),
      format: Object.hasOwn(USER_DATA_FORMATS, key) ? USER_DATA_FORMATS[key] : undefined,
    },
  ]),
);
const EVERY_COMBINATION = (1 << TOO_BROAD_COMBINATIONS.length) - 1;

/** Only meaningful together with LDU (spec §2). */
const LDU_ONLY_FIELDS: readonly { field: string; code: ValidationCode }[] = [
  { field: "data_processing_options_country", code: "data_processing_options_country.without_ldu" },
  { field: "data_processing_options_state", code: "data_processing_options_state.without_ldu" },
];
const [LIMITED_DATA_USE] = DATA_PROCESSING_OPTIONS;

const EXTINFO_SLOT_COUNT = 16;
const EXTINFO_SLOT_KEYS: ReadonlySet<string> = new Set(
  Array.from({ length: EXTINFO_SLOT_COUNT }, (_, i) => `${i}`),
);

// ── Rules ────────────────────────────────────────────────────────────────────────────────────

type Rule = (event: JsonObject, context: Context) => void;

/** Deeper rules that only apply to one action source. */
const ACTION_SOURCE_RULES: ReadonlyMap<string, Rule> = new Map([
  ["app", checkAppData],
  ["business_messaging", checkBusinessMessagingName],
]);

const RULES: readonly Rule[] = [
  checkEventName,
  checkEventTime,
  checkActionSource,
  (event, context) => checkFields(event, EVENT_FIELD_RULES, context, ""),
  checkNestedFields,
  (event, context) => checkRequirements(event, REQUIRED_FOR_EVERY_EVENT, context),
  (event, context) =>
    checkRequirements(event, REQUIRED_BY_EVENT_NAME.get(event.event_name as string), context),
  (event, context) =>
    checkRequirements(event, REQUIRED_BY_ACTION_SOURCE.get(event.action_source as string), context),
  (event, context) => ACTION_SOURCE_RULES.get(event.action_source as string)?.(event, context),
  checkUserData,
  checkContents,
  checkValueWithoutCurrency,
  checkLimitedDataUse,
];

function checkFields(
  holder: JsonObject,
  rules: readonly FieldRule[],
  context: Context,
  prefix: string,
  index = -1,
): void {
  for (const rule of rules) {
    const value = holder[rule.field];
    if (isAbsent(value) || rule.valid(value)) continue;
    report(context, index < 0 ? prefix + rule.field : `${prefix}[${index}].${rule.field}`, rule.code);
  }
}

function checkNestedFields(event: JsonObject, context: Context): void {
  for (const { container, prefix, rules } of NESTED_FIELD_RULES) {
    const holder = event[container];
    if (isObject(holder)) checkFields(holder, rules, context, prefix);
  }
}

function checkRequirements(
  event: JsonObject,
  requirements: readonly Requirement[] | undefined,
  context: Context,
): void {
  if (requirements === undefined) return;
  for (const { container, field, code } of requirements) {
    const holder = container === undefined ? event : event[container];
    if (isObject(holder) && !isAbsent(holder[field])) continue;
    report(context, container === undefined ? field : `${container}.${field}`, code);
  }
}

function checkEventName(event: JsonObject, context: Context): void {
  const name = event.event_name;
  if (isAbsent(name)) report(context, "event_name", "event_name.missing");
  else if (typeof name !== "string" || name.trim().length === 0)
    report(context, "event_name", "event_name.invalid");
  else if (name.length > CUSTOM_EVENT_NAME_MAX_LENGTH) report(context, "event_name", "event_name.too_long");
}

function checkEventTime(event: JsonObject, context: Context): void {
  const time = event.event_time;
  let seconds: number;
  if (isAbsent(time)) {
    report(context, "event_time", "event_time.missing");
    return;
  }
  if (Number.isInteger(time)) {
    seconds = time as number;
  } else if (typeof time === "string" && INTEGER_STRING.test(time)) {
    report(context, "event_time", "event_time.string");
    seconds = Number(time);
  } else {
    report(context, "event_time", "event_time.invalid");
    return;
  }
  if (seconds >= MILLISECOND_TIMESTAMPS.from && seconds < MILLISECOND_TIMESTAMPS.below) {
    report(context, "event_time", "event_time.milliseconds");
    return;
  }
  const maxAge =
    event.action_source === "physical_store" ? context.physicalStoreMaxAgeSeconds : context.maxAgeSeconds;
  if (context.now - seconds > maxAge) report(context, "event_time", "event_time.too_old");
  else if (seconds - context.now > context.maxFutureSeconds)
    report(context, "event_time", "event_time.in_future");
}

function checkActionSource(event: JsonObject, context: Context): void {
  const source = event.action_source;
  if (isAbsent(source)) report(context, "action_source", "action_source.missing");
  else if (!isActionSource(source)) report(context, "action_source", "action_source.invalid");
}

function checkUserData(event: JsonObject, context: Context): void {
  const userData = event.user_data;
  if (userData === undefined || userData === null) {
    report(context, "user_data", "user_data.missing");
    return;
  }
  if (!isObject(userData)) {
    report(context, "user_data", "user_data.not_object");
    return;
  }
  let keysWithContent = 0;
  let combinations = EVERY_COMBINATION;
  const keys = Object.keys(userData);
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as string;
    const rule = USER_DATA_RULES.get(key);
    if (rule === undefined) {
      report(context, `user_data.${key}`, "user_data.unknown_key");
      continue;
    }
    const value = userData[key];
    if (!hasContent(value)) continue;
    keysWithContent++;
    combinations &= rule.tooBroadMask;
    if (rule.hashRequired && context.checkDigests) checkHashed(key, value, context);
    const format = rule.format;
    if (format !== undefined && !(typeof value === "string" && format.valid(value))) {
      report(context, `user_data.${key}`, format.code);
    }
  }
  if (keysWithContent === 0) report(context, "user_data", "user_data.empty");
  else if (combinations !== 0) report(context, "user_data", "user_data.too_broad");
}

function checkHashed(key: string, value: unknown, context: Context): void {
  if (!Array.isArray(value)) {
    if (!(typeof value === "string" && looksHashed(value)))
      report(context, `user_data.${key}`, "user_data.not_hashed");
    return;
  }
  for (let i = 0; i < value.length; i++) {
    const element: unknown = value[i];
    if (isAbsent(element) || (typeof element === "string" && looksHashed(element))) continue;
    report(context, `user_data.${key}[${i}]`, "user_data.not_hashed");
  }
}

function checkContents(event: JsonObject, context: Context): void {
  const customData = event.custom_data;
  if (!isObject(customData) || isAbsent(customData.contents)) return;
  const contents = customData.contents;
  if (!Array.isArray(contents)) {
    report(context, "custom_data.contents", "custom_data.contents.invalid");
    return;
  }
  for (let i = 0; i < contents.length; i++) {
    const item: unknown = contents[i];
    if (!isObject(item)) {
      report(context, `custom_data.contents[${i}]`, "custom_data.contents.item.invalid");
      continue;
    }
    for (const { field, code } of CONTENT_REQUIREMENTS) {
      if (isAbsent(item[field])) report(context, `custom_data.contents[${i}].${field}`, code);
    }
    checkFields(item, CONTENT_FIELD_RULES, context, "custom_data.contents", i);
  }
}

/** A value without a currency is unreadable; events that require currency already report it. */
function checkValueWithoutCurrency(event: JsonObject, context: Context): void {
  const customData = event.custom_data;
  if (!isObject(customData) || isAbsent(customData.value) || !isAbsent(customData.currency)) return;
  const required = REQUIRED_BY_EVENT_NAME.get(event.event_name as string);
  if (required?.some((requirement) => requirement.field === "currency")) return;
  report(context, "custom_data.currency", "custom_data.currency.missing_with_value");
}

function checkLimitedDataUse(event: JsonObject, context: Context): void {
  const options = event.data_processing_options;
  let limitedDataUse = false;
  if (!isAbsent(options)) {
    let invalid = !Array.isArray(options);
    if (Array.isArray(options)) {
      for (const option of options) {
        if (option === LIMITED_DATA_USE) limitedDataUse = true;
        else invalid = true;
      }
    }
    if (invalid) report(context, "data_processing_options", "data_processing_options.invalid");
  }
  if (!limitedDataUse) {
    for (const { field, code } of LDU_ONLY_FIELDS) if (!isAbsent(event[field])) report(context, field, code);
    return;
  }
  const country = event.data_processing_options_country;
  if (isAbsent(country)) {
    report(context, "data_processing_options_country", "data_processing_options_country.missing");
    return;
  }
  const states =
    typeof country === "number" && Object.hasOwn(LDU_STATES_BY_COUNTRY, country)
      ? LDU_STATES_BY_COUNTRY[country]
      : undefined;
  if (states === undefined) {
    report(context, "data_processing_options_country", "data_processing_options_country.invalid");
    return;
  }
  const state = event.data_processing_options_state;
  if (isAbsent(state)) {
    // Meta geolocates from the IP address when it has one (spec §2).
    const userData = event.user_data;
    if (!(isObject(userData) && hasContent(userData.client_ip_address))) {
      report(context, "data_processing_options_state", "data_processing_options_state.missing");
    }
  } else if (typeof state !== "number" || !states.includes(state)) {
    report(context, "data_processing_options_state", "data_processing_options_state.invalid");
  }
}

function checkAppData(event: JsonObject, context: Context): void {
  const appData = event.app_data;
  if (!isObject(appData)) return; // reported as app_data.missing or app_data.not_object
  const tracking = appData.advertiser_tracking_enabled;
  if (tracking === undefined || tracking === null) {
    report(context, "app_data.advertiser_tracking_enabled", "app_data.advertiser_tracking_enabled.missing");
  } else if (!isTrackingFlag(tracking)) {
    report(context, "app_data.advertiser_tracking_enabled", "app_data.advertiser_tracking_enabled.invalid");
  }
  const extinfo = appData.extinfo;
  let version: unknown;
  let osVersion: unknown;
  if (isAbsent(extinfo)) {
    report(context, "app_data.extinfo", "app_data.extinfo.missing");
    return;
  } else if (Array.isArray(extinfo) && extinfo.length === EXTINFO_SLOT_COUNT) {
    version = extinfo[0];
    osVersion = extinfo[4];
  } else if (isObject(extinfo) && hasOnlySlotKeys(extinfo)) {
    version = extinfo["0"];
    osVersion = extinfo["4"];
  } else {
    report(context, "app_data.extinfo", "app_data.extinfo.invalid");
    return;
  }
  if (!isExtinfoVersion(version)) report(context, "app_data.extinfo[0]", "app_data.extinfo.version.invalid");
  if (!isNonEmptyString(osVersion))
    report(context, "app_data.extinfo[4]", "app_data.extinfo.os_version.missing");
}

/** Meta's Node SDK sends extinfo as an object and drops unset slots, so only the keys are checked. */
function hasOnlySlotKeys(extinfo: JsonObject): boolean {
  for (const key in extinfo) if (!EXTINFO_SLOT_KEYS.has(key)) return false;
  return true;
}

function checkBusinessMessagingName(event: JsonObject, context: Context): void {
  const name = event.event_name;
  if (typeof name === "string" && name.length > 0 && !isBusinessMessagingEvent(name)) {
    report(context, "event_name", "event_name.not_business_messaging");
  }
}
