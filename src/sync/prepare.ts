// One row → what to do with it: an event ready to send, or a local verdict that never reaches
// Meta. Mapping, normalization and validation, in that order; shared by sync, preview and quality.
import type { ConnectionConfig } from "../config/schema.ts";
import type { CompiledMapping, MapResult, Row } from "../mapping/index.ts";
import type { Diagnostic } from "../meta/diagnostics.ts";
import type { ServerEvent } from "../meta/event.ts";
import { type NormalizeOptions, normalizeUserData } from "../meta/normalize.ts";
import { validateEvent } from "../meta/validate.ts";
import { compileMappingAndKey, type MappingAndKey } from "./mapping-and-key.ts";

export type Evaluated =
  | {
      readonly kind: "event";
      readonly event: ServerEvent;
      readonly datasetId: string | undefined;
      readonly warnings: Diagnostic[];
    }
  | {
      readonly kind: "invalid";
      /** The event as far as it could be built (absent when mapping failed). */
      readonly event: ServerEvent | undefined;
      readonly datasetId: string | undefined;
      readonly errors: Diagnostic[];
      readonly warnings: Diagnostic[];
    }
  | { readonly kind: "skipped"; readonly reason: string };

export interface CompiledConnection {
  readonly mapping: CompiledMapping;
  /** The ledger key of a row; throws RowKeyError when a key column is missing. */
  readonly rowKey: (row: Row) => string;
  readonly normalize: NormalizeOptions;
  /** Judges one row against Meta's rules as of `nowSeconds`. */
  evaluate(row: Row, rowNumber: number, nowSeconds: number): Evaluated | Promise<Evaluated>;
}

export interface ConnectionDefaults {
  readonly default_country?: string | undefined;
  readonly hashed_only?: boolean | undefined;
}

/** Compiles once per run: a bad mapping or key is a config error before any row is read. */
export function compileConnection(
  name: string,
  connection: ConnectionConfig,
  defaults: ConnectionDefaults = {},
  /** Compiled already by the caller (the run compiles them first to fail early): not compiled twice. */
  { mapping, rowKey }: MappingAndKey = compileMappingAndKey(name, connection),
): CompiledConnection {
  const normalize: NormalizeOptions = {
    defaultCountry: connection.normalization?.default_country ?? defaults.default_country,
    hashedOnly: connection.normalization?.hashed_only ?? defaults.hashed_only,
  };
  const finish = (mapped: MapResult, nowSeconds: number): Evaluated => {
    if (mapped.ok === "skip") return { kind: "skipped", reason: mapped.reason };
    if (mapped.ok === false) {
      return { kind: "invalid", event: undefined, datasetId: undefined, errors: mapped.errors, warnings: [] };
    }
    const normalized = normalizeUserData(mapped.event.user_data, normalize);
    // The draft is this row's own: its raw customer fields are replaced in place, keeping key order.
    mapped.event.user_data = normalized.user_data;
    const event = mapped.event as ServerEvent;
    const verdict = validateEvent(event, { now: nowSeconds, userDataNormalized: true });
    const datasetId = mapped.datasetId ?? connection.destination.dataset_id;
    const warnings =
      normalized.warnings.length === 0 ? verdict.warnings : [...normalized.warnings, ...verdict.warnings];
    return verdict.errors.length === 0
      ? { kind: "event", event, datasetId, warnings }
      : { kind: "invalid", event, datasetId, errors: verdict.errors, warnings };
  };
  return {
    mapping,
    rowKey,
    normalize,
    evaluate(row, rowNumber, nowSeconds) {
      const mapped = mapping.map(row, rowNumber);
      return mapped instanceof Promise
        ? mapped.then((m) => finish(m, nowSeconds))
        : finish(mapped, nowSeconds);
    },
  };
}

/** Validation codes that mean "too late for Meta": the ledger records these rows as expired. */
const EXPIRY_CODES = new Set(["event_time.too_old"]);

/** The first error decides how an invalid row is recorded; the message says how many more there were. */
export function verdictOf(errors: readonly Diagnostic[]): {
  state: "rejected" | "expired";
  code: string;
  path: string;
  message: string;
} {
  const first = errors[0] ?? {
    code: "invalid",
    path: "",
    message: "the row could not be turned into an event",
  };
  return {
    state: EXPIRY_CODES.has(first.code) ? "expired" : "rejected",
    code: first.code,
    path: first.path,
    message: errors.length > 1 ? `${first.message} (and ${errors.length - 1} more)` : first.message,
  };
}
