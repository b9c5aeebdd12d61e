// The collector's durable buffer: accepted Segment messages wait here until the pipeline has
// delivered them and acknowledges them. The rows are the visitors' messages as sent (emails, names,
// IPs: PII by nature); they are deleted as soon as the pipeline acknowledges them, and this module
// never logs or reports their content.
//
// Durability: `append` resolves only after the transaction holding its rows has committed. With
// `synchronous: "normal"` (default, SQLite WAL) a committed row survives the death of the process
// (kill -9, OOM, crash); a power loss or kernel crash may undo the last commits. `synchronous: "full"`
// also survives power loss, at the price of an fsync per commit (see README.md for measurements).
//
// Group commit: appends and acks issued while a transaction is being written wait and then share
// the next one, so a burst of concurrent requests costs a few commits, not one each.
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import {
  type AppendGroup,
  type ConnectionCount,
  ROW_SEPARATOR,
  type StoredRow,
  type Synchronous,
  type WorkerReply,
  type WorkerRequest,
} from "./queue-protocol.ts";

export type { Synchronous } from "./queue-protocol.ts";

export interface CollectorQueueOptions {
  /** The queue's own SQLite file (created with mode 0600), or ":memory:". One process owns it. */
  readonly path: string;
  /** Default "normal": survives a crash of the process; "full": also power loss (fsync per commit). */
  readonly synchronous?: Synchronous;
  /** How often a separate thread moves the WAL into the database file (default 200 ms). */
  readonly checkpointIntervalMs?: number;
  /** Clock for received times (unix ms); tests move it. */
  readonly now?: () => number;
}

/** One message to store, with the value-free notes the collector made while enriching it. */
export interface QueueEntry {
  readonly message: Record<string, unknown>;
  readonly notes?: readonly string[];
}

/** A stored message handed to the pipeline; it stays stored until `ack`. `message` is parsed on first access. */
export interface QueuedRow {
  readonly id: number;
  readonly connection: string;
  readonly receivedAt: Date;
  readonly message: Record<string, unknown>;
  readonly notes: readonly string[];
}

export interface WaitForRowsOptions {
  /** Resolve as soon as this many rows are waiting (default 1000, Meta's batch size). */
  readonly max?: number;
  /** …or once the oldest waiting row has waited this long (default 1000 ms). */
  readonly maxDelayMs?: number;
  /** Aborting rejects the wait with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface CollectorQueueStats {
  /** Write transactions committed (appends and acks together). */
  readonly commits: number;
  readonly appendCalls: number;
  readonly rowsAppended: number;
  readonly rowsAcked: number;
  /** Time spent in write transactions (commit and fsync included), total and longest. */
  readonly writeMsTotal: number;
  readonly writeMsMax: number;
}

export type CollectorQueueErrorCode =
  | "queue_unavailable"
  | "queue_closed"
  | "not_a_queue"
  | "newer_schema"
  | string;

/** A failure of the queue file or its thread. The message names the file and the condition, never a row. */
export class CollectorQueueError extends Error {
  override readonly name = "CollectorQueueError";
  readonly code: CollectorQueueErrorCode;
  constructor(code: CollectorQueueErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

interface Deferred {
  resolve(): void;
  reject(error: Error): void;
}

interface PendingCall {
  resolve(reply: WorkerReply): void;
  reject(error: Error): void;
}

interface ConnectionState {
  /** Committed rows not yet acknowledged (claimed or not). */
  stored: number;
  /** Highest id handed out by a read of the file; rows above it have never been claimed. */
  cursor: number;
  /** Received time of the first row above the cursor, when one exists. */
  oldestAfterCursor: number | undefined;
  readonly inFlight: Map<number, QueuedRow>;
  /** Claimed rows given back by `release`, claimed again before anything newer. */
  returned: QueuedRow[];
  /** Waits of `waitForRows` woken by any change. */
  readonly wakers: Set<() => void>;
  /** Claims run one at a time per connection so two never read past the same cursor. */
  claiming: Promise<unknown>;
}

const DEFAULT_MAX = 1000;
const DEFAULT_CHECKPOINT_INTERVAL_MS = 200;
const DEFAULT_MAX_DELAY_MS = 1000;

export class CollectorQueue {
  readonly #worker: Worker;
  readonly #checkpointer: Worker | undefined;
  readonly #now: () => number;
  readonly #calls = new Map<number, PendingCall>();
  readonly #connections = new Map<string, ConnectionState>();
  #seq = 0;
  #broken: CollectorQueueError | undefined;
  #closing: Promise<void> | undefined;

  #groups: AppendGroup[] = [];
  #messageTexts: string[] = [];
  #noteTexts: string[] = [];
  #deletes: number[] = [];
  #waiting: Deferred[] = [];
  #writing = false;
  #scheduled = false;
  /** Resolved when no transaction is being written and nothing waits to be. */
  #idle: (() => void)[] = [];
  #stats = { commits: 0, appendCalls: 0, rowsAppended: 0, rowsAcked: 0, writeMsTotal: 0, writeMsMax: 0 };

  /** Opens (creating if needed) the queue file; rows left by a previous process are claimable again. */
  static async open(options: CollectorQueueOptions): Promise<CollectorQueue> {
    const worker = new Worker(new URL("./queue-worker.ts", import.meta.url), {
      workerData: { path: options.path, synchronous: options.synchronous ?? "normal" },
    });
    // Listeners go one by one: Worker keeps a listener of its own on the emitter (newListener).
    let onMessage: ((reply: WorkerReply) => void) | undefined;
    let onError: ((error: Error) => void) | undefined;
    let onExit: ((code: number) => void) | undefined;
    const first = await new Promise<WorkerReply>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) =>
        reject(new CollectorQueueError("queue_unavailable", `queue thread exited (${code})`));
      worker.once("message", onMessage);
      worker.once("error", onError);
      worker.once("exit", onExit);
    }).finally(() => {
      if (onMessage) worker.off("message", onMessage);
      if (onError) worker.off("error", onError);
      if (onExit) worker.off("exit", onExit);
    });
    if (first.op !== "ready") {
      await worker.terminate();
      const failure =
        first.op === "failed" ? first : { code: "queue_unavailable", message: "queue thread failed" };
      throw new CollectorQueueError(failure.code, failure.message);
    }
    const checkpointer =
      options.path === ":memory:"
        ? undefined
        : new Worker(new URL("./queue-checkpointer.ts", import.meta.url), {
            workerData: {
              path: options.path,
              synchronous: options.synchronous ?? "normal",
              intervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
            },
          });
    // A checkpointer that fails leaves the writer's own (larger, blocking) checkpoints in charge.
    checkpointer?.on("error", () => {});
    return new CollectorQueue(worker, checkpointer, first.counts, options.now ?? Date.now);
  }

  private constructor(
    worker: Worker,
    checkpointer: Worker | undefined,
    counts: readonly ConnectionCount[],
    now: () => number,
  ) {
    this.#worker = worker;
    this.#checkpointer = checkpointer;
    this.#now = now;
    for (const [connection, count, oldest] of counts) {
      const state = this.#state(connection);
      state.stored = count;
      state.oldestAfterCursor = oldest;
    }
    worker.on("message", (reply: WorkerReply) => this.#onReply(reply));
    worker.on("error", (error) => this.#fail(new CollectorQueueError("queue_unavailable", error.message)));
    worker.on("exit", (code) => {
      if (!this.#closing || code !== 0)
        this.#fail(new CollectorQueueError("queue_unavailable", `queue thread exited (${code})`));
    });
  }

  /**
   * Stores the messages of one request; resolves once they are committed (durable), rejects with a
   * CollectorQueueError when the file cannot take them. All of them or none.
   */
  append(connection: string, entries: readonly QueueEntry[]): Promise<void> {
    const unusable = this.#unusable();
    if (unusable) return Promise.reject(unusable);
    if (entries.length === 0) return Promise.resolve();
    for (const entry of entries) {
      this.#messageTexts.push(JSON.stringify(entry.message));
      this.#noteTexts.push(entry.notes && entry.notes.length > 0 ? JSON.stringify(entry.notes) : "");
    }
    this.#groups.push([connection, this.#now(), entries.length]);
    this.#stats.appendCalls++;
    return this.#enqueueWrite();
  }

  /**
   * Hands out up to `limit` stored rows of the connection that no one holds, oldest first. They stay
   * stored (and are claimed again after a restart) until `ack`; `release` gives them back now.
   */
  claim(connection: string, limit: number): Promise<QueuedRow[]> {
    const state = this.#state(connection);
    const claim = state.claiming.then(() => this.#claim(connection, state, limit));
    state.claiming = claim.catch(() => {});
    return claim;
  }

  /** Deletes delivered rows; resolves once the deletion is committed. Unknown ids are ignored. */
  ack(ids: readonly number[]): Promise<void> {
    const unusable = this.#unusable();
    if (unusable) return Promise.reject(unusable);
    if (ids.length === 0) return Promise.resolve();
    for (const id of ids) this.#deletes.push(id);
    return this.#enqueueWrite();
  }

  /** Gives claimed rows back (delivery postponed): the next claim returns them first. */
  release(ids: readonly number[]): void {
    for (const id of ids) {
      for (const state of this.#connections.values()) {
        const row = state.inFlight.get(id);
        if (!row) continue;
        state.inFlight.delete(id);
        state.returned.push(row);
        state.returned.sort((a, b) => a.id - b.id);
        this.#wake(state);
        break;
      }
    }
  }

  /**
   * Resolves with up to `max` claimed rows once `max` rows wait or the oldest waiting row has waited
   * `maxDelayMs`: the pipeline's micro-batch trigger.
   */
  async waitForRows(connection: string, options: WaitForRowsOptions = {}): Promise<QueuedRow[]> {
    const max = options.max ?? DEFAULT_MAX;
    const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    const { signal } = options;
    const state = this.#state(connection);
    for (;;) {
      signal?.throwIfAborted();
      const unusable = this.#unusable();
      if (unusable) throw unusable;
      const waiting = state.stored - state.inFlight.size;
      const oldest = this.#oldestWaiting(state);
      if (waiting >= max || (waiting > 0 && oldest !== undefined && this.#now() - oldest >= maxDelayMs)) {
        const rows = await this.claim(connection, max);
        if (rows.length > 0) return rows;
        continue;
      }
      const dueInMs =
        waiting > 0 && oldest !== undefined ? Math.max(1, oldest + maxDelayMs - this.#now()) : undefined;
      await this.#changeOrTimeout(state, dueInMs, signal);
    }
  }

  /** Stored rows not yet acknowledged, for one connection or all. */
  depth(connection?: string): number {
    if (connection !== undefined) return this.#connections.get(connection)?.stored ?? 0;
    let total = 0;
    for (const state of this.#connections.values()) total += state.stored;
    return total;
  }

  /** Rows handed out by `claim` and not yet acknowledged or released. */
  claimed(connection: string): number {
    return this.#connections.get(connection)?.inFlight.size ?? 0;
  }

  stats(): CollectorQueueStats {
    return { ...this.#stats };
  }

  /** Commits what is pending, closes the file and stops the thread. Pending waits reject. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#writing || this.#scheduled) await new Promise<void>((resolve) => this.#idle.push(resolve));
    if (this.#checkpointer) {
      const stopped = once(this.#checkpointer, "exit");
      this.#checkpointer.postMessage("close");
      await stopped;
    }
    const closedError = new CollectorQueueError("queue_closed", "the collector queue is closed");
    if (!this.#broken) {
      await this.#request({ op: "close", seq: this.#nextSeq() }).catch(() => {});
    }
    this.#broken ??= closedError;
    for (const state of this.#connections.values()) this.#wake(state);
    await this.#worker.terminate();
  }

  #unusable(): CollectorQueueError | undefined {
    if (this.#broken) return this.#broken;
    if (this.#closing) return new CollectorQueueError("queue_closed", "the collector queue is closed");
    return undefined;
  }

  #state(connection: string): ConnectionState {
    let state = this.#connections.get(connection);
    if (!state) {
      state = {
        stored: 0,
        cursor: 0,
        oldestAfterCursor: undefined,
        inFlight: new Map(),
        returned: [],
        wakers: new Set(),
        claiming: Promise.resolve(),
      };
      this.#connections.set(connection, state);
    }
    return state;
  }

  #oldestWaiting(state: ConnectionState): number | undefined {
    const returned = state.returned[0]?.receivedAt.getTime();
    const afterCursor = state.oldestAfterCursor;
    if (returned === undefined) return afterCursor;
    return afterCursor === undefined ? returned : Math.min(returned, afterCursor);
  }

  #rowsAfterCursor(state: ConnectionState): number {
    return state.stored - state.inFlight.size - state.returned.length;
  }

  #enqueueWrite(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    if (!this.#writing && !this.#scheduled) {
      this.#scheduled = true;
      // Everything that arrives in this turn of the event loop joins the same transaction.
      setImmediate(() => {
        this.#scheduled = false;
        this.#flush();
      });
    }
    return done;
  }

  #flush(): void {
    if (this.#writing) return;
    if (this.#broken || (this.#groups.length === 0 && this.#deletes.length === 0)) {
      for (const resolve of this.#idle) resolve();
      this.#idle = [];
      return;
    }
    const groups = this.#groups;
    const deletes = this.#deletes;
    const waiting = this.#waiting;
    const request: WorkerRequest = {
      op: "write",
      seq: this.#nextSeq(),
      groups,
      messages: this.#messageTexts.join(ROW_SEPARATOR),
      notes: this.#noteTexts.join(ROW_SEPARATOR),
      deletes,
    };
    const rows = this.#messageTexts.length;
    this.#groups = [];
    this.#messageTexts = [];
    this.#noteTexts = [];
    this.#deletes = [];
    this.#waiting = [];
    this.#writing = true;
    this.#request(request).then(
      (reply) => {
        this.#writing = false;
        if (reply.op === "written") {
          this.#committed(groups, reply.deleted, deletes);
          this.#stats.writeMsTotal += reply.ms;
          this.#stats.writeMsMax = Math.max(this.#stats.writeMsMax, reply.ms);
        }
        this.#stats.commits++;
        this.#stats.rowsAppended += rows;
        for (const waiter of waiting) waiter.resolve();
        this.#flush();
      },
      (error: Error) => {
        this.#writing = false;
        for (const waiter of waiting) waiter.reject(error);
        this.#flush();
      },
    );
  }

  #committed(
    appended: readonly AppendGroup[],
    deleted: readonly (readonly [string, number])[],
    deletedIds: readonly number[],
  ): void {
    const changed = new Set<ConnectionState>();
    for (const [connection, receivedAt, count] of appended) {
      const state = this.#state(connection);
      if (this.#rowsAfterCursor(state) === 0) state.oldestAfterCursor = receivedAt;
      state.stored += count;
      changed.add(state);
    }
    for (const [connection, count] of deleted) {
      const state = this.#state(connection);
      state.stored -= count;
      this.#stats.rowsAcked += count;
      changed.add(state);
    }
    if (deletedIds.length > 0) {
      const gone = new Set(deletedIds);
      for (const state of this.#connections.values()) {
        for (const id of deletedIds) state.inFlight.delete(id);
        if (state.returned.length > 0) state.returned = state.returned.filter((row) => !gone.has(row.id));
      }
    }
    for (const state of changed) this.#wake(state);
  }

  async #claim(connection: string, state: ConnectionState, limit: number): Promise<QueuedRow[]> {
    const unusable = this.#unusable();
    if (unusable) throw unusable;
    const rows = state.returned.splice(0, limit);
    if (rows.length < limit && this.#rowsAfterCursor(state) > 0) {
      const reply = await this.#request({
        op: "read",
        seq: this.#nextSeq(),
        connection,
        afterId: state.cursor,
        limit: limit - rows.length,
      });
      if (reply.op === "rows") {
        for (const stored of reply.rows) rows.push(lazyRow(connection, stored));
        state.cursor = reply.rows.at(-1)?.[0] ?? state.cursor;
        state.oldestAfterCursor = reply.nextReceivedAt ?? undefined;
      }
    }
    for (const row of rows) state.inFlight.set(row.id, row);
    return rows;
  }

  async #changeOrTimeout(
    state: ConnectionState,
    dueInMs: number | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const timer = new AbortController();
    const onAbort = () => timer.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    let wake: (() => void) | undefined;
    const changed = new Promise<void>((resolve) => {
      wake = resolve;
      state.wakers.add(resolve);
    });
    try {
      const waits: Promise<unknown>[] = [changed];
      if (dueInMs !== undefined)
        waits.push(sleep(dueInMs, undefined, { signal: timer.signal }).catch(() => {}));
      if (signal)
        waits.push(new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true })));
      await Promise.race(waits);
    } finally {
      if (wake) state.wakers.delete(wake);
      timer.abort();
      signal?.removeEventListener("abort", onAbort);
    }
  }

  #wake(state: ConnectionState): void {
    for (const wake of state.wakers) wake();
    state.wakers.clear();
  }

  #nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }

  #request(request: WorkerRequest): Promise<WorkerReply> {
    if (this.#broken) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      this.#calls.set(request.seq, { resolve, reject });
      this.#worker.postMessage(request);
    });
  }

  #onReply(reply: WorkerReply): void {
    if (!("seq" in reply)) return;
    const call = this.#calls.get(reply.seq);
    if (!call) return;
    this.#calls.delete(reply.seq);
    if (reply.op === "error")
      call.reject(new CollectorQueueError(reply.code, `collector queue: ${reply.message}`));
    else call.resolve(reply);
  }

  #fail(error: CollectorQueueError): void {
    if (this.#broken) return;
    this.#broken = error;
    for (const call of this.#calls.values()) call.reject(error);
    this.#calls.clear();
    for (const waiter of this.#waiting) waiter.reject(error);
    this.#waiting = [];
    for (const state of this.#connections.values()) this.#wake(state);
  }
}

/**
 * A stored row whose JSON is parsed on first access, so that claiming 1000 rows does not hold the
 * thread (and the requests waiting on it). The accessors are own and enumerable: spreading or
 * serializing the row sees `message` and `notes` like plain fields.
 */
function lazyRow(connection: string, [id, receivedAt, messageText, notesText]: StoredRow): QueuedRow {
  let message: Record<string, unknown> | undefined;
  let notes: readonly string[] | undefined;
  const row = { id, connection, receivedAt: new Date(receivedAt) };
  return Object.defineProperties(row, {
    message: {
      enumerable: true,
      get: () => {
        message ??= JSON.parse(messageText) as Record<string, unknown>;
        return message;
      },
    },
    notes: {
      enumerable: true,
      get: () => {
        notes ??= notesText === null ? [] : (JSON.parse(notesText) as string[]);
        return notes;
      },
    },
  }) as QueuedRow;
}
