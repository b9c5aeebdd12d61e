import { createReadStream } from "node:fs";
import { type CastingContext, type CsvError, type Info, type Options, parse } from "csv-parse";
import { fileError, resolveFiles, type SourceFile } from "./files.ts";
import { type OpenReads, openReads } from "./lifecycle.ts";
import {
  type CsvSourceConfig,
  type OpenSourceOptions,
  type Row,
  type Source,
  SourceError,
  UnreadableRow,
} from "./types.ts";

/** csv-parse's per-record errors that we report as unreadable rows (codes are csv-parse's). */
const RECORD_ERRORS: Readonly<Record<string, { code: string; reason: string }>> = {
  CSV_RECORD_INCONSISTENT_COLUMNS: {
    code: "csv.field_count",
    reason: "number of fields differs from the header",
  },
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: {
    code: "csv.field_count",
    reason: "number of fields differs from the header",
  },
  CSV_QUOTE_NOT_CLOSED: {
    code: "csv.quote_not_closed",
    reason: "a quoted field is never closed; the rest of the file from here is unreadable",
  },
  CSV_INVALID_CLOSING_QUOTE: {
    code: "csv.invalid_quote",
    reason: "a closing quote is followed by other characters",
  },
  CSV_MAX_RECORD_SIZE: { code: "csv.record_too_large", reason: "record is larger than the parser's limit" },
};
const OTHER_RECORD_ERROR = { code: "csv.malformed", reason: "record is not valid CSV" };

class HeaderError extends Error {}

export function openCsv(config: CsvSourceConfig, { cwd }: OpenSourceOptions): Source {
  const label = `csv ${config.path}`;
  const reads = openReads();
  return {
    kind: "csv",
    describe: () => label,
    async *rows(options) {
      const signal = options?.signal;
      for (const file of await resolveFiles(config.path, cwd, label)) {
        yield* readFile(file, config, label, reads, signal);
      }
    },
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

function parserOptions(config: CsvSourceConfig): Options {
  return {
    bom: true,
    delimiter: config.delimiter ?? ",",
    encoding: config.encoding ?? "utf8",
    // Files concatenated from several systems mix line endings; a single detected one would leave
    // stray "\r" in the last field of the other kind of line.
    record_delimiter: ["\r\n", "\n"],
    skip_empty_lines: true,
    // A quote inside an unquoted field (`5" screen`) is data, not an error.
    relax_quotes: true,
    // Postgres' CSV convention: an unquoted empty field is NULL, a quoted one ("") the empty string.
    cast: (value: string, context: CastingContext) =>
      value === "" && !context.quoting && !context.header ? null : value,
  };
}

async function* readFile(
  file: SourceFile,
  config: CsvSourceConfig,
  label: string,
  reads: OpenReads,
  signal: AbortSignal | undefined,
): AsyncGenerator<Row | UnreadableRow> {
  const skipped: UnreadableRow[] = [];
  const input = createReadStream(file.absolute, signal ? { signal } : {});
  const parser = parse({
    ...parserOptions(config),
    columns: (header: unknown[]) => validHeader(header),
    info: true,
    skip_records_with_error: true,
    on_skip: (error: CsvError | undefined) => {
      const known = (error && RECORD_ERRORS[error.code]) ?? OTHER_RECORD_ERROR;
      skipped.push(new UnreadableRow(file.display, lineOf(error), known.code, known.reason));
    },
  });
  input.on("error", (error) => parser.destroy(error));
  input.pipe(parser);
  const release = () => {
    input.destroy();
    parser.destroy();
  };
  const untrack = reads.track(release);
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Row; info: Info }>) {
      // The parser reports skipped records as it meets them, ahead of the records it still buffers.
      while (skipped.length > 0 && (skipped[0]?.line ?? 0) < info.lines)
        yield skipped.shift() as UnreadableRow;
      signal?.throwIfAborted();
      yield record;
    }
    yield* skipped;
  } catch (error) {
    signal?.throwIfAborted();
    if (error instanceof HeaderError)
      throw new SourceError(label, "query", `${file.display}: ${error.message}`);
    throw fileError(label, file.display, error);
  } finally {
    untrack();
    release();
  }
}

async function readHeader(file: SourceFile, config: CsvSourceConfig, label: string): Promise<string[]> {
  const input = createReadStream(file.absolute);
  const parser = parse({ ...parserOptions(config), to_line: 1 });
  input.on("error", (error) => parser.destroy(error));
  input.pipe(parser);
  try {
    for await (const header of parser as AsyncIterable<unknown[]>) return validHeader(header);
    throw new HeaderError("file is empty: no header row");
  } catch (error) {
    if (error instanceof HeaderError)
      throw new SourceError(label, "query", `${file.display}: ${error.message}`);
    if (isCsvError(error))
      throw new SourceError(label, "query", `${file.display}: header row is not valid CSV`);
    throw fileError(label, file.display, error);
  } finally {
    input.destroy();
    parser.destroy();
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

function lineOf(error: CsvError | undefined): number {
  const lines = (error as { lines?: unknown } | undefined)?.lines;
  return typeof lines === "number" ? lines : 0;
}

function isCsvError(error: unknown): error is CsvError {
  return (
    typeof (error as { code?: unknown } | null)?.code === "string" &&
    String((error as CsvError).code).startsWith("CSV_")
  );
}
