// How a source value becomes the type Meta wants, one entry per kind of Meta field. A coercion
// returns the value to send, undefined when there is nothing to send (null, "", []), or INVALID
// when the value cannot be read; the row error then says what was expected, never what was found.
import { canonicalEventName } from "../meta/vocabulary.ts";
import { parseFlatObjectList } from "./flat-json-list.ts";
import { toUnixSeconds } from "./timestamps.ts";

export const INVALID: unique symbol = Symbol("invalid");
export type Coerced = unknown | typeof INVALID;

export interface Coercion {
  readonly coerce: (value: unknown) => Coerced;
  /** Ends the sentence "row 12: custom_data.value …". */
  readonly expected: string;
  /** Several sources feed the field and every value is kept (user_data keys that take a list). */
  readonly collects?: boolean;
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DIGITS = /^\d+$/;
const TRUE_TEXT = new Set(["true", "t", "1", "yes", "y"]);
const FALSE_TEXT = new Set(["false", "f", "0", "no", "n"]);
const ISO_DATE_PREFIX = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]|$)/;

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === "string" && value.trim() === "");
}

/** Text from a scalar; INVALID for objects and lists. */
function text(value: unknown): Coerced {
  if (typeof value === "string") {
    const trimmed = value.trim();
    return trimmed === "" ? undefined : trimmed;
  }
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : INVALID;
  if (typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? INVALID : value.toISOString();
  return INVALID;
}

function number(value: unknown): Coerced {
  if (isBlank(value)) return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? value : INVALID;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && NUMBER_TEXT.test(value.trim())) return Number(value.trim());
  return INVALID;
}

function integer(value: unknown): Coerced {
  const n = number(value);
  return typeof n === "number" && !Number.isInteger(n) ? INVALID : n;
}

function boolean(value: unknown): Coerced {
  if (isBlank(value)) return undefined;
  if (typeof value === "boolean") return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value !== "string") return INVALID;
  const word = value.trim().toLowerCase();
  if (TRUE_TEXT.has(word)) return true;
  if (FALSE_TEXT.has(word)) return false;
  return INVALID;
}

/** A list given as an array, a JSON array in a string, or comma-separated text. */
function listItems(value: unknown): unknown[] | typeof INVALID | undefined {
  if (isBlank(value)) return undefined;
  if (Array.isArray(value)) return value;
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
      const parsed = parseJson(trimmed);
      return Array.isArray(parsed) ? parsed : INVALID;
    }
    return trimmed.split(",");
  }
  return [value];
}

function stringList(value: unknown, keepEmpty: boolean): Coerced {
  const items = listItems(value);
  if (items === undefined || items === INVALID) return items;
  const out: string[] = [];
  for (const item of items) {
    const t = text(item);
    if (t === INVALID) return INVALID;
    if (t !== undefined) out.push(t as string);
  }
  return out.length > 0 || keepEmpty ? out : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date);
}

function parseJson(textValue: string): unknown {
  try {
    return JSON.parse(textValue);
  } catch {
    return INVALID;
  }
}

/**
 * `contents`: objects with id (string), quantity and item_price (numbers); other keys kept. A lone
 * object is a list of one (a JSONata `items.{…}` over one item yields the object itself).
 */
function contents(value: unknown): Coerced {
  const trimmed = typeof value === "string" ? value.trim() : undefined;
  // Objects parsed here belong to no one else: they are coerced in place rather than copied.
  const fromText = trimmed !== undefined && JSON_OPENERS.has(trimmed.charCodeAt(0));
  const parsed = fromText ? (parseFlatObjectList(trimmed) ?? parseJson(trimmed)) : value;
  if (isBlank(parsed)) return undefined;
  const items = isRecord(parsed) ? [parsed] : parsed;
  if (!Array.isArray(items)) return INVALID;
  const out: Record<string, unknown>[] = [];
  for (const item of items) {
    if (!isRecord(item)) return INVALID;
    const content: Record<string, unknown> = fromText ? item : { ...item };
    for (let k = 0; k < CONTENT_KEYS.length; k++) {
      const { key, coerce } = CONTENT_KEYS[k] as ContentKey;
      const held = content[key];
      if (held === undefined && !(key in content)) continue;
      const coerced = coerce(held);
      if (coerced === INVALID) return INVALID;
      // Stored only when it changed: a store under a key read from a table is a slow, generic one.
      if (coerced === undefined) delete content[key];
      else if (coerced !== held) content[key] = coerced;
    }
    out.push(content);
  }
  return out.length > 0 ? out : undefined;
}

/** `[` and `{`: text that opens a JSON list or object. */
const JSON_OPENERS = new Set(["[".charCodeAt(0), "{".charCodeAt(0)]);

interface ContentKey {
  readonly key: string;
  readonly coerce: (value: unknown) => Coerced;
}

const CONTENT_KEYS: readonly ContentKey[] = [
  { key: "id", coerce: text },
  { key: "quantity", coerce: integer },
  { key: "item_price", coerce: number },
  { key: "delivery_category", coerce: text },
];

/** Customer values for a key that takes a list: every non-empty scalar, as text (one, or a list). */
function userDataValues(value: unknown): Coerced {
  if (typeof value === "string") {
    const trimmed = value.trim();
    return trimmed === "" ? undefined : trimmed;
  }
  if (isBlank(value)) return undefined;
  const values = Array.isArray(value) ? value.flat(Number.POSITIVE_INFINITY) : [value];
  const out: string[] = [];
  for (const item of values) {
    const t = text(item);
    if (t === INVALID) return INVALID;
    if (t !== undefined) out.push(t as string);
  }
  return out.length > 0 ? out : undefined;
}

/**
 * Dates of birth as YYYYMMDD when the source is a date (drivers hand DATE columns over as Date
 * objects at local or UTC midnight, trackers as ISO strings); other text is left for the normalizer.
 */
function dateOfBirth(value: unknown): Coerced {
  // One text value, the common case, without the lists the general path builds for it.
  if (typeof value === "string") {
    const trimmed = value.trim();
    return trimmed === "" ? undefined : isoDateDigits(trimmed);
  }
  const items = Array.isArray(value) ? value.flat(Number.POSITIVE_INFINITY) : [value];
  const values = userDataValues(items.map((item) => (isValidDate(item) ? yyyymmdd(item) : item)));
  if (values === undefined || values === INVALID) return values;
  const dates = [values as string | string[]].flat().map(isoDateDigits);
  return dates.length === 1 ? dates[0] : dates;
}

/** `1997-02-16…` as `19970216`; other text as it is, for the normalizer. */
function isoDateDigits(text: string): string {
  const iso = ISO_DATE_PREFIX.exec(text);
  return iso ? `${iso[1]}${iso[2]}${iso[3]}` : text;
}

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

function yyyymmdd(date: Date): string {
  const utcMidnight = date.getUTCHours() === 0 && date.getUTCMinutes() === 0 && date.getUTCSeconds() === 0;
  const [y, m, d] = utcMidnight
    ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate()];
  return `${y}${String(m).padStart(2, "0")}${String(d).padStart(2, "0")}`;
}

function datasetId(value: unknown): Coerced {
  const t = text(value);
  return typeof t === "string" && !DIGITS.test(t) ? INVALID : t;
}

/** Free-form values (custom properties, extinfo): passed as they are, JSON text parsed. */
function json(value: unknown): Coerced {
  if (isBlank(value)) return undefined;
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (typeof value === "string" && /^\s*[[{]/.test(value)) {
    const parsed = parseJson(value);
    return parsed === INVALID ? value : parsed;
  }
  return value;
}

export const COERCIONS = {
  text: { coerce: text, expected: "is not text" },
  lowercase_text: {
    coerce: (v) => {
      const t = text(v);
      return typeof t === "string" ? t.toLowerCase() : t;
    },
    expected: "is not text",
  },
  event_name: {
    coerce: (v) => {
      const t = text(v);
      return typeof t === "string" ? canonicalEventName(t) : t;
    },
    expected: "is not an event name",
  },
  unix_seconds: {
    coerce: (v) => (isBlank(v) ? undefined : (toUnixSeconds(v) ?? INVALID)),
    expected: "is not a timestamp (unix seconds or milliseconds, ISO 8601, or YYYY-MM-DD HH:MM:SS)",
  },
  number: { coerce: number, expected: "is not a number" },
  integer: { coerce: integer, expected: "is not a whole number" },
  boolean: { coerce: boolean, expected: "is not a boolean (true/false, 1/0, yes/no)" },
  currency: {
    coerce: (v) => {
      const t = text(v);
      return typeof t === "string" ? t.toUpperCase() : t;
    },
    expected: "is not a currency code",
  },
  string_list: {
    coerce: (v) => stringList(v, false),
    expected: "is not a list (array, JSON array or comma-separated text)",
  },
  option_list: {
    coerce: (v) => stringList(v, true),
    expected: "is not a list (array, JSON array or comma-separated text)",
  },
  contents: { coerce: contents, expected: "is not a list of content objects (array or JSON array)" },
  user_data_values: { coerce: userDataValues, expected: "is not text or a list of text", collects: true },
  date_of_birth: { coerce: dateOfBirth, expected: "is not a date or text", collects: true },
  dataset_id: { coerce: datasetId, expected: "is not a numeric dataset ID" },
  json: { coerce: json, expected: "is not a value" },
} as const satisfies Record<string, Coercion>;

export type CoercionName = keyof typeof COERCIONS;
