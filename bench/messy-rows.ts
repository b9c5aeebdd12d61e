// Deterministic, seeded rows shaped like a warehouse export of conversions: customer fields written
// the many ways people write them (case, spaces, accents, national and international phones, state
// names and codes, ZIP+4, UK postcodes, country names and codes, mixed date formats, gender words),
// a few percent of unusable values, and the event fields beside them. Shared by the benchmarks.

/** One row. Every value is a string or a number except `contents` (CSV writers JSON-encode it). */
export interface MessyRow {
  em: string;
  ph: string;
  fn: string;
  ln: string;
  ct: string;
  st: string;
  zp: string;
  country: string;
  db: string;
  ge: string;
  external_id: string;
  event_name: string;
  event_time: number;
  action_source: string;
  event_source_url: string;
  client_ip_address: string;
  client_user_agent: string;
  fbp: string;
  fbc: string;
  value: number | string;
  currency: string;
  contents: { id: string; quantity: number; item_price: number }[];
}

export const MESSY_ROW_COLUMNS = [
  "em",
  "ph",
  "fn",
  "ln",
  "ct",
  "st",
  "zp",
  "country",
  "db",
  "ge",
  "external_id",
  "event_name",
  "event_time",
  "action_source",
  "event_source_url",
  "client_ip_address",
  "client_user_agent",
  "fbp",
  "fbc",
  "value",
  "currency",
  "contents",
] as const satisfies readonly (keyof MessyRow)[];

export interface MessyRowOptions {
  /** Same seed, same rows. Default 1. */
  seed?: number;
  /** Unix seconds that event times are drawn before (up to 6 days). Default: the clock. */
  now?: number;
}

/** mulberry32: small, fast, and good enough to pick from tables. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Pick = <T>(items: readonly T[]) => T;
type Digits = (count: number) => string;

interface Place {
  readonly city: string;
  readonly state: readonly string[];
  readonly zip: (digits: Digits, pick: Pick) => string;
}

interface Country {
  readonly names: readonly string[];
  readonly weight: number;
  readonly places: readonly Place[];
  /** Phone numbers as people write them, national and international. */
  readonly phones: readonly ((digits: Digits, pick: Pick) => string)[];
}

const usZip = (base: string) => (digits: Digits, pick: Pick) =>
  pick([
    base + digits(2),
    `${base}${digits(2)}-${digits(4)}`,
    base + digits(2),
    `${base}${digits(2)}${digits(4)}`,
  ]);

const usPhone = (area: string) => [
  (d: Digits) => `(${area}) 2${d(2)}-${d(4)}`,
  (d: Digits) => `${area}.5${d(2)}.${d(4)}`,
  (d: Digits) => `1-${area}-7${d(2)}-${d(4)}`,
  (d: Digits) => `+1 ${area} 8${d(2)} ${d(4)}`,
  (d: Digits) => `${area}4${d(6)}`,
];

const COUNTRIES: readonly Country[] = [
  {
    names: ["US", "us", "USA", "United States", "united states of america", "U.S.", ""],
    weight: 45,
    places: [
      { city: "New York", state: ["New York", "NY", "ny", "N.Y."], zip: usZip("100") },
      { city: "San Francisco", state: ["California", "CA", "ca.", "Calif"], zip: usZip("941") },
      { city: "Boston", state: ["Massachusetts", "MA"], zip: (d, pick) => pick(["021", "21"]) + d(2) },
      { city: "St. Louis", state: ["Missouri", "MO", "mo"], zip: usZip("631") },
      { city: "Austin", state: ["Texas", "TX", "tx "], zip: usZip("787") },
    ],
    phones: [...usPhone("650"), ...usPhone("212"), ...usPhone("512")],
  },
  {
    names: ["GB", "UK", "United Kingdom", "gbr", "England"],
    weight: 15,
    places: [
      { city: "London", state: ["England", "Greater London", ""], zip: (d) => `SW1A ${d(1)}AA` },
      { city: "Manchester", state: ["England", ""], zip: (d, pick) => pick([`M1 ${d(1)}AE`, `m1${d(1)}ae`]) },
      { city: "Edinburgh", state: ["Scotland"], zip: (d) => `EH1 ${d(1)}YZ` },
    ],
    phones: [
      (d) => `+44 7${d(3)} ${d(6)}`,
      (d) => `0044 7${d(3)} ${d(6)}`,
      (d) => `07${d(3)} ${d(6)}`,
      (d) => `+44 (0)20 7${d(3)} ${d(4)}`,
      (d) => `020 7${d(3)} ${d(4)}`,
    ],
  },
  {
    names: ["DE", "Deutschland", "Germany", "deu"],
    weight: 12,
    places: [
      { city: "München", state: ["Bayern", "BY"], zip: (d) => `80${d(3)}` },
      { city: "Berlin", state: ["Berlin", "BE"], zip: (d) => `10${d(3)}` },
      { city: "Köln", state: ["Nordrhein-Westfalen", "NRW"], zip: (d) => `50${d(3)}` },
    ],
    phones: [
      (d) => `+49 30 ${d(7)}`,
      (d) => `030 ${d(3)} ${d(4)}`,
      (d) => `0151 ${d(8)}`,
      (d) => `+49 (0) 151 ${d(4)} ${d(4)}`,
      (d) => `0049 89 ${d(7)}`,
    ],
  },
  {
    names: ["FR", "France", "fra"],
    weight: 10,
    places: [
      { city: "Paris", state: ["Île-de-France", "IDF"], zip: (d) => `750${d(2)}` },
      { city: "Saint-Étienne", state: ["Auvergne-Rhône-Alpes"], zip: (d) => `42${d(3)}` },
    ],
    phones: [
      (d) => `06 ${d(2)} ${d(2)} ${d(2)} ${d(2)}`,
      (d) => `+33 6 ${d(2)} ${d(2)} ${d(2)} ${d(2)}`,
      (d) => `+33 (0)1 ${d(2)} ${d(2)} ${d(2)} ${d(2)}`,
      (d) => `07.${d(2)}.${d(2)}.${d(2)}.${d(2)}`,
    ],
  },
  {
    names: ["CA", "Canada", "can"],
    weight: 10,
    places: [
      { city: "Toronto", state: ["Ontario", "ON", "ont"], zip: (d) => `M5V ${d(1)}A${d(1)}` },
      { city: "Montréal", state: ["Québec", "Quebec", "QC"], zip: (d) => `H2X ${d(1)}Y${d(1)}` },
      { city: "Vancouver", state: ["British Columbia", "BC"], zip: (d) => `V6B ${d(1)}K${d(1)}` },
    ],
    phones: [...usPhone("416"), ...usPhone("604")],
  },
  {
    names: ["AU", "Australia", "aus"],
    weight: 8,
    places: [
      { city: "Sydney", state: ["New South Wales", "NSW"], zip: (d) => `20${d(2)}` },
      { city: "Melbourne", state: ["Victoria", "VIC"], zip: (d) => `30${d(2)}` },
    ],
    phones: [(d) => `0412 ${d(3)} ${d(3)}`, (d) => `+61 412 ${d(3)} ${d(3)}`, (d) => `(02) 9${d(3)} ${d(4)}`],
  },
];

const FIRST_NAMES = [
  "Mary",
  "John",
  "José",
  "Zoë",
  "Valéry",
  "François",
  "Łukasz",
  "Jürgen",
  "Anne-Marie",
  "정",
  "Siobhán",
  "Chloé",
  "Ahmed",
  "O'Neil",
  "Priya",
  "Björn",
];
const LAST_NAMES = [
  "Smith",
  "Müller",
  "O'Brien",
  "García",
  "Smith-Jones",
  "Nguyễn",
  "Dubois",
  "Kowalski",
  "van der Berg",
  "김",
  "Ó Súilleabháin",
  "Johansson",
  "D'Amico",
  "Patel",
];
const EMAIL_DOMAINS = [
  "gmail.com",
  "Yahoo.com",
  "outlook.com",
  "GMX.de",
  "orange.fr",
  "example.co.uk",
  "icloud.com",
];
const GENDERS = [
  "F",
  "f",
  "female",
  "Female",
  "woman",
  "Mrs.",
  "Ms",
  "w",
  "M",
  "m",
  "male",
  "Male",
  "man",
  "Mr",
  "MR.",
  "",
];
const EVENT_NAMES = [
  "Purchase",
  "purchase",
  "add_to_cart",
  "AddToCart",
  "ADD_TO_CART",
  "page_view",
  "ViewContent",
  "view_content",
  "Lead",
  "complete_registration",
  "InitiateCheckout",
  "initiated_checkout",
  "Subscribe",
  "Search",
];
const ACTION_SOURCES = [
  "website",
  "website",
  "website",
  "website",
  "physical_store",
  "system_generated",
  "email",
  "phone_call",
  "chat",
  "other",
];
const CURRENCIES = ["USD", "usd", "EUR", "eur", "GBP", "CAD", "AUD"];
const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Mobile Safari/537.36",
];
/** Values no normalizer can use, sprinkled in at a few percent per field. */
const UNUSABLE = {
  em: ["n/a", "john at gmail", "-", "noemail@"],
  ph: ["123", "n/a", "000-000", "call me"],
  country: ["Atlantis", "XX", "Earth"],
  db: ["02/30/1990", "1899-12-31", "31/31/1999", "unknown", "3/4/95"],
  ge: ["unknown", "other", "x"],
};
const UNUSABLE_RATE = 0.02;

const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** A date of birth in one of the formats exports use. */
function dateOfBirth(next: () => number, pick: Pick): string {
  const year = 1940 + Math.floor(next() * 67);
  const month = 1 + Math.floor(next() * 12);
  const day = 1 + Math.floor(next() * 28);
  const y = String(year);
  return pick([
    `${month}/${day}/${y}`,
    `${y}-${pad2(month)}-${pad2(day)}`,
    `${y}${pad2(month)}${pad2(day)}`,
    `${y}/${pad2(month)}/${pad2(day)}`,
    `${y}-${pad2(month)}-${pad2(day)}T00:00:00Z`,
    `${pad2(day)}.${pad2(month)}.${y}`,
    `${MONTH_NAMES[month - 1]} ${day}, ${y}`,
  ]);
}

function messyCase(text: string, next: () => number): string {
  const roll = next();
  if (roll < 0.15) return text.toUpperCase();
  if (roll < 0.3) return text.toLowerCase();
  if (roll < 0.4) return `  ${text} `;
  return text;
}

/** `count` rows, the same for the same seed. */
export function* messyRows(count: number, options: MessyRowOptions = {}): Generator<MessyRow> {
  const next = random(options.seed ?? 1);
  const now = Math.floor(options.now ?? Date.now() / 1000);
  const pick: Pick = (items) => items[Math.floor(next() * items.length)] as (typeof items)[number];
  const digits: Digits = (length) => {
    let out = "";
    for (let i = 0; i < length; i++) out += String(Math.floor(next() * 10));
    return out;
  };
  const octet = () => String(Math.floor(next() * 256));
  const unusable = <T>(usable: T, bad: readonly T[]): T => (next() < UNUSABLE_RATE ? pick(bad) : usable);
  const totalWeight = COUNTRIES.reduce((sum, c) => sum + c.weight, 0);
  const pickCountry = (): Country => {
    let roll = next() * totalWeight;
    for (const country of COUNTRIES) {
      roll -= country.weight;
      if (roll < 0) return country;
    }
    return COUNTRIES[0] as Country;
  };

  for (let index = 0; index < count; index++) {
    const country = pickCountry();
    const place = pick(country.places);
    const first = pick(FIRST_NAMES);
    const last = pick(LAST_NAMES);
    const localPart =
      `${first}.${last}`.normalize("NFD").replace(/[^A-Za-z.]/g, "") + pick(["", digits(2), `+${digits(1)}`]);
    const eventTime = now - Math.floor(next() * 6 * 86_400);
    const eventName = pick(EVENT_NAMES);
    const actionSource = pick(ACTION_SOURCES);
    const items = 1 + Math.floor(next() * 3);
    const contents = Array.from({ length: items }, () => ({
      id: `SKU-${digits(5)}`,
      quantity: 1 + Math.floor(next() * 3),
      item_price: Math.round(next() * 20_000) / 100,
    }));
    const total = contents.reduce((sum, item) => sum + item.quantity * item.item_price, 0);
    const msCreated = (eventTime - Math.floor(next() * 86_400 * 30)) * 1000;
    yield asParsed({
      em: unusable(messyCase(`${localPart}@${pick(EMAIL_DOMAINS)}`, next), UNUSABLE.em),
      ph: unusable(pick(country.phones)(digits, pick), UNUSABLE.ph),
      fn: messyCase(first, next),
      ln: messyCase(last, next),
      ct: messyCase(place.city, next),
      st: pick(place.state),
      zp: place.zip(digits, pick),
      country: unusable(pick(country.names), UNUSABLE.country),
      db: unusable(dateOfBirth(next, pick), UNUSABLE.db),
      ge: unusable(pick(GENDERS), UNUSABLE.ge),
      external_id: pick([
        `CUST-${digits(7)}`,
        ` cust-${digits(7)} `,
        `${digits(8)}-${digits(4)}-4${digits(3)}-a${digits(3)}-${digits(12)}`,
      ]),
      event_name: eventName,
      event_time: eventTime,
      action_source: actionSource,
      event_source_url:
        actionSource === "website"
          ? `https://shop.example.com/p/${digits(4)}?utm_source=${pick(["fb", "ig", "email"])}`
          : "",
      client_ip_address:
        next() < 0.8
          ? `${pick(["81", "92", "203", "172"])}.${octet()}.${octet()}.${octet()}`
          : `2001:db8:${digits(4)}::${digits(2)}`,
      client_user_agent: actionSource === "website" ? pick(USER_AGENTS) : "",
      fbp: next() < 0.7 ? `fb.1.${msCreated}.${digits(10)}` : "",
      fbc: next() < 0.3 ? `fb.1.${msCreated}.IwAR${digits(12)}` : "",
      value: next() < 0.3 ? total.toFixed(2) : Math.round(total * 100) / 100,
      currency: pick(CURRENCIES),
      contents,
    });
  }
}

/**
 * The row as a CSV, JSON or database driver hands it over: fresh objects and flat strings. The
 * template literals above build V8 rope strings, which every first string operation would flatten,
 * a cost no real source imposes (measured: about 10% of the normalize bench).
 */
function asParsed(row: MessyRow): MessyRow {
  return JSON.parse(JSON.stringify(row)) as MessyRow;
}
