// The collector's delivery process, forked by `serve` (collector-delivery-host.ts): every collector
// connection's delivery loop, with a ledger connection and a queue reader of its own. Mapping,
// hashing, validation, serialization, requests to Meta and ledger writes (and the garbage they make)
// happen here, in a process that yields the CPU to serve's, so they never hold up an acknowledgement.
// Logs and metrics go to serve as messages; so do the ids of delivered rows, which serve's queue
// writer deletes.
import { readdirSync } from "node:fs";
import { setPriority } from "node:os";
import { type Ledger, openLedger } from "../ledger/index.ts";
import type { Logger } from "../meta/graph/index.ts";
import { QueueReader } from "./collector/queue-reader.ts";
import {
  type BatchInstruments,
  type DeliveryQueue,
  type DeliveryReporter,
  deliverLoop,
} from "./collector-delivery.ts";
import type { DeliveryMessage, DeliverySetup, HostMessage, LogLevel } from "./collector-delivery-protocol.ts";

/**
 * How much lower than serve's this process's CPU priority is (nice). When both cores are busy the
 * scheduler then runs serve's request handling first, and delivery catches up in the gaps: the
 * queue absorbs bursts, acknowledgements cannot wait.
 */
const NICE = 10;

/**
 * Linux keeps a nice value per thread, and V8's helper threads exist before this code runs: each
 * thread of the process is lowered (threads started later inherit the value). Elsewhere the value
 * is per process. A refusal leaves the priority as it was.
 */
function lowerPriority(): void {
  let threads: string[] = [];
  try {
    threads = readdirSync("/proc/self/task");
  } catch {
    threads = [];
  }
  for (const tid of threads.length > 0 ? threads.map(Number) : [0]) {
    try {
      setPriority(tid, NICE);
    } catch {
      // not permitted here: delivery runs at the same priority
    }
  }
}

/** A message to serve; dropped when serve is gone (the 'disconnect' handler ends this process). */
const send = (message: DeliveryMessage): void => {
  if (process.connected) process.send?.(message, undefined, {}, () => {});
};

/** The last message before the channel closes: resolved once it is handed to the channel. */
const sendLast = (message: DeliveryMessage): Promise<void> =>
  new Promise((resolve) => {
    if (process.send === undefined || !process.connected) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });

const log =
  (level: LogLevel) =>
  (fields: object, message?: string): void =>
    send({ type: "log", level, fields, message });
const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };

const reporter: DeliveryReporter = {
  startBatch(connection: string): BatchInstruments {
    send({ type: "batch-started", connection });
    return {
      client: {
        onRequest: (report) => send({ type: "request", connection, report }),
        onWindowChange: (datasetId, stats) => send({ type: "window", connection, datasetId, stats }),
      },
      requests: {
        started: () => send({ type: "on-wire", connection, delta: 1 }),
        ended: () => send({ type: "on-wire", connection, delta: -1 }),
      },
      recorded: (outcomes) => {
        // Only rejections are counted by code: no need to send a thousand outcomes per batch.
        const rejected = outcomes.filter((outcome) => outcome.state === "rejected");
        if (rejected.length > 0) send({ type: "recorded", connection, outcomes: rejected });
      },
      finished: (report) => send({ type: "batch-finished", connection, report }),
      failed: () => send({ type: "batch-failed", connection }),
    };
  },
  halted: (connection, notice) => send({ type: "halted", connection, notice }),
};

/** Acks go to serve, whose queue writer deletes the rows; resolved when it says they are gone. */
class AckChannel {
  readonly #pending = new Map<number, { resolve(): void; reject(error: Error): void }>();
  #seq = 0;

  ack(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      send({ type: "ack", seq, ids });
    });
  }

  answered(seq: number, error: string | undefined): void {
    const pending = this.#pending.get(seq);
    this.#pending.delete(seq);
    if (error === undefined) pending?.resolve();
    else pending?.reject(new Error(error));
  }
}

async function deliver(setup: DeliverySetup, stop: AbortSignal, acks: AckChannel): Promise<void> {
  let ledger: Ledger;
  let reader: QueueReader;
  try {
    ledger = await openLedger(setup.ledgerPath);
  } catch (error) {
    await sendLast({ type: "failed", message: `cannot open the ledger: ${errorText(error)}` });
    return;
  }
  try {
    reader = QueueReader.open({ path: setup.queuePath });
  } catch (error) {
    await ledger.close();
    await sendLast({ type: "failed", message: `cannot read the collector queue: ${errorText(error)}` });
    return;
  }
  wakeReader = (connections) => reader.wake(connections);
  for (const run of ledger.recoveredRuns) {
    logger.warn(
      { connection: run.connection, run_id: run.id },
      "a collector batch left running by a delivery process that died is now marked interrupted; its events stay queued",
    );
  }
  const queue: DeliveryQueue = {
    waitForRows: (connection, options) => reader.waitForRows(connection, options),
    release: (ids) => reader.release(ids),
    async ack(ids) {
      await acks.ack(ids);
      reader.settled(ids);
    },
  };
  send({ type: "ready" });
  await Promise.all(
    setup.connections.map(({ name, connection, maxDelayMs }) =>
      deliverLoop({
        name,
        connection,
        defaults: setup.defaults,
        baseDir: setup.baseDir,
        maxDelayMs,
        queue,
        ledger,
        logger,
        reporter,
        signal: stop,
        ...(setup.client && { client: setup.client }),
      }),
    ),
  );
  // Halted loops end early; the process stays until serve stops it.
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener("abort", resolve));
  reader.close();
  await ledger.close();
  await sendLast({ type: "stopped" });
}

/** Ledger and queue errors name files and conditions, never values. */
function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : "unknown error";
}

let wakeReader: ((connections: readonly string[]) => void) | undefined;

function main(): void {
  if (process.send === undefined) throw new Error("collector-delivery-process.ts is forked by serve");
  lowerPriority();
  const stop = new AbortController();
  const acks = new AckChannel();
  let started = false;
  process.on("message", (message: HostMessage) => {
    switch (message.type) {
      case "setup":
        if (started) return;
        started = true;
        deliver(message.setup, stop.signal, acks)
          .catch((error: unknown) => sendLast({ type: "failed", message: errorText(error) }))
          .finally(() => process.disconnect());
        return;
      case "wake":
        wakeReader?.(message.connections);
        return;
      case "acked":
        acks.answered(message.seq, message.error);
        return;
      case "stop":
        stop.abort(new Error("service shutting down"));
        return;
    }
  });
  // serve is gone (killed, crashed): nothing can be acknowledged any more. What this process
  // delivered without recording is sent again, with the same event_id, by the next start.
  process.on("disconnect", () => process.exit(0));
  // A signal to the whole process group (Ctrl-C in a terminal, systemd's default KillMode) reaches
  // this process too: serve decides, and stops it within its grace period ("stop", or a kill).
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => {});
}

main();
