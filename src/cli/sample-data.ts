// Realistic sample purchases for `init` and `demo`: the columns of the `columns` preset, with the
// kinds of mess real exports have (case, spaces, national phone formats, ZIP+4, country names).

const FIRST = ["Mary", "José", "Valéry", "Li", "Anna-Lena", "O'Brien", "정", "Søren", "Zoë", "Ahmed"];
const LAST = [
  "Smith",
  "García",
  "Dupont",
  "Wang",
  "Müller",
  "Nakamura",
  "Kowalski",
  "Nguyen",
  "Rossi",
  "Okafor",
];
const PLACES = [
  { city: "San Francisco", state: "California", zip: "94107-1234", country: "US", phone: "(415) 555-0{n}" },
  { city: "New York", state: "NY", zip: "10001", country: "United States", phone: "+1 212 555 0{n}" },
  { city: "Toronto", state: "Ontario", zip: "M5V 2T6", country: "CA", phone: "416-555-0{n}" },
  { city: "London", state: "", zip: "M1 1AE", country: "United Kingdom", phone: "020 7946 0{n}" },
  { city: "Paris", state: "", zip: "75018", country: "FR", phone: "01 42 68 5{n}" },
  { city: "Berlin", state: "", zip: "10115", country: "Germany", phone: "+49 30 901820{n}" },
];
const PRODUCTS = [
  { id: "SKU-1001", price: 19.99 },
  { id: "SKU-2040", price: 4.5 },
  { id: "SKU-3300", price: 129 },
  { id: "SKU-0007", price: 59.95 },
];
const SOURCES = ["website", "physical_store", "phone_call", "website", "website"];

export const SAMPLE_COLUMNS = [
  "order_id",
  "event_name",
  "event_time",
  "action_source",
  "email",
  "phone",
  "first_name",
  "last_name",
  "city",
  "state",
  "zip",
  "country",
  "external_id",
  "client_ip_address",
  "client_user_agent",
  "event_source_url",
  "value",
  "currency",
  "content_ids",
] as const;

export type SampleRow = Record<(typeof SAMPLE_COLUMNS)[number], string>;

/** Deterministic rows: the same `count` and `nowSeconds` always give the same data. */
export function* samplePurchases(count: number, nowSeconds: number): Generator<SampleRow> {
  for (let i = 0; i < count; i++) {
    const first = FIRST[i % FIRST.length] as string;
    const last = LAST[(i * 7) % LAST.length] as string;
    const place = PLACES[(i * 3) % PLACES.length] as (typeof PLACES)[number];
    const product = PRODUCTS[i % PRODUCTS.length] as (typeof PRODUCTS)[number];
    const quantity = 1 + (i % 3);
    const source = SOURCES[i % SOURCES.length] as string;
    const email = `${i % 4 === 0 ? " " : ""}${first.replace(/[^A-Za-z]/g, "") || "user"}.${last}${i}@Example.com`;
    yield {
      order_id: `ORD-${String(100000 + i)}`,
      event_name: i % 10 === 9 ? "add_to_cart" : "Purchase",
      // Spread over the last two days so every row is well inside Meta's 7-day window.
      event_time: String(nowSeconds - ((i * 37) % 172800) - 60),
      action_source: source,
      email: i % 13 === 12 ? "" : email,
      phone: place.phone.replace("{n}", String(100 + (i % 900)).padStart(3, "0")),
      first_name: i % 2 === 0 ? first.toUpperCase() : ` ${first} `,
      last_name: last,
      city: place.city,
      state: place.state,
      zip: place.zip,
      country: place.country,
      external_id: `CUST-${1000 + (i % 5000)}`,
      client_ip_address: source === "website" ? `203.0.113.${i % 250}` : "",
      client_user_agent:
        source === "website" ? "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15" : "",
      event_source_url: source === "website" ? `https://shop.example.com/checkout/${i}` : "",
      value: (product.price * quantity).toFixed(2),
      currency: i % 5 === 4 ? "eur" : "USD",
      content_ids: JSON.stringify([product.id]),
    };
  }
}

export function toCsv(rows: Iterable<SampleRow>): string {
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  let out = `${SAMPLE_COLUMNS.join(",")}\n`;
  for (const row of rows) out += `${SAMPLE_COLUMNS.map((c) => quote(row[c])).join(",")}\n`;
  return out;
}
