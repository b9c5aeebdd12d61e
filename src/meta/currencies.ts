// ISO 4217 currency codes, as a static table: `Intl.supportedValuesOf("currency")` follows CLDR,
// which lacks the fund and precious-metal codes (BOV, CLF, XAU, …) and still lists withdrawn ones,
// and Meta's Node SDK pins an old `currency-codes` release (VEF but no VES, SLE, ZWG or XCG).

/** ISO 4217 List One, active codes (amendments through 2026: XCG replaced ANG, EUR replaced BGN). */
// biome-ignore format: one line per initial letter keeps the table reviewable
export const ISO_4217_ACTIVE = [
  "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN",
  "BAM", "BBD", "BDT", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
  "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK",
  "DJF", "DKK", "DOP", "DZD",
  "EGP", "ERN", "ETB", "EUR",
  "FJD", "FKP",
  "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD",
  "HKD", "HNL", "HTG", "HUF",
  "IDR", "ILS", "INR", "IQD", "IRR", "ISK",
  "JMD", "JOD", "JPY",
  "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT",
  "LAK", "LBP", "LKR", "LRD", "LSL", "LYD",
  "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN",
  "NAD", "NGN", "NIO", "NOK", "NPR", "NZD",
  "OMR",
  "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG",
  "QAR",
  "RON", "RSD", "RUB", "RWF",
  "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
  "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS",
  "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS",
  "VED", "VES", "VND", "VUV",
  "WST",
  "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT", "XSU",
  "XTS", "XUA", "XXX",
  "YER",
  "ZAR", "ZMW", "ZWG",
] as const;

/**
 * Withdrawn codes that Meta's own Node SDK list or CLDR still carry, so Meta may well accept them:
 * the validator warns rather than rejects.
 */
export const ISO_4217_RECENTLY_WITHDRAWN = ["ANG", "BGN", "CUC", "HRK", "SLL", "VEF", "ZWL"] as const;

const ACTIVE = new Set<string>(ISO_4217_ACTIVE.flatMap((code) => [code, code.toLowerCase()]));
const WITHDRAWN = new Set<string>(ISO_4217_RECENTLY_WITHDRAWN.flatMap((code) => [code, code.toLowerCase()]));

// Both cases are in the sets so the common spellings (`USD`, `usd`) need no string allocation.
function lookup(set: ReadonlySet<string>, code: string): boolean {
  return code.length === 3 && (set.has(code) || set.has(code.toUpperCase()));
}

/** An active ISO 4217 code, in any letter case (Meta's docs show both `USD` and `usd`). */
export function isActiveCurrency(code: string): boolean {
  return lookup(ACTIVE, code);
}

/** A recently withdrawn ISO 4217 code, in any letter case. */
export function isWithdrawnCurrency(code: string): boolean {
  return lookup(WITHDRAWN, code);
}
