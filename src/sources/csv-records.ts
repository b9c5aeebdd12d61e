// CSV records from decoded text, chunk by chunk (RFC 4180 plus the leniencies of real exports).
// csv-parse gave the same records at ~19 µs a row of the benchmark's file, a third of a sync's
// whole budget; scanning with indexOf over whole fields is an order of magnitude cheaper.
//
// The dialect: records end at "\n" or "\r\n" (files concatenated from several systems mix them; a
// lone "\r" is data); empty lines are skipped; a field that starts with a quote is quoted, `""`
// inside it is one quote, and it may hold delimiters and line breaks; a quote inside an unquoted
// field is data (`5" screen`). An unquoted empty field is null, a quoted one the empty string
// (Postgres' CSV convention); header fields are never null.

export type CsvRecordErrorCode = "field_count" | "quote_not_closed" | "invalid_quote" | "record_too_large";

export interface CsvRecord {
  readonly fields: (string | null)[];
  /** 1-based line of the file where the record starts. */
  readonly line: number;
}

export interface CsvRecordError {
  readonly error: CsvRecordErrorCode;
  readonly line: number;
}

export type CsvItem = CsvRecord | CsvRecordError;

/** A record longer than this (an unclosed quote, usually) is not buffered further. */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;

const QUOTE = 34; // "
const LF = 10;
const CR = 13;

const UNKNOWN = -2;
const NONE = -1;

export class CsvRecordReader {
  readonly #delimiter: string;
  readonly #delimiterCode: number;
  #text = "";
  #pos = 0;
  /** Line number of #pos. */
  #line = 1;
  /** Field count of the header; records must match it. */
  #width = -1;
  /** After a record too large to buffer: input is dropped up to the next line break. */
  #discarding = false;
  /** Cached position of the next delimiter in #text (UNKNOWN before the first search, NONE if none). */
  #nextDelimiter = UNKNOWN;
  #ended = false;

  constructor(delimiter = ",") {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r")
      throw new Error("CSV delimiter must be one character other than a quote or a line break");
    this.#delimiter = delimiter;
    this.#delimiterCode = delimiter.charCodeAt(0);
  }

  /**
   * The complete records in `text` appended to what was buffered; with `final`, the rest too.
   * The first record is the header; its width is the width every later record must have.
   */
  read(text: string, final = false): CsvItem[] {
    if (this.#ended) throw new Error("CsvRecordReader: read after the final chunk");
    this.#ended = final;
    this.#text = this.#pos < this.#text.length ? this.#text.slice(this.#pos) + text : text;
    this.#pos = 0;
    this.#nextDelimiter = UNKNOWN;
    const out: CsvItem[] = [];
    if (this.#discarding) this.#discard();
    while (!this.#discarding && this.#pos < this.#text.length) {
      const start = this.#pos;
      const startLine = this.#line;
      const item = this.#record(final);
      if (item === SKIPPED) continue;
      if (item !== undefined) {
        out.push(item);
        continue;
      }
      this.#pos = start;
      this.#line = startLine;
      if (this.#text.length - start <= MAX_RECORD_CHARS) break;
      // Not buffered further: dropped up to the first line break after what is held.
      out.push({ error: "record_too_large", line: startLine });
      this.#line += countLines(this.#text, start, this.#text.length);
      this.#pos = this.#text.length;
      this.#discarding = true;
    }
    return out;
  }

  #discard(): void {
    const end = this.#text.indexOf("\n");
    if (end < 0) {
      this.#pos = this.#text.length;
      return;
    }
    this.#pos = end + 1;
    this.#line++;
    this.#discarding = false;
  }

  /** The next delimiter at or after `from`, or -1; one scan serves every field before it. */
  #delimiterFrom(from: number): number {
    if (this.#nextDelimiter === NONE) return NONE;
    if (this.#nextDelimiter < from) this.#nextDelimiter = this.#text.indexOf(this.#delimiter, from);
    return this.#nextDelimiter;
  }

  /** One record from #pos; undefined when the buffer ends first (and more text may come). */
  #record(final: boolean): CsvItem | typeof SKIPPED | undefined {
    const text = this.#text;
    const length = text.length;
    const startLine = this.#line;
    const first = text.charCodeAt(this.#pos);
    // An empty line: "\n" or "\r\n".
    if (first === LF || (first === CR && this.#pos + 1 < length && text.charCodeAt(this.#pos + 1) === LF)) {
      this.#pos += first === LF ? 1 : 2;
      this.#line++;
      return SKIPPED;
    }
    if (first === CR && this.#pos + 1 >= length && !final) return undefined;

    const fields: (string | null)[] = [];
    const header = this.#width < 0;
    let pos = this.#pos;
    let lines = 0;
    let lineEnd = text.indexOf("\n", pos);
    for (;;) {
      if (text.charCodeAt(pos) === QUOTE) {
        // Quoted: up to a quote not followed by another quote.
        let value = "";
        let from = pos + 1;
        let close: number;
        for (;;) {
          close = text.indexOf('"', from);
          if (close < 0 || close + 1 >= length) {
            if (!final) return undefined;
            if (close < 0) return this.#fail("quote_not_closed", startLine, length, 0);
          }
          if (text.charCodeAt(close + 1) === QUOTE) {
            value += text.slice(from, close + 1);
            from = close + 2;
            continue;
          }
          value += text.slice(from, close);
          break;
        }
        lines += countLines(text, pos + 1, close);
        fields.push(value);
        pos = close + 1;
        if (pos >= length) {
          if (!final) return undefined;
          return this.#complete(fields, header, startLine, pos, lines);
        }
        const next = text.charCodeAt(pos);
        if (next === this.#delimiterCode) {
          pos++;
          if (pos > lineEnd) lineEnd = text.indexOf("\n", pos);
          continue;
        }
        if (next === LF) return this.#complete(fields, header, startLine, pos + 1, lines + 1);
        if (next === CR) {
          if (pos + 1 >= length && !final) return undefined;
          if (pos + 1 >= length) return this.#complete(fields, header, startLine, pos + 1, lines);
          if (text.charCodeAt(pos + 1) === LF)
            return this.#complete(fields, header, startLine, pos + 2, lines + 1);
        }
        // Text after a closing quote: the record is broken; resume at the next line break.
        const resume = text.indexOf("\n", pos);
        if (resume < 0 && !final) return undefined;
        return this.#fail(
          "invalid_quote",
          startLine,
          resume < 0 ? length : resume + 1,
          lines + (resume < 0 ? 0 : 1),
        );
      }

      // Unquoted: up to the next delimiter or the end of the line.
      if (lineEnd < 0 && !final) return undefined;
      const end = lineEnd < 0 ? length : lineEnd;
      const delimiter = this.#delimiterFrom(pos);
      if (delimiter >= 0 && delimiter < end) {
        fields.push(delimiter === pos ? (header ? "" : null) : text.slice(pos, delimiter));
        pos = delimiter + 1;
        continue;
      }
      const valueEnd = end > pos && text.charCodeAt(end - 1) === CR && end < length ? end - 1 : end;
      fields.push(valueEnd === pos ? (header ? "" : null) : text.slice(pos, valueEnd));
      return this.#complete(
        fields,
        header,
        startLine,
        end < length ? end + 1 : end,
        end < length ? lines + 1 : lines,
      );
    }
  }

  #complete(fields: (string | null)[], header: boolean, line: number, next: number, lines: number): CsvItem {
    this.#pos = next;
    this.#line = line + lines;
    if (header) {
      this.#width = fields.length;
      return { fields, line };
    }
    return fields.length === this.#width ? { fields, line } : { error: "field_count", line };
  }

  #fail(error: CsvRecordErrorCode, line: number, next: number, lines: number): CsvRecordError {
    this.#pos = next;
    this.#line = line + lines;
    return { error, line };
  }
}

const SKIPPED = Symbol("skipped");

function countLines(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf("\n", from); at >= 0 && at < to; at = text.indexOf("\n", at + 1)) count++;
  return count;
}

export function isRecordError(item: CsvItem): item is CsvRecordError {
  return "error" in item;
}

/** Bytes of a byte-order mark and the encoding it announces. */
export function sniffBom(bytes: Uint8Array): { encoding: "utf8" | "utf16le"; length: number } | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: "utf8", length: 3 };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: "utf16le", length: 2 };
  return undefined;
}
