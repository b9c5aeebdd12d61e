import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { serialize } from "node:v8";
import { isUnreadable, openSource, SourceError } from "../../src/sources/index.ts";
import { eventually, fifoFeeder, openFileDescriptors, readAll, tempDir } from "./support.ts";

test("csv: header row gives the keys, values stay strings, unquoted empty is null, quoted empty is ''", async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    join(dir, "orders.csv"),
    '\uFEFFid,email,value,note\r\n1,ZOË@Example.com,12.50,""\n2,,0012,"multi\nline, with comma"\r\n3,x@y.z,7,5" screen\n',
  );
  const { rows, unreadable } = await readAll(openSource({ kind: "csv", path: "orders.csv" }, { cwd: dir }));
  assert.deepEqual(unreadable, []);
  assert.deepEqual(rows, [
    { id: "1", email: "ZOË@Example.com", value: "12.50", note: "" },
    { id: "2", email: null, value: "0012", note: "multi\nline, with comma" },
    { id: "3", email: "x@y.z", value: "7", note: '5" screen' },
  ]);
});

test("csv: delimiter and encoding options; a UTF-16 byte-order mark is recognised", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "latin1.csv"), Buffer.from("name;city\nJosé;Zürich\n", "latin1"));
  await writeFile(
    join(dir, "utf16.csv"),
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("name;city\nRenée;Köln\n", "utf16le")]),
  );
  const latin1 = await readAll(
    openSource({ kind: "csv", path: "latin1.csv", delimiter: ";", encoding: "latin1" }, { cwd: dir }),
  );
  assert.deepEqual(latin1.rows, [{ name: "José", city: "Zürich" }]);
  const utf16 = await readAll(openSource({ kind: "csv", path: "utf16.csv", delimiter: ";" }, { cwd: dir }));
  assert.deepEqual(utf16.rows, [{ name: "Renée", city: "Köln" }]);
});

test("csv: values of ASCII lines stay one-byte strings beside lines of other characters, across reads", async (t) => {
  const dir = await tempDir(t);
  // ~200 KiB, so the file is read in several chunks; a multi-byte line every seventh row, and a
  // quoted value spanning two lines that holds one.
  const names = ["Ann", "Zoë", "김민준", "Bob", "José"];
  const expected: Record<string, string>[] = [];
  let text = "id,name,note\n";
  for (let i = 0; i < 4000; i++) {
    const name = i % 7 === 3 ? (names[i % names.length] as string) : `plain-${i}`;
    const note = i === 2500 ? "first line\nsecond, with é" : `note number ${i} padded to be long enough`;
    expected.push({ id: String(i), name, note });
    text += `${i},${name},${note.includes("\n") ? `"${note}"` : note}\n`;
  }
  await writeFile(join(dir, "mixed.csv"), text);
  const { rows, unreadable } = await readAll(openSource({ kind: "csv", path: "mixed.csv" }, { cwd: dir }));
  assert.deepEqual(unreadable, []);
  assert.deepEqual(rows, expected);
  // V8's serializer tags a one-byte string '"' and a two-byte one 'c' (after its 2-byte header).
  const oneByte = (value: unknown) => serialize(value)[2] === 0x22;
  for (const row of rows as Record<string, string>[]) {
    const ascii = Object.values(row).every((value) => Buffer.byteLength(value) === value.length);
    if (ascii) assert.ok(Object.values(row).every(oneByte), `row ${row.id} has a two-byte value`);
  }
  assert.equal(oneByte("김"), false);
});

test("csv: a glob reads every matching file once, in path order, directories skipped", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "exports", "2024-02.csv"), { recursive: true }); // a directory that matches
  for (const [name, id] of [
    ["2024-03.csv", "c"],
    ["2024-01.csv", "a"],
    ["2024-02b.csv", "b"],
  ]) {
    await writeFile(join(dir, "exports", name as string), `id\n${id}1\n${id}2\n`);
  }
  await writeFile(join(dir, "exports", "notes.txt"), "id\nz\n");
  const source = openSource({ kind: "csv", path: "exports/*.csv" }, { cwd: dir });
  const { rows } = await readAll(source);
  assert.deepEqual(
    rows.map((row) => row.id),
    ["a1", "a2", "b1", "b2", "c1", "c2"],
  );
  assert.deepEqual(await source.check(), { columns: ["id"] });
});

test("csv: a record with the wrong number of fields is reported by file and line, and reading goes on", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "a.csv"), "id,email\n1,a@x.io\n2,secret@x.io,extra\n3,c@x.io\n4\n5,e@x.io\n");
  const items = [];
  for await (const item of openSource({ kind: "csv", path: "a.csv" }, { cwd: dir }).rows()) items.push(item);
  const shape = items.map((item) => (isUnreadable(item) ? `${item.code}@${item.line}` : item.id));
  assert.deepEqual(shape, ["1", "csv.field_count@3", "3", "csv.field_count@5", "5"]);
  const first = items.find(isUnreadable);
  assert.ok(first);
  assert.equal(first.file, "a.csv");
  assert.equal(first.message, "a.csv line 3: number of fields differs from the header");
  assert.doesNotMatch(JSON.stringify(items.filter(isUnreadable)), /secret/);
});

test("csv: an unclosed quote is reported at its line after every row before it", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "a.csv"), 'id,note\n1,ok\n2,"never closed\n3,lost\n');
  const { rows, unreadable } = await readAll(openSource({ kind: "csv", path: "a.csv" }, { cwd: dir }));
  assert.deepEqual(rows, [{ id: "1", note: "ok" }]);
  assert.deepEqual(
    unreadable.map((u) => u.code),
    ["csv.quote_not_closed"],
  );
});

test("csv: check() reads only headers and names each problem", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "dup.csv"), "id,email,id\n1,2,3\n");
  await writeFile(join(dir, "blank.csv"), "id,,email\n1,2,3\n");
  await writeFile(join(dir, "empty.csv"), "");
  await mkdir(join(dir, "mixed"));
  await writeFile(join(dir, "mixed", "a.csv"), "id,email\n");
  await writeFile(join(dir, "mixed", "b.csv"), "id,phone\n");
  const cases: Array<[string, string, RegExp]> = [
    ["missing.csv", "not_found", /^csv missing\.csv: missing\.csv: file not found$/],
    ["nothing/*.csv", "not_found", /no files match nothing\/\*\.csv/],
    ["mixed", "not_found", /mixed is a directory/],
    ["dup.csv", "query", /dup\.csv: header names column "id" twice/],
    ["blank.csv", "query", /blank\.csv: header has no name for column 2/],
    ["empty.csv", "query", /empty\.csv: file is empty: no header row/],
    ["mixed/*.csv", "query", /mixed\/b\.csv lacks column "email" compared with mixed\/a\.csv/],
  ];
  for (const [path, code, message] of cases) {
    const error = await openSource({ kind: "csv", path }, { cwd: dir })
      .check()
      .then(
        () => assert.fail(`check() of ${path} should fail`),
        (e: unknown) => e,
      );
    assert.ok(error instanceof SourceError, path);
    assert.equal(error.code, code, path);
    assert.match(error.message, message);
  }
  // The same problems stop rows() too.
  await assert.rejects(
    readAll(openSource({ kind: "csv", path: "dup.csv" }, { cwd: dir })),
    /header names column "id" twice/,
  );
  await assert.rejects(readAll(openSource({ kind: "csv", path: "missing.csv" }, { cwd: dir })), {
    code: "not_found",
  });
});

test("csv: break and abort stop the read and close the file", async (t) => {
  const dir = await tempDir(t);
  const lines = ["id,payload"];
  for (let i = 0; i < 50_000; i++) lines.push(`${i},${"x".repeat(40)}`);
  await writeFile(join(dir, "big.csv"), `${lines.join("\n")}\n`);
  const source = openSource({ kind: "csv", path: "big.csv" }, { cwd: dir });
  const baseline = await openFileDescriptors();

  let seen = 0;
  for await (const _ of source.rows()) if (++seen === 10) break;
  assert.equal(seen, 10);
  assert.ok(
    await eventually(async () => (await openFileDescriptors()) <= baseline),
    "file closed after break",
  );

  const controller = new AbortController();
  seen = 0;
  const started = Date.now();
  await assert.rejects(
    (async () => {
      for await (const _ of source.rows({ signal: controller.signal }))
        if (++seen === 100) controller.abort();
    })(),
    { name: "AbortError" },
  );
  assert.equal(seen, 100, "no row after the abort");
  assert.ok(Date.now() - started < 1000);
  assert.ok(
    await eventually(async () => (await openFileDescriptors()) <= baseline),
    "file closed after abort",
  );

  // A consumer that walks away without finishing: close() releases the file.
  const rows = source.rows()[Symbol.asyncIterator]();
  await rows.next();
  assert.ok((await openFileDescriptors()) > baseline);
  await source.close();
  assert.ok(
    await eventually(async () => (await openFileDescriptors()) <= baseline),
    "file closed by close()",
  );
});

test("csv: a slow consumer holds the writer back (back-pressure through a FIFO)", async (t) => {
  const dir = await tempDir(t);
  const feeder = fifoFeeder(join(dir, "feed.csv"), "payload\n", `${"y".repeat(99)}\n`.repeat(1000));
  const source = openSource({ kind: "csv", path: "feed.csv" }, { cwd: dir });
  let seen = 0;
  for await (const _ of source.rows()) {
    if (++seen === 10) {
      await new Promise((resolve) => setTimeout(resolve, 300)); // the consumer dawdles
      break;
    }
  }
  const acceptedWhileSlow = feeder.accepted();
  await feeder.stop();
  // Pipe buffer, the file stream's and the parser's buffers: a few hundred KB, never the 64 MB.
  assert.ok(
    acceptedWhileSlow < 4 * 1024 * 1024,
    `writer got ${acceptedWhileSlow} bytes ahead of a reader at row 10`,
  );
});

test("csv: multi-byte characters cut by read boundaries, and lines longer than a read, arrive whole", async (t) => {
  const dir = await tempDir(t);
  const lines = ["id,name,note"];
  // 3-byte "€" and 4-byte "😀" at every offset against the 64 KiB reads.
  for (let i = 0; i < 30_000; i++) lines.push(`${i},${"€".repeat(i % 7)}Zoë😀,"multi\nline ${i % 3}"`);
  const long = "x".repeat(3 * 1024 * 1024);
  lines.push(`long,${long},"${long}"`);
  await writeFile(join(dir, "a.csv"), `${lines.join("\r\n")}\n`);
  const { rows, unreadable } = await readAll(openSource({ kind: "csv", path: "a.csv" }, { cwd: dir }));
  assert.deepEqual(unreadable, []);
  assert.equal(rows.length, 30_001);
  for (let i = 0; i < 30_000; i++) {
    const row = rows[i] as Record<string, unknown>;
    assert.equal(row.name, `${"€".repeat(i % 7)}Zoë😀`);
    assert.equal(row.note, `multi\nline ${i % 3}`);
  }
  assert.equal((rows[30_000] as Record<string, unknown>).name, long);
  assert.equal((rows[30_000] as Record<string, unknown>).note, long);
});

test("csv: a line longer than what is held back, cut inside a character, and the lines after it", async (t) => {
  const dir = await tempDir(t);
  // Past 1 MiB without a line break the text is decoded without waiting for one; 3-byte "€"s put
  // a cut inside a character whatever the reads' sizes. The next lines have such characters too.
  const long = `a${"€".repeat(700_000)}`;
  const lines = ["id,name", `1,${long}`, "2,Zoë€", "3,plain", `4,${long}`, "5,Köln"];
  await writeFile(join(dir, "a.csv"), `${lines.join("\n")}\n`);
  const { rows, unreadable } = await readAll(openSource({ kind: "csv", path: "a.csv" }, { cwd: dir }));
  assert.deepEqual(unreadable, []);
  assert.deepEqual(
    rows.map((row) => (row as Record<string, unknown>).name),
    [long, "Zoë€", "plain", long, "Köln"],
  );
});

test("csv: bytes that are not UTF-8 read as the whole file decoded at once would read them", async (t) => {
  const dir = await tempDir(t);
  const bad = [
    [0xff],
    [0xc3],
    [0xe2, 0x82],
    [0xc0, 0xaf],
    [0xed, 0xa0, 0x80],
    [0xf0, 0x9f, 0x98],
    [0x80, 0x80],
  ].map((bytes) => Buffer.from(bytes));
  const parts: Buffer[] = [Buffer.from("id,name,note\n")];
  // Each bad sequence before a comma, before a line break and inside a value, over several reads.
  for (let i = 0; i < 20_000; i++) {
    const seq = bad[i % bad.length] as Buffer;
    const where = i % 3;
    parts.push(
      Buffer.concat([
        Buffer.from(`${i},Zoë`),
        where === 0 ? seq : Buffer.alloc(0),
        Buffer.from(",n"),
        where === 1 ? seq : Buffer.alloc(0),
        Buffer.from("te"),
        where === 2 ? seq : Buffer.alloc(0),
        Buffer.from("\n"),
      ]),
    );
  }
  const bytes = Buffer.concat(parts);
  await writeFile(join(dir, "bad.csv"), bytes);
  const [header, ...lines] = bytes.toString("utf8").split("\n").slice(0, -1);
  const columns = (header as string).split(",");
  const expected = lines.map((line) =>
    Object.fromEntries(line.split(",").map((value, c) => [columns[c], value])),
  );
  const { rows, unreadable } = await readAll(openSource({ kind: "csv", path: "bad.csv" }, { cwd: dir }));
  assert.deepEqual(unreadable, []);
  assert.equal(rows.length, 20_000);
  // Row by row: a failing deepEqual of 20,000 rows takes minutes to describe.
  for (let i = 0; i < rows.length; i++) assert.deepEqual(rows[i], expected[i], `row ${i}`);
  assert.ok((rows[1] as Record<string, string>).note?.includes("\uFFFD"));
});

test("csv: batches() hands over each read's rows as one block, the same rows as rows(), unreadable ones in place", async (t) => {
  const dir = await tempDir(t);
  const lines = ["id,payload"];
  for (let i = 0; i < 20_000; i++) lines.push(i === 7_000 ? `${i},x,extra` : `${i},${"x".repeat(40)}`);
  await writeFile(join(dir, "big.csv"), `${lines.join("\n")}\n`);
  const source = openSource({ kind: "csv", path: "big.csv" }, { cwd: dir });
  const { batches } = source;
  assert.ok(batches, "the csv source reads in blocks");
  const blocks = [];
  for await (const block of batches()) blocks.push(block);
  const items = [];
  for await (const item of source.rows()) items.push(item);
  // ~900 KB in reads of 64 KiB: more than one block, none larger than a read's worth of records.
  assert.ok(blocks.length > 10, `${blocks.length} blocks`);
  for (const block of blocks)
    assert.ok(block.length > 0 && block.length <= 65_536 / 44 + 1, `${block.length} rows`);
  assert.deepEqual(blocks.flat(), items);
  assert.equal(items.length, 20_000);
  const unreadable = items.filter(isUnreadable);
  assert.deepEqual(
    unreadable.map((u) => `${u.code}@${u.line}`),
    ["csv.field_count@7002"],
  );
  const bad = items[7_000];
  assert.ok(bad !== undefined && isUnreadable(bad), "the bad record in its place");

  // Aborted between blocks: the next one is not handed over.
  const controller = new AbortController();
  let seen = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of batches({ signal: controller.signal })) if (++seen === 2) controller.abort();
    })(),
    { name: "AbortError" },
  );
  assert.equal(seen, 2);
  await source.close();
});
