// The bench's CSV as a table of PostgreSQL, MariaDB/MySQL or SQLite, for bench/sync.ts and read.ts
// `--source postgres|mysql|sqlite`: the same rows, read through that kind's source instead of the
// file. Columns are TEXT and empty fields NULL, as a staging table loaded from such a file would be.
// A table is loaded once per CSV (its stamp's `at`) and reused while that file is.
import { DatabaseSync } from "node:sqlite";
import mysql from "mysql2/promise";
import pg from "pg";
import { openSource } from "../src/sources/index.ts";

export type TableKind = "postgres" | "mysql" | "sqlite";

export const TABLE_KINDS: readonly TableKind[] = ["postgres", "mysql", "sqlite"];

export const BENCH_POSTGRES_URL =
  process.env.CAPI_SYNC_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const BENCH_MYSQL_URL = process.env.CAPI_SYNC_BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

/** Rows per INSERT: 23 columns × 1,000 stays under both servers' 65,535 placeholders. */
const INSERT_ROWS = 1000;

export interface SourceTable {
  /** The source config bench/sync.ts hands to the connection. */
  readonly source: Record<string, unknown>;
}

/**
 * Loads `csv` (made at `at`, with `columns`) into a table of `kind` unless the table already holds
 * that file, and returns the source that reads it back.
 */
export async function ensureTable(
  kind: TableKind,
  csv: string,
  columns: readonly string[],
  at: number,
): Promise<SourceTable> {
  const table = `capi_sync_bench_${csv.replace(/^.*\/messy-(\d+)-seed(\d+)\.csv$/, "$1_seed$2")}`;
  if (!/^capi_sync_bench_\d+_seed\d+$/.test(table)) throw new Error(`unexpected bench file name: ${csv}`);
  const query = `SELECT * FROM ${table}`;
  const loader = LOADERS[kind];
  const target = kind === "sqlite" ? `${csv}.sqlite` : undefined;
  const db = await loader.open(target);
  try {
    await db.exec(
      `CREATE TABLE IF NOT EXISTS capi_sync_bench_loads (name VARCHAR(64) PRIMARY KEY, at BIGINT)`,
    );
    const loaded = await db.query(`SELECT at FROM capi_sync_bench_loads WHERE name = '${table}'`);
    if (Number(loaded[0]?.at) !== at) {
      const started = performance.now();
      await db.exec(`DROP TABLE IF EXISTS ${table}`);
      await db.exec(`CREATE TABLE ${table} (${columns.map((c) => `${c} TEXT`).join(", ")})`);
      await db.begin();
      let batch: unknown[][] = [];
      const flush = async () => {
        if (batch.length > 0) await db.insert(table, columns.length, batch);
        batch = [];
      };
      const file = openSource({ kind: "csv", path: csv }, { cwd: "/" });
      for await (const row of file.rows()) {
        const record = row as Record<string, unknown>;
        batch.push(columns.map((c) => (record[c] === "" ? null : record[c])));
        if (batch.length === INSERT_ROWS) await flush();
      }
      await flush();
      await db.exec(`DELETE FROM capi_sync_bench_loads WHERE name = '${table}'`);
      await db.exec(`INSERT INTO capi_sync_bench_loads VALUES ('${table}', ${at})`);
      await db.commit();
      console.error(`loaded ${table} into ${kind} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await db.close();
  }
  return {
    source:
      kind === "sqlite"
        ? { kind, path: target, query }
        : { kind, url: kind === "postgres" ? BENCH_POSTGRES_URL : BENCH_MYSQL_URL, query },
  };
}

interface LoadConnection {
  exec(sql: string): Promise<void>;
  query(sql: string): Promise<Array<Record<string, unknown>>>;
  /** Rows of `width` values each into `table`. */
  insert(table: string, width: number, rows: unknown[][]): Promise<void>;
  begin(): Promise<void>;
  commit(): Promise<void>;
  close(): Promise<void>;
}

interface Loader {
  open(file: string | undefined): Promise<LoadConnection>;
}

/** One multi-row INSERT: `$n` placeholders for pg, `?` for mysql2. */
function multiRowInsert(
  table: string,
  width: number,
  rows: number,
  placeholder: (n: number) => string,
): string {
  const tuples = Array.from(
    { length: rows },
    (_, r) => `(${Array.from({ length: width }, (_, c) => placeholder(r * width + c + 1)).join(", ")})`,
  );
  return `INSERT INTO ${table} VALUES ${tuples.join(", ")}`;
}

const LOADERS: Readonly<Record<TableKind, Loader>> = {
  postgres: {
    async open() {
      const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL });
      await client.connect();
      return {
        exec: async (sql) => void (await client.query(sql)),
        query: async (sql) => (await client.query(sql)).rows,
        insert: async (table, width, rows) =>
          void (await client.query(
            multiRowInsert(table, width, rows.length, (n) => `$${n}`),
            rows.flat(),
          )),
        begin: async () => void (await client.query("BEGIN")),
        commit: async () => void (await client.query("COMMIT")),
        close: () => client.end(),
      };
    },
  },
  mysql: {
    async open() {
      const connection = await mysql.createConnection({ uri: BENCH_MYSQL_URL });
      return {
        exec: async (sql) => void (await connection.query(sql)),
        query: async (sql) => (await connection.query(sql))[0] as Array<Record<string, unknown>>,
        insert: async (table, width, rows) =>
          void (await connection.query(
            multiRowInsert(table, width, rows.length, () => "?"),
            rows.flat(),
          )),
        begin: async () => void (await connection.query("START TRANSACTION")),
        commit: async () => void (await connection.query("COMMIT")),
        close: () => connection.end(),
      };
    },
  },
  sqlite: {
    async open(file) {
      const database = new DatabaseSync(file as string);
      return {
        exec: async (sql) => database.exec(sql),
        query: async (sql) => database.prepare(sql).all() as Array<Record<string, unknown>>,
        // One prepared row at a time: SQLite is in-process, and a statement of 23,000 numbered
        // placeholders made a 1M-row load take 12 minutes.
        insert: async (table, width, rows) => {
          const statement = database.prepare(
            `INSERT INTO ${table} VALUES (${new Array(width).fill("?").join(", ")})`,
          );
          for (const row of rows) statement.run(...(row as Array<string | null>));
        },
        begin: async () => database.exec("BEGIN"),
        commit: async () => database.exec("COMMIT"),
        close: async () => database.close(),
      };
    },
  },
};
