import { resolve } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { rowsOfBlocks } from "./blocks.ts";
import { sourceLabel } from "./labels.ts";
import { openReads } from "./lifecycle.ts";
import { rowBuilder } from "./row-builder.ts";
import { assertDistinctColumns, DEFAULT_BATCH_SIZE, driverError } from "./sql.ts";
import type {
  BlockSource,
  OpenSourceOptions,
  Row,
  RowsOptions,
  SourceErrorCode,
  SqliteSourceConfig,
} from "./types.ts";
import { integerFromBigInt } from "./values.ts";

/** SQLite's primary result codes (node:sqlite's `errcode & 0xff`), to what the user should fix. */
const RESULT_CODES: Readonly<Record<number, SourceErrorCode>> = {
  1: "query", // SQLITE_ERROR: syntax, missing table or column
  3: "auth", // SQLITE_PERM
  8: "query", // SQLITE_READONLY: the query tried to write
  11: "read", // SQLITE_CORRUPT
  14: "not_found", // SQLITE_CANTOPEN
  23: "auth", // SQLITE_AUTH
  26: "read", // SQLITE_NOTADB
};

function classify(_code: string | undefined, message: string, errcode?: number): SourceErrorCode {
  if (/no such table/i.test(message)) return "not_found";
  return (errcode !== undefined && RESULT_CODES[errcode & 0xff]) || "read";
}

export function openSqlite(config: SqliteSourceConfig, { cwd }: OpenSourceOptions): BlockSource {
  const label = sourceLabel(config);
  const file = resolve(cwd, config.path);
  const reads = openReads();
  const fail = (error: unknown) =>
    driverError(label, error, (code, message) => classify(code, message, errcodeOf(error)), []);

  /** Opens read-only and compiles the query: proves the file, the tables and the columns. */
  function prepare(): { database: DatabaseSync; statement: StatementSync; columns: string[] } {
    let database: DatabaseSync | undefined;
    try {
      database = new DatabaseSync(file, { readOnly: true });
      const statement = database.prepare(config.query);
      // INTEGER is 64-bit: read it exactly, then apply our number-when-exact rule.
      statement.setReadBigInts(true);
      const columns = statement.columns().map((column) => column.name);
      return { database, statement, columns };
    } catch (error) {
      database?.close();
      throw fail(error);
    }
  }

  async function* batches(options?: RowsOptions): AsyncGenerator<Row[]> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const { database, statement, columns } = prepare();
    const toRow = rowMaker(statement, columns);
    const release = () => {
      if (database.isOpen) database.close();
    };
    const untrack = reads.track(release);
    try {
      // iterate() steps the statement one row per call: nothing is read beyond the block.
      const raws = statement.iterate() as Iterator<unknown>;
      while (true) {
        const block: Row[] = [];
        while (block.length < DEFAULT_BATCH_SIZE) {
          const next = raws.next();
          if (next.done) break;
          // Made into our row at once, so the driver's own object dies young.
          block.push(toRow(next.value));
        }
        if (block.length === 0) break;
        signal?.throwIfAborted();
        yield block;
      }
    } catch (error) {
      signal?.throwIfAborted();
      throw fail(error);
    } finally {
      untrack();
      release();
    }
  }

  return {
    kind: "sqlite",
    describe: () => label,
    batches,
    rows: (options) => rowsOfBlocks(batches(options), options?.signal),
    async check() {
      const { database, columns } = prepare();
      try {
        assertDistinctColumns(columns, label);
        return { columns };
      } finally {
        database.close();
      }
    },
    close: () => reads.releaseAll(),
  };
}

/**
 * How the statement's results become rows. node:sqlite makes each result object property by
 * property: reading the bench's 23 columns cost ~8.3 CPU-µs a row (bench:read). Asked for arrays
 * (Node ≥ 22.16), with our row builder making the object from a literal, it is ~4.
 */
function rowMaker(statement: StatementSync, columns: readonly string[]): (raw: unknown) => Row {
  const arrays = statement as StatementSync & { setReturnArrays?: (enabled: boolean) => void };
  if (typeof arrays.setReturnArrays !== "function") return (raw) => plainRow(raw as Record<string, unknown>);
  arrays.setReturnArrays(true);
  const build = rowBuilder(columns);
  return (raw) => {
    const values = raw as unknown[];
    for (let c = 0; c < values.length; c++) {
      const value = values[c];
      if (typeof value === "bigint") values[c] = integerFromBigInt(value);
    }
    return build(values, 0);
  };
}

function plainRow(raw: Record<string, unknown>): Row {
  const row: Row = {};
  for (const name in raw) {
    const value = raw[name];
    row[name] = typeof value === "bigint" ? integerFromBigInt(value) : value;
  }
  return row;
}

function errcodeOf(error: unknown): number | undefined {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === "number" ? errcode : undefined;
}
