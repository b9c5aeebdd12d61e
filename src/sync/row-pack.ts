// A chunk's rows as they cross to the worker: column names once, then the values row after row.
// Cloned as objects, every row repeated every column name and the worker rebuilt each object key by
// key (postMessage was ~3 µs a row on the run's thread, its largest cost: bench/sync.ts profile).
// Rows are rebuilt on the worker slice by slice, when they are evaluated, so they die young there.
import type { Row } from "../mapping/index.ts";
// Directly, not through sources/index.ts: the worker needs this and none of the sources.
import { type RowBuilder, rowBuilder } from "../sources/row-builder.ts";
import type { HeldRow } from "./stage-protocol.ts";

export interface PackedRows {
  readonly kind: "packed";
  /** The column names of the chunk's first row, in its order. */
  readonly columns: string[];
  /** Row-major: `columns.length` values per row of that shape. */
  readonly values: unknown[];
  readonly rowNumbers: number[];
  readonly keys: string[];
  /** Rows of another shape (a JSON line with other keys), whole, by their index in the chunk. */
  readonly others: Map<number, Row>;
  /** Where each row's values start, when there are `others` (else row × columns). */
  readonly starts: number[] | undefined;
}

/** The rows of one chunk: as held on the run's thread (inline), or packed for a worker. */
export type ChunkRows = readonly HeldRow[] | PackedRows;

export function packRows(held: readonly HeldRow[]): PackedRows {
  const first = held[0]?.row;
  const columns = first === undefined ? [] : Object.keys(first);
  const width = columns.length;
  const values: unknown[] = [];
  const rowNumbers: number[] = new Array(held.length);
  const keys: string[] = new Array(held.length);
  const others = new Map<number, Row>();
  const starts: number[] = new Array(held.length);
  for (let i = 0; i < held.length; i++) {
    const { row, rowNumber, key } = held[i] as HeldRow;
    rowNumbers[i] = rowNumber;
    keys[i] = key;
    starts[i] = values.length;
    if (hasColumns(row, columns)) {
      for (let c = 0; c < width; c++) values.push(row[columns[c] as string]);
    } else others.set(i, row);
  }
  return {
    kind: "packed",
    columns,
    values,
    rowNumbers,
    keys,
    others,
    starts: others.size > 0 ? starts : undefined,
  };
}

/** True when the row's own keys are exactly `columns`, in that order. */
function hasColumns(row: Row, columns: readonly string[]): boolean {
  // Object.keys reads V8's enumeration cache; a for-in loop measured ~3x slower here.
  const keys = Object.keys(row);
  if (keys.length !== columns.length) return false;
  for (let i = 0; i < keys.length; i++) if (keys[i] !== columns[i]) return false;
  return true;
}

export function rowCount(rows: ChunkRows): number {
  return isPacked(rows) ? rows.keys.length : rows.length;
}

/** Row `index` of the chunk; a packed row is rebuilt (a new object each call). */
export function heldRowAt(rows: ChunkRows, index: number): HeldRow {
  if (!isPacked(rows)) return rows[index] as HeldRow;
  const rowNumber = rows.rowNumbers[index] as number;
  const key = rows.keys[index] as string;
  const other = rows.others.get(index);
  if (other !== undefined) return { row: other, rowNumber, key };
  const start = rows.starts === undefined ? index * rows.columns.length : (rows.starts[index] as number);
  return { row: builderFor(rows.columns)(rows.values, start), rowNumber, key };
}

/** Per chunk (its columns array), so the column set is looked up once a chunk, not once a row. */
const chunkBuilders = new WeakMap<readonly string[], RowBuilder>();

function builderFor(columns: readonly string[]): RowBuilder {
  let build = chunkBuilders.get(columns);
  if (build === undefined) {
    build = rowBuilder(columns);
    chunkBuilders.set(columns, build);
  }
  return build;
}

function isPacked(rows: ChunkRows): rows is PackedRows {
  return (rows as PackedRows).kind === "packed";
}
