// serve's end of the collector delivery process (collector-delivery-process.ts): forks it, hands it
// the setup, tells it when messages are stored, deletes the rows it has delivered, turns its
// messages into the service's logs and metrics (the same DeliveryReporter an in-process loop uses),
// restarts it if it dies, and stops it within the grace period.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { CollectorQueue } from "./collector/index.ts";
import type { BatchInstruments, DeliveryReporter } from "./collector-delivery.ts";
import type { DeliveryMessage, DeliverySetup, HostMessage } from "./collector-delivery-protocol.ts";

const ENTRY = fileURLToPath(new URL("./collector-delivery-process.ts", import.meta.url));
/** serve's own flags the child needs too (type stripping on Node 22); the rest (tests', inspectors') stay. */
const INHERITED_FLAGS = new Set(["--experimental-strip-types", "--no-warnings"]);
/** Stored messages are announced at most this often: one message per commit would cost serve more. */
const WAKE_EVERY_MS = 10;
const RESTART_FIRST_MS = 1000;
const RESTART_MAX_MS = 60_000;

interface OpenBatch {
  readonly instruments: BatchInstruments;
  /** Requests of the batch on the wire, to settle the gauge should the process die. */
  onWire: number;
}

export class DeliveryProcess {
  readonly #setup: DeliverySetup;
  /** Connections a process halted (Meta refused them, or their mapping does not compile). */
  readonly #halted = new Set<string>();
  readonly #queue: CollectorQueue;
  readonly #reporter: DeliveryReporter;
  readonly #logger: Logger;
  readonly #batches = new Map<string, OpenBatch>();
  readonly #stopListening: () => void;
  #child: ChildProcess | undefined;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #restartDelayMs = RESTART_FIRST_MS;
  #wakeTimer: NodeJS.Timeout | undefined;
  readonly #toWake = new Set<string>();

  /** Starts the process; rejects when it cannot open the ledger or the queue. */
  static async start(
    setup: DeliverySetup,
    queue: CollectorQueue,
    reporter: DeliveryReporter,
    logger: Logger,
  ): Promise<DeliveryProcess> {
    const delivery = new DeliveryProcess(setup, queue, reporter, logger);
    try {
      await delivery.#spawn();
    } catch (error) {
      delivery.#stopping = true;
      delivery.#stopListening();
      throw error;
    }
    return delivery;
  }

  private constructor(
    setup: DeliverySetup,
    queue: CollectorQueue,
    reporter: DeliveryReporter,
    logger: Logger,
  ) {
    this.#setup = setup;
    this.#queue = queue;
    this.#reporter = reporter;
    this.#logger = logger;
    this.#stopListening = queue.onAppended((connections) => this.#stored(connections));
  }

  /**
   * Asks the process to stop (the batch in flight stops reading; what Meta answered is recorded and
   * acknowledged) and waits for it, or kills it when `signal` aborts (grace period over): its
   * unacknowledged events stay queued and are delivered, with the same event_id, after the restart.
   */
  async stop(signal: AbortSignal): Promise<void> {
    this.#stopping = true;
    this.#stopListening();
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#wakeTimer);
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    // Not events.once: it rejects on 'error', which a send to a process that just died emits.
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    this.#send(child, { type: "stop" });
    const abandon = (): void => void child.kill("SIGKILL");
    if (signal.aborted) abandon();
    signal.addEventListener("abort", abandon, { once: true });
    try {
      await exited;
    } finally {
      signal.removeEventListener("abort", abandon);
    }
  }

  async #spawn(): Promise<void> {
    const child = fork(ENTRY, [], {
      execArgv: process.execArgv.filter((flag) => INHERITED_FLAGS.has(flag)),
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.#child = child;
    let started: (() => void) | undefined;
    let refused: ((error: Error) => void) | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      refused = reject;
    });
    let wasReady = false;
    child.on("message", (message: DeliveryMessage) => {
      if (message.type === "ready") {
        wasReady = true;
        this.#restartDelayMs = RESTART_FIRST_MS;
        started?.();
      } else if (message.type === "failed") refused?.(new Error(message.message));
      else this.#dispatch(child, message);
    });
    child.on("error", () => {
      // a failed send or kill; the exit handler below deals with a process that is gone
    });
    child.once("exit", (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      refused?.(new Error(`the collector delivery process exited (${signal ?? code}) before it was ready`));
      this.#settleOpenBatches();
      // One that never got ready failed to start: whoever started it hears of it and decides.
      if (this.#stopping || !wasReady) return;
      this.#logger.error(
        { exit: signal ?? code, restart_in_ms: this.#restartDelayMs },
        "the collector delivery process stopped unexpectedly; accepted events stay queued and it is restarted",
      );
      this.#scheduleRestart();
    });
    // A restarted process leaves halted connections alone: they stay halted until serve restarts.
    const connections = this.#setup.connections.filter(({ name }) => !this.#halted.has(name));
    this.#send(child, { type: "setup", setup: { ...this.#setup, connections } });
    await ready;
  }

  #scheduleRestart(): void {
    const delay = this.#restartDelayMs;
    this.#restartDelayMs = Math.min(RESTART_MAX_MS, delay * 2);
    this.#restartTimer = setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn().catch((error: unknown) => {
        this.#logger.error(
          { err: error instanceof Error ? error.message : "unknown error" },
          "the collector delivery process could not restart; trying again later",
        );
        if (!this.#stopping) this.#scheduleRestart();
      });
    }, delay);
  }

  /** Messages were committed: the process hears of it within WAKE_EVERY_MS. */
  #stored(connections: ReadonlySet<string>): void {
    for (const connection of connections) this.#toWake.add(connection);
    this.#wakeTimer ??= setTimeout(() => {
      this.#wakeTimer = undefined;
      const child = this.#child;
      if (child !== undefined) this.#send(child, { type: "wake", connections: [...this.#toWake] });
      this.#toWake.clear();
    }, WAKE_EVERY_MS);
  }

  /** A message to the process; lost if it is gone (its exit is handled on its own). */
  #send(child: ChildProcess, message: HostMessage): void {
    if (child.connected) child.send(message, () => {});
  }

  #dispatch(child: ChildProcess, message: Exclude<DeliveryMessage, { type: "ready" | "failed" }>): void {
    switch (message.type) {
      case "ack":
        this.#queue.ack(message.ids).then(
          () => this.#send(child, { type: "acked", seq: message.seq }),
          (error: unknown) =>
            this.#send(child, {
              type: "acked",
              seq: message.seq,
              error: error instanceof Error ? error.message : "the queue refused the deletion",
            }),
        );
        return;
      case "log":
        this.#logger[message.level](message.fields, message.message);
        return;
      case "batch-started":
        this.#batches.set(message.connection, {
          instruments: this.#reporter.startBatch(message.connection),
          onWire: 0,
        });
        return;
      case "request":
        this.#batches.get(message.connection)?.instruments.client.onRequest?.(message.report);
        return;
      case "window":
        this.#batches
          .get(message.connection)
          ?.instruments.client.onWindowChange?.(message.datasetId, message.stats);
        return;
      case "on-wire": {
        const batch = this.#batches.get(message.connection);
        if (batch === undefined) return;
        batch.onWire += message.delta;
        if (message.delta > 0) batch.instruments.requests.started();
        else batch.instruments.requests.ended();
        return;
      }
      case "recorded":
        this.#batches.get(message.connection)?.instruments.recorded(message.outcomes);
        return;
      case "batch-finished":
        this.#batches.get(message.connection)?.instruments.finished(message.report);
        this.#batches.delete(message.connection);
        return;
      case "batch-failed":
        this.#batches.get(message.connection)?.instruments.failed();
        this.#batches.delete(message.connection);
        return;
      case "halted":
        this.#halted.add(message.connection);
        this.#reporter.halted(message.connection, message.notice);
        return;
      case "stopped":
        return;
    }
  }

  /** Batches a dead process left open end as failed runs; their requests leave the in-flight gauge. */
  #settleOpenBatches(): void {
    for (const batch of this.#batches.values()) {
      for (; batch.onWire > 0; batch.onWire--) batch.instruments.requests.ended();
      batch.instruments.failed();
    }
    this.#batches.clear();
  }
}
