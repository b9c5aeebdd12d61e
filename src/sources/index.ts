import { openCsv } from "./csv.ts";
import { lazySource } from "./lazy.ts";
import { openNdjson } from "./ndjson.ts";
import { openSqlite } from "./sqlite.ts";
import type { OpenSourceOptions, Source, SourceConfig, SourceConfigOf, SourceKind } from "./types.ts";

export { SOURCE_KINDS, type SourceFieldSpec, type SourceKindSpec } from "./kinds.ts";
export { maskUrl } from "./redact.ts";
export {
  type CsvEncoding,
  type CsvSourceConfig,
  type DuckdbSourceConfig,
  isUnreadable,
  type MysqlSourceConfig,
  type NdjsonSourceConfig,
  type OpenSourceOptions,
  type ParquetSourceConfig,
  type PostgresSourceConfig,
  type Row,
  type RowsOptions,
  type Source,
  type SourceCheck,
  type SourceConfig,
  type SourceConfigOf,
  SourceError,
  type SourceErrorCode,
  type SourceKind,
  type SqliteSourceConfig,
  UnreadableRow,
} from "./types.ts";

const OPENERS: {
  readonly [K in SourceKind]: (config: SourceConfigOf<K>, options: OpenSourceOptions) => Source;
} = {
  csv: openCsv,
  ndjson: openNdjson,
  parquet: (config, options) =>
    lazySource(config, options, async () => (await import("./duckdb.ts")).openParquet),
  duckdb: (config, options) =>
    lazySource(config, options, async () => (await import("./duckdb.ts")).openDuckdb),
  postgres: (config, options) =>
    lazySource(config, options, async () => (await import("./postgres.ts")).openPostgres),
  mysql: (config, options) => lazySource(config, options, async () => (await import("./mysql.ts")).openMysql),
  sqlite: openSqlite,
};

/** A source for the config. Opening touches nothing: files and connections are opened by `rows()`/`check()`. */
export function openSource(config: SourceConfig, options: OpenSourceOptions): Source {
  const open = OPENERS[config.kind] as (config: SourceConfig, options: OpenSourceOptions) => Source;
  return open(config, options);
}
