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
// the next one, so a burst of concurrent requests costs a few commits, not one each. Acks are
// deleted a slice at a time: deleting a thousand rows takes milliseconds, which the appends sharing
// that transaction (and the requests waiting for them) would otherwise wait for.
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { ClaimBook, type QueuedRow, type StoredPage, type WaitForRowsOptions } from "./queue-claims.ts";
import {
  type AppendGroup,
  type ConnectionCount,
  ROW_SEPARATOR,
  type Synchronous,
  type WorkerReply,
  type WorkerRequest,
} from "./queue-protocol.ts";

export type { QueuedRow, WaitForRowsOptions } from "./queue-claims.ts";
export type { Synchronous } from "./queue-protocol.ts";

export interface CollectorQueueOptions {
  /** The queue's own SQLite file (created with mode 0600), or ":memory:". One process owns it. */
  readonly path: string;
  /** Default "normal": survives a crash of the process; "full": also power loss (fsync per commit). */
  readonly synchronous?: Synchronous;
  /**
   * How often a separate thread moves the WAL into the database file (default 20 ms). Each
   * checkpoint's fsync stalls the commits running beside it for about as long as it takes, so many
   * small checkpoints keep the acknowledgement tail short (README.md, Measured).
   */
  readonly checkpointIntervalMs?: number;
  /** Clock for received times (unix ms); tests move it. */
  readonly now?: () => number;
}

/** One message to store, with the value-free notes the collector made while enriching it. */
export interface QueueEntry {
  readonly message: Record<string, unknown>;
  readonly notes?: readonly string[];
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

/** An `ack` call: its ids, how many of them are in transactions already, and its caller. */
interface PendingAck {
  readonly ids: readonly number[];
  taken: number;
  readonly done: Deferred;
}

interface PendingCall {
  resolve(reply: WorkerReply): void;
  reject(error: Error): void;
}

const DEFAULT_CHECKPOINT_INTERVAL_MS = 20;
/** Rows deleted per transaction (about a quarter of a millisecond of the writer's time). */
const ACK_SLICE = 128;

export class CollectorQueue {
  readonly #worker: Worker;
  readonly #checkpointer: Worker | undefined;
  readonly #now: () => number;
  readonly #calls = new Map<number, PendingCall>();
  readonly #book: ClaimBook;
  readonly #appendListeners = new Set<(connections: ReadonlySet<string>) => void>();
  #seq = 0;
  #broken: CollectorQueueError | undefined;
  #closing: Promise<void> | undefined;

  #groups: AppendGroup[] = [];
  #messageTexts: string[] = [];
  #noteTexts: string[] = [];
  #acks: PendingAck[] = [];
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
    this.#book = new ClaimBook({
      read: (connection, afterId, limit) => this.#readStored(connection, afterId, limit),
      now,
      unusable: () => this.#unusable(),
    });
    this.#book.seed(counts);
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
    return this.#book.claim(connection, limit);
  }

  /**
   * Deletes delivered rows; resolves once the deletion is committed (in slices of ACK_SLICE rows,
   * each sharing a transaction with the appends of its moment). Unknown ids are ignored.
   */
  ack(ids: readonly number[]): Promise<void> {
    const unusable = this.#unusable();
    if (unusable) return Promise.reject(unusable);
    if (ids.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) =>
      this.#acks.push({ ids: [...ids], taken: 0, done: { resolve, reject } }),
    );
    this.#scheduleWrite();
    return done;
  }

  /**
   * Calls `listener` after each commit that stored messages, with their connections: how a consumer
   * elsewhere (the delivery process) learns that rows arrived. Returns the unsubscribe function.
   */
  onAppended(listener: (connections: ReadonlySet<string>) => void): () => void {
    this.#appendListeners.add(listener);
    return () => this.#appendListeners.delete(listener);
  }

  /** Gives claimed rows back (delivery postponed): the next claim returns them first. */
  release(ids: readonly number[]): void {
    this.#book.release(ids);
  }

  /**
   * Resolves with up to `max` claimed rows once `max` rows wait or the oldest waiting row has waited
   * `maxDelayMs`: the pipeline's micro-batch trigger.
   */
  waitForRows(connection: string, options: WaitForRowsOptions = {}): Promise<QueuedRow[]> {
    return this.#book.waitForRows(connection, options);
  }

  /** Stored rows not yet acknowledged, for one connection or all. */
  depth(connection?: string): number {
    return this.#book.depth(connection);
  }

  /** Rows handed out by `claim` and not yet acknowledged or released. */
  claimed(connection: string): number {
    return this.#book.claimed(connection);
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
    this.#book.wakeAll();
    await this.#worker.terminate();
  }

  #unusable(): CollectorQueueError | undefined {
    if (this.#broken) return this.#broken;
    if (this.#closing) return new CollectorQueueError("queue_closed", "the collector queue is closed");
    return undefined;
  }

  #enqueueWrite(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#scheduleWrite();
    return done;
  }

  #scheduleWrite(): void {
    if (!this.#writing && !this.#scheduled) {
      this.#scheduled = true;
      // Everything that arrives in this turn of the event loop joins the same transaction.
      setImmediate(() => {
        this.#scheduled = false;
        this.#flush();
      });
    }
  }

  /** The next slice of ack ids, and the acks it completes or touches. */
  #takeDeletes(): { ids: number[]; completed: Deferred[]; touched: PendingAck[] } {
    const ids: number[] = [];
    const completed: Deferred[] = [];
    const touched: PendingAck[] = [];
    while (ids.length < ACK_SLICE) {
      const ack = this.#acks[0];
      if (ack === undefined) break;
      const slice = ack.ids.slice(ack.taken, ack.taken + ACK_SLICE - ids.length);
      for (const id of slice) ids.push(id);
      ack.taken += slice.length;
      touched.push(ack);
      if (ack.taken < ack.ids.length) break;
      this.#acks.shift();
      completed.push(ack.done);
    }
    return { ids, completed, touched };
  }

  #flush(): void {
    if (this.#writing) return;
    if (this.#broken || (this.#groups.length === 0 && this.#acks.length === 0)) {
      for (const resolve of this.#idle) resolve();
      this.#idle = [];
      return;
    }
    const groups = this.#groups;
    const { ids: deletes, completed, touched } = this.#takeDeletes();
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
        for (const ack of completed) ack.resolve();
        this.#flush();
      },
      (error: Error) => {
        this.#writing = false;
        for (const waiter of waiting) waiter.reject(error);
        // An ack whose slice failed fails whole; its other slices are not tried.
        for (const ack of touched) ack.done.reject(error);
        this.#acks = this.#acks.filter((ack) => !touched.includes(ack));
        this.#flush();
      },
    );
  }

  #committed(
    appended: readonly AppendGroup[],
    deleted: readonly (readonly [string, number])[],
    deletedIds: readonly number[],
  ): void {
    for (const [, count] of deleted) this.#stats.rowsAcked += count;
    this.#book.appended(appended);
    this.#book.removed(deleted, deletedIds);
    if (appended.length > 0 && this.#appendListeners.size > 0) {
      const connections = new Set(appended.map(([connection]) => connection));
      for (const listener of this.#appendListeners) listener(connections);
    }
  }

  async #readStored(connection: string, afterId: number, limit: number): Promise<StoredPage> {
    const reply = await this.#request({ op: "read", seq: this.#nextSeq(), connection, afterId, limit });
    return reply.op === "rows" ? reply : { rows: [], nextReceivedAt: null };
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
    for (const ack of this.#acks) ack.done.reject(error);
    this.#acks = [];
    this.#book.wakeAll();
  }
}
