import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { type Row, RowKeyError } from "../../src/mapping/index.ts";
import { openSource, type Source } from "../../src/sources/index.ts";
import { ChunkReader, type ReadChunk } from "../../src/sync/row-chunks.ts";
import { tempDir } from "../sources/support.ts";

function orderKey(row: Row): string {
  if (row.order_id === null || row.order_id === undefined) throw new RowKeyError("order_id", "is empty");
  return String(row.order_id);
}

async function chunksOf(source: Source, chunkRows: number): Promise<ReadChunk[]> {
  const reader = new ChunkReader(source, {}, orderKey, chunkRows);
  const chunks: ReadChunk[] = [];
  for (let chunk = await reader.read(); chunk !== undefined; chunk = await reader.read()) chunks.push(chunk);
  return chunks;
}

test("ChunkReader: a source's blocks and its rows one by one make the same chunks, row numbers and verdicts", async (t) => {
  const dir = await tempDir(t);
  const lines = ["order_id,payload"];
  for (let i = 0; i < 5_000; i++) {
    if (i === 1_234) lines.push(`${i},too,many`);
    else if (i === 4_321) lines.push(`,${"y".repeat(30)}`);
    else lines.push(`O-${i},${"x".repeat(30)}`);
  }
  await writeFile(join(dir, "orders.csv"), `${lines.join("\n")}\n`);
  const csv = openSource({ kind: "csv", path: "orders.csv" }, { cwd: dir });
  t.after(() => csv.close());
  assert.ok(csv.batches);
  // The same file, offered only row by row (as the SQL sources are read).
  const rowByRow: Source = { ...csv, batches: undefined };

  const fromBlocks = await chunksOf(csv, 256);
  const fromRows = await chunksOf(rowByRow, 256);
  assert.deepEqual(fromBlocks, fromRows);
  assert.equal(fromBlocks.length, Math.ceil(5_000 / 256));
  assert.ok(fromBlocks.slice(0, -1).every((chunk) => chunk.rows === 256));
  assert.equal(
    fromBlocks.reduce((sum, chunk) => sum + chunk.held.length, 0),
    4_998,
  );
  const verdicts = fromBlocks.flatMap((chunk) =>
    chunk.outcomes.map((o) => `${o.state}:${"code" in o ? o.code : ""}`),
  );
  assert.deepEqual(verdicts, ["rejected:csv.field_count", "rejected:row.key"]);
  const held = fromBlocks.flatMap((chunk) => chunk.held);
  assert.deepEqual(held[0], { row: { order_id: "O-0", payload: "x".repeat(30) }, rowNumber: 1, key: "O-0" });
  // Row numbers count every row read, unreadable ones and those without a key too.
  assert.deepEqual(held.at(-1), {
    row: { order_id: "O-4999", payload: "x".repeat(30) },
    rowNumber: 5_000,
    key: "O-4999",
  });
});
