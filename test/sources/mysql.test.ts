import assert from "node:assert/strict";
import { test } from "node:test";
import mysql from "mysql2/promise";
import { openSource, type Row, SourceError } from "../../src/sources/index.ts";
import { requireMysql, uniqueName } from "../helpers/services.ts";
import { eventually, readAll } from "./support.ts";

async function withConnection<T>(
  url: string,
  work: (connection: mysql.Connection) => Promise<T>,
): Promise<T> {
  const connection = await mysql.createConnection({ uri: url, multipleStatements: true });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

/** Server threads whose current statement carries `marker` (a comment in the source's query). */
async function threadsRunning(url: string, marker: string): Promise<number> {
  return withConnection(url, async (connection) => {
    const [rows] = await connection.query(
      "SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()",
      [`%${marker}%`],
    );
    return Number((rows as Array<{ n: number }>)[0]?.n);
  });
}

test("mysql: values follow the value model (BIGINT exact, DECIMAL as string, DATETIME as UTC Date, DATE as text)", async (t) => {
  const url = await requireMysql(t);
  if (!url) return;
  // A zone far from UTC: a timestamp read in the process's zone (drivers' default) would be off by hours.
  const zone = process.env.TZ;
  process.env.TZ = "Pacific/Chatham";
  t.after(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });
  const table = uniqueName("capi_src_types");
  await withConnection(url, (c) =>
    c.query(`
      CREATE TABLE ${table} (id INT PRIMARY KEY, small_big BIGINT, huge_big BIGINT UNSIGNED, amount DECIMAL(12,2),
        ratio DOUBLE, at DATETIME(3), stamp TIMESTAMP(0) NULL, day DATE, email VARCHAR(100), name VARCHAR(100),
        doc JSON) CHARACTER SET utf8mb4;
      SET time_zone = '+05:00';
      INSERT INTO ${table} VALUES
        (1, 42, 18446744073709551615, 1234567890.12, 0.25, '2024-01-02 03:04:05.678', '2024-01-02 08:00:00',
         '2024-02-29', 'a@b.c', 'Zoë 🎉 ✓', '{"k": [1, "v"]}'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`),
  );
  t.after(() => withConnection(url, (c) => c.query(`DROP TABLE ${table}`)));

  const source = openSource(
    { kind: "mysql", url, query: `SELECT * FROM ${table} ORDER BY id` },
    { cwd: "/" },
  );
  const { rows } = await readAll(source);
  assert.deepEqual(rows, [
    {
      id: 1,
      small_big: 42,
      huge_big: "18446744073709551615",
      amount: "1234567890.12",
      ratio: 0.25,
      at: new Date("2024-01-02T03:04:05.678Z"),
      stamp: new Date("2024-01-02T03:00:00Z"), // written at +05:00, read back in UTC
      day: "2024-02-29",
      email: "a@b.c",
      name: "Zoë 🎉 ✓",
      doc: { k: [1, "v"] },
    },
    {
      id: 2,
      small_big: null,
      huge_big: null,
      amount: null,
      ratio: null,
      at: null,
      stamp: null,
      day: null,
      email: null,
      name: null,
      doc: null,
    },
  ]);
  assert.deepEqual((await source.check()).columns, Object.keys(rows[0] as Row));
});

test("mysql: the query runs read-only", async (t) => {
  const url = await requireMysql(t);
  if (!url) return;
  const table = uniqueName("capi_src_ro");
  await withConnection(url, (c) =>
    c.query(`CREATE TABLE ${table} (id INT); INSERT INTO ${table} VALUES (1)`),
  );
  t.after(() => withConnection(url, (c) => c.query(`DROP TABLE ${table}`)));
  const source = openSource({ kind: "mysql", url, query: `DELETE FROM ${table}` }, { cwd: "/" });
  await assert.rejects(readAll(source), {
    name: "SourceError",
    code: "query",
    message: /READ ONLY transaction/i,
  });
  const [left] = await withConnection(url, (c) => c.query(`SELECT count(*) AS n FROM ${table}`));
  assert.equal(Number((left as Array<{ n: number }>)[0]?.n), 1);
});

test("mysql: check() names the problem, never the password", async (t) => {
  const url = await requireMysql(t);
  if (!url) return;
  const password = "pw-S3cret!word";
  const badPassword = new URL(url);
  badPassword.password = password;
  const unreachable = new URL(url);
  unreachable.port = "1";
  const missingDb = new URL(url);
  missingDb.pathname = `/${uniqueName("nodb")}`;
  const cases: Array<[string, string, string, RegExp]> = [
    [badPassword.toString(), "SELECT 1", "auth", /Access denied for user 'root'/],
    [unreachable.toString(), "SELECT 1", "unreachable", /ECONNREFUSED/],
    [missingDb.toString(), "SELECT 1", "not_found", /Unknown database 'nodb_\d+_\d+'/],
    [url, "SELEC 1", "query", /near 'SELEC 1' at line 1/],
    [url, "SELECT * FROM no_such_table_anywhere", "not_found", /no_such_table_anywhere' doesn't exist/],
    [url, "SELECT 1 AS a, 2 AS a", "query", /returns column "a" twice/],
  ];
  for (const [sourceUrl, query, code, problem] of cases) {
    const source = openSource({ kind: "mysql", url: sourceUrl, query }, { cwd: "/" });
    const error = await source.check().catch((e: unknown) => e);
    assert.ok(error instanceof SourceError, `${sourceUrl} ${query}`);
    assert.equal(error.code, code, `${query}: ${error.message}`);
    assert.match(error.message, problem);
    assert.ok(error.message.startsWith("mysql mysql://"), error.message);
    assert.doesNotMatch(error.message, /S3cret/);
    assert.doesNotMatch(source.describe(), /S3cret/);
  }
  assert.equal(
    openSource({ kind: "mysql", url: badPassword.toString(), query: "SELECT 1" }, { cwd: "/" }).describe(),
    `mysql mysql://root:********@${badPassword.host}/test`,
  );
});

test("mysql: break and abort stop the stream and free the server thread", async (t) => {
  const url = await requireMysql(t);
  if (!url) return;
  const marker = uniqueName("capi_src_stream");
  // A million rows (1000 × 1000: servers cap recursion near 1000) the server produces only as fast as
  // we read them.
  const query = `/* ${marker} */ WITH RECURSIVE d(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM d WHERE i < 999)
    SELECT a.i * 1000 + b.i AS i, REPEAT('x', 100) AS payload FROM d AS a CROSS JOIN d AS b`;
  const source = openSource({ kind: "mysql", url, query }, { cwd: "/" });

  let seen = 0;
  const started = Date.now();
  for await (const row of source.rows()) {
    assert.equal(typeof (row as Row).i, "number");
    if (++seen === 10) {
      assert.equal(await threadsRunning(url, marker), 1, "the server is still producing while we dawdle");
      break;
    }
  }
  // Promptly: a server left alone would go on producing the rest for a second or more.
  assert.ok(
    await eventually(async () => (await threadsRunning(url, marker)) === 0, 300),
    "query killed after break",
  );

  const controller = new AbortController();
  seen = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of source.rows({ signal: controller.signal }))
        if (++seen === 500) controller.abort();
    })(),
    { name: "AbortError" },
  );
  assert.equal(seen, 500);
  assert.ok(
    await eventually(async () => (await threadsRunning(url, marker)) === 0, 300),
    "query killed after abort",
  );

  // A consumer that walks away without finishing: close() kills the query and the connection.
  const abandoned = source.rows()[Symbol.asyncIterator]();
  await abandoned.next();
  assert.equal(await threadsRunning(url, marker), 1);
  await source.close();
  assert.ok(
    await eventually(async () => (await threadsRunning(url, marker)) === 0, 300),
    "query killed by close()",
  );
  assert.ok(Date.now() - started < 5000, "a million rows were not read");
});
