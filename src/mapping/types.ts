import type { Diagnostic } from "../meta/diagnostics.ts";
import type { ServerEvent, UserData } from "../meta/event.ts";

/** One row from a source: column name → value; nested objects allowed (JSON columns, Segment). */
export type Row = Readonly<Record<string, unknown>>;

/**
 * A ServerEvent as mapped from one row, before src/meta normalizes, hashes and validates it:
 * user_data holds raw customer fields (or values hashed upstream), and fields Meta requires may
 * still be missing — validation names them.
 */
export type DraftEvent = Partial<ServerEvent> & { user_data: UserData };

export type MapResult =
  | { readonly ok: true; readonly event: DraftEvent; readonly datasetId?: string }
  | { readonly ok: false; readonly errors: Diagnostic[] }
  /** The row describes no conversion (a Segment identify call); not an error. */
  | { readonly ok: "skip"; readonly reason: string };

/** `mapping:` in the config file. */
export interface MappingConfig {
  /** Defaults to `columns`. */
  readonly preset?: string;
  /**
   * Meta field path → column path or JSONata expression; numbers and booleans are constants;
   * null or "" removes a field the preset maps.
   */
  readonly fields?: Readonly<Record<string, string | number | boolean | null>>;
}

export interface MappingContext {
  /** Connection name: part of every derived event_id. */
  readonly connection: string;
  /** Key columns of the source: identify a row across runs (ledger, derived event_id). */
  readonly key: readonly string[];
}

/** Where a preset field's value comes from; every kind carries a description for docs and `init`. */
export type FieldSource =
  | {
      /** Column paths (JSONata names, dotted); the first present wins, except for customer keys
       * that take a list, which keep every present value. */
      readonly from: string | readonly string[];
      readonly description: string;
    }
  | {
      /** A computation over the row that a path cannot express, in plain code for speed. */
      readonly derive: (row: Row) => unknown;
      /** The columns `derive` reads, for documentation. */
      readonly reads: readonly string[];
      readonly description: string;
    }
  | { readonly expression: string; readonly description: string }
  | { readonly constant: string | number | boolean; readonly description: string };

export interface Preset {
  readonly name: string;
  readonly description: string;
  /** Meta field path → source. */
  readonly fields: Readonly<Record<string, FieldSource>>;
  /** The reason a row carries no conversion, or undefined. */
  readonly skip?: (row: Row) => string | undefined;
}

export interface CompiledField {
  readonly path: string;
  /** How the value is found, for `capi-sync` to show: paths, an expression, a constant. */
  readonly source: string;
}

export interface CompiledMapping {
  readonly preset: string;
  readonly fields: readonly CompiledField[];
  /** True when some field needs JSONata, whose evaluation is asynchronous. */
  readonly async: boolean;
  /** Maps one row; synchronous unless `async`. `rowNumber` only appears in error messages. */
  map(row: Row, rowNumber: number): MapResult | Promise<MapResult>;
}
