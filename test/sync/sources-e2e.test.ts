// The same purchases through every kind of source, end to end into the emulator.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, it, type TestContext } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import mysql from "mysql2/promise";
import pg from "pg";
import { SAMPLE_COLUMNS, type SampleRow, samplePurchases, toCsv } from "../../src/cli/sample-data.ts";
import { connectionSchema } from "../../src/config/schema.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { openLedger } from "../../src/ledger/index.ts";
import { runConnection } from "../../src/sync/run.ts";
import { requireMysql, requirePostgres, uniqueName } from "../helpers/services.ts";

const DATASET = "31337";
const TOKEN = "sources-e2e-token";
const ROWS = 60;
const NOW = Math.floor(Date.now() / 1000);
const rows: SampleRow[] = [...samplePurchases(ROWS, NOW)];

/** Columns typed as a warehouse would hold them: integer times, decimal values. */
const SQL_TYPES: Partial<Record<(typeof SAMPLE_COLUMNS)[number], string>> = {
  event_time: "BIGINT",
  value: "DECIMAL(10,2)",
};

function sqlRows(): Array<Array<string | number | null>> {
  return rows.map((r) =>
    SAMPLE_COLUMNS.map((c) => {
      if (c === "event_time") return Number(r[c]);
      if (c === "value") return r[c] === "" ? null : Number(r[c]);
      return r[c] === "" ? null : r[c];
    }),
  );
}

function createTableSql(table: string, textType: string): string {
  return `CREATE TABLE ${table} (${SAMPLE_COLUMNS.map((c) => `${c} ${SQL_TYPES[c] ?? textType}`).join(", ")})`;
}

type SourceSetup = (dir: string, t: TestContext) => Promise<Record<string, unknown> | undefined>;

const KINDS: Array<[string, SourceSetup]> = [
  [
    "csv",
    async (dir) => {
      await writeFile(join(dir, "rows.csv"), toCsv(rows));
      return { kind: "csv", path: "rows.csv" };
    },
  ],
  [
    "ndjson",
    async (dir) => {
      await writeFile(join(dir, "rows.ndjson"), rows.map((r) => JSON.stringify(r)).join("\n"));
      return { kind: "ndjson", path: "*.ndjson" };
    },
  ],
  [
    "parquet",
    async (dir) => {
      await writeFile(join(dir, "rows.csv"), toCsv(rows));
      const db = await DuckDBInstance.create(":memory:");
      const connection = await db.connect();
      await connection.run(
        `COPY (SELECT * REPLACE (CAST(event_time AS BIGINT) AS event_time) FROM read_csv('${join(dir, "rows.csv")}', all_varchar = true)) TO '${join(dir, "rows.parquet")}' (FORMAT parquet)`,
      );
      connection.closeSync();
      return { kind: "parquet", path: "rows.parquet" };
    },
  ],
  [
    "duckdb",
    async (dir) => {
      await writeFile(join(dir, "rows.csv"), toCsv(rows));
      return {
        kind: "duckdb",
        query: "SELECT * FROM read_csv('rows.csv', all_varchar = true) WHERE order_id IS NOT NULL",
      };
    },
  ],
  [
    "sqlite",
    async (dir) => {
      const db = new DatabaseSync(join(dir, "shop.db"));
      db.exec(createTableSql("purchases", "TEXT"));
      const insert = db.prepare(`INSERT INTO purchases VALUES (${SAMPLE_COLUMNS.map(() => "?").join(", ")})`);
      for (const values of sqlRows()) insert.run(...values);
      db.close();
      return { kind: "sqlite", path: "shop.db", query: "SELECT * FROM purchases" };
    },
  ],
  [
    "postgres",
    async (_dir, t) => {
      const url = await requirePostgres(t);
      if (!url) return undefined;
      const table = uniqueName("e2e_purchases");
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(createTableSql(table, "TEXT"));
        for (const values of sqlRows()) {
          await client.query(
            `INSERT INTO ${table} VALUES (${values.map((_, i) => `$${i + 1}`).join(", ")})`,
            values,
          );
        }
      } finally {
        await client.end();
      }
      t.after(async () => {
        const cleanup = new pg.Client({ connectionString: url });
        await cleanup.connect();
        await cleanup.query(`DROP TABLE IF EXISTS ${table}`);
        await cleanup.end();
      });
      return { kind: "postgres", url, query: `SELECT * FROM ${table} ORDER BY order_id` };
    },
  ],
  [
    "mysql",
    async (_dir, t) => {
      const url = await requireMysql(t);
      if (!url) return undefined;
      const table = uniqueName("e2e_purchases");
      const connection = await mysql.createConnection(url);
      try {
        await connection.query(createTableSql(table, "VARCHAR(255)"));
        await connection.query(`INSERT INTO ${table} VALUES ?`, [sqlRows()]);
      } finally {
        await connection.end();
      }
      t.after(async () => {
        const cleanup = await mysql.createConnection(url);
        await cleanup.query(`DROP TABLE IF EXISTS ${table}`);
        await cleanup.end();
      });
      return { kind: "mysql", url, query: `SELECT * FROM ${table} ORDER BY order_id` };
    },
  ],
];

describe("every source kind, end to end", () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator({ port: 0, datasets: [{ id: DATASET, tokens: [TOKEN] }] });
  });
  after(() => emulator.close());

  for (const [kind, setup] of KINDS) {
    it(`${kind}: every row delivered once, with the same hashed customer data as every other kind`, async (t) => {
      const dir = await mkdtemp(join(tmpdir(), `capi-sync-${kind}-`));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const source = await setup(dir, t);
      if (!source) return;
      emulator.store.reset();
      const ledger = await openLedger(join(dir, "state.db"));
      t.after(() => ledger.close());
      const connection = connectionSchema.parse({
        source,
        key: "order_id",
        destination: { dataset_id: DATASET, access_token: TOKEN, graph_url: emulator.url },
      });
      const report = await runConnection({
        name: "purchases",
        connection,
        defaults: { default_country: "US" },
        baseDir: dir,
        ledger,
      });
      assert.equal(report.status, "completed", report.message);
      assert.equal(report.rows, ROWS);
      assert.equal(report.delivered, ROWS);
      const received = emulator.store
        .events(DATASET, { test: false })
        .map((e) => e.event as Record<string, unknown>);
      assert.equal(received.length, ROWS);
      // The same row yields the same event whatever the source: compare against the CSV baseline.
      const byId = new Map(received.map((e) => [e.event_id, e]));
      baseline ??= byId;
      for (const [id, event] of byId) {
        const expected = baseline.get(id);
        assert.ok(expected, `event ${id} exists for every kind`);
        assert.deepEqual(event.user_data, expected.user_data, `${kind}: user_data of ${id}`);
        assert.equal(event.event_time, expected.event_time);
        assert.equal(
          (event.custom_data as { value?: number }).value,
          (expected.custom_data as { value?: number }).value,
        );
      }
    });
  }
});

let baseline: Map<unknown, Record<string, unknown>> | undefined;
