// Countries and US/Canadian states as lookup tables, built once (spec §3.1 `country`, `st`).
import countries from "i18n-iso-countries/index.js";
import de from "i18n-iso-countries/langs/de.json" with { type: "json" };
import en from "i18n-iso-countries/langs/en.json" with { type: "json" };
import es from "i18n-iso-countries/langs/es.json" with { type: "json" };
import fr from "i18n-iso-countries/langs/fr.json" with { type: "json" };
import it from "i18n-iso-countries/langs/it.json" with { type: "json" };
import nl from "i18n-iso-countries/langs/nl.json" with { type: "json" };
import pl from "i18n-iso-countries/langs/pl.json" with { type: "json" };
import pt from "i18n-iso-countries/langs/pt.json" with { type: "json" };
import sv from "i18n-iso-countries/langs/sv.json" with { type: "json" };

/**
 * Locales whose country names are recognised, English first: a name that means different
 * countries in different locales keeps its English meaning, or is left out when English has none.
 */
const LOCALES = [en, de, fr, es, it, pt, nl, pl, sv];
const LANGUAGES = LOCALES.map((locale) => locale.locale);
for (const locale of LOCALES) countries.registerLocale(locale);

const ASCII_LOWER_LETTERS = /^[a-z]*$/;
const NON_ASCII = /[\u0080-\uffff]/;
const NOT_ASCII_LETTER_OR_DIGIT = /[^a-z0-9]/g;
const COMBINING_MARK = /\p{M}/gu;
const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{N}]/gu;

/** Lower case letters and digits only, accents dropped: the key both tables are built and read with. */
export function placeKey(text: string): string {
  const lower = text.toLowerCase();
  if (ASCII_LOWER_LETTERS.test(lower)) return lower;
  if (!NON_ASCII.test(lower)) return lower.replace(NOT_ASCII_LETTER_OR_DIGIT, "");
  return lower.normalize("NFD").replace(COMBINING_MARK, "").replace(NOT_LETTER_OR_DIGIT, "");
}

/** Common names that are not in the locale data (constituent countries, everyday short forms). */
const COUNTRY_ALIASES: Readonly<Record<string, string>> = {
  england: "gb",
  scotland: "gb",
  wales: "gb",
  northernireland: "gb",
  britain: "gb",
  unitedstatesofamerica: "us",
  america: "us",
  holland: "nl",
  southkorea: "kr",
  northkorea: "kp",
  russia: "ru",
  vietnam: "vn",
  laos: "la",
  iran: "ir",
  syria: "sy",
  bolivia: "bo",
  venezuela: "ve",
  tanzania: "tz",
  moldova: "md",
  turkiye: "tr",
  czechia: "cz",
  etatsunis: "us",
  statiuniti: "us",
};

function buildCountryTable(): Map<string, string> {
  const table = new Map<string, string>();
  // Codes first: alpha-2, alpha-3 and numeric always win over a name that squashes to the same key.
  for (const [alpha2, alpha3] of Object.entries(countries.getAlpha2Codes())) {
    const code = alpha2.toLowerCase();
    table.set(code, code);
    table.set(alpha3.toLowerCase(), code);
  }
  for (const [numeric, alpha2] of Object.entries(countries.getNumericCodes())) {
    table.set(numeric, alpha2.toLowerCase());
  }
  for (const [alias, code] of Object.entries(COUNTRY_ALIASES)) table.set(alias, code);
  // A name two countries share within one locale ("Congo") names neither, in any later locale too.
  const ambiguous = new Set<string>();
  for (const language of LANGUAGES) {
    const claimed = new Map<string, string | null>();
    for (const [alpha2, names] of Object.entries(countries.getNames(language, { select: "all" }))) {
      for (const name of names) {
        const key = placeKey(name);
        if (!key || table.has(key) || ambiguous.has(key)) continue;
        const code = alpha2.toLowerCase();
        const previous = claimed.get(key);
        claimed.set(key, previous === undefined || previous === code ? code : null);
      }
    }
    for (const [key, code] of claimed) {
      if (code === null) ambiguous.add(key);
      else table.set(key, code);
    }
  }
  return table;
}

const COUNTRY_BY_KEY = buildCountryTable();

/** Texts already looked up (rows repeat a few spellings): the answer, or null for none. */
const COUNTRY_BY_TEXT = new Map<string, string | null>();
const COUNTRY_BY_TEXT_LIMIT = 10_000;

/** ISO 3166-1 alpha-2 in lower case for a code (alpha-2, alpha-3, numeric) or a name; else undefined. */
export function countryCode(text: string): string | undefined {
  let code = COUNTRY_BY_TEXT.get(text);
  if (code === undefined) {
    code = COUNTRY_BY_KEY.get(placeKey(text)) ?? null;
    if (COUNTRY_BY_TEXT.size >= COUNTRY_BY_TEXT_LIMIT) COUNTRY_BY_TEXT.clear();
    COUNTRY_BY_TEXT.set(text, code);
  }
  return code ?? undefined;
}

/**
 * US states, DC and territories (ANSI/USPS codes), and Canadian provinces and territories, by
 * name and by the abbreviations newspapers and forms use (AP style: "Calif.", "Ont.").
 */
const STATES: Readonly<Record<string, readonly string[]>> = {
  al: ["alabama", "ala"],
  ak: ["alaska"],
  az: ["arizona", "ariz"],
  ar: ["arkansas", "ark"],
  ca: ["california", "calif", "cal"],
  co: ["colorado", "colo"],
  ct: ["connecticut", "conn"],
  de: ["delaware", "del"],
  dc: ["district of columbia", "washington dc", "washington d.c."],
  fl: ["florida", "fla"],
  ga: ["georgia"],
  hi: ["hawaii"],
  id: ["idaho"],
  il: ["illinois", "ill"],
  in: ["indiana", "ind"],
  ia: ["iowa"],
  ks: ["kansas", "kan", "kans"],
  ky: ["kentucky"],
  la: ["louisiana"],
  me: ["maine"],
  md: ["maryland"],
  ma: ["massachusetts", "mass"],
  mi: ["michigan", "mich"],
  mn: ["minnesota", "minn"],
  ms: ["mississippi", "miss"],
  mo: ["missouri"],
  mt: ["montana", "mont"],
  ne: ["nebraska", "neb", "nebr"],
  nv: ["nevada", "nev"],
  nh: ["new hampshire"],
  nj: ["new jersey"],
  nm: ["new mexico"],
  ny: ["new york"],
  nc: ["north carolina"],
  nd: ["north dakota"],
  oh: ["ohio"],
  ok: ["oklahoma", "okla"],
  or: ["oregon", "ore", "oreg"],
  pa: ["pennsylvania"],
  ri: ["rhode island"],
  sc: ["south carolina"],
  sd: ["south dakota"],
  tn: ["tennessee", "tenn"],
  tx: ["texas", "tex"],
  ut: ["utah"],
  vt: ["vermont"],
  va: ["virginia"],
  wa: ["washington", "wash"],
  wv: ["west virginia", "wva"],
  wi: ["wisconsin", "wis", "wisc"],
  wy: ["wyoming", "wyo"],
  as: ["american samoa"],
  gu: ["guam"],
  mp: ["northern mariana islands"],
  pr: ["puerto rico"],
  vi: ["us virgin islands", "u.s. virgin islands", "virgin islands"],
  ab: ["alberta", "alta"],
  bc: ["british columbia"],
  mb: ["manitoba", "man"],
  nb: ["new brunswick"],
  nl: ["newfoundland and labrador", "newfoundland", "nfld"],
  ns: ["nova scotia"],
  nt: ["northwest territories"],
  nu: ["nunavut"],
  on: ["ontario", "ont"],
  pe: ["prince edward island", "pei"],
  qc: ["quebec", "québec", "que"],
  sk: ["saskatchewan", "sask"],
  yt: ["yukon", "yukon territory"],
};

const STATE_BY_KEY = new Map<string, string>();
for (const [code, names] of Object.entries(STATES)) {
  STATE_BY_KEY.set(code, code);
  for (const name of names) STATE_BY_KEY.set(placeKey(name), code);
}

/** Countries whose states are written as the 2-letter codes above. */
export const COUNTRIES_WITH_STATE_CODES: ReadonlySet<string> = new Set(["us", "ca"]);

/** The 2-letter code of a US state or Canadian province, from its name or code; else undefined. */
export function stateCode(key: string): string | undefined {
  return STATE_BY_KEY.get(key);
}
