// Raw customer information (Meta's keys, values as a source holds them) → `user_data` as sent:
// hash-required keys normalized and SHA-256 hashed, the others trimmed, everything else dropped
// with a warning that names the key and the reason, never the value (spec §3).
import type { Diagnostic } from "../diagnostics.ts";
import type { UserData } from "../event.ts";
import { isSha256Hex, looksHashed, sha256 } from "../hash.ts";
import { USER_DATA_KEYS, type UserDataKey } from "../user-data-keys.ts";
import { countryCode } from "./places.ts";
import { REJECTIONS, type Rejection } from "./rejections.ts";
import { type HashedKey, NORMALIZERS, type Normalizer, type RowContext } from "./rules.ts";

export interface NormalizeOptions {
  /** ISO alpha-2 (any case; names work too) for national phone numbers of rows without a country. */
  defaultCountry?: string;
  /**
   * Regulated users: every hashed key must arrive as SHA-256 hex and nothing is hashed here.
   * `external_id` (hashing only "recommended" by Meta) counts as hashed under this flag: sending it
   * raw could leak an identifier such as an email address, which is what the flag exists to prevent.
   */
  hashedOnly?: boolean;
  /** Fixes "the current year" for the `db` range (1900 to the current year). Default: now. */
  now?: Date;
}

/** Meta's keys (em, ph, fn, …) with values as read: string, number, or a list of them. */
export type RawUserData = Record<string, unknown>;

export interface NormalizedUserData {
  user_data: UserData;
  warnings: Diagnostic[];
}

/**
 * Remembered outcomes (digest or rejection) for keys whose values repeat across customers: two
 * genders, a few hundred countries and states, common names and cities. SHA-256 is most of the cost
 * of a row and these outcomes are pure functions of the value (and, for `st`, of the row's country),
 * so this changes no output (measured on bench/normalize.ts: ~2.6 µs less per event). Emails,
 * phones and ids are too varied to gain; so are the spellings of dates and postcodes, and a memo
 * keyed by their normalized form measured no faster (a lookup in a map of tens of thousands of
 * entries costs about what the hash does). Bounded: a memo is cleared when full. The values it
 * keeps (names, cities) stay in this process's memory, like the rows being read; nothing logs them.
 */
interface Memo {
  /** The normalizer also reads the row's country: outcomes are kept per country. */
  readonly readsCountry: boolean;
  /** Outcomes by value, for normalizers that read nothing else. */
  readonly outcomes: Map<string, string | Rejection>;
  /** Outcomes by row country, then value. */
  readonly byCountry: Map<string, Map<string, string | Rejection>>;
  size: number;
}

const MEMO_LIMIT = 10_000;
/** Which keys are remembered, and whether their normalizer reads the row's country. */
const MEMOIZED: Partial<Record<HashedKey, { readonly readsCountry: boolean }>> = {
  fn: { readsCountry: false },
  ln: { readsCountry: false },
  ge: { readsCountry: false },
  ct: { readsCountry: false },
  country: { readsCountry: false },
  st: { readsCountry: true },
};

function outcomesFor(memo: Memo, country: string | undefined): Map<string, string | Rejection> | undefined {
  return memo.readsCountry ? memo.byCountry.get(country ?? "") : memo.outcomes;
}

function remember(
  memo: Memo,
  country: string | undefined,
  trimmed: string,
  outcome: string | Rejection,
): void {
  if (memo.size >= MEMO_LIMIT) {
    memo.outcomes.clear();
    memo.byCountry.clear();
    memo.size = 0;
  }
  let outcomes = outcomesFor(memo, country);
  if (outcomes === undefined) {
    outcomes = new Map();
    memo.byCountry.set(country ?? "", outcomes);
  }
  outcomes.set(unpinned(trimmed), outcome);
  memo.size++;
}

/**
 * The value as a string of its own. A value cut from a larger string (a CSV chunk, a packed batch of
 * rows) may be a V8 slice that keeps the whole larger string alive; a memo entry would then pin it.
 */
function unpinned(value: string): string {
  return ` ${value}`.slice(1);
}

interface KeyRule {
  readonly key: UserDataKey;
  /** Present for the keys this connector hashes. */
  readonly normalize: Normalizer | undefined;
  readonly memo: Memo | undefined;
}

function isHashedKey(key: UserDataKey): key is HashedKey {
  return Object.hasOwn(NORMALIZERS, key);
}

function ruleFor(key: UserDataKey): KeyRule {
  if (!isHashedKey(key)) return { key, normalize: undefined, memo: undefined };
  const memoized = MEMOIZED[key];
  const memo = memoized && {
    readsCountry: memoized.readsCountry,
    outcomes: new Map(),
    byCountry: new Map(),
    size: 0,
  };
  return { key, normalize: NORMALIZERS[key], memo };
}

/** USER_DATA_KEYS in its own order, which is also the order of the output's keys. */
const KEY_RULES: readonly KeyRule[] = (Object.keys(USER_DATA_KEYS) as UserDataKey[]).map(ruleFor);
const RULE_INDEX: ReadonlyMap<string, number> = new Map(KEY_RULES.map((rule, index) => [rule.key, index]));
const COUNTRY_INDEX = RULE_INDEX.get("country") ?? -1;

interface Run {
  readonly row: RowContext;
  readonly hashedOnly: boolean;
  readonly warnings: Diagnostic[];
}

function warn(warnings: Diagnostic[], key: string, index: number, rejection: Rejection): void {
  const path = index < 0 ? `user_data.${key}` : `user_data.${key}[${index}]`;
  warnings.push({
    path,
    code: `user_data.${key}.${rejection.reason}`,
    message: `${path} ${rejection.message}.`,
  });
}

/** Strings as they are, finite numbers and bigints as decimal text; anything else is not a value. */
function scalarText(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
      return Number.isFinite(value) ? String(value) : undefined;
    case "bigint":
      return String(value);
    default:
      return undefined;
  }
}

/**
 * A value that already is a digest passes through, hex lower-cased: 64 hex characters, or Meta's
 * Parameter Builder output (digest + `.` + a 2- or 8-character appendix, spec §3.3), whose appendix
 * is case-sensitive and kept as is.
 */
function alreadyHashed(trimmed: string): string | undefined {
  if (trimmed.length === 64) return isSha256Hex(trimmed) ? trimmed.toLowerCase() : undefined;
  if ((trimmed.length === 67 || trimmed.length === 73) && looksHashed(trimmed)) {
    return trimmed.slice(0, 64).toLowerCase() + trimmed.slice(64);
  }
  return undefined;
}

function normalizeAndHash(normalize: Normalizer, trimmed: string, row: RowContext): string | Rejection {
  const normalized = normalize(trimmed, row);
  if (typeof normalized !== "string") return normalized;
  return normalized === "" ? REJECTIONS.emptyAfterNormalization : sha256(normalized);
}

function hashedValue(rule: KeyRule, normalize: Normalizer, value: unknown, index: number, run: Run) {
  if (value === null || value === undefined) return undefined;
  const text = scalarText(value);
  if (text === undefined) {
    warn(run.warnings, rule.key, index, REJECTIONS.invalidType);
    return undefined;
  }
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const digest = alreadyHashed(trimmed);
  if (digest !== undefined) return digest;
  if (run.hashedOnly) {
    warn(run.warnings, rule.key, index, REJECTIONS.notHashed);
    return undefined;
  }
  let outcome: string | Rejection | undefined;
  const memo = rule.memo;
  if (memo === undefined) outcome = normalizeAndHash(normalize, trimmed, run.row);
  else {
    outcome = outcomesFor(memo, run.row.country)?.get(trimmed);
    if (outcome === undefined) {
      outcome = normalizeAndHash(normalize, trimmed, run.row);
      remember(memo, run.row.country, trimmed, outcome);
    }
  }
  if (typeof outcome === "string") return outcome;
  warn(run.warnings, rule.key, index, outcome);
  return undefined;
}

/** One value or a list (duplicates after normalization collapse); one survivor is sent as a string. */
function hashedValues(rule: KeyRule, normalize: Normalizer, value: unknown, run: Run) {
  if (!Array.isArray(value)) return hashedValue(rule, normalize, value, -1, run);
  let first: string | undefined;
  let all: string[] | undefined;
  for (let index = 0; index < value.length; index++) {
    const digest = hashedValue(rule, normalize, value[index], index, run);
    if (digest === undefined || digest === first) continue;
    if (first === undefined) first = digest;
    else if (all === undefined) all = [first, digest];
    else if (!all.includes(digest)) all.push(digest);
  }
  return all ?? first;
}

function plainValue(key: UserDataKey, value: unknown, index: number, run: Run): string | undefined {
  if (value === null || value === undefined) return undefined;
  const text = scalarText(value);
  if (text === undefined) {
    warn(run.warnings, key, index, REJECTIONS.invalidType);
    return undefined;
  }
  const trimmed = text.trim();
  return trimmed === "" ? undefined : trimmed;
}

/**
 * Keys Meta says never to hash pass through trimmed (numbers as text). They take one value: given a
 * list, the first non-empty value is kept, with a warning when the list held other values too.
 */
function plainValues(key: UserDataKey, value: unknown, run: Run): string | undefined {
  if (!Array.isArray(value)) return plainValue(key, value, -1, run);
  let kept: string | undefined;
  let others = false;
  for (let index = 0; index < value.length; index++) {
    const text = plainValue(key, value[index], index, run);
    if (text === undefined) continue;
    if (kept === undefined) kept = text;
    else if (text !== kept) others = true;
  }
  if (others) warn(run.warnings, key, -1, REJECTIONS.multipleValues);
  return kept;
}

/** The row's own country (first recognisable one), which reads its phone numbers and ZIP codes. */
function rowCountry(value: unknown): string | undefined {
  if (!Array.isArray(value)) {
    const text = scalarText(value);
    return text === undefined ? undefined : countryCode(text);
  }
  for (const candidate of value) {
    const code = rowCountry(Array.isArray(candidate) ? undefined : candidate);
    if (code !== undefined) return code;
  }
  return undefined;
}

const PLAIN_KEY = /^[A-Za-z0-9_]{1,64}$/;

function warnUnknownKey(key: string, warnings: Diagnostic[]): void {
  // A key is not a value, but an odd one may still be data that slipped into a column name.
  if (PLAIN_KEY.test(key)) warn(warnings, key, -1, REJECTIONS.unknownKey);
  else {
    const message = `user_data has a key that ${REJECTIONS.unknownKey.message}.`;
    warnings.push({ path: "user_data", code: "user_data.unknown_key", message });
  }
}

/** The UTC year now, recomputed only when the clock crosses a year boundary. */
const clockYear = { year: 0, from: 0, until: 0 };
function currentYear(): number {
  const now = Date.now();
  if (now < clockYear.from || now >= clockYear.until) {
    const year = new Date(now).getUTCFullYear();
    clockYear.year = year;
    clockYear.from = Date.UTC(year, 0, 1);
    clockYear.until = Date.UTC(year + 1, 0, 1);
  }
  return clockYear.year;
}

/** The last `defaultCountry` resolved: callers pass the same one row after row. */
const lastDefault: { text: string | undefined; code: string | undefined } = {
  text: undefined,
  code: undefined,
};
function defaultCountryCode(text: unknown): string | undefined {
  if (typeof text !== "string") return undefined;
  if (text !== lastDefault.text) {
    lastDefault.text = text;
    lastDefault.code = countryCode(text);
  }
  return lastDefault.code;
}

/**
 * Normalizes and hashes one event's customer information. Never throws: whatever cannot be used is
 * dropped with a warning, and no value is ever sent raw under a hashed key.
 */
export function normalizeUserData(raw: RawUserData, options?: NormalizeOptions): NormalizedUserData {
  const user_data: UserData = {};
  const sent: Record<string, unknown> = user_data;
  const warnings: Diagnostic[] = [];
  if (raw === null || raw === undefined) return { user_data, warnings };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    warnings.push({
      path: "user_data",
      code: "user_data.invalid_type",
      message: "user_data must be an object; dropped.",
    });
    return { user_data, warnings };
  }
  // One pass over the row's own keys: unknown ones are reported, known ones wait in table order.
  const values: unknown[] = new Array(KEY_RULES.length);
  let keys: string[];
  try {
    keys = Object.keys(raw);
  } catch {
    warnings.push({
      path: "user_data",
      code: "user_data.unreadable",
      message: "user_data could not be read; dropped.",
    });
    return { user_data, warnings };
  }
  for (const key of keys) {
    const index = RULE_INDEX.get(key);
    if (index === undefined) warnUnknownKey(key, warnings);
    else {
      try {
        values[index] = raw[key];
      } catch {
        warn(warnings, key, -1, REJECTIONS.unreadable);
      }
    }
  }
  const defaultCountry = defaultCountryCode(options?.defaultCountry);
  const country = rowCountry(values[COUNTRY_INDEX]) ?? defaultCountry;
  const now = options?.now;
  const year = now instanceof Date && !Number.isNaN(now.getTime()) ? now.getUTCFullYear() : currentYear();
  const run: Run = {
    row: { country, currentYear: year },
    hashedOnly: options?.hashedOnly === true,
    warnings,
  };
  for (let index = 0; index < KEY_RULES.length; index++) {
    const value = values[index];
    if (value === undefined) continue;
    const rule = KEY_RULES[index] as KeyRule;
    const output = sentValue(rule, value, run);
    if (output !== undefined) sent[rule.key] = output;
  }
  return { user_data, warnings };
}

/** What goes out under one key. Only an exotic list (a getter, a proxy) can throw: then nothing. */
function sentValue(rule: KeyRule, value: unknown, run: Run): string | string[] | undefined {
  try {
    return rule.normalize === undefined
      ? plainValues(rule.key, value, run)
      : hashedValues(rule, rule.normalize, value, run);
  } catch {
    warn(run.warnings, rule.key, -1, REJECTIONS.unreadable);
    return undefined;
  }
}
