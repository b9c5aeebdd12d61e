// A list of flat objects as JSON text, `[{"id":"SKU-1","quantity":2,"item_price":9.5}, …]`, read
// without JSON.parse: the shape in which warehouses export `contents`. Reading and evaluating the
// bench's rows on one thread, JSON.parse of that column took ~2 µs a row of ~16 for the whole
// evaluation, about twice what the same strings cost it parsed on their own; read here, the
// evaluation cost ~1.2 µs a row less (BENCHMARKS.md). Anything outside the shape (nesting,
// escapes, control characters, a `__proto__` key, text that is not JSON) is left to JSON.parse:
// what this reads, it reads as JSON.parse would, and test/mapping/flat-json-list.test.ts holds the
// two equal on generated text.

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const SPACE = 0x20;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/** A backslash or a control character: strings holding one are left to JSON.parse. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: raw control characters are what JSON refuses in a string.
const NOT_PLAIN = /[\\\u0000-\u001f]/;

const LITERALS: readonly (readonly [text: string, value: boolean | null])[] = [
  ["true", true],
  ["false", false],
  ["null", null],
];

/**
 * The objects of `text` when it is a non-empty JSON list of flat objects whose values are strings,
 * numbers, booleans or null; undefined for any other text, which the caller gives to JSON.parse.
 */
export function parseFlatObjectList(text: string): Record<string, unknown>[] | undefined {
  if (text.charCodeAt(0) !== OPEN_LIST || NOT_PLAIN.test(text)) return undefined;
  const reader = new Reader(text);
  const list: Record<string, unknown>[] = [];
  reader.skipSpaces();
  for (;;) {
    const item = reader.object();
    if (item === undefined) return undefined;
    list.push(item);
    reader.skipSpaces();
    const next = reader.take();
    if (next === CLOSE_LIST) break;
    if (next !== COMMA) return undefined;
    reader.skipSpaces();
  }
  reader.skipSpaces();
  return reader.atEnd() ? list : undefined;
}

class Reader {
  readonly #text: string;
  /** Starts after the list's `[`. */
  #at = 1;

  constructor(text: string) {
    this.#text = text;
  }

  atEnd(): boolean {
    return this.#at === this.#text.length;
  }

  take(): number {
    return this.#text.charCodeAt(this.#at++);
  }

  skipSpaces(): void {
    while (this.#text.charCodeAt(this.#at) === SPACE) this.#at++;
  }

  /** `{…}` with plain keys and scalar values; undefined at anything else. */
  object(): Record<string, unknown> | undefined {
    if (this.take() !== OPEN_OBJECT) return undefined;
    const item: Record<string, unknown> = {};
    this.skipSpaces();
    if (this.#text.charCodeAt(this.#at) === CLOSE_OBJECT) {
      this.#at++;
      return item;
    }
    for (;;) {
      const key = this.string();
      // JSON.parse makes `__proto__` an own property, where a store would set the prototype.
      if (key === undefined || key === "__proto__") return undefined;
      this.skipSpaces();
      if (this.take() !== COLON) return undefined;
      this.skipSpaces();
      const value = this.scalar();
      if (value === INVALID) return undefined;
      item[key] = value;
      this.skipSpaces();
      const next = this.take();
      if (next === CLOSE_OBJECT) return item;
      if (next !== COMMA) return undefined;
      this.skipSpaces();
    }
  }

  /** A quoted string; the text holds no backslash or control character (checked once). */
  string(): string | undefined {
    if (this.#text.charCodeAt(this.#at) !== QUOTE) return undefined;
    const close = this.#text.indexOf('"', this.#at + 1);
    if (close < 0) return undefined;
    const value = this.#text.slice(this.#at + 1, close);
    this.#at = close + 1;
    return value;
  }

  scalar(): string | number | boolean | null | typeof INVALID {
    const first = this.#text.charCodeAt(this.#at);
    if (first === QUOTE) return this.string() ?? INVALID;
    if (first === MINUS || (first >= ZERO && first <= NINE)) return this.number();
    for (const [literal, value] of LITERALS) {
      if (this.#text.startsWith(literal, this.#at)) {
        this.#at += literal.length;
        return value;
      }
    }
    return INVALID;
  }

  /** JSON's number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?, read as Number reads it. */
  number(): number | typeof INVALID {
    const text = this.#text;
    const start = this.#at;
    let at = start;
    if (text.charCodeAt(at) === MINUS) at++;
    const leading = text.charCodeAt(at);
    if (leading === ZERO) at++;
    else if (leading > ZERO && leading <= NINE) at = digitsFrom(text, at);
    else return INVALID;
    if (text.charCodeAt(at) === DOT) {
      const after = digitsFrom(text, at + 1);
      if (after === at + 1) return INVALID;
      at = after;
    }
    const exponent = text.charCodeAt(at);
    if (exponent === LOWER_E || exponent === UPPER_E) {
      at++;
      const sign = text.charCodeAt(at);
      if (sign === PLUS || sign === MINUS) at++;
      const after = digitsFrom(text, at);
      if (after === at) return INVALID;
      at = after;
    }
    this.#at = at;
    return Number(text.slice(start, at));
  }
}

const INVALID: unique symbol = Symbol("invalid");

/** The position after the digits starting at `from`. */
function digitsFrom(text: string, from: number): number {
  let at = from;
  for (let code = text.charCodeAt(at); code >= ZERO && code <= NINE; code = text.charCodeAt(++at));
  return at;
}
