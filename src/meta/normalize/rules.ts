// Meta's normalization rules for the hashed customer-information keys, one function per key
// (spec §3.1, §3.2). Each takes the trimmed text and answers the normalized string (which the
// caller hashes; "" means nothing is left) or a Rejection naming why, never quoting the value.
import { parseDateOfBirth } from "./dates.ts";
import { phoneDigits } from "./phone.ts";
import { COUNTRIES_WITH_STATE_CODES, countryCode, placeKey, stateCode } from "./places.ts";
import { REJECTIONS, type Rejection } from "./rejections.ts";

/** What a row tells the normalizers beyond the value itself. */
export interface RowContext {
  /** Lower-case alpha-2 from the row's `country`, else from `defaultCountry`. */
  readonly country: string | undefined;
  readonly currentYear: number;
}

export type Normalizer = (trimmed: string, row: RowContext) => string | Rejection;

/**
 * The keys Meta wants hashed (required) or lets us hash (`external_id`, recommended): every key of
 * USER_DATA_KEYS whose hashing is not "never" (a test holds the two lists together).
 */
export type HashedKey =
  | "em"
  | "ph"
  | "fn"
  | "ln"
  | "db"
  | "ge"
  | "ct"
  | "st"
  | "zp"
  | "country"
  | "external_id";

const LOWER_ASCII_LETTERS_DIGITS = /^[a-z0-9]*$/;
const NON_ASCII = /[\u0080-\uffff]/;
const NOT_ASCII_LETTER_OR_DIGIT = /[^a-z0-9]/g;
const NOT_LETTER_MARK_OR_DIGIT = /[^\p{L}\p{M}\p{N}]/gu;

/**
 * Lower case, letters (any script, accents and combining marks kept, NFC) and digits only: Meta's
 * "lowercase, no punctuation, no spaces, UTF-8 for special characters" for names, cities, states.
 */
export function lettersAndDigits(text: string): string {
  const lower = text.toLowerCase();
  if (LOWER_ASCII_LETTERS_DIGITS.test(lower)) return lower;
  if (!NON_ASCII.test(lower)) return lower.replace(NOT_ASCII_LETTER_OR_DIGIT, "");
  return lower.normalize("NFC").replace(NOT_LETTER_MARK_OR_DIGIT, "");
}

// Local part without spaces or "@"; a domain of dot-separated labels (IDN letters allowed). The
// ASCII form is tried first: a regex without Unicode classes runs several times faster.
const EMAIL_ASCII_DOMAIN = /^[^\s@]+@(?:[a-z0-9_-]+\.)+[a-z0-9-]{2,}$/;
const EMAIL = /^[^\s@]+@(?:[\p{L}\p{N}_-]+\.)+[\p{L}\p{N}-]{2,}$/u;

function email(trimmed: string): string | Rejection {
  const lower = trimmed.toLowerCase();
  return EMAIL_ASCII_DOMAIN.test(lower) || EMAIL.test(lower) ? lower : REJECTIONS.invalidEmail;
}

function phone(trimmed: string, row: RowContext): string | Rejection {
  return phoneDigits(trimmed, row.country) ?? REJECTIONS.unparseablePhone;
}

function state(trimmed: string, row: RowContext): string {
  if (row.country === undefined || COUNTRIES_WITH_STATE_CODES.has(row.country)) {
    const code = stateCode(placeKey(trimmed));
    if (code !== undefined) return code;
  }
  return lettersAndDigits(trimmed);
}

const US_ZIP_COMPACT = /^(\d{5})(?:\d{4})?$/;
const US_ZIP_LOST_LEADING_ZEROS = /^\d{3,4}$/;
const ZIP_PLUS_4 = /^(\d{5})\s*-\s*\d{4}$/;

/**
 * Lower case without spaces or punctuation (UK `M1 1AE` → `m11ae`). US ZIP codes keep their first
 * five digits; a US ZIP of 3–4 digits lost its leading zeros to a spreadsheet and gets them back.
 * Without any country, the `12345-6789` shape alone marks a US ZIP+4.
 */
function postalCode(trimmed: string, row: RowContext): string {
  if (row.country === undefined) {
    const zipPlus4 = ZIP_PLUS_4.exec(trimmed);
    if (zipPlus4?.[1] !== undefined) return zipPlus4[1];
  }
  const compact = lettersAndDigits(trimmed);
  if (row.country === "us") {
    const zip = US_ZIP_COMPACT.exec(compact);
    if (zip?.[1] !== undefined) return zip[1];
    if (US_ZIP_LOST_LEADING_ZEROS.test(compact)) return compact.padStart(5, "0");
  }
  return compact;
}

function country(trimmed: string): string | Rejection {
  return countryCode(trimmed) ?? REJECTIONS.unknownCountry;
}

function dateOfBirth(trimmed: string, row: RowContext): string | Rejection {
  return parseDateOfBirth(trimmed, row.currentYear);
}

/** Words for each of Meta's two gender initials: initials, titles, English and a few other languages. */
const GENDER_WORDS: Readonly<Record<"f" | "m", readonly string[]>> = {
  f: [
    ...["f", "female", "woman", "women", "w", "girl", "lady", "mrs", "ms", "miss", "madam", "fem"],
    ...["femme", "féminin", "feminin", "madame", "mme", "mlle"], // fr
    ...["frau", "weiblich"], // de
    ...["mujer", "femenino", "femenina", "sra", "srta"], // es
    ...["feminino", "feminina", "mulher"], // pt
    ...["donna", "femmina", "sig.ra", "signora"], // it
    ...["vrouw", "vrouwelijk", "mevrouw", "mevr"], // nl
    ...["kvinna", "kvinde", "kvinne", "kvinnlig"], // sv, da, no
  ],
  m: [
    ...["m", "male", "man", "men", "boy", "gentleman", "mr", "sir", "mister"],
    ...["homme", "masculin", "monsieur"], // fr
    ...["mann", "männlich", "maennlich", "herr"], // de
    ...["hombre", "masculino", "varón", "varon"], // es, pt
    ...["homem"], // pt
    ...["uomo", "maschio", "maschile", "signore"], // it
    ...["mannelijk", "meneer", "dhr"], // nl
    ...["mand", "mann", "manlig"], // sv, da, no
  ],
};

const GENDER_BY_WORD = new Map<string, string>();
for (const [initial, words] of Object.entries(GENDER_WORDS)) {
  for (const word of words) GENDER_BY_WORD.set(lettersAndDigits(word), initial);
}

function gender(trimmed: string): string | Rejection {
  return GENDER_BY_WORD.get(lettersAndDigits(trimmed)) ?? REJECTIONS.unknownGender;
}

const WHITESPACE = /\s+/g;

/** As Meta's Parameter Builder does before hashing: lower case, every whitespace removed. */
function externalId(trimmed: string): string {
  return trimmed.toLowerCase().replace(WHITESPACE, "");
}

/** Key → normalizer for every key this connector hashes (spec §3.1). */
export const NORMALIZERS: { readonly [K in HashedKey]: Normalizer } = {
  em: email,
  ph: phone,
  fn: lettersAndDigits,
  ln: lettersAndDigits,
  db: dateOfBirth,
  ge: gender,
  ct: lettersAndDigits,
  st: state,
  zp: postalCode,
  country,
  external_id: externalId,
};
