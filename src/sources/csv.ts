import { createReadStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { rowsOfBlocks } from "./blocks.ts";
import {
  type CsvItem,
  type CsvRecordErrorCode,
  CsvRecordReader,
  isRecordError,
  sniffBom,
} from "./csv-records.ts";
import { fileError, resolveFiles, type SourceFile } from "./files.ts";
import { sourceLabel } from "./labels.ts";
import { type OpenReads, openReads } from "./lifecycle.ts";
import { type RowBuilder, rowBuilder } from "./row-builder.ts";
import {
  type BlockSource,
  type CsvSourceConfig,
  type OpenSourceOptions,
  type Row,
  type RowsOptions,
  SourceError,
  UnreadableRow,
} from "./types.ts";

/** Records the reader could not read, as unreadable rows. */
const RECORD_ERRORS: Readonly<Record<CsvRecordErrorCode, { code: string; reason: string }>> = {
  field_count: { code: "csv.field_count", reason: "number of fields differs from the header" },
  quote_not_closed: {
    code: "csv.quote_not_closed",
    reason: "a quoted field is never closed; the rest of the file from here is unreadable",
  },
  invalid_quote: { code: "csv.invalid_quote", reason: "a closing quote is followed by other characters" },
  record_too_large: {
    code: "csv.record_too_large",
    reason: "record is larger than 16 MiB; skipped up to the next line break",
  },
};

/** Large reads: fewer chunks to splice records across. */
const READ_CHUNK_BYTES = 1 << 16;

class HeaderError extends Error {}

export function openCsv(config: CsvSourceConfig, { cwd }: OpenSourceOptions): BlockSource {
  const label = sourceLabel(config);
  const reads = openReads();
  async function* batches(options?: RowsOptions): AsyncGenerator<(Row | UnreadableRow)[]> {
    const signal = options?.signal;
    for (const file of await resolveFiles(config.path, cwd, label)) {
      yield* readFile(file, config, label, reads, signal);
    }
  }
  return {
    kind: "csv",
    describe: () => label,
    batches,
    rows: (options) => rowsOfBlocks(batches(options), options?.signal),
    async check() {
      const files = await resolveFiles(config.path, cwd, label);
      let first: { file: SourceFile; columns: string[] } | undefined;
      for (const file of files) {
        const columns = await readHeader(file, config, label);
        if (!first) first = { file, columns };
        else assertSameColumns(first, { file, columns }, label);
      }
      return { columns: first?.columns ?? [] };
    },
    close: () => reads.releaseAll(),
  };
}

/**
 * The file's records, decoded per its byte-order mark (which wins over the configured encoding,
 * since it says what the bytes are) or the configured encoding.
 */
async function* records(
  file: SourceFile,
  config: CsvSourceConfig,
  reads: OpenReads,
  signal: AbortSignal | undefined,
): AsyncGenerator<CsvItem[]> {
  const input = createReadStream(file.absolute, {
    highWaterMark: READ_CHUNK_BYTES,
    ...(signal ? { signal } : {}),
  });
  const untrack = reads.track(() => {
    input.destroy();
  });
  const reader = new CsvRecordReader(config.delimiter ?? ",");
  let lines: LineDecoder | undefined;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let bytes = chunk;
      if (lines === undefined) {
        const bom = sniffBom(chunk);
        lines = new LineDecoder(bom?.encoding ?? config.encoding ?? "utf8");
        if (bom) bytes = chunk.subarray(bom.length);
      }
      const items: CsvItem[] = [];
      for (const text of lines.write(bytes)) for (const item of reader.read(text)) items.push(item);
      yield items;
    }
    yield reader.read(lines?.end() ?? "", true);
  } finally {
    untrack();
    input.destroy();
  }
}

/** Past this many bytes without a line break, text is handed on without waiting for the break. */
const MAX_CARRIED_BYTES = 1 << 20;

/**
 * Decodes bytes into text, a line per string where it can. V8 keeps a string whose characters all
 * fit in one byte in one byte each; decoded whole, one "김" in a 64 KiB chunk would make every
 * value cut from it a two-byte string, which costs every step after (hashing, JSON, the worker
 * hand-off) about twice as much. A "\n" byte never occurs inside a UTF-8 or Latin-1 character, so
 * lines can be cut in the bytes; UTF-16 text is decoded in chunks.
 */
class LineDecoder {
  readonly #decoder: StringDecoder;
  readonly #encoding: "utf8" | "utf16le" | "latin1";
  readonly #byLine: boolean;
  #carry: Buffer | undefined;
  /**
   * The decoder may hold the start of a character: text past MAX_CARRIED_BYTES went to it without
   * a line break. Otherwise every write ended with "\n", after which it holds nothing, and a line
   * is decoded straight from the bytes: a Buffer view and the decoder's call per line cost ~0.4 µs
   * of bench:read's ~4 a row.
   */
  #decoderHolds = false;

  constructor(encoding: "utf8" | "utf16le" | "latin1") {
    this.#decoder = new StringDecoder(encoding);
    this.#encoding = encoding;
    this.#byLine = encoding !== "utf16le";
  }

  write(bytes: Buffer): string[] {
    if (!this.#byLine) return [this.#decoder.write(bytes)];
    const data = this.#carry === undefined ? bytes : Buffer.concat([this.#carry, bytes]);
    const texts: string[] = [];
    let start = 0;
    for (let end = data.indexOf(LF_BYTE); end >= 0; end = data.indexOf(LF_BYTE, start)) {
      texts.push(
        this.#decoderHolds
          ? this.#decoder.write(data.subarray(start, end + 1))
          : data.toString(this.#encoding, start, end + 1),
      );
      this.#decoderHolds = false;
      start = end + 1;
    }
    this.#carry = undefined;
    if (data.length - start > MAX_CARRIED_BYTES) {
      texts.push(this.#decoder.write(data.subarray(start)));
      this.#decoderHolds = true;
    } else if (start < data.length) this.#carry = Buffer.from(data.subarray(start));
    return texts;
  }

  end(): string {
    const rest = this.#carry === undefined ? "" : this.#decoder.write(this.#carry);
    this.#carry = undefined;
    return rest + this.#decoder.end();
  }
}

const LF_BYTE = 0x0a;

async function* readFile(
  file: SourceFile,
  config: CsvSourceConfig,
  label: string,
  reads: OpenReads,
  signal: AbortSignal | undefined,
): AsyncGenerator<(Row | UnreadableRow)[]> {
  /** Set by the header row. */
  let build: RowBuilder | undefined;
  try {
    for await (const items of records(file, config, reads, signal)) {
      signal?.throwIfAborted();
      const batch: (Row | UnreadableRow)[] = [];
      for (const item of items) {
        if (build === undefined) {
          if (isRecordError(item)) throw new HeaderError("header row is not valid CSV");
          build = rowBuilder(validHeader(item.fields));
          continue;
        }
        if (isRecordError(item)) {
          const known = RECORD_ERRORS[item.error];
          batch.push(new UnreadableRow(file.display, item.line, known.code, known.reason));
          continue;
        }
        batch.push(build(item.fields, 0));
      }
      if (batch.length > 0) yield batch;
    }
  } catch (error) {
    signal?.throwIfAborted();
    if (error instanceof HeaderError)
      throw new SourceError(label, "query", `${file.display}: ${error.message}`);
    throw fileError(label, file.display, error);
  }
}

async function readHeader(file: SourceFile, config: CsvSourceConfig, label: string): Promise<string[]> {
  try {
    for await (const items of records(file, config, openReads(), undefined)) {
      const first = items[0];
      if (first === undefined) continue;
      if (isRecordError(first)) throw new HeaderError("header row is not valid CSV");
      return validHeader(first.fields);
    }
    throw new HeaderError("file is empty: no header row");
  } catch (error) {
    if (error instanceof HeaderError)
      throw new SourceError(label, "query", `${file.display}: ${error.message}`);
    throw fileError(label, file.display, error);
  }
}

/** Column names are the row's keys: each must be present and unique, or columns would overwrite. */
function validHeader(header: unknown[]): string[] {
  const names = header.map((name) => (typeof name === "string" ? name : ""));
  const empty = names.indexOf("");
  if (empty >= 0) throw new HeaderError(`header has no name for column ${empty + 1}`);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new HeaderError(`header names column "${name}" twice`);
    seen.add(name);
  }
  return names;
}

function assertSameColumns(
  first: { file: SourceFile; columns: string[] },
  other: { file: SourceFile; columns: string[] },
  label: string,
): void {
  const missing = first.columns.find((name) => !other.columns.includes(name));
  const extra = other.columns.find((name) => !first.columns.includes(name));
  if (missing === undefined && extra === undefined) return;
  const difference = missing !== undefined ? `lacks column "${missing}"` : `has extra column "${extra}"`;
  throw new SourceError(
    label,
    "query",
    `${other.file.display} ${difference} compared with ${first.file.display}`,
  );
}
