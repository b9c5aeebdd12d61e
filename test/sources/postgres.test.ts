import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { openSource, type Row, SourceError } from "../../src/sources/index.ts";
import { requirePostgres, uniqueName } from "../helpers/services.ts";
import { eventually, readAll } from "./support.ts";

/** Runs `work` with a plain pg client on the test database. */
async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The URL with an application_name only this test uses, so its connections can be counted. */
function tagged(url: string, tag: string): string {
  const tagged = new URL(url);
  tagged.searchParams.set("application_name", tag);
  return tagged.toString();
}

async function connectionsNamed(url: string, tag: string): Promise<number> {
  return withClient(url, async (client) => {
    const { rows } = await client.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
      [tag],
    );
    return rows[0].n as number;
  });
}

test("postgres: values follow the value model (int8 exact, numeric as string, timestamps as Dates, date as text)", async (t) => {
  const url = await requirePostgres(t);
  if (!url) return;
  // A zone far from UTC: a timestamp read in the process's zone (drivers' default) would be off by hours.
  const zone = process.env.TZ;
  process.env.TZ = "Pacific/Chatham";
  t.after(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });
  const table = uniqueName("capi_src_types");
  await withClient(url, (client) =>
    client.query(`
      CREATE TABLE ${table} (id int PRIMARY KEY, small_big int8, huge_big int8, amount numeric(12,2), ratio float8,
        at timestamptz, naive timestamp, day date, email text, name text, ok bool, payload jsonb, tags text[]);
      INSERT INTO ${table} VALUES
        (1, 42, 9007199254740993, 1234567890.12, 0.25, '2024-01-02 03:04:05.678+02', '2024-01-02 03:04:05.678',
         '2024-02-29', 'a@b.c', 'Zoë 🎉 ✓', true, '{"k": [1, "v"]}', '{x,y}'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`),
  );
  t.after(() => withClient(url, (client) => client.query(`DROP TABLE ${table}`)));

  const source = openSource(
    { kind: "postgres", url, query: `SELECT * FROM ${table} ORDER BY id` },
    { cwd: "/" },
  );
  const { rows } = await readAll(source);
  assert.deepEqual(rows, [
    {
      id: 1,
      small_big: 42,
      huge_big: "9007199254740993",
      amount: "1234567890.12",
      ratio: 0.25,
      at: new Date("2024-01-02T01:04:05.678Z"),
      naive: new Date("2024-01-02T03:04:05.678Z"),
      day: "2024-02-29",
      email: "a@b.c",
      name: "Zoë 🎉 ✓",
      ok: true,
      payload: { k: [1, "v"] },
      tags: ["x", "y"],
    },
    {
      id: 2,
      small_big: null,
      huge_big: null,
      amount: null,
      ratio: null,
      at: null,
      naive: null,
      day: null,
      email: null,
      name: null,
      ok: null,
      payload: null,
      tags: null,
    },
  ]);
  assert.deepEqual((await source.check()).columns, Object.keys(rows[0] as Row));
});

test("postgres: small batches still deliver every row in order", async (t) => {
  const url = await requirePostgres(t);
  if (!url) return;
  const source = openSource(
    { kind: "postgres", url, query: "SELECT i FROM generate_series(1, 25) i ORDER BY i", batch_size: 4 },
    { cwd: "/" },
  );
  const { rows } = await readAll(source);
  assert.deepEqual(
    rows.map((row) => row.i),
    Array.from({ length: 25 }, (_, i) => i + 1),
  );
});

test("postgres: rows are produced as the consumer asks, not ahead (server-side cursor)", async (t) => {
  const url = await requirePostgres(t);
  if (!url) return;
  // clock_timestamp() is evaluated when the server produces each row.
  const source = openSource(
    {
      kind: "postgres",
      url,
      query: "SELECT i, clock_timestamp() AS made FROM generate_series(1, 100000) i",
      batch_size: 10,
    },
    { cwd: "/" },
  );
  const made: Date[] = [];
  for await (const row of source.rows()) {
    made.push((row as Row).made as Date);
    if (made.length === 1) await new Promise((resolve) => setTimeout(resolve, 300));
    if (made.length === 25) break;
  }
  const [first, tenth, eleventh] = [made[0], made[9], made[10]].map((date) => (date as Date).getTime()) as [
    number,
    number,
    number,
  ];
  assert.ok(tenth - first < 150, "the first batch was produced at once");
  assert.ok(eleventh - first >= 250, "the second batch waited for the slow consumer");
});

test("postgres: the query runs read-only", async (t) => {
  const url = await requirePostgres(t);
  if (!url) return;
  const table = uniqueName("capi_src_ro");
  await withClient(url, (client) => client.query(`CREATE TABLE ${table} AS SELECT 1 AS id`));
  t.after(() => withClient(url, (client) => client.query(`DROP TABLE ${table}`)));
  const source = openSource(
    { kind: "postgres", url, query: `DELETE FROM ${table} RETURNING id` },
    { cwd: "/" },
  );
  await assert.rejects(readAll(source), {
    name: "SourceError",
    code: "query",
    message: /read-only transaction/,
  });
  const left = await withClient(url, (client) => client.query(`SELECT count(*)::int AS n FROM ${table}`));
  assert.equal(left.rows[0].n, 1);
});

test("postgres: check() names the problem, never the password or a value", async (t) => {
  const url = await requirePostgres(t);
  if (!url) return;
  const password = "pw-S3cret!word";
  const badUser = new URL(url);
  badUser.username = uniqueName("nobody");
  badUser.password = password;
  const unreachable = new URL(badUser);
  unreachable.port = "1";
  const cases: Array<[string, string, string, RegExp]> = [
    [badUser.toString(), "SELECT 1", "auth", /role "nobody_\d+_\d+" does not exist/],
    [unreachable.toString(), "SELECT 1", "unreachable", /ECONNREFUSED/],
    [url, "SELEC 1", "query", /syntax error at or near "SELEC"/],
    [
      url,
      "SELECT * FROM no_such_table_anywhere",
      "not_found",
      /relation "no_such_table_anywhere" does not exist/,
    ],
    [url, "SELECT 1 AS a, 2 AS a", "query", /returns column "a" twice/],
    [url, "SELECT 'jane@example.com'::int AS n;", "data", /invalid input syntax for type integer/],
  ];
  for (const [sourceUrl, query, code, problem] of cases) {
    const source = openSource({ kind: "postgres", url: sourceUrl, query }, { cwd: "/" });
    const error = await source
      .check()
      .then(() => readAll(source))
      .catch((e: unknown) => e);
    assert.ok(error instanceof SourceError, query);
    assert.equal(error.code, code, `${query}: ${error.message}`);
    assert.match(error.message, problem);
    assert.ok(error.message.startsWith("postgres postgres://"), error.message);
    assert.doesNotMatch(error.message, /S3cret|jane|example\.com/);
    assert.doesNotMatch(source.describe(), /S3cret/);
  }
});

test("postgres: break and abort release the connection, and abort cancels a running query", async (t) => {
  const url = await requirePostgres(t);
  if (!url) return;
  const tag = uniqueName("capi_src_release");
  const taggedUrl = tagged(url, tag);
  const big = openSource(
    { kind: "postgres", url: taggedUrl, query: "SELECT i FROM generate_series(1, 1000000) i" },
    { cwd: "/" },
  );

  let seen = 0;
  for await (const _ of big.rows()) if (++seen === 10) break;
  assert.ok(
    await eventually(async () => (await connectionsNamed(url, tag)) === 0),
    "connection gone after break",
  );

  const controller = new AbortController();
  seen = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of big.rows({ signal: controller.signal })) if (++seen === 2500) controller.abort();
    })(),
    { name: "AbortError" },
  );
  assert.equal(seen, 2500);
  assert.ok(
    await eventually(async () => (await connectionsNamed(url, tag)) === 0),
    "connection gone after abort",
  );

  // A consumer that walks away without finishing: close() releases the connection.
  const abandoned = big.rows()[Symbol.asyncIterator]();
  await abandoned.next();
  assert.equal(await connectionsNamed(url, tag), 1);
  await big.close();
  assert.ok(
    await eventually(async () => (await connectionsNamed(url, tag)) === 0),
    "connection gone after close()",
  );

  // A backend busy with a query outlives its client's socket; abort must cancel it.
  const slow = openSource(
    { kind: "postgres", url: taggedUrl, query: "SELECT pg_sleep(30) AS nap" },
    { cwd: "/" },
  );
  const started = Date.now();
  await assert.rejects(
    (async () => {
      for await (const _ of slow.rows({ signal: AbortSignal.timeout(300) })) assert.fail("no row expected");
    })(),
    { name: "TimeoutError" },
  );
  assert.ok(Date.now() - started < 2000, "abort did not wait for the query");
  assert.ok(
    await eventually(async () => (await connectionsNamed(url, tag)) === 0),
    "backend gone: query cancelled",
  );
});
