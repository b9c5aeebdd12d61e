// What the ledger file may contain: row keys (or their hashes), ids, codes, counts, times and
// value-free messages. Never row data.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import { openLedger } from "../../src/ledger/index.ts";
import { COLUMN_PURPOSES } from "../../src/ledger/schema.ts";
import { sha256 } from "../../src/meta/hash.ts";

const root = mkdtempSync(join(tmpdir(), "capi-ledger-privacy-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** An email used (against advice) as the key column. */
const CANARY = "jane.canary.doe+ledger@example.com";

/** Records the canary through every path that stores a key, then closes the ledger. */
async function storeCanary(path: string, hashKeys: boolean): Promise<void> {
  const ledger = await openLedger(path, { hashKeys });
  const run = await ledger.startRun("shop", { mode: "live" });
  const batchId = await ledger.openBatch(run, { datasetId: "1234", events: 1 });
  await ledger.recordOutcomes(run, [{ key: CANARY, state: "rejected", code: 100, message: "invalid" }], {
    batchId,
  });
  await ledger.recordOutcomes(run, [{ key: CANARY, state: "delivered", eventId: "ev-1" }]);
  await ledger.recordOutcomes(run, [{ key: `${CANARY}.2`, state: "skipped", reason: "baseline" }]);
  await ledger.finishRun(run, { status: "completed" });
  const testRun = await ledger.startRun("shop", { mode: "test" });
  await ledger.recordOutcomes(testRun, [{ key: CANARY, state: "expired" }]);
  await ledger.close();
}

function fileBytes(path: string): Buffer {
  return Buffer.concat(
    [path, `${path}-wal`, `${path}-shm`].filter(existsSync).map((file) => readFileSync(file)),
  );
}

test("with hashKeys no byte of the ledger holds the plaintext key, and keys still work", async () => {
  const path = join(root, "hashed", "state.db");
  await storeCanary(path, true);
  assert.equal(fileBytes(path).includes(Buffer.from(CANARY)), false);

  const ledger = await openLedger(path);
  assert.deepEqual(await ledger.filterNew("shop", [CANARY, "other"]), ["other"]);
  const [rejection] = await ledger.rejections();
  assert.equal(rejection?.key, sha256(CANARY));
  const delivered = await ledger.findKeys("shop", { states: ["delivered"] });
  assert.deepEqual(
    delivered.map((record) => record.key),
    [sha256(CANARY)],
  );
  await ledger.close();
});

test("without hashKeys the key is stored as given (the canary search can find it)", async () => {
  const path = join(root, "plain", "state.db");
  await storeCanary(path, false);
  assert.equal(fileBytes(path).includes(Buffer.from(CANARY)), true);
});

test("every column of the schema is documented, and none can hold raw row data", async () => {
  const path = join(root, "schema", "state.db");
  await (await openLedger(path)).close();
  const db = new DatabaseSync(path, { readOnly: true });
  const tables = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
    .all()
    .map((row) => String(row.name));
  const actual = Object.fromEntries(
    tables.map((table) => [
      table,
      db
        .prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`)
        .all(table)
        .map((row) => String(row.name)),
    ]),
  );
  db.close();
  const documented = Object.fromEntries(
    Object.entries(COLUMN_PURPOSES).map(([table, columns]) => [table, Object.keys(columns)]),
  );
  assert.deepEqual(actual, documented);
  // Only the key columns may carry something from a row, and only the user's key column.
  const keyColumns = Object.entries(COLUMN_PURPOSES).flatMap(([table, columns]) =>
    Object.entries(columns)
      .filter(([, purpose]) => purpose.startsWith("row key"))
      .map(([column]) => `${table}.${column}`),
  );
  assert.deepEqual(keyColumns, ["row_states.key", "rejections.key"]);
});
