// How a source names itself in logs and errors: kind and location, credentials masked.
import { maskUrl } from "./redact.ts";
import type { SourceConfig, SourceConfigOf, SourceKind } from "./types.ts";

const LABELS: { readonly [K in SourceKind]: (config: SourceConfigOf<K>) => string } = {
  csv: (config) => `csv ${config.path}`,
  ndjson: (config) => `ndjson ${config.path}`,
  parquet: (config) => `parquet ${config.path}`,
  duckdb: (config) => `duckdb ${config.database ?? ":memory:"}`,
  postgres: (config) => `postgres ${maskUrl(config.url)}`,
  mysql: (config) => `mysql ${maskUrl(config.url)}`,
  sqlite: (config) => `sqlite ${config.path}`,
};

export function sourceLabel(config: SourceConfig): string {
  return (LABELS[config.kind] as (config: SourceConfig) => string)(config);
}
