// A row's identity across runs (the ledger's key) and the event_id derived from it when the
// mapping gives none: Meta deduplicates on (event_id, event_name), so a retried or re-read row must
// produce the same id, and two different rows or events never the same.
import jsonata from "jsonata";
import { sha256 } from "../meta/hash.ts";
import { compilePath, type Getter, plainPathSteps } from "./path.ts";
import type { Row } from "./types.ts";

/** A key column is missing, empty or not a scalar. The message names the column, never a value. */
export class RowKeyError extends Error {
  readonly column: string | undefined;
  constructor(column: string | undefined, reason: string) {
    super(column === undefined ? reason : `key column ${column} ${reason}`);
    this.name = "RowKeyError";
    this.column = column;
  }
}

const getters = new Map<string, Getter>();

/** A key column is a column name; a name with dots also reaches into nested objects. */
function keyGetter(column: string): Getter {
  let getter = getters.get(column);
  if (!getter) {
    const nested = column.includes(".") ? pathGetter(column) : undefined;
    getter = (row) => {
      const record = row as Record<string, unknown>;
      return Object.hasOwn(record, column) ? record[column] : nested?.(row);
    };
    getters.set(column, getter);
  }
  return getter;
}

function pathGetter(column: string): Getter | undefined {
  try {
    const steps = plainPathSteps(jsonata(column).ast());
    return steps ? compilePath(steps) : undefined;
  } catch {
    return undefined;
  }
}

/** One key value as text, so that drivers returning 42, 42n or "42" give the same key. */
function keyText(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return value === "" ? undefined : value;
    case "number":
      return Number.isFinite(value) ? String(value) : undefined;
    case "bigint":
    case "boolean":
      return String(value);
    default:
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
      return undefined;
  }
}

/**
 * Compiles the serialization of a row's key columns (a JSON array of their values as text), used
 * by the ledger; the function throws RowKeyError when a key column is missing, empty or not a
 * scalar.
 */
export function compileRowKey(keyColumns: readonly string[]): (row: Row) => string {
  if (keyColumns.length === 0) throw new RowKeyError(undefined, "no key columns are configured");
  const columns = keyColumns.map((column) => ({ column, get: keyGetter(column) }));
  return (row) => {
    const texts: string[] = [];
    for (const { column, get } of columns) {
      const value = get(row);
      if (value === undefined || value === null || value === "") {
        throw new RowKeyError(column, "is missing or empty");
      }
      const textValue = keyText(value);
      if (textValue === undefined) throw new RowKeyError(column, "is not a scalar value");
      texts.push(textValue);
    }
    return JSON.stringify(texts);
  };
}

/** compileRowKey for one row: the stable serialization of its key columns. */
export function rowKey(row: Row, keyColumns: readonly string[]): string {
  return compileRowKey(keyColumns)(row);
}

/**
 * The event_id for a row whose mapping gives none: 32 hex digits of SHA-256 over the connection,
 * the row key (rowKey's output, or the key values themselves) and the event name.
 */
export function deriveEventId(
  connection: string,
  keyValues: string | readonly unknown[],
  eventName: string,
): string {
  const key = typeof keyValues === "string" ? keyValues : JSON.stringify(keyValues.map(canonicalKeyValue));
  return sha256(JSON.stringify([connection, key, eventName])).slice(0, 32);
}

function canonicalKeyValue(value: unknown, index: number): string {
  const textValue = keyText(value);
  if (textValue === undefined) throw new RowKeyError(`#${index + 1}`, "is not a scalar value");
  return textValue;
}
