// The collector queue's SQLite file: its schema, opening it (the writer creates and checks it), the
// writer's transactions, and reading rows back, which the writer thread and a reader elsewhere (the
// delivery process, on a read-only connection of its own) share.
import { closeSync, openSync } from "node:fs";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  type AppendGroup,
  type ConnectionCount,
  ROW_SEPARATOR,
  type StoredRow,
  type WorkerConfig,
} from "./queue-protocol.ts";

/** "capq" in ASCII: tells a collector queue from a ledger ("capi") or any other SQLite file. */
const APPLICATION_ID = 0x63617071;
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE collector_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: readers keep a cursor on it
  connection TEXT NOT NULL,
  received_at INTEGER NOT NULL,         -- unix ms
  message TEXT NOT NULL,                -- the Segment message as JSON (PII by nature)
  notes TEXT                            -- JSON array of enrichment notes, or NULL
);
CREATE INDEX collector_messages_by_connection ON collector_messages (connection, id);
`;

/** Deleting ids through json_each keeps one prepared statement for any number of ids. */
const DELETE_CHUNK = 5000;

export class QueueFileError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function sqliteCode(error: unknown): string {
  const errstr = (error as { errstr?: unknown }).errstr;
  return typeof errstr === "string" ? errstr.replaceAll(" ", "_") : "sqlite_error";
}

/** SQLite's messages name files, tables and conditions; values only ever travel as bound parameters. */
export function describe(error: unknown): { code: string; message: string } {
  if (error instanceof QueueFileError) return { code: error.code, message: error.message };
  return { code: sqliteCode(error), message: error instanceof Error ? error.message : String(error) };
}

function createPrivately(path: string): void {
  if (path === ":memory:") return;
  // The rows are the user's visitors' data: the file (and the -wal/-shm files SQLite creates with
  // the same mode) is readable by its owner only. An existing file keeps the mode it has.
  closeSync(openSync(path, "a", 0o600));
}

function pragmaNumber(db: DatabaseSync, name: "application_id" | "user_version"): number {
  return Number(db.prepare(`PRAGMA ${name}`).get()?.[name] ?? 0);
}

export function openQueueFile(config: WorkerConfig): DatabaseSync {
  createPrivately(config.path);
  const db = new DatabaseSync(config.path);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const applicationId = pragmaNumber(db, "application_id");
    const version = pragmaNumber(db, "user_version");
    const objects = Number(db.prepare("SELECT count(*) AS n FROM sqlite_schema").get()?.n ?? 0);
    if (applicationId !== APPLICATION_ID && (applicationId !== 0 || version !== 0 || objects > 0)) {
      throw new QueueFileError("not_a_queue", `${config.path} is a SQLite file but not a collector queue`);
    }
    if (version > SCHEMA_VERSION) {
      throw new QueueFileError("newer_schema", `${config.path} was written by a newer capi-sync`);
    }
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${config.synchronous === "full" ? "FULL" : "NORMAL"}`);
    // Rows are short-lived (deleted once the pipeline acknowledges them): cap the WAL file after a
    // burst instead of leaving it at its high-water mark.
    db.exec("PRAGMA journal_size_limit = 67108864");
    // Checkpoints run on queue-checkpointer.ts' thread; this threshold (~80 MB of WAL) only
    // matters should that thread stop.
    db.exec("PRAGMA wal_autocheckpoint = 20000");
    if (version < SCHEMA_VERSION) {
      db.exec("BEGIN IMMEDIATE");
      db.exec(SCHEMA);
      db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      db.exec("COMMIT");
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The rows of one write transaction: appends (messages and notes one per line) and deletions. */
export interface WriteBatch {
  readonly groups: readonly AppendGroup[];
  /** Message JSON of every row, in group order, joined by ROW_SEPARATOR. */
  readonly messages: string;
  /** Notes JSON of every row (empty for none), joined by ROW_SEPARATOR. */
  readonly notes: string;
  readonly deletes: readonly number[];
}

/** Reads stored rows back, oldest first, on whichever connection it was given. */
export class RowReader {
  readonly #read: StatementSync;
  readonly #next: StatementSync;
  readonly #counts: StatementSync;
  readonly #waiting: StatementSync;

  constructor(db: DatabaseSync) {
    this.#read = db.prepare(
      "SELECT id, received_at, message, notes FROM collector_messages WHERE connection = ? AND id > ? ORDER BY id LIMIT ?",
    );
    this.#read.setReturnArrays(true);
    this.#next = db.prepare(
      "SELECT received_at FROM collector_messages WHERE connection = ? AND id > ? ORDER BY id LIMIT 1",
    );
    this.#next.setReturnArrays(true);
    this.#counts = db.prepare(
      "SELECT connection, count(*), min(received_at) FROM collector_messages GROUP BY connection",
    );
    this.#counts.setReturnArrays(true);
    this.#waiting = db.prepare(
      "SELECT count(*) FROM (SELECT 1 FROM collector_messages WHERE connection = ? AND id > ? LIMIT ?)",
    );
    this.#waiting.setReturnArrays(true);
  }

  /** Rows of the connection after `afterId` (counted up to `limit`), and the oldest one's received time. */
  after(connection: string, afterId: number, limit: number): { count: number; oldest: number | undefined } {
    const [count] = this.#waiting.get(connection, afterId, limit) as unknown as [number];
    const next = this.#next.get(connection, afterId) as unknown as [number] | undefined;
    return { count, oldest: next?.[0] };
  }

  /** Per connection: rows stored and the oldest received time. */
  counts(): ConnectionCount[] {
    return (this.#counts.all() as unknown as [string, number, number][]).map(([c, n, at]) => [c, n, at]);
  }

  read(
    connection: string,
    afterId: number,
    limit: number,
  ): { rows: StoredRow[]; nextReceivedAt: number | null } {
    const rows = this.#read.all(connection, afterId, limit) as unknown as StoredRow[];
    const last = rows.at(-1)?.[0] ?? afterId;
    const next = this.#next.get(connection, last) as unknown as [number] | undefined;
    return { rows, nextReceivedAt: next ? next[0] : null };
  }
}

/** The writer's connection: appends and deletions in one transaction each, and reads. */
export class QueueFile extends RowReader {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #delete: StatementSync;

  constructor(db: DatabaseSync) {
    super(db);
    this.#db = db;
    this.#insert = db.prepare(
      "INSERT INTO collector_messages (connection, received_at, message, notes) VALUES (?, ?, ?, ?)",
    );
    this.#delete = db.prepare(
      "DELETE FROM collector_messages WHERE id IN (SELECT value FROM json_each(?)) RETURNING connection",
    );
    this.#delete.setReturnArrays(true);
  }

  /** Commits the batch; returns per connection the rows its deletions actually removed. */
  write(batch: WriteBatch): Map<string, number> {
    const deleted = new Map<string, number>();
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      if (batch.groups.length > 0) {
        const messages = batch.messages.split(ROW_SEPARATOR);
        const notes = batch.notes.split(ROW_SEPARATOR);
        let row = 0;
        for (const [connection, receivedAt, count] of batch.groups) {
          for (const end = row + count; row < end; row++) {
            this.#insert.run(connection, receivedAt, messages[row] as string, notes[row] || null);
          }
        }
      }
      for (let start = 0; start < batch.deletes.length; start += DELETE_CHUNK) {
        const ids = JSON.stringify(batch.deletes.slice(start, start + DELETE_CHUNK));
        for (const row of this.#delete.all(ids) as unknown as [string][]) {
          deleted.set(row[0], (deleted.get(row[0]) ?? 0) + 1);
        }
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
    return deleted;
  }

  close(): void {
    this.#db.close();
  }
}

/**
 * A second, read-only connection on a queue file another thread or process writes (WAL: reads see
 * the last commit and never block the writer). The file must exist: the writer creates and checks it.
 */
export function openQueueReader(path: string): { reader: RowReader; close(): void } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const applicationId = Number(db.prepare("PRAGMA application_id").get()?.application_id ?? 0);
    if (applicationId !== APPLICATION_ID)
      throw new QueueFileError("not_a_queue", `${path} is not a collector queue`);
    return { reader: new RowReader(db), close: () => db.close() };
  } catch (error) {
    db.close();
    throw error;
  }
}
