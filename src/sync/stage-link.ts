// The run's end of the delivery stage: the same messages whether the stage runs on a worker thread
// (the default: its own core, and a heap with limits of its own) or inline on the run's thread.
import { Worker } from "node:worker_threads";
import type { GraphClientOptions, Logger } from "../meta/graph/index.ts";
import { DeliveryStage } from "./delivery-stage.ts";
import type { CompiledConnection } from "./prepare.ts";
import type { StageInbound, StageOutbound, StageSetup } from "./stage-protocol.ts";

export interface StageLink {
  /** The stage's next message, in order. Rejects if a worker dies without saying `end`. */
  next(): Promise<StageOutbound>;
  send(message: StageInbound): void;
  /** Resolves once the stage has finished (after `end`) or been terminated. */
  close(): Promise<void>;
}

export interface LinkOptions {
  readonly worker: boolean;
  /** Inline only: the compiled connection, client settings with functions, the client's logger. */
  readonly compiled: CompiledConnection;
  readonly client: Partial<GraphClientOptions> | undefined;
  readonly logger: Logger | undefined;
}

/**
 * The worker's heap limits. The young generation is what V8 would otherwise grow to 64 MB per semi-space
 * on a large machine; the old generation cap is far above the stage's working set (read-ahead chunks,
 * normalizer caches, the client's queues), as a backstop rather than a target.
 */
const WORKER_HEAP = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 256 } as const;
/** How long a worker gets to end on its own after the run is over before it is terminated. */
const EXIT_GRACE_MS = 5000;

export function openStage(setup: StageSetup, options: LinkOptions): StageLink {
  return options.worker ? new WorkerLink(setup) : new InlineLink(setup, options);
}

/** Messages from the stage, waited for one at a time. */
class Inbox {
  readonly #messages: StageOutbound[] = [];
  #wake: (() => void) | undefined;
  #failure: Error | undefined;

  push(message: StageOutbound): void {
    this.#messages.push(message);
    this.#notify();
  }

  fail(error: Error): void {
    this.#failure ??= error;
    this.#notify();
  }

  async next(): Promise<StageOutbound> {
    while (true) {
      const message = this.#messages.shift();
      if (message !== undefined) return message;
      if (this.#failure !== undefined) throw this.#failure;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

class InlineLink implements StageLink {
  readonly #inbox = new Inbox();
  readonly #stage: DeliveryStage;
  readonly #done: Promise<void>;

  constructor(setup: StageSetup, options: LinkOptions) {
    this.#stage = new DeliveryStage(setup, (message) => this.#inbox.push(message), {
      compiled: options.compiled,
      ...(options.client && { client: options.client }),
      ...(options.logger && { logger: options.logger }),
    });
    this.#done = this.#stage.run();
  }

  next(): Promise<StageOutbound> {
    return this.#inbox.next();
  }

  send(message: StageInbound): void {
    this.#stage.receive(message);
  }

  close(): Promise<void> {
    return this.#done;
  }
}

class WorkerLink implements StageLink {
  readonly #inbox = new Inbox();
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #ended = false;
  #alive = true;

  constructor(setup: StageSetup) {
    this.#worker = new Worker(new URL("./stage-worker.ts", import.meta.url), {
      workerData: setup,
      resourceLimits: process.env.CAPI_SYNC_YOUNG
        ? { ...WORKER_HEAP, maxYoungGenerationSizeMb: Number(process.env.CAPI_SYNC_YOUNG) }
        : WORKER_HEAP,
    });
    this.#worker.on("message", (message: StageOutbound) => {
      if (message.type === "end") this.#ended = true;
      this.#inbox.push(message);
    });
    this.#worker.on("error", (error) => this.#inbox.fail(error));
    this.#exited = new Promise((resolve) => {
      this.#worker.once("exit", (code) => {
        this.#alive = false;
        if (!this.#ended)
          this.#inbox.fail(new Error(`the delivery worker stopped unexpectedly (exit code ${code})`));
        resolve();
      });
    });
  }

  next(): Promise<StageOutbound> {
    return this.#inbox.next();
  }

  send(message: StageInbound): void {
    if (!this.#alive) return;
    if (message.type === "verdict") this.#worker.postMessage(message, [message.deliver.buffer]);
    else this.#worker.postMessage(message);
  }

  async close(): Promise<void> {
    if (!this.#alive) return;
    const timer = setTimeout(() => void this.#worker.terminate(), this.#ended ? EXIT_GRACE_MS : 0);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
