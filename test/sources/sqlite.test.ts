import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync, StatementSync } from "node:sqlite";
import { type TestContext, test } from "node:test";
import { openSource, type Row, type Source, SourceError } from "../../src/sources/index.ts";
import { readAll, tempDir } from "./support.ts";

function createDatabase(file: string, sql: string): void {
  const database = new DatabaseSync(file);
  try {
    database.exec(sql);
  } finally {
    database.close();
  }
}

/** True when another connection can write right now, i.e. no reader holds the database. */
function writable(file: string): boolean {
  const database = new DatabaseSync(file, { timeout: 0 });
  try {
    database.exec("INSERT INTO probe VALUES (1)");
    return true;
  } catch (error) {
    if (/locked|busy/i.test(String(error))) return false;
    throw error;
  } finally {
    database.close();
  }
}

/** Node before 22.16 has no `setReturnArrays`: the source then reads result objects. */
async function withoutReturnArrays<T>(read: () => Promise<T>): Promise<T> {
  const own = Object.getOwnPropertyDescriptor(StatementSync.prototype, "setReturnArrays");
  Object.defineProperty(StatementSync.prototype, "setReturnArrays", { value: undefined, configurable: true });
  try {
    return await read();
  } finally {
    if (own) Object.defineProperty(StatementSync.prototype, "setReturnArrays", own);
  }
}

for (const node of ["this Node", "Node without setReturnArrays"]) {
  test(`sqlite: values follow the value model (integers exact, text timestamps stay text), ${node}`, async (t) => {
    const read = (source: Source) =>
      node === "this Node" ? readAll(source) : withoutReturnArrays(() => readAll(source));
    await valueModel(t, read);
  });
}

async function valueModel(
  t: TestContext,
  read: (source: Source) => ReturnType<typeof readAll>,
): Promise<void> {
  const dir = await tempDir(t);
  createDatabase(
    join(dir, "shop.db"),
    `CREATE TABLE orders (id INTEGER PRIMARY KEY, big INTEGER, total REAL, at TEXT, email TEXT, name TEXT, raw BLOB);
     INSERT INTO orders VALUES (1, 9007199254740993, 12.5, '2024-01-02T03:04:05Z', 'a@b.c', 'Zoë 🎉 ✓', x'6162'),
                               (2, 42, NULL, NULL, NULL, NULL, NULL);`,
  );
  const source = openSource(
    { kind: "sqlite", path: "shop.db", query: "SELECT * FROM orders ORDER BY id" },
    { cwd: dir },
  );
  const { rows } = await read(source);
  assert.deepEqual(rows, [
    {
      id: 1,
      big: "9007199254740993",
      total: 12.5,
      at: "2024-01-02T03:04:05Z",
      email: "a@b.c",
      name: "Zoë 🎉 ✓",
      raw: new Uint8Array([0x61, 0x62]),
    },
    { id: 2, big: 42, total: null, at: null, email: null, name: null, raw: null },
  ]);
  assert.deepEqual(await source.check(), { columns: ["id", "big", "total", "at", "email", "name", "raw"] });
  assert.equal(Object.getPrototypeOf(rows[0]), Object.prototype, "plain objects, as every source's rows");
}

test("sqlite: the database is opened read-only", async (t) => {
  const dir = await tempDir(t);
  createDatabase(join(dir, "shop.db"), "CREATE TABLE orders (id INTEGER); INSERT INTO orders VALUES (1);");
  const source = openSource(
    { kind: "sqlite", path: "shop.db", query: "DELETE FROM orders RETURNING id" },
    { cwd: dir },
  );
  await assert.rejects(readAll(source), { name: "SourceError", code: "query", message: /readonly/ });
  const check = openSource(
    { kind: "sqlite", path: "shop.db", query: "SELECT count(*) AS n FROM orders" },
    { cwd: dir },
  );
  assert.deepEqual((await readAll(check)).rows, [{ n: 1 }]);
});

test("sqlite: check() names a missing file, a bad query, a missing table and a repeated column", async (t) => {
  const dir = await tempDir(t);
  createDatabase(join(dir, "shop.db"), "CREATE TABLE orders (id INTEGER);");
  const cases: Array<[string, string, string, RegExp]> = [
    ["absent.db", "SELECT 1", "not_found", /^sqlite absent\.db: unable to open database file$/],
    ["shop.db", "SELEC 1", "query", /near "SELEC": syntax error/],
    ["shop.db", "SELECT * FROM nowhere", "not_found", /no such table: nowhere/],
    ["shop.db", "SELECT id, id FROM orders", "query", /returns column "id" twice/],
  ];
  for (const [path, query, code, message] of cases) {
    const error = await openSource({ kind: "sqlite", path, query }, { cwd: dir })
      .check()
      .catch((e: unknown) => e);
    assert.ok(error instanceof SourceError, query);
    assert.equal(error.code, code, `${query}: ${error.message}`);
    assert.match(error.message, message);
  }
});

test("sqlite: break and abort end the read and release the database", async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, "big.db");
  createDatabase(
    file,
    `CREATE TABLE probe (x INTEGER);
     CREATE TABLE numbers AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200000) SELECT x FROM c;`,
  );
  const query = "SELECT x FROM numbers ORDER BY x";
  const source = openSource({ kind: "sqlite", path: "big.db", query }, { cwd: dir });

  let seen = 0;
  for await (const row of source.rows()) {
    assert.equal((row as Row).x, ++seen);
    if (seen === 10) {
      assert.equal(writable(file), false, "a reader mid-query holds the database");
      break;
    }
  }
  assert.equal(writable(file), true, "released after break");

  const controller = new AbortController();
  seen = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of source.rows({ signal: controller.signal }))
        if (++seen === 100) controller.abort();
    })(),
    { name: "AbortError" },
  );
  assert.equal(seen, 100);
  assert.equal(writable(file), true, "released after abort");

  const abandoned = source.rows()[Symbol.asyncIterator]();
  await abandoned.next();
  assert.equal(writable(file), false);
  await source.close();
  assert.equal(writable(file), true, "released by close()");
});
