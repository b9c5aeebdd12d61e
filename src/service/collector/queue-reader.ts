// The consuming side of a collector queue in another process than the one that writes it (`serve`
// delivers in a process of its own). It reads rows on its own read-only connection (WAL: reads see
// the last commit and never block the writer), so the writing process spends no time on them. The
// file is the truth about what waits; `wake()` (the writer's process says rows arrived) makes waits
// look again. It never writes: deletions go through the writer (`CollectorQueue.ack`), and the
// caller reports them here with `settled`.
import { setTimeout as sleep } from "node:timers/promises";
import { CollectorQueueError } from "./queue.ts";
import { lazyRow, type QueuedRow, type WaitForRowsOptions } from "./queue-claims.ts";
import { openQueueReader, type RowReader } from "./queue-file.ts";

export interface QueueReaderOptions {
  /** The queue file; it must exist (the writer creates it). */
  readonly path: string;
  /** Clock (unix ms) for the delay trigger; tests move it. */
  readonly now?: () => number;
}

interface ConnectionState {
  /** Highest id handed out; rows above it have never been claimed by this reader. */
  cursor: number;
  readonly inFlight: Map<number, QueuedRow>;
  /** Claimed rows given back by `release`, oldest first, claimed again before anything newer. */
  returned: QueuedRow[];
  readonly wakers: Set<() => void>;
}

const DEFAULT_MAX = 1000;
const DEFAULT_MAX_DELAY_MS = 1000;

export class QueueReader {
  readonly #file: RowReader;
  readonly #closeFile: () => void;
  readonly #now: () => number;
  readonly #connections = new Map<string, ConnectionState>();
  #closed = false;

  private constructor(file: ReturnType<typeof openQueueReader>, now: () => number) {
    this.#file = file.reader;
    this.#closeFile = file.close;
    this.#now = now;
  }

  static open(options: QueueReaderOptions): QueueReader {
    return new QueueReader(openQueueReader(options.path), options.now ?? Date.now);
  }

  /**
   * Resolves with up to `max` rows nobody holds, oldest first, once `max` of them wait or the oldest
   * has waited `maxDelayMs`. They stay stored (and claimable by the next reader after a restart)
   * until deleted through the writer.
   */
  async waitForRows(connection: string, options: WaitForRowsOptions = {}): Promise<QueuedRow[]> {
    const max = options.max ?? DEFAULT_MAX;
    const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    const { signal } = options;
    const state = this.#state(connection);
    for (;;) {
      signal?.throwIfAborted();
      if (this.#closed) throw new CollectorQueueError("queue_closed", "the collector queue reader is closed");
      const fresh = this.#file.after(connection, state.cursor, max);
      const waiting = state.returned.length + fresh.count;
      const returnedAt = state.returned[0]?.receivedAt.getTime();
      const oldest =
        returnedAt === undefined || fresh.oldest === undefined
          ? (returnedAt ?? fresh.oldest)
          : Math.min(returnedAt, fresh.oldest);
      if (waiting >= max || (oldest !== undefined && this.#now() - oldest >= maxDelayMs)) {
        const rows = this.#claim(connection, state, max);
        if (rows.length > 0) return rows;
        continue;
      }
      await this.#changeOrTimeout(
        state,
        oldest === undefined ? undefined : oldest + maxDelayMs - this.#now(),
        signal,
      );
    }
  }

  /** Gives claimed rows back (delivery postponed): the next wait hands them out first. */
  release(ids: readonly number[]): void {
    const changed = new Set<ConnectionState>();
    for (const id of ids) {
      for (const state of this.#connections.values()) {
        const row = state.inFlight.get(id);
        if (row === undefined) continue;
        state.inFlight.delete(id);
        state.returned.push(row);
        changed.add(state);
        break;
      }
    }
    for (const state of changed) {
      state.returned.sort((a, b) => a.id - b.id);
      this.#wake(state);
    }
  }

  /** Claimed rows the writer has deleted: this reader forgets them. */
  settled(ids: readonly number[]): void {
    for (const state of this.#connections.values()) for (const id of ids) state.inFlight.delete(id);
  }

  /** Rows arrived for these connections: waits look at the file again. */
  wake(connections?: Iterable<string>): void {
    if (connections === undefined) {
      for (const state of this.#connections.values()) this.#wake(state);
      return;
    }
    for (const connection of connections) {
      const state = this.#connections.get(connection);
      if (state) this.#wake(state);
    }
  }

  /** Rows handed out and neither settled nor released. */
  claimed(connection: string): number {
    return this.#connections.get(connection)?.inFlight.size ?? 0;
  }

  /** Waits reject; the file is let go. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.wake();
    this.#closeFile();
  }

  #claim(connection: string, state: ConnectionState, limit: number): QueuedRow[] {
    const rows = state.returned.splice(0, limit);
    if (rows.length < limit) {
      const page = this.#file.read(connection, state.cursor, limit - rows.length);
      for (const stored of page.rows) rows.push(lazyRow(connection, stored));
      state.cursor = page.rows.at(-1)?.[0] ?? state.cursor;
    }
    for (const row of rows) state.inFlight.set(row.id, row);
    return rows;
  }

  #state(connection: string): ConnectionState {
    let state = this.#connections.get(connection);
    if (state === undefined) {
      state = { cursor: 0, inFlight: new Map(), returned: [], wakers: new Set() };
      this.#connections.set(connection, state);
    }
    return state;
  }

  async #changeOrTimeout(
    state: ConnectionState,
    dueInMs: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const timer = new AbortController();
    let wake: (() => void) | undefined;
    const changed = new Promise<void>((resolve) => {
      wake = resolve;
      state.wakers.add(resolve);
    });
    const onAbort = (): void => wake?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const waits: Promise<unknown>[] = [changed];
      if (dueInMs !== undefined)
        waits.push(sleep(Math.max(1, dueInMs), undefined, { signal: timer.signal }).catch(() => {}));
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
}
