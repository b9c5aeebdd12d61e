// Events are serialized once, when they enter the client, straight into the request body of their
// batch: the body of a first attempt is that buffer, with no join and no copy. Retries reuse it;
// sub-batches (bisection, expired events dropped) concatenate the events' byte slices, so nothing
// is ever stringified twice. Batches are cut by count (Meta's 1,000, spec §1.5) and by body bytes
// (no documented limit; the cap is ours).

/** One event on its way: the caller's ref, its UTF-8 JSON, and the state of its retries. */
export interface PendingEvent<R> {
  readonly ref: R;
  /**
   * The event's JSON is bytes `start` to `end` of its batch's body buffer: offsets, not a view,
   * since a Buffer object per event costs more than the sub-batches that would read it.
   */
  readonly buffer: Buffer;
  readonly start: number;
  readonly end: number;
  /** Meta's age window for this event, less the margin (ms since epoch). */
  readonly ageDeadline: number;
  /** The retry deadline; equals ageDeadline until the first attempt. */
  deadline: number;
  /** Set once, when the event first goes on the wire. */
  firstAttemptAt: number | undefined;
}

export const MAX_EVENTS_PER_REQUEST = 1000;

const PREFIX = Buffer.from('{"data":[');
const COMMA = 0x2c;
const encoder = new TextEncoder();

/** The top-level parameters after `data`, serialized once per dataset (spec §1.4). */
export function bodySuffix(params: Readonly<Record<string, string | undefined>>): Buffer {
  let suffix = "]";
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) suffix += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  }
  return Buffer.from(`${suffix}}`);
}

/** A body for any list of pending events (sub-batches); the first attempt uses the batch's own. */
export function buildBody(events: readonly PendingEvent<unknown>[], suffix: Buffer): Buffer {
  const body = Buffer.allocUnsafe(bodyBytes(events, suffix));
  let offset = PREFIX.copy(body, 0);
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as PendingEvent<unknown>;
    if (i > 0) body[offset++] = COMMA;
    offset += event.buffer.copy(body, offset, event.start, event.end);
  }
  suffix.copy(body, offset);
  return body;
}

export interface BatchLimits {
  readonly maxEvents: number;
  readonly maxBodyBytes: number;
}

/** A closed batch: its events and the body that carries exactly them. */
export interface Batch<R> {
  readonly events: PendingEvent<R>[];
  readonly body: Buffer;
  /** The buffer behind `body` and the events' bytes, handed back to the pool once the batch settles. */
  readonly buffer: Buffer | undefined;
}

/**
 * Body buffers of `size` bytes, reused: a dataset holds a fixed number of batches at once (client.ts,
 * `batchesHeld`), so a run of millions of events cycles through the same few buffers instead of
 * allocating one per batch.
 */
export class BufferPool {
  readonly #size: number;
  readonly #keep: number;
  readonly #free: Buffer[] = [];

  constructor(size: number, keep: number) {
    this.#size = size;
    this.#keep = keep;
  }

  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#size);
  }

  /** Only once nothing reads the buffer any more: its batch has settled. */
  give(buffer: Buffer): void {
    if (buffer.length === this.#size && this.#free.length < this.#keep) this.#free.push(buffer);
  }
}

/** Writes events into one body buffer until the next one would break a limit. */
export class BatchBuilder<R> {
  readonly #limits: BatchLimits;
  readonly #suffix: Buffer;
  readonly #pool: BufferPool;
  #buffer: Buffer | undefined;
  #offset = 0;
  #events: PendingEvent<R>[] = [];

  constructor(limits: BatchLimits, suffix: Buffer, pool: BufferPool) {
    this.#limits = limits;
    this.#suffix = suffix;
    this.#pool = pool;
  }

  get size(): number {
    return this.#events.length;
  }

  /**
   * Encodes `json` into the current batch. Returns undefined, leaving the batch as it was, when the
   * batch is full or the event does not fit in the bytes left (in an empty batch: too big to send).
   */
  add(ref: R, json: string, ageDeadline: number): PendingEvent<R> | undefined {
    if (this.#events.length >= this.#limits.maxEvents) return undefined;
    if (this.#buffer === undefined) {
      this.#buffer = this.#pool.take();
      this.#offset = PREFIX.copy(this.#buffer, 0);
    }
    const start = this.#events.length > 0 ? this.#offset + 1 : this.#offset;
    const end = this.#limits.maxBodyBytes - this.#suffix.length;
    if (start >= end) return undefined;
    const { read, written } = encoder.encodeInto(json, this.#buffer.subarray(start, end));
    if (read < json.length) return undefined;
    if (start > this.#offset) this.#buffer[this.#offset] = COMMA;
    this.#offset = start + written;
    const event: PendingEvent<R> = {
      ref,
      buffer: this.#buffer,
      start,
      end: this.#offset,
      ageDeadline,
      deadline: ageDeadline,
      // Present from the start: set later, it would give each of a million events a new shape and
      // a property store, promoted with the event while its batch is in flight.
      firstAttemptAt: undefined,
    };
    this.#events.push(event);
    return event;
  }

  take(): Batch<R> {
    const buffer = this.#buffer;
    if (buffer === undefined) return { events: [], body: Buffer.concat([PREFIX, this.#suffix]), buffer };
    const length = this.#offset + this.#suffix.copy(buffer, this.#offset);
    const batch: Batch<R> = { events: this.#events, body: buffer.subarray(0, length), buffer };
    this.#buffer = undefined;
    this.#events = [];
    return batch;
  }
}

/** Body bytes of a list of pending events. */
export function bodyBytes(events: readonly PendingEvent<unknown>[], suffix: Buffer): number {
  let bytes = PREFIX.length + suffix.length + Math.max(0, events.length - 1);
  for (const event of events) bytes += event.end - event.start;
  return bytes;
}

/** Cuts pending events (each small enough alone) into lists within the limits, order kept. */
export function splitIntoBatches<R>(
  events: readonly PendingEvent<R>[],
  limits: BatchLimits,
  suffix: Buffer,
): PendingEvent<R>[][] {
  const batches: PendingEvent<R>[][] = [];
  let current: PendingEvent<R>[] = [];
  let bytes = PREFIX.length + suffix.length;
  for (const event of events) {
    const added = (current.length > 0 ? 1 : 0) + (event.end - event.start);
    if (current.length > 0 && (current.length >= limits.maxEvents || bytes + added > limits.maxBodyBytes)) {
      batches.push(current);
      current = [];
      bytes = PREFIX.length + suffix.length;
    }
    bytes += (current.length > 0 ? 1 : 0) + (event.end - event.start);
    current.push(event);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
