// Every kind that reads in blocks hands them over through `batches()`, also when its driver is loaded
// lazily: the same rows as `rows()`, in order, no block larger than the kind reads at once, and an
// abort between blocks stops the next one.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type TestContext, test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import mysql from "mysql2/promise";
import { isUnreadable, openSource, type Row, type SourceConfig } from "../../src/sources/index.ts";
import { requireMysql, requirePostgres, uniqueName } from "../helpers/services.ts";
import { tempDir } from "./support.ts";

const ROWS = 5000;
/** `id` from 1 to ROWS, with a text column, ordered. */
const ids = Array.from({ length: ROWS }, (_, i) => i + 1);

interface BlockKind {
  readonly kind: SourceConfig["kind"];
  /** The most rows one block may hold. */
  readonly largest: number;
  /** A source over the ROWS rows, or undefined when its server is missing (skipped outside CI). */
  source(t: TestContext): Promise<SourceConfig | undefined>;
  readonly cwd?: (t: TestContext) => Promise<string>;
}

const KINDS: readonly BlockKind[] = [
  {
    kind: "csv",
    // A 64 KiB read holds at most 1,337 of these lines (49 bytes or more), and a line cut between reads.
    largest: 1338,
    async source(t) {
      const path = join(await tempDir(t), "rows.csv");
      const pad = "x".repeat(40);
      await writeFile(path, `id,name\n${ids.map((id) => `${id},row ${id} ${pad}`).join("\n")}\n`);
      return { kind: "csv", path };
    },
  },
  {
    kind: "postgres",
    largest: 700,
    async source(t) {
      const url = await requirePostgres(t);
      if (!url) return undefined;
      const query = `SELECT i AS id, 'row ' || i AS name FROM generate_series(1, ${ROWS}) i ORDER BY i`;
      return { kind: "postgres", url, query, batch_size: 700 };
    },
  },
  {
    kind: "mysql",
    largest: 256,
    async source(t) {
      const url = await requireMysql(t);
      if (!url) return undefined;
      const table = uniqueName("blocks");
      const connection = await mysql.createConnection({ uri: url });
      try {
        await connection.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, name TEXT)`);
        await connection.query(`INSERT INTO ${table} VALUES ?`, [ids.map((id) => [id, `row ${id}`])]);
      } finally {
        await connection.end();
      }
      t.after(async () => {
        const cleanup = await mysql.createConnection({ uri: url });
        await cleanup.query(`DROP TABLE ${table}`);
        await cleanup.end();
      });
      return { kind: "mysql", url, query: `SELECT id, name FROM ${table} ORDER BY id` };
    },
  },
  {
    kind: "sqlite",
    largest: 1000,
    async source(t) {
      const path = join(await tempDir(t), "rows.db");
      const database = new DatabaseSync(path);
      database.exec(
        `CREATE TABLE numbers AS WITH RECURSIVE c(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM c LIMIT ${ROWS})
         SELECT id, 'row ' || id AS name FROM c`,
      );
      database.close();
      return { kind: "sqlite", path, query: "SELECT id, name FROM numbers ORDER BY id" };
    },
  },
  {
    kind: "duckdb",
    largest: 2048,
    async source() {
      const query = `SELECT (i + 1)::INTEGER AS id, 'row ' || (i + 1) AS name FROM range(${ROWS}) r(i) ORDER BY i`;
      return { kind: "duckdb", query };
    },
  },
  {
    kind: "parquet",
    largest: 2048,
    async source(t) {
      const path = join(await tempDir(t), "rows.parquet");
      const instance = await DuckDBInstance.create(":memory:");
      const connection = await instance.connect();
      await connection.run(
        `COPY (SELECT (i + 1)::INTEGER AS id, 'row ' || (i + 1) AS name FROM range(${ROWS}) r(i) ORDER BY i)
         TO '${path}' (FORMAT parquet)`,
      );
      connection.closeSync();
      instance.closeSync();
      return { kind: "parquet", path };
    },
  },
];

function idOf(item: unknown): number {
  assert.ok(!isUnreadable(item as Row), "every row is readable");
  return Number((item as Row).id);
}

for (const { kind, largest, source: sourceFor } of KINDS) {
  test(`${kind}: batches() holds the rows of rows(), in blocks no larger than one read`, async (t) => {
    const config = await sourceFor(t);
    if (!config) return;
    const source = openSource(config, { cwd: "/" });
    t.after(() => source.close());
    assert.ok(source.batches, "opened through openSource, it reads in blocks");
    const sizes: number[] = [];
    const fromBlocks: number[] = [];
    for await (const block of source.batches()) {
      sizes.push(block.length);
      for (const item of block) fromBlocks.push(idOf(item));
    }
    const fromRows: number[] = [];
    for await (const item of source.rows()) fromRows.push(idOf(item));
    assert.deepEqual(fromBlocks, ids);
    assert.deepEqual(fromRows, ids);
    assert.ok(sizes.length > 1, `more than one block (${sizes.length})`);
    assert.ok(Math.max(...sizes) <= largest, `blocks of at most ${largest} rows: ${Math.max(...sizes)}`);
    assert.ok(Math.min(...sizes) > 0, "no empty block");
  });

  test(`${kind}: an abort between blocks stops the next one`, async (t) => {
    const config = await sourceFor(t);
    if (!config) return;
    const source = openSource(config, { cwd: "/" });
    t.after(() => source.close());
    const controller = new AbortController();
    assert.ok(source.batches);
    const blocks = source.batches({ signal: controller.signal })[Symbol.asyncIterator]();
    const first = await blocks.next();
    assert.equal(first.done, false);
    assert.equal(idOf(first.value?.[0]), 1);
    controller.abort(new Error("stopped by the test"));
    await assert.rejects(blocks.next(), /stopped by the test/);
  });
}
