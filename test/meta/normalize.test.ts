import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { NORMALIZERS } from "../../src/meta/normalize/rules.ts";
import { type NormalizeOptions, normalizeUserData, type RawUserData } from "../../src/meta/normalize.ts";
import { HASH_REQUIRED_KEYS, USER_DATA_KEYS } from "../../src/meta/user-data-keys.ts";

/** The reference digest, computed independently of src/meta/hash.ts. */
const digest = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");
/** A fixed clock: "the current year" for db is 2026. */
const NOW = new Date("2026-06-15T12:00:00Z");
const HASHED_KEYS = [...HASH_REQUIRED_KEYS, "external_id"] as const;

function normalize(raw: RawUserData, options: NormalizeOptions = {}) {
  return normalizeUserData(raw, { now: NOW, ...options });
}

describe("Meta's published examples (spec §3.1)", () => {
  const PUBLISHED: {
    key: string;
    input: string;
    options?: NormalizeOptions;
    normalized: string;
    hex: string | { prefix: string; suffix: string };
  }[] = [
    {
      key: "em",
      input: "John_Smith@gmail.com",
      normalized: "john_smith@gmail.com",
      hex: "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
    },
    {
      key: "ph",
      input: "(650)555-1212",
      options: { defaultCountry: "US" },
      normalized: "16505551212",
      hex: "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176",
    },
    {
      key: "fn",
      input: "Mary",
      normalized: "mary",
      hex: "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec",
    },
    {
      key: "fn",
      input: "정",
      normalized: "정",
      hex: "8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14",
    },
    {
      key: "fn",
      input: "Valéry",
      normalized: "valéry",
      hex: "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c",
    },
    {
      key: "db",
      input: "2/16/1997",
      normalized: "19970216",
      hex: "01acdbf6ec7b4f478a225f1a246e5d6767eeab1a7ffa17f025265b5b94f40f0c",
    },
    { key: "ge", input: "f", normalized: "f", hex: { prefix: "252f10c8", suffix: "d9f111" } },
    { key: "ge", input: "m", normalized: "m", hex: { prefix: "62c66a7a", suffix: "bd63c5a" } },
    {
      key: "country",
      input: "United States",
      normalized: "us",
      hex: "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621",
    },
  ];

  for (const { key, input, options, normalized, hex } of PUBLISHED) {
    it(`${key} ${JSON.stringify(input)} → ${JSON.stringify(normalized)} → Meta's digest`, () => {
      const { user_data, warnings } = normalize({ [key]: input }, options);
      assert.deepEqual(warnings, []);
      assert.equal(user_data[key], digest(normalized));
      if (typeof hex === "string") assert.equal(user_data[key], hex);
      else {
        assert.ok(String(user_data[key]).startsWith(hex.prefix));
        assert.ok(String(user_data[key]).endsWith(hex.suffix));
      }
    });
  }
});

interface Case {
  input: unknown;
  /** Other fields of the row (its country, say). */
  row?: RawUserData;
  options?: NormalizeOptions;
  normalized: string;
}

/** Per key: inputs as sources hold them → the string Meta hashes. */
const RULES: Record<string, Case[]> = {
  em: [
    { input: " John.Doe@Example.COM ", normalized: "john.doe@example.com" },
    { input: "user+tag@Sub.Domain.co.uk", normalized: "user+tag@sub.domain.co.uk" },
    { input: "ÉLODIE@exemple.fr", normalized: "élodie@exemple.fr" },
    { input: "jörg@müller.de", normalized: "jörg@müller.de" },
  ],
  ph: [
    { input: "+44 7911 123456", normalized: "447911123456" },
    { input: "0044 7911 123456", row: { country: "GB" }, normalized: "447911123456" },
    { input: "07911 123456", row: { country: "GB" }, normalized: "447911123456" },
    {
      input: "07911 123456",
      row: { country: "United Kingdom" },
      options: { defaultCountry: "US" },
      normalized: "447911123456",
    },
    { input: "07911 123456", options: { defaultCountry: "gb" }, normalized: "447911123456" },
    { input: "0044 7911 123456", options: { defaultCountry: "US" }, normalized: "447911123456" },
    { input: "011 44 7911 123456", options: { defaultCountry: "US" }, normalized: "447911123456" },
    { input: "+44 (0)20 7946 0958", normalized: "442079460958" },
    { input: "(650) 555-1212", options: { defaultCountry: "US" }, normalized: "16505551212" },
    { input: "650.555.1212", row: { country: "United States" }, normalized: "16505551212" },
    { input: "1-650-555-1212", options: { defaultCountry: "US" }, normalized: "16505551212" },
    { input: "+1 650 555 1212", options: { defaultCountry: "DE" }, normalized: "16505551212" },
    { input: "+1 650 555 1212 ext. 123", normalized: "16505551212" },
    { input: "tel:+1-650-555-1212", normalized: "16505551212" },
    { input: 16505551212, normalized: "16505551212" },
    { input: "16505551212", normalized: "16505551212" },
    { input: "416-555-0100", row: { country: "CA" }, normalized: "14165550100" },
    { input: "030 1234567", row: { country: "Deutschland" }, normalized: "49301234567" },
    { input: "+49 (0) 151 1234 5678", normalized: "4915112345678" },
    { input: "06 12 34 56 78", row: { country: "FR" }, normalized: "33612345678" },
    { input: "0412 345 678", row: { country: "AU" }, normalized: "61412345678" },
    { input: "６５０５５５１２１２", options: { defaultCountry: "US" }, normalized: "16505551212" },
  ],
  fn: [
    { input: "  JOHN ", normalized: "john" },
    { input: "Anne-Marie", normalized: "annemarie" },
    { input: "Vale\u0301ry", normalized: "valéry" },
    { input: "José María", normalized: "josémaría" },
    { input: "Łukasz", normalized: "łukasz" },
    { input: "अनिल", normalized: "अनिल" },
  ],
  ln: [
    { input: "O'Brien", normalized: "obrien" },
    { input: "Smith-Jones Jr.", normalized: "smithjonesjr" },
    { input: "MÜLLER", normalized: "müller" },
    { input: "van der Berg", normalized: "vanderberg" },
  ],
  ct: [
    { input: "New York", normalized: "newyork" },
    { input: "São Paulo", normalized: "sãopaulo" },
    { input: "St. Louis", normalized: "stlouis" },
    { input: "Saint-Étienne", normalized: "saintétienne" },
    { input: "MÜNCHEN", normalized: "münchen" },
  ],
  st: [
    { input: "California", normalized: "ca" },
    { input: "CA", normalized: "ca" },
    { input: "ca.", normalized: "ca" },
    { input: "new york", row: { country: "US" }, normalized: "ny" },
    { input: "N.Y.", normalized: "ny" },
    { input: "District of Columbia", normalized: "dc" },
    { input: "Ontario", row: { country: "Canada" }, normalized: "on" },
    { input: "Québec", normalized: "qc" },
    { input: "British Columbia", normalized: "bc" },
    { input: "Calif.", row: { country: "US" }, normalized: "ca" },
    { input: "Ont.", normalized: "on" },
    { input: "Bayern", row: { country: "DE" }, normalized: "bayern" },
    { input: "Nordrhein-Westfalen", row: { country: "DE" }, normalized: "nordrheinwestfalen" },
    { input: "Île-de-France", row: { country: "FR" }, normalized: "îledefrance" },
    { input: "Georgia", row: { country: "US" }, normalized: "ga" },
    { input: "Georgia", row: { country: "DE" }, normalized: "georgia" },
  ],
  zp: [
    { input: "94035-1234", normalized: "94035" },
    { input: "94035-1234", row: { country: "US" }, normalized: "94035" },
    { input: "940351234", row: { country: "usa" }, normalized: "94035" },
    { input: "2134", row: { country: "US" }, normalized: "02134" },
    { input: 94035, normalized: "94035" },
    { input: "M1 1AE", row: { country: "GB" }, normalized: "m11ae" },
    { input: "SW1A 1AA", normalized: "sw1a1aa" },
    { input: "H2X 1Y4", row: { country: "CA" }, normalized: "h2x1y4" },
    { input: "10115", row: { country: "DE" }, normalized: "10115" },
    { input: "94035-1234", row: { country: "GB" }, normalized: "940351234" },
  ],
  country: [
    { input: "US", normalized: "us" },
    { input: "usa", normalized: "us" },
    { input: "United States", normalized: "us" },
    { input: "U.S.A.", normalized: "us" },
    { input: "Deutschland", normalized: "de" },
    { input: "Germany", normalized: "de" },
    { input: "DEU", normalized: "de" },
    { input: "276", normalized: "de" },
    { input: "United Kingdom", normalized: "gb" },
    { input: "UK", normalized: "gb" },
    { input: "France", normalized: "fr" },
    { input: "Côte d'Ivoire", normalized: "ci" },
    { input: "España", normalized: "es" },
  ],
  db: [
    { input: "1997-02-16", normalized: "19970216" },
    { input: "19970216", normalized: "19970216" },
    { input: 19970216, normalized: "19970216" },
    { input: "1997/02/16", normalized: "19970216" },
    { input: "1997-02-16T00:00:00Z", normalized: "19970216" },
    { input: "16.02.1997", normalized: "19970216" },
    { input: "16/2/1997", normalized: "19970216" },
    { input: "02/03/1997", normalized: "19970203" },
    { input: "2-16-1997", normalized: "19970216" },
    { input: "Feb 16, 1997", normalized: "19970216" },
    { input: "16 February 1997", normalized: "19970216" },
    { input: "2000-02-29", normalized: "20000229" },
    { input: "1900-01-01", normalized: "19000101" },
    { input: "2026-01-01", normalized: "20260101" },
  ],
  ge: [
    ...["f", "F", "female", "Female", "woman", "w", "Mrs.", "ms", "Miss", "Frau", "mujer", "femme"].map(
      (input) => ({ input, normalized: "f" }),
    ),
    ...["m", "M", "male", "Male", "man", "Mr.", "Herr", "hombre", "homme", "männlich"].map((input) => ({
      input,
      normalized: "m",
    })),
  ],
  external_id: [
    { input: " AbC 123 ", normalized: "abc123" },
    { input: "CUST-0001", normalized: "cust-0001" },
    { input: "a\tb\nc", normalized: "abc" },
    { input: 12345, normalized: "12345" },
  ],
};

describe("normalization rules, per key", () => {
  for (const [key, cases] of Object.entries(RULES)) {
    for (const { input, row, options, normalized } of cases) {
      const context = row || options ? ` (${JSON.stringify({ ...row, ...options })})` : "";
      it(`${key} ${JSON.stringify(input)}${context} → ${JSON.stringify(normalized)}`, () => {
        const { user_data, warnings } = normalize({ ...row, [key]: input }, options);
        assert.deepEqual(
          warnings.filter((w) => w.path.startsWith(`user_data.${key}`)),
          [],
        );
        assert.equal(user_data[key], digest(normalized));
      });
    }
  }
});

interface BadCase {
  input: unknown;
  row?: RawUserData;
  options?: NormalizeOptions;
  code: string;
  path?: string;
}

/** Values no rule can use: dropped, with a warning that names key and reason, never the value. */
const REJECTED: Record<string, BadCase[]> = {
  em: [
    { input: "john at gmail dot com", code: "user_data.em.invalid_email" },
    { input: "not-an-email", code: "user_data.em.invalid_email" },
    { input: "joe@localhost", code: "user_data.em.invalid_email" },
    { input: true, code: "user_data.em.invalid_type" },
  ],
  ph: [
    { input: "123", options: { defaultCountry: "US" }, code: "user_data.ph.unparseable" },
    { input: "call me maybe", code: "user_data.ph.unparseable" },
    { input: "+999 1234", code: "user_data.ph.unparseable" },
    { input: "07911 123456", code: "user_data.ph.unparseable" },
    { input: "07911 123456", options: { defaultCountry: "US" }, code: "user_data.ph.unparseable" },
    { input: [["+44 7911 123456"]], code: "user_data.ph.invalid_type", path: "user_data.ph[0]" },
  ],
  country: [
    { input: "Atlantis", code: "user_data.country.unknown_country" },
    { input: "XX", code: "user_data.country.unknown_country" },
    { input: "Congo", code: "user_data.country.unknown_country" },
  ],
  db: [
    { input: "02/30/1990", code: "user_data.db.invalid_date" },
    { input: "1900-02-29", code: "user_data.db.invalid_date" },
    { input: "31/31/1999", code: "user_data.db.invalid_date" },
    { input: "1997-13-01", code: "user_data.db.invalid_date" },
    { input: "1899-12-31", code: "user_data.db.out_of_range" },
    { input: "2027-01-01", code: "user_data.db.out_of_range" },
    { input: "2999-05-05", code: "user_data.db.out_of_range" },
    { input: "3/4/95", code: "user_data.db.unparseable" },
    { input: "16 Fevereiro 1997", code: "user_data.db.unparseable" },
    { input: "unknown date", code: "user_data.db.unparseable" },
  ],
  ge: [
    { input: "other", code: "user_data.ge.unrecognized" },
    { input: "nonbinary", code: "user_data.ge.unrecognized" },
    { input: "xyzzy", code: "user_data.ge.unrecognized" },
  ],
  fn: [
    { input: "!!!???", code: "user_data.fn.empty_after_normalization" },
    { input: { first: "Mary" }, code: "user_data.fn.invalid_type" },
  ],
  st: [{ input: "--- ...", code: "user_data.st.empty_after_normalization" }],
  ct: [
    { input: ["Paris", "  ¿¡  "], code: "user_data.ct.empty_after_normalization", path: "user_data.ct[1]" },
  ],
};

describe("rejected values", () => {
  for (const [key, cases] of Object.entries(REJECTED)) {
    for (const { input, row, options, code, path } of cases) {
      it(`${key} ${JSON.stringify(input)} → ${code}`, () => {
        const { user_data, warnings } = normalize({ ...row, [key]: input }, options);
        const warning = warnings.find((w) => w.code === code);
        assert.ok(warning, `expected ${code}, got ${JSON.stringify(warnings)}`);
        assert.equal(warning.path, path ?? `user_data.${key}`);
        if (!Array.isArray(input)) assert.equal(user_data[key], undefined);
        for (const leaked of rawStrings(input)) {
          for (const w of warnings) {
            assert.ok(!w.message.includes(leaked), `message quotes the value: ${w.message}`);
            assert.ok(!w.path.includes(leaked), `path quotes the value: ${w.path}`);
            assert.ok(!w.code.includes(leaked), `code quotes the value: ${w.code}`);
          }
        }
      });
    }
  }
});

/** The strings a value holds, as given and as normalization would see them. */
function rawStrings(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(rawStrings);
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap(rawStrings);
  if (typeof value !== "string" && typeof value !== "number") return [];
  const text = String(value).trim();
  return text.length < 3 ? [] : [text, text.toLowerCase()];
}

describe("values that already are digests", () => {
  const hex = digest("someone@example.com");
  for (const key of HASHED_KEYS) {
    it(`${key}: 64 hex characters (any case, padded) pass through lower-cased, never hashed again`, () => {
      const { user_data, warnings } = normalize({ [key]: `  ${hex.toUpperCase()} ` });
      assert.deepEqual(warnings, []);
      assert.equal(user_data[key], hex);
    });
  }

  it("Parameter Builder output (digest + appendix) keeps its case-sensitive appendix", () => {
    const { user_data } = normalize({ em: `${hex.toUpperCase()}.AbCdEfGh`, ph: `${hex}.AQ` });
    assert.equal(user_data.em, `${hex}.AbCdEfGh`);
    assert.equal(user_data.ph, `${hex}.AQ`);
  });
});

describe("hashedOnly", () => {
  const hex = digest("mary");

  it("rejects every hashed key that is not a digest yet, external_id included, and hashes nothing", () => {
    const raw = Object.fromEntries(HASHED_KEYS.map((key) => [key, "plain-value-7"]));
    const { user_data, warnings } = normalize(raw, { hashedOnly: true });
    assert.deepEqual(user_data, {});
    assert.deepEqual(
      warnings.map((w) => w.code),
      HASHED_KEYS.map((key) => `user_data.${key}.not_hashed`),
    );
  });

  it("passes digests through and keeps the keys Meta never wants hashed", () => {
    const { user_data, warnings } = normalize(
      { fn: hex, client_user_agent: " Mozilla/5.0 ", external_id: [hex, "raw-id-77"] },
      { hashedOnly: true },
    );
    assert.deepEqual(user_data, { fn: hex, external_id: hex, client_user_agent: "Mozilla/5.0" });
    assert.deepEqual(
      warnings.map((w) => [w.path, w.code]),
      [["user_data.external_id[1]", "user_data.external_id.not_hashed"]],
    );
  });
});

describe("lists, blanks and the keys Meta never wants hashed", () => {
  it("collapses duplicates after normalization; one survivor is sent as a string", () => {
    const { user_data } = normalize({ em: ["A@x.com", " a@x.com ", "b@x.com"], fn: ["Mary", "MARY", ""] });
    assert.deepEqual(user_data.em, [digest("a@x.com"), digest("b@x.com")]);
    assert.equal(user_data.fn, digest("mary"));
  });

  it("warns about a bad element by its index and keeps the others", () => {
    const { user_data, warnings } = normalize({ em: ["good@x.com", "broken-address"] });
    assert.equal(user_data.em, digest("good@x.com"));
    assert.deepEqual(
      warnings.map((w) => [w.path, w.code]),
      [["user_data.em[1]", "user_data.em.invalid_email"]],
    );
  });

  it("drops blank values silently and sends no empty list", () => {
    const { user_data, warnings } = normalize({ em: "   ", fn: "", ln: [], ph: [null, " "], ge: null });
    assert.deepEqual(user_data, {});
    assert.deepEqual(warnings, []);
  });

  it("passes never-hashed keys through trimmed, numbers as text", () => {
    const { user_data, warnings } = normalize({
      client_user_agent: " Mozilla/5.0 (X11) ",
      fbp: "fb.1.1596403881668.1116446470",
      lead_id: 1234567890123,
      fb_login_id: "  42 ",
      client_ip_address: "",
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(user_data, {
      client_user_agent: "Mozilla/5.0 (X11)",
      fbp: "fb.1.1596403881668.1116446470",
      fb_login_id: "42",
      lead_id: "1234567890123",
    });
  });

  it("takes the first non-empty value of a list under a single-value key, warning when others differ", () => {
    const cases: [unknown, string | undefined, string[]][] = [
      [["", " 1.2.3.4 ", "1.2.3.4"], "1.2.3.4", []],
      [["1.2.3.4", "5.6.7.8"], "1.2.3.4", ["user_data.client_ip_address.multiple_values"]],
      [[], undefined, []],
    ];
    for (const [input, expected, codes] of cases) {
      const { user_data, warnings } = normalize({ client_ip_address: input });
      assert.equal(user_data.client_ip_address, expected);
      assert.deepEqual(
        warnings.map((w) => w.code),
        codes,
      );
    }
  });

  it("drops unknown keys with a warning, naming only plain key names", () => {
    const { user_data, warnings } = normalize({
      em: "a@b.co",
      email_address: "x@y.co",
      "john@example.com": 1,
    });
    assert.deepEqual(Object.keys(user_data), ["em"]);
    assert.deepEqual(
      warnings.map((w) => [w.path, w.code]),
      [
        ["user_data.email_address", "user_data.email_address.unknown_key"],
        ["user_data", "user_data.unknown_key"],
      ],
    );
    assert.ok(warnings.every((w) => !w.message.includes("john@example.com")));
  });

  it("emits keys in USER_DATA_KEYS order whatever the input order", () => {
    const { user_data } = normalize({
      fbp: "fb.1.1.1",
      country: "us",
      em: "a@b.co",
      ge: "f",
      ph: "+16505551212",
    });
    const order = Object.keys(USER_DATA_KEYS);
    const keys = Object.keys(user_data);
    assert.deepEqual(
      keys,
      [...keys].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
    );
    assert.deepEqual(keys, ["em", "ph", "ge", "country", "fbp"]);
  });
});

describe("row context", () => {
  it("reads phones with the row's country before the default country", () => {
    const gb = normalize({ ph: "07911 123456", country: "GB" }, { defaultCountry: "US" });
    assert.equal(gb.user_data.ph, digest("447911123456"));
    const hashedCountry = normalize(
      { ph: "(650) 555-1212", country: digest("us") },
      { defaultCountry: "US" },
    );
    assert.equal(hashedCountry.user_data.ph, digest("16505551212"));
    const unknownCountry = normalize({ ph: "(650) 555-1212", country: "Atlantis" }, { defaultCountry: "US" });
    assert.equal(unknownCountry.user_data.ph, digest("16505551212"));
  });

  it("remembers state outcomes per country (Georgia the state, then Georgia in Germany)", () => {
    assert.equal(normalize({ st: "Georgia", country: "US" }).user_data.st, digest("ga"));
    assert.equal(normalize({ st: "Georgia", country: "DE" }).user_data.st, digest("georgia"));
    assert.equal(normalize({ st: "Georgia", country: "US" }).user_data.st, digest("ga"));
  });

  it("judges the db year range against options.now", () => {
    const in2030 = new Date("2030-01-01T00:00:00Z");
    assert.equal(normalize({ db: "2029-05-05" }, { now: in2030 }).user_data.db, digest("20290505"));
    assert.equal(normalize({ db: "2029-05-05" }).user_data.db, undefined);
  });
});

describe("never throws", () => {
  const ODD_INPUTS: unknown[] = [null, undefined, "em", 42, ["em"], new Date(0), Object.create(null)];
  for (const raw of ODD_INPUTS) {
    it(`user_data ${Object.prototype.toString.call(raw)}`, () => {
      const { user_data, warnings } = normalizeUserData(raw as RawUserData);
      assert.deepEqual({ ...user_data }, {});
      const expected =
        typeof raw === "object" && raw !== null && !Array.isArray(raw) ? [] : ["user_data.invalid_type"];
      assert.deepEqual(
        warnings.map((w) => w.code),
        raw === null || raw === undefined ? [] : expected,
      );
    });
  }

  it("options of the wrong type are ignored", () => {
    const options = { now: "2026", defaultCountry: 44, hashedOnly: "yes" } as unknown as NormalizeOptions;
    const { user_data, warnings } = normalizeUserData({ db: "1997-02-16", ph: "+447911123456" }, options);
    assert.deepEqual(warnings, []);
    assert.deepEqual(user_data, { ph: digest("447911123456"), db: digest("19970216") });
  });

  it("a value whose getter throws is dropped as unreadable; the other keys survive", () => {
    const raw = Object.defineProperty({ fn: "Mary" }, "em", {
      enumerable: true,
      get() {
        throw new Error("boom");
      },
    });
    const { user_data, warnings } = normalizeUserData(raw);
    assert.deepEqual(user_data, { fn: digest("mary") });
    assert.deepEqual(
      warnings.map((w) => [w.path, w.code]),
      [["user_data.em", "user_data.em.unreadable"]],
    );
  });
});

describe("the rule table", () => {
  it("has a normalizer for exactly the keys Meta does not say never to hash", () => {
    const hashed = Object.entries(USER_DATA_KEYS)
      .filter(([, spec]) => spec.hashing !== "never")
      .map(([key]) => key);
    assert.deepEqual(Object.keys(NORMALIZERS).sort(), hashed.sort());
  });
});
