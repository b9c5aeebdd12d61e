import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { isUnreadable, openSource, SourceError, UnreadableRow } from "../../src/sources/index.ts";
import { eventually, fifoFeeder, openFileDescriptors, readAll, tempDir } from "./support.ts";

test("ndjson: each line is one object with JSON's types, integers beyond 2^53 as exact strings; blank lines and BOM ignored", async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    join(dir, "events.ndjson"),
    [
      '\uFEFF{"id":1,"value":12.5,"big":9007199254740993,"safe":9007199254740991,"float":1e21,"at":"2024-05-01T10:00:00Z","email":null,"name":"Zoë 🎉"}',
      "",
      '{"id":2,"nested":{"em":["a@b.c"]},"ok":true}\r',
      "   ",
      '{"id":3}',
      '{"id":4,"items":[{"sku":12345678901234567890,"n":2}],"deep":{"a":[[-98765432109876543210]]}}',
    ].join("\n"),
  );
  const { rows, unreadable } = await readAll(
    openSource({ kind: "ndjson", path: "events.ndjson" }, { cwd: dir }),
  );
  assert.deepEqual(unreadable, []);
  assert.deepEqual(rows, [
    {
      id: 1,
      value: 12.5,
      big: "9007199254740993",
      safe: 9007199254740991,
      float: 1e21,
      at: "2024-05-01T10:00:00Z",
      email: null,
      name: "Zoë 🎉",
    },
    { id: 2, nested: { em: ["a@b.c"] }, ok: true },
    { id: 3 },
    { id: 4, items: [{ sku: "12345678901234567890", n: 2 }], deep: { a: [["-98765432109876543210"]] } },
  ]);
});

test("ndjson: a malformed line is reported with file and line number, never its content, and reading goes on", async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    join(dir, "events.ndjson"),
    '{"id":1}\n{"id":2,"email":"secret@example.com"\n\n[1,2]\n"just a string"\n{"id":6}\n',
  );
  const items = [];
  for await (const item of openSource({ kind: "ndjson", path: "events.ndjson" }, { cwd: dir }).rows())
    items.push(item);
  assert.deepEqual(
    items.map((item) => (isUnreadable(item) ? `${item.code}@${item.line}` : item.id)),
    [1, "ndjson.malformed_json@2", "ndjson.not_an_object@4", "ndjson.not_an_object@5", 6],
  );
  const malformed = items[1];
  assert.ok(malformed instanceof UnreadableRow);
  assert.equal(malformed.file, "events.ndjson");
  assert.match(malformed.message, /^events\.ndjson line 2: line is not valid JSON \(at column \d+\)$/);
  assert.doesNotMatch(JSON.stringify(items.filter(isUnreadable)) + malformed.message, /secret|example/);
});

test("ndjson: a glob reads files in path order and names each file in its reports", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "in"));
  await writeFile(join(dir, "in", "b.ndjson"), '{"n":"b1"}\nnot json\n');
  await writeFile(join(dir, "in", "a.ndjson"), '{"n":"a1"}\n{"n":"a2"}\n');
  await writeFile(join(dir, "in", "c.ndjson"), '{"n":"c1"}\n');
  const items = [];
  for await (const item of openSource({ kind: "ndjson", path: "in/*.ndjson" }, { cwd: dir }).rows())
    items.push(item);
  assert.deepEqual(
    items.map((item) => (isUnreadable(item) ? item.message.replace(/ \(.*\)$/, "") : item.n)),
    ["a1", "a2", "b1", "in/b.ndjson line 2: line is not valid JSON", "c1"],
  );
});

test("ndjson: check() proves the files open; a missing file is named", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "ok.ndjson"), '{"a":1}\n');
  assert.deepEqual(await openSource({ kind: "ndjson", path: "ok.ndjson" }, { cwd: dir }).check(), {});
  await assert.rejects(openSource({ kind: "ndjson", path: "gone.ndjson" }, { cwd: dir }).check(), (error) => {
    assert.ok(error instanceof SourceError);
    assert.equal(error.code, "not_found");
    assert.equal(error.message, "ndjson gone.ndjson: gone.ndjson: file not found");
    return true;
  });
});

test("ndjson: break and abort stop promptly and close the file", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "big.ndjson"), `${'{"id":1,"p":"xxxxxxxxxxxxxxxxxxxx"}\n'.repeat(50_000)}`);
  const source = openSource({ kind: "ndjson", path: "big.ndjson" }, { cwd: dir });
  const baseline = await openFileDescriptors();
  let seen = 0;
  for await (const _ of source.rows()) if (++seen === 5) break;
  assert.ok(
    await eventually(async () => (await openFileDescriptors()) <= baseline),
    "file closed after break",
  );

  const controller = new AbortController();
  seen = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of source.rows({ signal: controller.signal })) if (++seen === 50) controller.abort();
    })(),
    { name: "AbortError" },
  );
  assert.equal(seen, 50);
  assert.ok(
    await eventually(async () => (await openFileDescriptors()) <= baseline),
    "file closed after abort",
  );
});

test("ndjson: a slow consumer holds the writer back (back-pressure through a FIFO)", async (t) => {
  const dir = await tempDir(t);
  const feeder = fifoFeeder(join(dir, "feed.ndjson"), "", `{"p":"${"y".repeat(90)}"}\n`.repeat(1000));
  let seen = 0;
  for await (const _ of openSource({ kind: "ndjson", path: "feed.ndjson" }, { cwd: dir }).rows()) {
    if (++seen === 10) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      break;
    }
  }
  const acceptedWhileSlow = feeder.accepted();
  await feeder.stop();
  assert.ok(
    acceptedWhileSlow < 4 * 1024 * 1024,
    `writer got ${acceptedWhileSlow} bytes ahead of a reader at row 10`,
  );
});
