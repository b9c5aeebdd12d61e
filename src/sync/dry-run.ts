// The pipeline without delivery and without the ledger: what `preview` shows and `quality` counts.
import type { ConnectionConfig } from "../config/schema.ts";
import { RowKeyError } from "../mapping/index.ts";
import type { Diagnostic } from "../meta/diagnostics.ts";
import type { ServerEvent } from "../meta/event.ts";
import { isUnreadable, openSource, type SourceConfig } from "../sources/index.ts";
import { type ConnectionDefaults, compileConnection } from "./prepare.ts";

export interface DryRunItem {
  readonly rowNumber: number;
  /** The row's ledger key; absent when the row has none or could not be read. */
  readonly key?: string;
  readonly datasetId?: string;
  /** The exact event that would be sent (user_data normalized and hashed). */
  readonly event?: ServerEvent;
  readonly skipped?: string;
  readonly valid: boolean;
  readonly errors: Diagnostic[];
  readonly warnings: Diagnostic[];
}

export interface DryRunOptions {
  readonly name: string;
  readonly connection: ConnectionConfig;
  readonly defaults?: ConnectionDefaults;
  readonly baseDir: string;
  readonly limit?: number;
  readonly now?: () => number;
  readonly signal?: AbortSignal;
}

export async function* dryRun(options: DryRunOptions): AsyncGenerator<DryRunItem> {
  const compiled = compileConnection(options.name, options.connection, options.defaults);
  const now = options.now ?? Date.now;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const source = openSource(options.connection.source as SourceConfig, { cwd: options.baseDir });
  let rowNumber = 0;
  try {
    for await (const item of source.rows(options.signal ? { signal: options.signal } : {})) {
      if (rowNumber >= limit) break;
      rowNumber++;
      if (isUnreadable(item)) {
        yield failed(rowNumber, undefined, { path: "", code: item.code, message: item.message });
        continue;
      }
      let key: string;
      try {
        key = compiled.rowKey(item);
      } catch (error) {
        if (!(error instanceof RowKeyError)) throw error;
        yield failed(rowNumber, undefined, {
          path: error.column ?? "",
          code: "row.key",
          message: error.message,
        });
        continue;
      }
      const evaluated = await compiled.evaluate(item, rowNumber, Math.floor(now() / 1000));
      if (evaluated.kind === "skipped") {
        yield { rowNumber, key, skipped: evaluated.reason, valid: true, errors: [], warnings: [] };
        continue;
      }
      const { event, datasetId, warnings } = evaluated;
      const errors = evaluated.kind === "invalid" ? evaluated.errors : [];
      yield {
        rowNumber,
        key,
        ...(datasetId && { datasetId }),
        ...(event && { event }),
        valid: errors.length === 0,
        errors,
        warnings,
      };
    }
  } finally {
    await source.close();
  }
}

function failed(rowNumber: number, key: string | undefined, error: Diagnostic): DryRunItem {
  return { rowNumber, ...(key && { key }), valid: false, errors: [error], warnings: [] };
}

/** Customer-information keys whose coverage `quality` reports; `ip+ua` counts both together. */
export const MATCH_KEYS = [
  "em",
  "ph",
  "external_id",
  "fn+ln",
  "fbp",
  "fbc",
  "ip+ua",
  "zp",
  "db",
  "madid",
] as const;
export type MatchKey = (typeof MATCH_KEYS)[number];

export function matchKeysOf(event: ServerEvent): MatchKey[] {
  const u = event.user_data ?? {};
  const has = (k: string) => u[k] !== undefined && u[k] !== "" && !(Array.isArray(u[k]) && u[k].length === 0);
  return MATCH_KEYS.filter((key) =>
    key
      .split("+")
      .every((part) => has(part === "ip" ? "client_ip_address" : part === "ua" ? "client_user_agent" : part)),
  );
}
