import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import { openSource, type Row, SourceError } from "../../src/sources/index.ts";
import { readAll, tempDir } from "./support.ts";

/** Runs SQL in a throwaway DuckDB (optionally a database file), e.g. to write Parquet fixtures. */
async function duckdb(sql: string, database = ":memory:"): Promise<void> {
  const instance = await DuckDBInstance.create(database);
  const connection = await instance.connect();
  try {
    await connection.run(sql);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const TYPED_ROWS = `
  SELECT * FROM (VALUES
    (1::BIGINT, 9007199254740993::BIGINT, 12.50::DECIMAL(10,2),
     123456789012345678.123::DECIMAL(38,3), 0.1::DOUBLE, TIMESTAMP '2024-01-02 03:04:05.123456',
     TIMESTAMPTZ '2024-01-02 03:04:05+02:00', DATE '2024-02-29', 'Zoë 🎉 ✓', true, [1::BIGINT, 2], {'k': 'v'}),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
  ) AS t(id, big, amount, wide, ratio, ts, ts_tz, day, name, ok, list, struct)`;

test("parquet: DuckDB values become plain JS by our value model", async (t) => {
  const dir = await tempDir(t);
  await duckdb(`COPY (${TYPED_ROWS}) TO '${join(dir, "typed.parquet")}' (FORMAT parquet)`);
  const { rows } = await readAll(openSource({ kind: "parquet", path: "typed.parquet" }, { cwd: dir }));
  assert.deepEqual(rows, [
    {
      id: 1,
      big: "9007199254740993",
      amount: "12.50",
      wide: "123456789012345678.123",
      ratio: 0.1,
      ts: new Date("2024-01-02T03:04:05.123Z"),
      ts_tz: new Date("2024-01-02T01:04:05Z"),
      day: "2024-02-29",
      name: "Zoë 🎉 ✓",
      ok: true,
      list: [1, 2],
      struct: { k: "v" },
    },
    {
      id: 2,
      big: null,
      amount: null,
      wide: null,
      ratio: null,
      ts: null,
      ts_tz: null,
      day: null,
      name: null,
      ok: null,
      list: null,
      struct: null,
    },
  ]);
});

test("duckdb: wide integers, times and intervals follow the same value model", async (t) => {
  const dir = await tempDir(t);
  const query = `SELECT 170141183460469231731687303715884105727::HUGEINT AS huge, 42::HUGEINT AS small,
    18446744073709551615::UBIGINT AS ubig, TIME '12:34:56' AS clock, INTERVAL 90 MINUTE AS span,
    'ab'::BLOB AS bytes, TIMESTAMP '2024-01-02 03:04:05' AS ts`;
  const { rows } = await readAll(openSource({ kind: "duckdb", query }, { cwd: dir }));
  assert.deepEqual(rows, [
    {
      huge: "170141183460469231731687303715884105727",
      small: 42,
      ubig: "18446744073709551615",
      clock: "12:34:56",
      span: "01:30:00",
      bytes: Buffer.from("ab"),
      ts: new Date("2024-01-02T03:04:05Z"),
    },
  ]);
});

test("parquet: a glob reads every file in path order; check() reports the columns", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "part"));
  for (const [name, first] of [
    ["c", 30],
    ["a", 10],
    ["b", 20],
  ] as const) {
    await duckdb(
      `COPY (SELECT ${first} + i AS n FROM range(3) r(i)) TO '${join(dir, "part", `${name}.parquet`)}' (FORMAT parquet)`,
    );
  }
  const source = openSource({ kind: "parquet", path: "part/*.parquet" }, { cwd: dir });
  const { rows } = await readAll(source);
  assert.deepEqual(
    rows.map((row) => row.n),
    [10, 11, 12, 20, 21, 22, 30, 31, 32],
  );
  assert.deepEqual(await source.check(), { columns: ["n"] });
});

test("parquet: check() names a missing file, and a file that is not Parquet", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "fake.parquet"), "id,email\n1,a@b.c\n");
  await assert.rejects(openSource({ kind: "parquet", path: "none.parquet" }, { cwd: dir }).check(), {
    name: "SourceError",
    code: "not_found",
    message: "parquet none.parquet: none.parquet: file not found",
  });
  const error = await openSource({ kind: "parquet", path: "fake.parquet" }, { cwd: dir })
    .check()
    .catch((e) => e);
  assert.ok(error instanceof SourceError);
  assert.match(error.message, /^parquet fake\.parquet: .*(?<!\/)fake\.parquet/);
  assert.doesNotMatch(error.message, /a@b\.c/);
});

test("duckdb: the query's relative paths resolve against the config directory", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "orders.csv"), "order_id,total\n7,19.99\n8,5.00\n");
  const source = openSource(
    {
      kind: "duckdb",
      query: "SELECT order_id, total::DECIMAL(10,2) AS total FROM read_csv('orders.csv') ORDER BY 1",
    },
    { cwd: dir },
  );
  assert.deepEqual((await readAll(source)).rows, [
    { order_id: 7, total: "19.99" },
    { order_id: 8, total: "5.00" },
  ]);
  assert.deepEqual(await source.check(), { columns: ["order_id", "total"] });
});

test("duckdb: a database file is opened read-only", async (t) => {
  const dir = await tempDir(t);
  await duckdb("CREATE TABLE purchases AS SELECT 1 AS id, 'EUR' AS currency", join(dir, "shop.duckdb"));
  const read = openSource(
    { kind: "duckdb", database: "shop.duckdb", query: "SELECT * FROM purchases" },
    { cwd: dir },
  );
  assert.deepEqual((await readAll(read)).rows, [{ id: 1, currency: "EUR" }]);
  const write = openSource(
    { kind: "duckdb", database: "shop.duckdb", query: "INSERT INTO purchases VALUES (2, 'USD')" },
    { cwd: dir },
  );
  await assert.rejects(readAll(write), (error) => {
    assert.ok(error instanceof SourceError);
    assert.match(error.message, /read-only/);
    return true;
  });
  assert.deepEqual((await readAll(read)).rows, [{ id: 1, currency: "EUR" }]);
});

test("duckdb: check() names a bad query, a missing table, a missing database and a repeated column", async (t) => {
  const dir = await tempDir(t);
  const cases: Array<[{ query: string; database?: string }, string, RegExp]> = [
    [{ query: "SELEC 1" }, "query", /^duckdb :memory:: Parser Error: syntax error at or near "SELEC"$/],
    [
      { query: "SELECT * FROM nowhere" },
      "not_found",
      /Catalog Error: Table with name nowhere does not exist/,
    ],
    [
      { query: "SELECT 1", database: "absent.duckdb" },
      "not_found",
      /^duckdb absent\.duckdb: .*absent\.duckdb/,
    ],
    [{ query: "SELECT 1 AS a, 2 AS a" }, "query", /returns column "a" twice/],
  ];
  for (const [config, code, message] of cases) {
    const error = await openSource({ kind: "duckdb", ...config }, { cwd: dir })
      .check()
      .catch((e) => e);
    assert.ok(error instanceof SourceError, config.query);
    assert.equal(error.code, code, config.query);
    assert.match(error.message, message);
  }
});

test("duckdb: a conversion error is reported without the offending value", async (t) => {
  const dir = await tempDir(t);
  const source = openSource(
    { kind: "duckdb", query: "SELECT 'jane@example.com'::INTEGER AS n" },
    { cwd: dir },
  );
  const error = await readAll(source).catch((e) => e);
  assert.ok(error instanceof SourceError);
  assert.equal(error.code, "data");
  assert.doesNotMatch(error.message, /jane|example/);
});

test("duckdb: break and abort stop a long stream promptly", async (t) => {
  const dir = await tempDir(t);
  const source = openSource(
    { kind: "duckdb", query: "SELECT i, repeat('x', 50) AS p FROM range(50000000) r(i)" },
    { cwd: dir },
  );
  let seen = 0;
  const started = Date.now();
  for await (const row of source.rows()) {
    assert.equal((row as Row).i, seen);
    if (++seen === 10) break;
  }
  const controller = new AbortController();
  seen = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of source.rows({ signal: controller.signal }))
        if (++seen === 3000) controller.abort();
    })(),
    { name: "AbortError" },
  );
  assert.equal(seen, 3000);
  assert.ok(Date.now() - started < 3000, "50M rows were not read");
});

test("duckdb: text columns read packed keep every value exactly, in column and row order", async () => {
  // Several text columns around typed ones: the source packs the text into one JSON list per row.
  const query = `
    SELECT * FROM (VALUES
      (2, 'quote " and \\ back', 12.50::DECIMAL(10,2), '', 'tab	and
newline', 9007199254740993::BIGINT, 'Zoë 🎉 e\u0301 ✓'),
      (1, NULL, NULL, 'x', NULL, NULL, chr(1) || chr(31) || '</script>')
    ) AS t(n, "first ""quoted"" name", amount, empty, multi, big, unicode)
    ORDER BY n -- a trailing comment`;
  const { rows } = await readAll(openSource({ kind: "duckdb", query }, { cwd: "/" }));
  assert.deepEqual(rows, [
    {
      n: 1,
      'first "quoted" name': null,
      amount: null,
      empty: "x",
      multi: null,
      big: null,
      unicode: "\u0001\u001f</script>",
    },
    {
      n: 2,
      'first "quoted" name': 'quote " and \\ back',
      amount: "12.50",
      empty: "",
      multi: "tab\tand\nnewline",
      big: "9007199254740993",
      unicode: "Zoë 🎉 e\u0301 ✓",
    },
  ]);
  assert.deepEqual(Object.keys(rows[0] as Row), [
    "n",
    'first "quoted" name',
    "amount",
    "empty",
    "multi",
    "big",
    "unicode",
  ]);
});

test("duckdb: a query repeating a column name is read as before, the last value winning", async () => {
  const { rows } = await readAll(
    openSource({ kind: "duckdb", query: "SELECT 'a' AS x, 'b' AS y, 'c' AS x" }, { cwd: "/" }),
  );
  assert.equal(rows.length, 1);
  assert.equal((rows[0] as Row).y, "b");
});

test("duckdb: a query of several statements is read as DuckDB streams it, the last one's rows", async () => {
  const query = "CREATE TABLE t AS SELECT 'x' AS a, 'y' AS b, 1 AS n; SELECT * FROM t";
  const { rows } = await readAll(openSource({ kind: "duckdb", query }, { cwd: "/" }));
  assert.deepEqual(rows, [{ a: "x", b: "y", n: 1 }]);
});
