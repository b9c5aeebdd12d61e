// Messages between CollectorQueue (main thread) and its SQLite writer thread. Rows travel as JSON
// text, never as objects: a string is cheap to pass between threads, an object graph is not.

export type Synchronous = "full" | "normal";

export interface WorkerConfig {
  readonly path: string;
  readonly synchronous: Synchronous;
}

/** One message to store: connection, received time (unix ms), the message as JSON, notes as JSON or null. */
export type AppendRow = readonly [
  connection: string,
  receivedAt: number,
  message: string,
  notes: string | null,
];

/** A stored row as read back: id, received time (unix ms), message JSON, notes JSON or null. */
export type StoredRow = readonly [id: number, receivedAt: number, message: string, notes: string | null];

/** Per connection: how many rows, and the oldest received time among them (unix ms). */
export type ConnectionCount = readonly [connection: string, count: number, oldestReceivedAt: number];

export type WorkerRequest =
  | {
      readonly op: "write";
      readonly seq: number;
      readonly appends: readonly AppendRow[];
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
