import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  DEFAULT_LEDGER_PATH,
  LedgerError,
  type LedgerLocation,
  openLedger,
  parseLedgerLocation,
  SCHEMA_VERSION,
} from "../../src/ledger/index.ts";

const root = mkdtempSync(join(tmpdir(), "capi-ledger-open-"));
after(() => rmSync(root, { recursive: true, force: true }));
let made = 0;
const newDir = () => {
  const dir = join(root, `case-${++made}`);
  mkdirSync(dir);
  return dir;
};

/** A ledger file with one delivered key, closed. */
async function ledgerFile(): Promise<string> {
  const path = join(newDir(), "state.db");
  const ledger = await openLedger(path);
  const run = await ledger.startRun("shop", { mode: "live" });
  await ledger.recordOutcomes(run, [{ key: "k", state: "delivered", eventId: "e" }]);
  await ledger.finishRun(run, { status: "completed" });
  await ledger.close();
  return path;
}

async function rejectsWith(location: string, code: string, options = {}): Promise<LedgerError> {
  let caught: unknown;
  try {
    const ledger = await openLedger(location, options);
    await ledger.close();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof LedgerError, `expected a LedgerError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

describe("ledger locations", () => {
  const cases: [input: string, expected: LedgerLocation][] = [
    ["state.db", { kind: "sqlite", path: "/srv/app/state.db" }],
    [".capi-sync/state.db", { kind: "sqlite", path: "/srv/app/.capi-sync/state.db" }],
    ["/var/lib/capi/state.db", { kind: "sqlite", path: "/var/lib/capi/state.db" }],
    ["file:///var/lib/capi/state.db", { kind: "sqlite", path: "/var/lib/capi/state.db" }],
    ["sqlite:data/state.db", { kind: "sqlite", path: "/srv/app/data/state.db" }],
    ["sqlite:///var/lib/capi/state.db", { kind: "sqlite", path: "/var/lib/capi/state.db" }],
    [":memory:", { kind: "memory" }],
    ["sqlite::memory:", { kind: "memory" }],
    ["postgres://capi:secret@db.internal/capi", { kind: "unsupported", scheme: "postgres" }],
    ["postgresql://db.internal/capi", { kind: "unsupported", scheme: "postgresql" }],
    ["mysql://db.internal/capi", { kind: "unsupported", scheme: "mysql" }],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected.kind}`, () => {
      assert.deepEqual(parseLedgerLocation(input, "/srv/app"), expected);
    });
  }

  test("a file: URL object is accepted", () => {
    assert.deepEqual(parseLedgerLocation(pathToFileURL("/var/lib/capi/state.db")), {
      kind: "sqlite",
      path: "/var/lib/capi/state.db",
    });
  });

  test("the default lives under .capi-sync", () => {
    assert.equal(DEFAULT_LEDGER_PATH, ".capi-sync/state.db");
  });

  test("a Postgres URL is refused as not yet supported, without echoing its password", async () => {
    const error = await rejectsWith("postgres://capi:s3cret-pw@db.internal/capi", "unsupported_location");
    assert.match(error.message, /Postgres ledger is not supported yet/);
    assert.doesNotMatch(error.message, /s3cret-pw/);
  });
});

describe("opening", () => {
  test("creates missing parent directories and a WAL-mode file with the current schema", async () => {
    const path = join(newDir(), "nested", "deeper", "state.db");
    const ledger = await openLedger(path);
    await ledger.close();
    assert.ok(existsSync(path));
    const db = new DatabaseSync(path);
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    assert.equal(db.prepare("PRAGMA user_version").get()?.user_version, SCHEMA_VERSION);
    assert.equal(db.prepare("PRAGMA application_id").get()?.application_id, 0x63617069);
    db.close();
  });

  test("an empty existing file becomes a ledger", async () => {
    const path = join(newDir(), "state.db");
    writeFileSync(path, "");
    const ledger = await openLedger(path);
    assert.deepEqual(await ledger.filterNew("shop", ["k"]), ["k"]);
    await ledger.close();
  });

  test("a file that is not SQLite is refused as unreadable and left as it was", async () => {
    const path = join(newDir(), "state.db");
    const garbage = Buffer.from("order_id,email\n1001,someone@example.com\n".repeat(200));
    writeFileSync(path, garbage);
    const error = await rejectsWith(path, "unreadable");
    assert.match(error.message, /state\.db/);
    assert.doesNotMatch(error.message, /someone@example\.com/);
    assert.deepEqual(readFileSync(path), garbage);
  });

  test("a ledger whose header was overwritten is refused as unreadable and left as it was", async () => {
    const path = await ledgerFile();
    const bytes = readFileSync(path);
    bytes.fill(0x5a, 0, 100);
    writeFileSync(path, bytes);
    await rejectsWith(path, "unreadable");
    assert.deepEqual(readFileSync(path), bytes);
  });

  test("a truncated ledger is refused as unreadable", async () => {
    const path = await ledgerFile();
    truncateSync(path, 4096 + 100);
    await rejectsWith(path, "unreadable");
  });

  test("a ledger written by a newer schema is refused and left untouched", async () => {
    const path = await ledgerFile();
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = readFileSync(path);
    const error = await rejectsWith(path, "newer_schema");
    assert.match(error.message, new RegExp(`version ${SCHEMA_VERSION + 1}`));
    assert.deepEqual(readFileSync(path), before);
  });

  test("another application's SQLite database is refused, not converted", async () => {
    const path = join(newDir(), "app.db");
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)");
    db.close();
    await rejectsWith(path, "not_a_ledger");
    const check = new DatabaseSync(path);
    assert.deepEqual(
      check
        .prepare("SELECT name FROM sqlite_schema")
        .all()
        .map((row) => row.name),
      ["customers"],
    );
    check.close();
  });

  test("reopening an existing ledger keeps its data and schema version", async () => {
    const path = await ledgerFile();
    const ledger = await openLedger(path);
    assert.deepEqual(await ledger.filterNew("shop", ["k", "new"]), ["new"]);
    await ledger.close();
  });

  test("hashKeys cannot be switched on an existing ledger, in either direction", async () => {
    const plain = await ledgerFile();
    const toHashed = await rejectsWith(plain, "key_encoding_mismatch", { hashKeys: true });
    assert.match(toHashed.message, /resend every row/);

    const hashedPath = join(newDir(), "state.db");
    await (await openLedger(hashedPath, { hashKeys: true })).close();
    await rejectsWith(hashedPath, "key_encoding_mismatch", { hashKeys: false });
    const reopened = await openLedger(hashedPath);
    assert.equal(reopened.hashesKeys, true);
    await reopened.close();
  });
});
