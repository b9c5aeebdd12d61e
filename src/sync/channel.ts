/**
 * A bounded single-consumer queue that is an async iterable: the producer awaits `push` when the
 * queue is full (back-pressure), the consumer iterates until `close`.
 */
export class Channel<T> implements AsyncIterable<T> {
  readonly #capacity: number;
  /** Taken slots are cleared at once: a taken item must not live on until the array is compacted. */
  #items: (T | undefined)[] = [];
  #head = 0;
  #closed = false;
  #abandoned = false;
  #takers: Array<() => void> = [];
  #pushers: Array<() => void> = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Resolves at once while there is room; otherwise when the consumer has taken enough. */
  push(item: T): Promise<void> | undefined {
    if (this.#closed) throw new Error("push on a closed channel");
    if (this.#abandoned) return undefined;
    this.#items.push(item);
    this.#wake(this.#takers);
    if (this.size < this.#capacity) return undefined;
    return new Promise((resolve) => this.#pushers.push(resolve));
    // A waiting producer is also released by close() and by the consumer abandoning the channel.
  }

  close(): void {
    this.#closed = true;
    this.#wake(this.#takers);
    this.#wake(this.#pushers);
  }

  /** True once the consumer stopped iterating early; pushes are then dropped, never blocked. */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  /**
   * Ending the iteration early abandons the channel. By hand rather than a generator's `finally`:
   * a consumer that took everything with `takeReady` never started the generator, whose `finally`
   * would then never run.
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    const drain = this.#drain();
    return {
      next: () => drain.next(),
      return: (value?: unknown) => {
        if (!this.#closed) {
          this.#abandoned = true;
          this.#wake(this.#pushers);
        }
        // Not awaited: a `next` still waiting for an item would hold it until a push or a close.
        drain.return(undefined).catch(() => undefined);
        return Promise.resolve({ done: true, value: value as T });
      },
    };
  }

  async *#drain(): AsyncGenerator<T> {
    while (true) {
      if (this.size === 0) {
        if (this.#closed) return;
        await new Promise<void>((resolve) => this.#takers.push(resolve));
        continue;
      }
      yield this.#take();
    }
  }

  /** An item already queued, without waiting (see QueuedSource); undefined when there is none. */
  takeReady(): T | undefined {
    return this.size > 0 ? this.#take() : undefined;
  }

  #take(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined;
    this.#head++;
    if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    if (this.size < this.#capacity) this.#wake(this.#pushers);
    return item;
  }

  #wake(waiters: Array<() => void>): void {
    if (waiters.length === 0) return;
    const woken = waiters.splice(0);
    for (const resolve of woken) resolve();
  }
}
