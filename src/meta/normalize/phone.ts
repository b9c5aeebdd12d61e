// Phone numbers → the digits Meta hashes: country calling code + national significant number
// (spec §3.1 `ph`, `(650)555-1212` with US → `16505551212`). libphonenumber-js decides, with its
// `min` metadata: a number is accepted when its length is possible for its country (`isPossible`).
// `isValid` needs the `max` metadata and rejects numbers from ranges the metadata does not know yet;
// a wrong-but-possible number only fails to match at Meta, a rejected one is lost.
//
// Why there is a fast path: `parsePhoneNumberFromString` builds a `RegExp` from the metadata on
// every pattern test, and for calling codes shared by several countries (+1, +44, +7, …) it tests
// every "number type" of every candidate country to name the exact country. That caps it near 90k
// numbers/s, below the budget of a whole event. `fastE164` is a line-by-line port of the library's
// `parse()` + `isPossible()` for the inputs most data holds (ASCII digits with spaces, dashes, dots,
// parentheses, slashes and one leading "+"), reading the same metadata through its `Metadata` class
// with each pattern compiled once. Anything else (letters, extensions, non-ASCII digits, non-
// geographic calling codes) goes to the library itself. test/meta/normalize.property.test.ts checks
// that the port and the library agree on every country and shape; rerun it after upgrading the library.
import { Metadata, parsePhoneNumberFromString } from "libphonenumber-js/core";
import metadataJson from "libphonenumber-js/min/metadata";

/** The parts of libphonenumber-js's runtime `NumberingPlan` the port reads (typed loosely upstream). */
interface NumberingPlanRuntime {
  callingCode(): string;
  IDDPrefix(): string | undefined;
  nationalNumberPattern(): string;
  possibleLengths(): number[] | undefined;
  nationalPrefixForParsing(): string | undefined;
  nationalPrefixTransformRule(): string | undefined;
  leadingDigits(): string | undefined;
  type(name: string): { pattern(): string; possibleLengths(): number[] | undefined } | undefined;
}

/** The library's phone number types, in the order `getNumberType` tries them. */
const NUMBER_TYPES = [
  "FIXED_LINE",
  "MOBILE",
  "PREMIUM_RATE",
  "TOLL_FREE",
  "SHARED_COST",
  "VOIP",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL",
] as const;

const MIN_LENGTH_FOR_NSN = 2;
const MAX_LENGTH_FOR_NSN = 17;
const MAX_LENGTH_COUNTRY_CODE = 3;

interface TypePattern {
  readonly pattern: RegExp;
  readonly lengths: readonly number[] | undefined;
}

/** One country's numbering plan with every pattern compiled once. */
interface Plan {
  readonly country: string;
  readonly callingCode: string;
  readonly iddPrefix: RegExp | undefined;
  readonly nationalNumber: RegExp;
  readonly lengths: readonly number[] | undefined;
  readonly nationalPrefixForParsing: RegExp | undefined;
  readonly nationalPrefixTransformRule: string | undefined;
  readonly leadingDigits: RegExp | undefined;
  readonly types: readonly TypePattern[];
}

type LengthCheck = "IS_POSSIBLE" | "TOO_SHORT" | "TOO_LONG" | "INVALID_LENGTH";

const metadataReader = new Metadata(metadataJson) as unknown as {
  selectNumberingPlan(country: string): void;
  numberingPlan: NumberingPlanRuntime;
};
const plans = new Map<string, Plan>();

function entirely(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function planOf(country: string): Plan {
  let plan = plans.get(country);
  if (plan === undefined) {
    metadataReader.selectNumberingPlan(country);
    const np = metadataReader.numberingPlan;
    const idd = np.IDDPrefix();
    const prefixForParsing = np.nationalPrefixForParsing();
    const leadingDigits = np.leadingDigits();
    const types: TypePattern[] = [];
    for (const name of NUMBER_TYPES) {
      const type = np.type(name);
      if (type?.pattern()) types.push({ pattern: entirely(type.pattern()), lengths: type.possibleLengths() });
    }
    plan = {
      country,
      callingCode: np.callingCode(),
      iddPrefix: idd ? new RegExp(idd) : undefined,
      nationalNumber: entirely(np.nationalNumberPattern()),
      lengths: np.possibleLengths(),
      nationalPrefixForParsing: prefixForParsing ? new RegExp(`^(?:${prefixForParsing})`) : undefined,
      nationalPrefixTransformRule: np.nationalPrefixTransformRule() || undefined,
      leadingDigits: leadingDigits ? new RegExp(leadingDigits) : undefined,
      types,
    };
    plans.set(country, plan);
  }
  return plan;
}

/** Countries of a calling code, main country first; undefined for unknown or non-geographic codes. */
function countriesOf(callingCode: string): readonly string[] | undefined {
  const countries = metadataJson.country_calling_codes[callingCode];
  return countries && !(countries.length === 1 && countries[0]?.length === 3) ? countries : undefined;
}

function checkLength(length: number, lengths: readonly number[] | undefined): LengthCheck {
  if (!lengths) return "IS_POSSIBLE";
  const minimum = lengths[0] ?? 0;
  if (minimum === length) return "IS_POSSIBLE";
  if (minimum > length) return "TOO_SHORT";
  if ((lengths[lengths.length - 1] ?? 0) < length) return "TOO_LONG";
  return lengths.indexOf(length, 1) >= 0 ? "IS_POSSIBLE" : "INVALID_LENGTH";
}

/** `getNumberType(...) !== undefined` for one country. */
function hasNumberType(nationalNumber: string, plan: Plan): boolean {
  if (!plan.nationalNumber.test(nationalNumber)) return false;
  for (const type of plan.types) {
    if (type.lengths && type.lengths.indexOf(nationalNumber.length) < 0) continue;
    if (type.pattern.test(nationalNumber)) return true;
  }
  return false;
}

/** `getCountryByCallingCode`: the exact country among those sharing a calling code. */
function exactCountry(callingCode: string, nationalNumber: string): string | undefined {
  const countries = countriesOf(callingCode);
  if (!countries) return undefined;
  if (countries.length === 1) return countries[0];
  for (const country of countries) {
    const plan = planOf(country);
    if (plan.leadingDigits) {
      if (nationalNumber && nationalNumber.search(plan.leadingDigits) === 0) return country;
    } else if (hasNumberType(nationalNumber, plan)) {
      return country;
    }
  }
  return undefined;
}

/** Per calling code, per national number length: whether the exact country can change the answer. */
const exactCountryMatters = new Map<string, boolean[]>();

/**
 * The library names the exact country only to take its possible lengths. When every country of the
 * calling code judges this length the same way, which one it is cannot change the answer, and the
 * (costly) search is skipped: +1 numbers of 10 digits, +44 numbers of 10 digits, …
 */
function lengthsFor(
  callingCode: string,
  nationalNumber: string,
  fallback: Plan,
): readonly number[] | undefined {
  let byLength = exactCountryMatters.get(callingCode);
  if (byLength === undefined) {
    byLength = [];
    exactCountryMatters.set(callingCode, byLength);
  }
  const length = nationalNumber.length;
  let matters = byLength[length];
  if (matters === undefined) {
    const outcomes = new Set<LengthCheck>([checkLength(length, fallback.lengths)]);
    for (const country of countriesOf(callingCode) ?? [])
      outcomes.add(checkLength(length, planOf(country).lengths));
    matters = outcomes.size > 1;
    byLength[length] = matters;
  }
  if (!matters) return fallback.lengths;
  const country = exactCountry(callingCode, nationalNumber);
  return country ? planOf(country).lengths : fallback.lengths;
}

/** `extractNationalNumberFromPossiblyIncompleteNumber`: strips a national prefix / carrier code. */
function stripNationalPrefix(number: string, plan: Plan): string {
  const prefix = plan.nationalPrefixForParsing;
  if (!number || !prefix) return number;
  const match = prefix.exec(number);
  if (!match) return number;
  const groups = match.length - 1;
  const hasGroups = groups > 0 && Boolean(match[groups]);
  if (plan.nationalPrefixTransformRule && hasGroups) {
    return number.replace(prefix, plan.nationalPrefixTransformRule);
  }
  return number.slice(match[0].length);
}

/** `extractNationalNumber`: keeps the prefix when stripping it would leave an impossible number. */
function nationalNumberOf(number: string, plan: Plan): string {
  const stripped = stripNationalPrefix(number, plan);
  if (stripped === number) return number;
  if (plan.nationalNumber.test(number) && !plan.nationalNumber.test(stripped)) return number;
  if (plan.lengths) {
    const check = checkLength(stripped.length, lengthsFor(plan.callingCode, stripped, plan));
    if (check === "TOO_SHORT" || check === "INVALID_LENGTH") return number;
  }
  return stripped;
}

/** `stripIddPrefix`: the number after the country's international call prefix, if it has one. */
function withoutIddPrefix(digits: string, plan: Plan): string | undefined {
  if (!plan.iddPrefix) return undefined;
  const match = plan.iddPrefix.exec(digits);
  if (match?.index !== 0) return undefined;
  const rest = digits.slice(match[0].length);
  return rest[0] === "0" ? undefined : rest;
}

/** `extractCountryCallingCodeFromInternationalNumberWithoutPlusSign`. */
function withoutCallingCode(digits: string, plan: Plan): string | undefined {
  if (!digits.startsWith(plan.callingCode)) return undefined;
  const shorter = digits.slice(plan.callingCode.length);
  const shorterNational = nationalNumberOf(shorter, plan);
  const national = nationalNumberOf(digits, plan);
  const fits = !plan.nationalNumber.test(national) && plan.nationalNumber.test(shorterNational);
  return fits || checkLength(national.length, plan.lengths) === "TOO_LONG" ? shorter : undefined;
}

/** Sentinel: the port does not cover this input; ask the library. */
const NOT_COVERED = undefined;

/** Every calling code, geographic or not, by its numeric value: a lookup that allocates nothing. */
const CALLING_CODES: readonly (string | undefined)[] = (() => {
  const codes: (string | undefined)[] = [];
  for (const code of Object.keys(metadataJson.country_calling_codes)) codes[Number(code)] = code;
  for (const code of Object.keys(metadataJson.nonGeographic ?? {})) codes[Number(code)] = code;
  return codes;
})();

/** `extractCountryCallingCode` on `+digits`: the calling code and the digits after it. */
function splitCallingCode(international: string): [callingCode: string, rest: string] | undefined {
  if (international[1] === "0") return undefined;
  let value = 0;
  for (let end = 2; end - 1 <= MAX_LENGTH_COUNTRY_CODE && end <= international.length; end++) {
    value = value * 10 + (international.charCodeAt(end - 1) - 48);
    const callingCode = CALLING_CODES[value];
    if (callingCode !== undefined) return [callingCode, international.slice(end)];
  }
  return undefined;
}

interface Start {
  readonly callingCode: string;
  /** The digits after the calling code, or the whole national form. */
  readonly rest: string;
  /**
   * The numbering plan `rest` is read with: the calling code's main country when the number
   * carries its calling code, else the default country.
   */
  readonly plan: Plan;
}

function fromCallingCode(callingCode: string, rest: string): Start | undefined {
  const main = countriesOf(callingCode)?.[0];
  return main === undefined ? NOT_COVERED : { callingCode, rest, plan: planOf(main) };
}

/** `parse()` up to the national number: where the calling code comes from. */
function start(number: string, defaultCountry: string | undefined): Start | null | undefined {
  let international = number[0] === "+" ? number : undefined;
  if (international === undefined) {
    if (defaultCountry === undefined) return null;
    const home = planOf(defaultCountry);
    const afterIdd = withoutIddPrefix(number, home);
    if (!afterIdd || afterIdd === number) {
      const shorter = withoutCallingCode(number, home);
      return shorter === undefined
        ? { callingCode: home.callingCode, rest: number, plan: home }
        : fromCallingCode(home.callingCode, shorter);
    }
    international = `+${afterIdd}`;
  }
  const split = splitCallingCode(international);
  return split === undefined ? null : fromCallingCode(split[0], split[1]);
}

/**
 * The port: `+digits` or `digits` (ASCII) with an optional default country (alpha-2, upper case,
 * known to the metadata) → E.164 digits, null when the library would reject, or NOT_COVERED.
 */
export function fastE164(number: string, defaultCountry: string | undefined): string | null | undefined {
  const begun = start(number, defaultCountry);
  if (!begun) return begun;
  const { callingCode, rest, plan } = begun;
  if (!rest) return null;
  const nationalNumber = nationalNumberOf(rest, plan);
  if (nationalNumber.length < MIN_LENGTH_FOR_NSN || nationalNumber.length > MAX_LENGTH_FOR_NSN) return null;
  // `isPossible` judges with the exact country when one is found, else with `plan`'s country.
  const lengths = lengthsFor(callingCode, nationalNumber, plan);
  return checkLength(nationalNumber.length, lengths) === "IS_POSSIBLE" ? callingCode + nationalNumber : null;
}

/** What the library itself answers for the same question (the reference the port is tested against). */
export function libraryE164(text: string, defaultCountry: string | undefined): string | null {
  try {
    const parsed = parsePhoneNumberFromString(
      text,
      defaultCountry ? { defaultCountry: defaultCountry as never } : {},
      metadataJson,
    );
    return parsed?.isPossible() ? parsed.countryCallingCode + parsed.nationalNumber : null;
  } catch {
    return null;
  }
}

/**
 * ASCII digits with common separators and at most one leading "+": the shapes the port covers.
 * They are read from their digits (and the "+") alone, as Meta's rule for `ph` says to.
 */
const PLAIN_PHONE = /^[\s()./-]*\+?[\d\s()./-]+$/;
const NOT_DIGIT = /\D/g;
/** Any digit the library reads (its VALID_DIGITS): ASCII, full-width, Arabic-Indic, Persian. */
const ANY_DIGIT = /[0-9\uFF10-\uFF19\u0660-\u0669\u06F0-\u06F9]/;

/** Lower-case alpha-2 → the metadata's upper-case key, for the countries it has numbering plans for. */
const PHONE_REGIONS: ReadonlyMap<string, string> = new Map(
  Object.keys(metadataJson.countries).map((country) => [country.toLowerCase(), country]),
);

function e164(text: string, defaultCountry: string | undefined): string | null {
  if (text.length <= 64 && PLAIN_PHONE.test(text)) {
    const digits = text.replace(NOT_DIGIT, "");
    if (digits.length <= 20) {
      const canonical = text.includes("+") ? `+${digits}` : digits;
      const fast = fastE164(canonical, defaultCountry);
      return fast !== NOT_COVERED ? fast : libraryE164(canonical, defaultCountry);
    }
  }
  // Without a single digit there is nothing to read (and the library is slow to say so).
  return ANY_DIGIT.test(text) ? libraryE164(text, defaultCountry) : null;
}

const LEADING_DOUBLE_ZERO = /^[\s()./-]*00/;

/**
 * E.164 digits (no "+") for a phone number as people write it, or null when it cannot be read as a
 * possible number. `country` (lower-case alpha-2) reads national forms; without one, or when the
 * number does not parse for it, a number written with the "00" international prefix is read as
 * international, and without any country the digits are read as already carrying a calling code.
 */
export function phoneDigits(text: string, country: string | undefined): string | null {
  const region = country === undefined ? undefined : PHONE_REGIONS.get(country);
  const parsed = e164(text, region);
  if (parsed !== null || text.includes("+")) return parsed;
  if (LEADING_DOUBLE_ZERO.test(text)) return e164(`+${text.replace(LEADING_DOUBLE_ZERO, "")}`, undefined);
  return region === undefined ? e164(`+${text}`, undefined) : null;
}
