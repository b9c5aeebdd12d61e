// The consumer's side of the collector queue: which stored rows are waiting, which are claimed, and
// when a micro-batch is due. It holds no rows of its own beyond those claimed; it learns of commits
// from whoever writes (`appended`, `removed`) and reads rows through a function, so the same book
// serves the queue on the HTTP thread (reads go to the writer thread) and a reader on the delivery
// thread (reads on its own SQLite connection).
import { setTimeout as sleep } from "node:timers/promises";
import type { AppendGroup, ConnectionCount, StoredRow } from "./queue-protocol.ts";

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

/** Rows of one connection after `afterId`, oldest first, and the received time of the next one. */
export interface StoredPage {
  readonly rows: readonly StoredRow[];
  readonly nextReceivedAt: number | null;
}

export type ReadStored = (connection: string, afterId: number, limit: number) => Promise<StoredPage>;

export interface ClaimBookOptions {
  readonly read: ReadStored;
  readonly now: () => number;
  /** Why the queue cannot be used now (closed, broken), or undefined. */
  readonly unusable: () => Error | undefined;
}

/** What each consumer of the queue (this book, a `QueueReader`) keeps per connection about its claims. */
export interface ClaimState {
  readonly inFlight: Map<number, QueuedRow>;
  /** Claimed rows given back by `release`, oldest first, claimed again before anything newer. */
  returned: QueuedRow[];
  /** Waits for rows, woken by any change. */
  readonly wakers: Set<() => void>;
}

interface ConnectionState extends ClaimState {
  /** Committed rows not yet acknowledged (claimed or not). */
  stored: number;
  /** Highest id handed out by a read of the file; rows above it have never been claimed. */
  cursor: number;
  /** Received time of the first row above the cursor, when one exists. */
  oldestAfterCursor: number | undefined;
  /** Claims run one at a time per connection so two never read past the same cursor. */
  claiming: Promise<unknown>;
}

export const DEFAULT_MAX = 1000;
export const DEFAULT_MAX_DELAY_MS = 1000;

export class ClaimBook {
  readonly #read: ReadStored;
  readonly #now: () => number;
  readonly #unusable: () => Error | undefined;
  readonly #connections = new Map<string, ConnectionState>();

  constructor(options: ClaimBookOptions) {
    this.#read = options.read;
    this.#now = options.now;
    this.#unusable = options.unusable;
  }

  /** What the file held when this book started: every row is waiting, none claimed. */
  seed(counts: readonly ConnectionCount[]): void {
    for (const [connection, count, oldest] of counts) {
      const state = this.#state(connection);
      state.stored += count;
      if (count > 0 && this.#rowsAfterCursor(state) === count) state.oldestAfterCursor = oldest;
    }
  }

  /** Rows committed by appends. */
  appended(groups: readonly AppendGroup[]): void {
    const changed = new Set<ConnectionState>();
    for (const [connection, receivedAt, count] of groups) {
      const state = this.#state(connection);
      if (this.#rowsAfterCursor(state) <= 0) state.oldestAfterCursor = receivedAt;
      state.stored += count;
      changed.add(state);
    }
    for (const state of changed) wakeWaits(state);
  }

  /** Rows deleted by a committed ack: per connection how many, and which ids. */
  removed(deleted: readonly (readonly [string, number])[], ids: readonly number[]): void {
    const changed = new Set<ConnectionState>();
    for (const [connection, count] of deleted) {
      const state = this.#state(connection);
      state.stored -= count;
      changed.add(state);
    }
    if (ids.length > 0) {
      const gone = new Set(ids);
      for (const state of this.#connections.values()) {
        for (const id of ids) state.inFlight.delete(id);
        if (state.returned.length > 0) state.returned = state.returned.filter((row) => !gone.has(row.id));
      }
    }
    for (const state of changed) wakeWaits(state);
  }

  /**
   * Hands out up to `limit` stored rows of the connection that no one holds, oldest first. They stay
   * stored until acknowledged; `release` gives them back now.
   */
  claim(connection: string, limit: number): Promise<QueuedRow[]> {
    const state = this.#state(connection);
    const claim = state.claiming.then(() => this.#claim(connection, state, limit));
    state.claiming = claim.catch(() => {});
    return claim;
  }

  /** Gives claimed rows back (delivery postponed): the next claim returns them first. */
  release(ids: readonly number[]): void {
    releaseClaims(this.#connections.values(), ids);
  }

  /**
   * Resolves with up to `max` claimed rows once `max` rows wait or the oldest waiting row has waited
   * `maxDelayMs`: the pipeline's micro-batch trigger.
   */
  async waitForRows(connection: string, options: WaitForRowsOptions = {}): Promise<QueuedRow[]> {
    const state = this.#state(connection);
    return waitForBatch(state, options, this.#now, {
      look: () => {
        const unusable = this.#unusable();
        if (unusable) throw unusable;
        return { waiting: state.stored - state.inFlight.size, oldest: this.#oldestWaiting(state) };
      },
      claim: (max) => this.claim(connection, max),
    });
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

  /** Wakes every wait, so that it sees the queue closed or broken. */
  wakeAll(): void {
    for (const state of this.#connections.values()) wakeWaits(state);
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

  async #claim(connection: string, state: ConnectionState, limit: number): Promise<QueuedRow[]> {
    const unusable = this.#unusable();
    if (unusable) throw unusable;
    const rows = state.returned.splice(0, limit);
    if (rows.length < limit && this.#rowsAfterCursor(state) > 0) {
      const page = await this.#read(connection, state.cursor, limit - rows.length);
      for (const stored of page.rows) rows.push(lazyRow(connection, stored));
      state.cursor = page.rows.at(-1)?.[0] ?? state.cursor;
      state.oldestAfterCursor = page.nextReceivedAt ?? undefined;
    }
    for (const row of rows) state.inFlight.set(row.id, row);
    return rows;
  }
}

/** Gives claimed rows back to whichever connection holds them, oldest first, and wakes its waits. */
export function releaseClaims(states: Iterable<ClaimState>, ids: readonly number[]): void {
  const all = [...states];
  const changed = new Set<ClaimState>();
  for (const id of ids) {
    for (const state of all) {
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
    wakeWaits(state);
  }
}

export function wakeWaits(state: ClaimState): void {
  for (const wake of state.wakers) wake();
  state.wakers.clear();
}

/**
 * The micro-batch trigger shared by the claim book and the cross-process reader: claims up to `max`
 * rows once `max` wait or the oldest waiting one has waited `maxDelayMs`, else waits for a change.
 * `look` says what waits among the next `max` (and throws when the queue cannot be used); `claim`
 * takes rows.
 */
export async function waitForBatch(
  state: ClaimState,
  options: WaitForRowsOptions,
  now: () => number,
  queue: {
    look(max: number): { waiting: number; oldest: number | undefined };
    claim(max: number): QueuedRow[] | Promise<QueuedRow[]>;
  },
): Promise<QueuedRow[]> {
  const max = options.max ?? DEFAULT_MAX;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  for (;;) {
    options.signal?.throwIfAborted();
    const { waiting, oldest } = queue.look(max);
    const dueInMs = waiting > 0 && oldest !== undefined ? oldest + maxDelayMs - now() : undefined;
    if (waiting >= max || (dueInMs !== undefined && dueInMs <= 0)) {
      const rows = await queue.claim(max);
      if (rows.length > 0) return rows;
      continue;
    }
    await waitForChange(state, dueInMs, options.signal);
  }
}

/** Until the state changes, `dueInMs` pass (at least 1 ms; never when undefined) or `signal` aborts. */
async function waitForChange(
  state: ClaimState,
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

/**
 * A stored row whose JSON is parsed on first access, so that claiming 1000 rows does not hold the
 * thread (and the requests waiting on it). The accessors are own and enumerable: spreading or
 * serializing the row sees `message` and `notes` like plain fields.
 */
export function lazyRow(connection: string, [id, receivedAt, messageText, notesText]: StoredRow): QueuedRow {
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
