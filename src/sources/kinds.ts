import { DEFAULT_BATCH_SIZE } from "./sql.ts";
import type { SourceConfigOf, SourceKind } from "./types.ts";

export interface SourceFieldSpec {
  readonly type: "string" | "integer";
  readonly required: boolean;
  readonly description: string;
  /** A credential may be inside: mask it wherever it is shown. */
  readonly secret?: boolean;
  readonly default?: string | number;
  readonly values?: readonly string[];
  readonly minimum?: number;
  /** Exact length for strings (a delimiter is one character). */
  readonly length?: number;
}

export interface SourceKindSpec<K extends SourceKind> {
  readonly summary: string;
  /** Every field of the kind's config except `kind`, no more, no fewer (checked by the type). */
  readonly fields: { readonly [F in Exclude<keyof SourceConfigOf<K>, "kind">]-?: SourceFieldSpec };
}

const path = (what: string): SourceFieldSpec => ({
  type: "string",
  required: true,
  description: `${what} file, or a glob (e.g. exports/*.${what.toLowerCase()}); relative to the config file; several files are read in path order`,
});
const query: SourceFieldSpec = {
  type: "string",
  required: true,
  description:
    "One SQL SELECT whose result rows are the events to deliver; it runs in a read-only transaction",
};
const url = (scheme: string): SourceFieldSpec => ({
  type: "string",
  required: true,
  secret: true,
  description: `${scheme} connection URL (user:password@host:port/database); the password is masked in every message`,
});

/** The kinds of source with their config fields, for the config schema and the docs. */
export const SOURCE_KINDS: { readonly [K in SourceKind]: SourceKindSpec<K> } = {
  csv: {
    summary: "CSV files with a header row; every value stays a string, an unquoted empty field is null",
    fields: {
      path: path("CSV"),
      delimiter: { type: "string", required: false, length: 1, default: ",", description: "Field delimiter" },
      encoding: {
        type: "string",
        required: false,
        default: "utf8",
        values: ["utf8", "utf16le", "latin1"],
        description: "Text encoding; a byte-order mark is recognised and dropped",
      },
    },
  },
  ndjson: {
    summary: "Newline-delimited JSON, one object per line; a malformed line is reported, the rest still read",
    fields: { path: path("NDJSON") },
  },
  parquet: {
    summary: "Parquet files, read through DuckDB",
    fields: { path: path("Parquet") },
  },
  duckdb: {
    summary: "A DuckDB SQL query, e.g. over read_csv/read_parquet/read_json of your files",
    fields: {
      query: {
        ...query,
        description: `${query.description}; relative file paths resolve against the config file's directory`,
      },
      database: {
        type: "string",
        required: false,
        description: "DuckDB database file, opened read-only (default: an empty in-memory database)",
      },
    },
  },
  postgres: {
    summary: "A PostgreSQL query, streamed through a server-side cursor",
    fields: {
      url: url("postgres://"),
      query,
      batch_size: {
        type: "integer",
        required: false,
        minimum: 1,
        default: DEFAULT_BATCH_SIZE,
        description: "Rows fetched from the cursor per round trip",
      },
    },
  },
  mysql: {
    summary: "A MySQL or MariaDB query, streamed with back-pressure",
    fields: { url: url("mysql://"), query },
  },
  sqlite: {
    summary: "A SQLite query, the database opened read-only",
    fields: {
      path: {
        type: "string",
        required: true,
        description: "SQLite database file, relative to the config file",
      },
      query,
    },
  },
};
