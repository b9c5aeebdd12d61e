// Constant memory: 200k rows whose payload alone totals ~23 MB stream through while the live heap (sampled
// after a full GC) stays within a bound smaller than the data. A source that buffered its rows fails.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isUnreadable, openSource, type Source } from "../../src/sources/index.ts";
import { requirePostgres } from "../helpers/services.ts";
import { liveHeap, MB, tempDir } from "./support.ts";

const ROWS = 200_000;
const PAYLOAD = 120;
const HEAP_BOUND = 20 * MB;
const SAMPLE_EVERY = 20_000;

async function streamMeasuringHeap(source: Source): Promise<{ rows: number; bytes: number; growth: number }> {
  const baseline = liveHeap();
  let peak = baseline;
  let rows = 0;
  let bytes = 0;
  for await (const item of source.rows()) {
    assert.ok(!isUnreadable(item));
    rows++;
    bytes += String(item.payload).length;
    if (rows % SAMPLE_EVERY === 0) peak = Math.max(peak, liveHeap());
  }
  return { rows, bytes, growth: peak - baseline };
}

test("memory: 200k CSV rows stream in bounded heap", async (t) => {
  const dir = await tempDir(t);
  const file = createWriteStream(join(dir, "big.csv"));
  file.write("id,email,payload\n");
  const payload = "p".repeat(PAYLOAD);
  for (let block = 0; block < ROWS; block += 1000) {
    const lines = Array.from(
      { length: 1000 },
      (_, i) => `${block + i},user${block + i}@example.com,${payload}\n`,
    );
    if (!file.write(lines.join(""))) await once(file, "drain");
  }
  file.end();
  await once(file, "finish");

  const result = await streamMeasuringHeap(openSource({ kind: "csv", path: "big.csv" }, { cwd: dir }));
  t.diagnostic(
    `csv: ${result.rows} rows, ${(result.bytes / MB).toFixed(0)} MB payload, heap growth ${(result.growth / MB).toFixed(1)} MB`,
  );
  assert.equal(result.rows, ROWS);
  assert.ok(result.bytes > HEAP_BOUND, "the data is larger than the bound, so buffering it would fail");
  assert.ok(result.growth < HEAP_BOUND, `heap grew ${(result.growth / MB).toFixed(1)} MB`);
});

test("memory: 200k Postgres rows stream in bounded heap", async (t) => {
  const url = await requirePostgres(t);
  if (!url) return;
  const query = `SELECT i AS id, 'user' || i || '@example.com' AS email, repeat('p', ${PAYLOAD}) AS payload
    FROM generate_series(1, ${ROWS}) i`;
  const result = await streamMeasuringHeap(openSource({ kind: "postgres", url, query }, { cwd: "/" }));
  t.diagnostic(
    `postgres: ${result.rows} rows, ${(result.bytes / MB).toFixed(0)} MB payload, heap growth ${(result.growth / MB).toFixed(1)} MB`,
  );
  assert.equal(result.rows, ROWS);
  assert.ok(result.bytes > HEAP_BOUND);
  assert.ok(result.growth < HEAP_BOUND, `heap grew ${(result.growth / MB).toFixed(1)} MB`);
});
