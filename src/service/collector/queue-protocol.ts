// Messages between CollectorQueue (main thread) and its SQLite writer thread. Rows travel as JSON
// text, never as objects: a string is cheap to pass between threads, an object graph is not.

export type Synchronous = "full" | "normal";

export interface WorkerConfig {
  readonly path: string;
  readonly synchronous: Synchronous;
}

export interface CheckpointerConfig extends WorkerConfig {
  readonly intervalMs: number;
}

/** The messages of one `append` call: connection, received time (unix ms), how many. */
export type AppendGroup = readonly [connection: string, receivedAt: number, count: number];

/**
 * Rows cross to the writer thread as one string each for messages and notes, one row per line:
 * JSON.stringify never emits a raw line break, and one long string is far cheaper to post than an
 * array of thousands (structured clone walks every element).
 */
export const ROW_SEPARATOR = "\n";

/** A stored row as read back: id, received time (unix ms), message JSON, notes JSON or null. */
export type StoredRow = readonly [id: number, receivedAt: number, message: string, notes: string | null];

/** Per connection: how many rows, and the oldest received time among them (unix ms). */
export type ConnectionCount = readonly [connection: string, count: number, oldestReceivedAt: number];

export type WorkerRequest =
  | {
      readonly op: "write";
      readonly seq: number;
      readonly groups: readonly AppendGroup[];
      /** Message JSON of every row, in group order, joined by ROW_SEPARATOR. */
      readonly messages: string;
      /** Notes JSON of every row (empty for none), joined by ROW_SEPARATOR. */
      readonly notes: string;
      readonly deletes: readonly number[];
    }
  | {
      readonly op: "read";
      readonly seq: number;
      readonly connection: string;
      readonly afterId: number;
      readonly limit: number;
    }
  | { readonly op: "close"; readonly seq: number };

export type WorkerReply =
  | { readonly op: "ready"; readonly counts: readonly ConnectionCount[] }
  | { readonly op: "failed"; readonly code: string; readonly message: string }
  | {
      readonly op: "written";
      readonly seq: number;
      /** Time the transaction took in the writer, commit (and fsync) included. */
      readonly ms: number;
      /** Per connection, the rows the deletes actually removed. */
      readonly deleted: readonly (readonly [connection: string, count: number])[];
    }
  | {
      readonly op: "rows";
      readonly seq: number;
      readonly rows: readonly StoredRow[];
      /** Received time of the first row after the last one returned, when there is one. */
      readonly nextReceivedAt: number | null;
    }
  | { readonly op: "closed"; readonly seq: number }
  | { readonly op: "error"; readonly seq: number; readonly code: string; readonly message: string };
