// The number of requests a dataset may have on the wire, adapted to throttling the way TCP adapts
// its congestion window (AIMD): halve on a throttle answer, grow by one per window's worth of
// successes, never above the configured maximum. Several throttles answering requests that were
// all sent before the last cut count as one signal, so a burst does not collapse the window to 1.
// A new window opens at 1 and widens to its maximum on the first success: the first request of a
// dataset goes alone, so a refused token or dataset costs one request, not a window's worth.

export interface WindowStats {
  /** Requests currently allowed on the wire. */
  readonly limit: number;
  readonly inFlight: number;
  readonly max: number;
}

export class AimdWindow {
  readonly #max: number;
  readonly #min: number;
  readonly #onChange: ((stats: WindowStats) => void) | undefined;
  #limit = 1;
  /** Successes since the limit last grew: additive increase adds one per `limit` successes. */
  #credits = 0;
  #opened = false;
  #inFlight = 0;
  #issued = 0;
  /** Tickets issued up to the last decrease; throttles on them were already answered by it. */
  #cutAt = 0;
  #waiters: Array<{ resolve: (ticket: number) => void; reject: (reason: unknown) => void }> = [];

  constructor(max: number, options: { min?: number; onChange?: (stats: WindowStats) => void } = {}) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError("window must be an integer ≥ 1");
    this.#max = max;
    this.#min = Math.min(options.min ?? 1, max);
    this.#onChange = options.onChange;
  }

  get limit(): number {
    return this.#limit;
  }

  get stats(): WindowStats {
    return { limit: this.limit, inFlight: this.#inFlight, max: this.#max };
  }

  /** Waits for a slot; resolves with a ticket to hand back to onThrottle. Rejects if `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#inFlight < this.limit && this.#waiters.length === 0) return Promise.resolve(this.#issue());
    return new Promise<number>((resolve, reject) => {
      const waiter = {
        resolve: (ticket: number) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(ticket);
        },
        reject,
      };
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(): void {
    this.#inFlight -= 1;
    this.#wake();
  }

  onSuccess(): void {
    if (!this.#opened) {
      // Opened by a success; a throttle before it opens the window too, and it then grows additively.
      this.#opened = true;
      this.#limit = this.#max;
    } else {
      if (this.#limit >= this.#max) return;
      this.#credits += 1;
      if (this.#credits < this.#limit) return;
      this.#credits = 0;
      this.#limit += 1;
    }
    this.#changed();
    this.#wake();
  }

  /** Multiplicative decrease, once per round of requests. */
  onThrottle(ticket: number): void {
    if (ticket <= this.#cutAt) return;
    this.#cutAt = this.#issued;
    const before = this.#limit;
    this.#limit = Math.max(this.#min, Math.floor(this.#limit / 2));
    this.#credits = 0;
    this.#opened = true;
    if (this.#limit !== before) this.#changed();
  }

  #issue(): number {
    this.#inFlight += 1;
    this.#issued += 1;
    return this.#issued;
  }

  #wake(): void {
    while (this.#inFlight < this.limit && this.#waiters.length > 0) {
      const waiter = this.#waiters.shift();
      waiter?.resolve(this.#issue());
    }
  }

  #changed(): void {
    this.#onChange?.(this.stats);
  }
}

/** A counting semaphore of fixed size: bounds the batches a dataset holds in memory at once. */
export class Slots {
  #free: number;
  #waiters: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  acquire(): Promise<void> {
    if (this.#free > 0 && this.#waiters.length === 0) {
      this.#free -= 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free += 1;
  }
}
