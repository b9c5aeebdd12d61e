/** One row of a source: column name → value. The value model per kind is in `src/sources/README.md`. */
export type Row = Record<string, unknown>;

export type CsvEncoding = "utf8" | "utf16le" | "latin1";

export interface CsvSourceConfig {
  readonly kind: "csv";
  readonly path: string;
  readonly delimiter?: string;
  readonly encoding?: CsvEncoding;
}
export interface NdjsonSourceConfig {
  readonly kind: "ndjson";
  readonly path: string;
}
export interface ParquetSourceConfig {
  readonly kind: "parquet";
  readonly path: string;
}
export interface DuckdbSourceConfig {
  readonly kind: "duckdb";
  readonly query: string;
  readonly database?: string;
}
export interface PostgresSourceConfig {
  readonly kind: "postgres";
  readonly url: string;
  readonly query: string;
  readonly batch_size?: number;
}
export interface MysqlSourceConfig {
  readonly kind: "mysql";
  readonly url: string;
  readonly query: string;
}
export interface SqliteSourceConfig {
  readonly kind: "sqlite";
  readonly path: string;
  readonly query: string;
}

export type SourceConfig =
  | CsvSourceConfig
  | NdjsonSourceConfig
  | ParquetSourceConfig
  | DuckdbSourceConfig
  | PostgresSourceConfig
  | MysqlSourceConfig
  | SqliteSourceConfig;

export type SourceKind = SourceConfig["kind"];
export type SourceConfigOf<K extends SourceKind> = Extract<SourceConfig, { kind: K }>;

export interface OpenSourceOptions {
  /** Directory that relative file paths (and DuckDB's file lookups) resolve against: the config file's. */
  readonly cwd: string;
}

export interface RowsOptions {
  /** Aborting stops the iteration promptly; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface SourceCheck {
  /** Column names as the rows will carry them; absent for schema-less sources (NDJSON). */
  readonly columns?: readonly string[];
}

export interface Source {
  readonly kind: SourceKind;
  /**
   * Streams the rows once, pulling more only as the consumer asks (back-pressure, flat memory).
   * Each call starts a fresh read. A record that cannot be read (a malformed NDJSON line, a CSV
   * record with the wrong number of fields) arrives as an `UnreadableRow` in its place and the
   * stream goes on; anything that stops the whole read rejects with a `SourceError`.
   */
  rows(options?: RowsOptions): AsyncIterable<Row | UnreadableRow>;
  /**
   * The same rows as `rows()`, a block at a time, for sources that read in blocks (a file's 64 KiB
   * reads, a cursor's fetch, a query engine's chunk): the reader awaits once a block instead of once
   * a row. An aborted signal stops the read before the next block. Optional: sources without it are
   * read through `rows()`.
   */
  batches?(options?: RowsOptions): AsyncIterable<readonly (Row | UnreadableRow)[]>;
  /** Proves the source is reachable and the query or files are readable, without reading the rows. */
  check(): Promise<SourceCheck>;
  /** Releases whatever an unfinished `rows()` still holds (connections, cursors, file handles). */
  close(): Promise<void>;
  /** For logs and reports: kind and location, credentials masked. */
  describe(): string;
}

/** A source that reads in blocks: every kind but NDJSON, which reads line by line. */
export interface BlockSource extends Source {
  batches(options?: RowsOptions): AsyncIterable<readonly (Row | UnreadableRow)[]>;
}

/**
 * A record the source found but could not turn into a row. Says where (file and line) and why,
 * never what the record contained.
 */
export class UnreadableRow {
  readonly file: string;
  readonly line: number;
  /** Stable code, e.g. `ndjson.malformed_json`, `csv.field_count`. */
  readonly code: string;
  readonly reason: string;

  constructor(file: string, line: number, code: string, reason: string) {
    this.file = file;
    this.line = line;
    this.code = code;
    this.reason = reason;
  }

  get message(): string {
    return `${this.file} line ${this.line}: ${this.reason}`;
  }
}

export function isUnreadable(item: Row | UnreadableRow): item is UnreadableRow {
  return item instanceof UnreadableRow;
}

/**
 * What went wrong, by what the user should fix: `unreachable` (network, server down), `auth`
 * (credentials, permissions), `not_found` (file, database, table), `query` (SQL or header the source
 * rejects), `data` (a value the database could not convert), `read` (anything else while reading).
 */
export type SourceErrorCode = "unreachable" | "auth" | "not_found" | "query" | "data" | "read";

/** A failure of the whole source. The message names the source and the problem, never a secret or a value. */
export class SourceError extends Error {
  override readonly name = "SourceError";
  readonly code: SourceErrorCode;
  /** The source's `describe()`. */
  readonly source: string;
  /** The driver's own code when there is one (SQLSTATE, errno name), for support. */
  readonly driverCode: string | undefined;

  constructor(source: string, code: SourceErrorCode, problem: string, driverCode?: string) {
    super(`${source}: ${problem}`);
    this.source = source;
    this.code = code;
    this.driverCode = driverCode;
  }
}
