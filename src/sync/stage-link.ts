// The run's end of the delivery stage: the same messages whether the stage runs on a worker thread
// (the default: another core, and a heap with limits of its own) or inline on the run's thread.
import { setFlagsFromString } from "node:v8";
import { Worker } from "node:worker_threads";
import type { GraphClient, GraphClientOptions, Logger } from "../meta/graph/index.ts";
import type { DeliveryStage } from "./delivery-stage.ts";
import type { MappingAndKey } from "./mapping-and-key.ts";
import { packRows } from "./row-pack.ts";
import type { StageInbound, StageOutbound, StageSetup } from "./stage-protocol.ts";

export interface StageLink {
  send(message: StageInbound): void;
  /** Resolves once the stage's `end` has been handled; rejects if a worker dies without one. */
  readonly done: Promise<void>;
  /** Ends a stage that is still running (after a failure on the run's side). */
  close(): Promise<void>;
}

export interface LinkOptions {
  readonly worker: boolean;
  /** Inline only: the mapping and key the run compiled, client settings with functions, the client's logger. */
  readonly mappingAndKey: MappingAndKey;
  readonly client: Partial<GraphClientOptions> | undefined;
  readonly logger: Logger | undefined;
  /** Inline only: a client that outlives the run (see StageOptions.graphClient). */
  readonly graphClient?: GraphClient | undefined;
}

/**
 * The worker's heap limits. Unlimited, V8 sizes a heap by the machine's memory and on a large one
 * lets the young generation alone grow past 100 MB. 16 MB measured no more CPU than 32 and ~10 MB
 * less peak RSS (bench/sync.ts, alternating runs). With the bin's flags (src/cli/heap-flags.ts),
 * 8 MB gave 14 MB less peak RSS for 4–6% fewer events/s: not taken, since a sync stays under its
 * memory floor without it. The old-generation cap is far above the stage's working set
 * (normalizer caches, the client's window of batches): a backstop.
 */
const WORKER_HEAP = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 256 } as const;

/** How long a worker that said `end` gets to exit by itself before it is terminated. */
const EXIT_GRACE_MS = 5000;

/**
 * The stage, on a worker or inline. The stage's modules are loaded here only inline: with a worker
 * the Graph client would be this thread's memory for nothing, and the normalizers wait until this
 * thread evaluates a chunk itself (run-thread-evaluation.ts).
 */
export async function openStage(
  setup: StageSetup,
  options: LinkOptions,
  onMessage: (message: StageOutbound) => void,
): Promise<StageLink> {
  if (options.worker) return new WorkerLink(setup, onMessage);
  const [{ DeliveryStage }, { compileConnection }] = await Promise.all([
    import("./delivery-stage.ts"),
    import("./prepare.ts"),
  ]);
  const compiled = compileConnection(setup.name, setup.connection, setup.defaults, options.mappingAndKey);
  return new InlineLink(new DeliveryStage(setup, onMessage, { compiled, ...stageOptions(options) }));
}

function stageOptions(options: LinkOptions): ConstructorParameters<typeof DeliveryStage>[2] {
  return {
    ...(options.client && { client: options.client }),
    ...(options.logger && { logger: options.logger }),
    ...(options.graphClient && { graphClient: options.graphClient }),
  };
}

class InlineLink implements StageLink {
  readonly #stage: DeliveryStage;
  readonly done: Promise<void>;

  constructor(stage: DeliveryStage) {
    this.#stage = stage;
    this.done = stage.run();
  }

  send(message: StageInbound): void {
    this.#stage.receive(message);
  }

  async close(): Promise<void> {
    this.#stage.receive({ type: "stop" });
    await this.done;
  }
}

class WorkerLink implements StageLink {
  readonly #worker: Worker;
  readonly done: Promise<void>;
  #alive = true;
  #ended = false;

  constructor(setup: StageSetup, onMessage: (message: StageOutbound) => void) {
    // A --max-semi-space-size given at start-up (the bin's, for the main thread) would override the
    // worker's young generation limit; a heap reads the flag when it is created, so this resets it
    // for the worker without touching the heaps that exist.
    setFlagsFromString("--max-semi-space-size=0");
    this.#worker = new Worker(new URL("./stage-worker.ts", import.meta.url), {
      workerData: setup,
      resourceLimits: WORKER_HEAP,
    });
    this.done = new Promise((resolve, reject) => {
      this.#worker.on("message", (message: StageOutbound) => {
        onMessage(message);
        if (message.type === "end") {
          this.#ended = true;
          resolve();
        }
      });
      this.#worker.on("error", reject);
      this.#worker.once("exit", (code) => {
        this.#alive = false;
        if (!this.#ended) reject(new Error(`the delivery worker stopped unexpectedly (exit code ${code})`));
      });
    });
    // Observed by the run; this keeps an early death from counting as an unhandled rejection.
    this.done.catch(() => undefined);
  }

  send(message: StageInbound): void {
    if (!this.#alive) return;
    const rows = message.type === "rows" && Array.isArray(message.rows) ? message.rows : undefined;
    this.#worker.postMessage(rows === undefined ? message : { ...message, rows: packRows(rows) });
  }

  /** After `end` the worker has closed everything and exits by itself; before it, it is ended now. */
  async close(): Promise<void> {
    if (!this.#alive) return;
    const exited = new Promise((resolve) => this.#worker.once("exit", resolve));
    const timer = setTimeout(() => void this.#worker.terminate(), this.#ended ? EXIT_GRACE_MS : 0);
    await exited;
    clearTimeout(timer);
  }
}
