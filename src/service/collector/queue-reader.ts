// The consuming side of a collector queue in another process than the one that writes it (`serve`
// delivers in a process of its own). It reads rows on its own read-only connection (WAL: reads see
// the last commit and never block the writer), so the writing process spends no time on them. The
// file is the truth about what waits; `wake()` (the writer's process says rows arrived) makes waits
// look again. It never writes: deletions go through the writer (`CollectorQueue.ack`), and the
// caller reports them here with `settled`.
import { CollectorQueueError } from "./queue.ts";
import {
  type ClaimState,
  lazyRow,
  type QueuedRow,
  releaseClaims,
  type WaitForRowsOptions,
  waitForBatch,
  wakeWaits,
} from "./queue-claims.ts";
import { openQueueReader, type RowReader } from "./queue-file.ts";

export interface QueueReaderOptions {
  /** The queue file; it must exist (the writer creates it). */
  readonly path: string;
  /** Clock (unix ms) for the delay trigger; tests move it. */
  readonly now?: () => number;
}

interface ConnectionState extends ClaimState {
  /** Highest id handed out; rows above it have never been claimed by this reader. */
  cursor: number;
}

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
    const state = this.#state(connection);
    return waitForBatch(state, options, this.#now, {
      look: (max) => {
        if (this.#closed)
          throw new CollectorQueueError("queue_closed", "the collector queue reader is closed");
        const fresh = this.#file.after(connection, state.cursor, max);
        const returnedAt = state.returned[0]?.receivedAt.getTime();
        const oldest =
          returnedAt === undefined || fresh.oldest === undefined
            ? (returnedAt ?? fresh.oldest)
            : Math.min(returnedAt, fresh.oldest);
        return { waiting: state.returned.length + fresh.count, oldest };
      },
      claim: (max) => this.#claim(connection, state, max),
    });
  }

  /** Gives claimed rows back (delivery postponed): the next wait hands them out first. */
  release(ids: readonly number[]): void {
    releaseClaims(this.#connections.values(), ids);
  }

  /** Claimed rows the writer has deleted: this reader forgets them. */
  settled(ids: readonly number[]): void {
    for (const state of this.#connections.values()) for (const id of ids) state.inFlight.delete(id);
  }

  /** Rows arrived for these connections: waits look at the file again. */
  wake(connections?: Iterable<string>): void {
    if (connections === undefined) {
      for (const state of this.#connections.values()) wakeWaits(state);
      return;
    }
    for (const connection of connections) {
      const state = this.#connections.get(connection);
      if (state) wakeWaits(state);
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
}
