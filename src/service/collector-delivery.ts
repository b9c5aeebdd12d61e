// One collector connection's delivery loop: wait for a micro-batch of queued events, run it through
// the same pipeline as `sync` (the batch is the run's source), then acknowledge exactly the rows
// whose key the ledger now holds a terminal outcome for; the rest go back to the queue. The loop
// knows its queue, ledger, logger and metrics only through the interfaces below, so it runs the
// same in the delivery process (collector-delivery-process.ts) as in serve's (a ledger in memory).
import { setTimeout as sleep } from "node:timers/promises";
import type { ConnectionConfig } from "../config/schema.ts";
import type { Ledger, Outcome } from "../ledger/index.ts";
import type { Row } from "../mapping/index.ts";
import type { GraphClient, GraphClientOptions, Logger } from "../meta/graph/index.ts";
import type { Source } from "../sources/index.ts";
import { graphClientFor } from "../sync/delivery-stage.ts";
import { compileMappingAndKey, type MappingAndKey } from "../sync/mapping-and-key.ts";
import type { ConnectionDefaults } from "../sync/prepare.ts";
import { type RunReport, runConnection } from "../sync/run.ts";
import type { QueuedRow, WaitForRowsOptions } from "./collector/index.ts";
import { observeOutcomes } from "./observed-ledger.ts";
import { type RequestScope, trackRequests } from "./request-tracker.ts";
import { chain, foldStopLine } from "./runner.ts";

/** Events per micro-batch: Meta's batch size. */
export const MICRO_BATCH_EVENTS = 1000;
/** Pause after a micro-batch failed before its events are tried again. */
const RETRY_AFTER_FAILURE_MS = 1000;

/** The consuming side of the collector queue (CollectorQueue, or a QueueReader on another thread). */
export interface DeliveryQueue {
  waitForRows(connection: string, options: WaitForRowsOptions): Promise<QueuedRow[]>;
  ack(ids: readonly number[]): Promise<void>;
  release(ids: readonly number[]): void;
}

/** The service's metrics for one micro-batch run, wherever they are kept. */
export interface BatchInstruments {
  readonly client: Pick<GraphClientOptions, "onRequest" | "onWindowChange">;
  readonly requests: RequestScope;
  /** Outcomes the ledger recorded (rejections are counted by code). */
  recorded(outcomes: readonly Outcome[]): void;
  finished(report: RunReport): void;
  /** The run threw before it could report. */
  failed(): void;
}

/** Meta refused a connection's token or configuration: its delivery stops until serve restarts. */
export interface HaltNotice {
  readonly kind: "auth" | "config";
  /** The run that met the refusal; absent when the connection could not even start one. */
  readonly runId?: number;
  /** Value-free: Meta's code and what to do. */
  readonly message: string;
  /** The Graph client's own line about the refusal (code, subcode, fbtrace_id), folded in. */
  readonly fields: Record<string, unknown>;
}

export interface DeliveryReporter {
  startBatch(connection: string): BatchInstruments;
  halted(connection: string, notice: HaltNotice): void;
}

export interface DeliveryLoopOptions {
  readonly name: string;
  readonly connection: ConnectionConfig;
  readonly defaults: ConnectionDefaults | undefined;
  readonly baseDir: string;
  /** The connection's `max_delay_ms`: how long the oldest queued event may wait for a batch. */
  readonly maxDelayMs: number;
  readonly queue: DeliveryQueue;
  readonly ledger: Ledger;
  readonly logger: Logger;
  readonly reporter: DeliveryReporter;
  /** Aborted at shutdown: the batch in flight stops reading, its answered events are recorded. */
  readonly signal: AbortSignal;
  /** Overrides of the Graph client's settings (tests). */
  readonly client?: Partial<GraphClientOptions>;
}

/** Runs until `signal` aborts or the connection halts (Meta refused it, or its mapping is unusable). Never throws. */
export async function deliverLoop(options: DeliveryLoopOptions): Promise<void> {
  const { name, connection, reporter, logger } = options;
  // One mapping and one client for every micro-batch (about ten a second): the client's connections
  // to Meta stay open and its window stays learned. Its hooks and log lines go to the batch in progress.
  const batch: CurrentBatch = { current: undefined };
  let compiled: MappingAndKey;
  let graphClient: GraphClient;
  try {
    compiled = compileMappingAndKey(name, connection);
    graphClient = graphClientFor(connection.destination, {
      ...options.client,
      // The client's info line closes each send: one per micro-batch, which at info would be noise
      // in serve's log (and a write on its HTTP thread each); metrics count the sends.
      logger: forwardLogger(() => batch.current?.logger ?? logger, { info: "debug" }),
      ...chain(options.client, {
        onRequest: (report) => batch.current?.instruments.client.onRequest?.(report),
        onWindowChange: (datasetId, stats) =>
          batch.current?.instruments.client.onWindowChange?.(datasetId, stats),
      }),
    });
  } catch (error) {
    // A mapping that does not compile (the config schema does not compile expressions) fails every
    // batch alike: the connection halts with the reason, and its events stay queued.
    reporter.halted(name, {
      kind: "config",
      message: `the connection cannot be prepared: ${error instanceof Error ? error.message : "unexpected error"}`,
      fields: {},
    });
    return;
  }
  try {
    await deliverBatches(options, compiled, graphClient, batch);
  } finally {
    await graphClient.close().catch(() => undefined);
  }
}

interface CurrentBatch {
  current: { instruments: BatchInstruments; logger: Logger } | undefined;
}

async function deliverBatches(
  options: DeliveryLoopOptions,
  compiled: MappingAndKey,
  graphClient: GraphClient,
  batch: CurrentBatch,
): Promise<void> {
  const { name, connection, queue, signal, reporter, logger } = options;
  const mode = connection.destination.test_event_code ? "test" : "live";
  /** Before a try that failed is made again; cut short by the loop's stop. */
  const pause = () => sleep(RETRY_AFTER_FAILURE_MS, undefined, { signal }).catch(() => undefined);
  const failed = async (rows: readonly QueuedRow[], error: unknown): Promise<void> => {
    queue.release(rows.map((row) => row.id));
    const code = codeOf(error);
    if (code === "run_in_progress")
      // Another process delivers this connection, or one that just died is not yet reaped (its
      // run stays "running" until its process is gone): the batch waits and tries again.
      logger.warn(
        { connection: name, code },
        "another process is delivering this connection now; the events stay queued and are retried",
      );
    else
      logger.error(
        { connection: name, err: error instanceof Error ? error.name : "unknown", code },
        "collector delivery failed; the events stay queued and are retried",
      );
    await pause();
  };
  while (!signal.aborted) {
    let rows: QueuedRow[];
    try {
      rows = await queue.waitForRows(name, {
        max: MICRO_BATCH_EVENTS,
        maxDelayMs: options.maxDelayMs,
        signal,
      });
    } catch (error) {
      // Stopping, or the queue is closed: the rows stay queued for the next start.
      if (signal.aborted || (error as { code?: unknown }).code === "queue_closed") return;
      // The file could not be read (busy, say): reading is tried again; nothing was claimed.
      logger.error(
        { connection: name, err: error instanceof Error ? error.name : "unknown", code: codeOf(error) },
        "collector queue could not be read; trying again",
      );
      await pause();
      continue;
    }
    if (rows.length === 0) continue;
    const instruments = reporter.startBatch(name);
    const folded = foldStopLine(logger);
    batch.current = { instruments, logger: folded.logger };
    /** Keys whose outcome this run committed to the ledger: every recorded state is terminal. */
    const recorded = new Set<string>();
    const onRecorded = (outcomes: readonly Outcome[]): void => {
      for (const outcome of outcomes) recorded.add(outcome.key);
      instruments.recorded(outcomes);
    };
    let report: RunReport | undefined;
    let failure: { error: unknown } | undefined;
    try {
      report = await trackRequests(instruments.requests, () =>
        runConnection({
          name,
          connection,
          defaults: options.defaults,
          baseDir: options.baseDir,
          ledger: observeOutcomes(options.ledger, onRecorded),
          source: rowsSource(rows),
          compiled,
          graphClient,
          signal,
          logger: folded.logger,
        }),
      );
      instruments.finished(report);
      await settle(rows, compiled.rowKey, recorded, {
        connection: name,
        mode,
        ledger: options.ledger,
        queue,
      });
    } catch (error) {
      if (report === undefined) instruments.failed();
      failure = { error };
    }
    // Meta's refusal stops the shared client for good, whatever else went wrong in the batch: the
    // connection halts here, with the client's own line about the refusal folded in.
    const stop = graphClient.stopped;
    if (stop !== undefined) {
      if (failure !== undefined) queue.release(rows.map((row) => row.id));
      reporter.halted(name, {
        kind: stop.kind,
        ...(report && { runId: report.runId }),
        // The run's own description when it ended on this refusal; the client's otherwise.
        message: report?.stopKind === stop.kind && report.message ? report.message : stop.message,
        fields: folded.take(),
      });
      return;
    }
    folded.release();
    if (failure !== undefined) await failed(rows, failure.error);
    // A run that failed gave its unanswered rows back; trying them again at once would only fail
    // again, as fast as the loop turns, and send to Meta each time.
    else if (report?.status === "failed") await pause();
  }
}

/** A logger that writes wherever `target` says at the time of each line, some levels lowered. */
function forwardLogger(
  target: () => Logger,
  lowered: Partial<Record<keyof Logger, keyof Logger>> = {},
): Logger {
  const at =
    (level: keyof Logger): Logger[keyof Logger] =>
    (fields, message) =>
      target()[lowered[level] ?? level](fields, message);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A value-free error code (SQLite's, the queue's), when the error has one. */
function codeOf(error: unknown): string | undefined {
  const { code, errstr } = error as { code?: unknown; errstr?: unknown };
  if (typeof errstr === "string") return errstr.replaceAll(" ", "_");
  return typeof code === "string" ? code : undefined;
}

/**
 * Acknowledges rows whose key now has a terminal outcome in the ledger; releases the rest. Keys the
 * run recorded are known terminal; the others (skipped as already known, repeated within the batch,
 * left pending) are looked up.
 */
async function settle(
  rows: readonly QueuedRow[],
  rowKey: (row: Row) => string,
  recorded: ReadonlySet<string>,
  where: { connection: string; mode: "live" | "test"; ledger: Ledger; queue: DeliveryQueue },
): Promise<void> {
  const keyOf = (row: QueuedRow): string | undefined => {
    try {
      return rowKey(row.message);
    } catch {
      return undefined;
    }
  };
  const done: number[] = [];
  const unsure: { id: number; key: string }[] = [];
  for (const row of rows) {
    const key = keyOf(row);
    // A row without a key cannot be accounted for by key; its run recorded it as rejected (row.key).
    if (key === undefined || recorded.has(key)) done.push(row.id);
    else unsure.push({ id: row.id, key });
  }
  const open =
    unsure.length === 0
      ? new Set<string>()
      : new Set(
          await where.ledger.filterNew(
            where.connection,
            unsure.map(({ key }) => key),
            { mode: where.mode },
          ),
        );
  const retry: number[] = [];
  for (const { id, key } of unsure) (open.has(key) ? retry : done).push(id);
  if (retry.length > 0) where.queue.release(retry);
  if (done.length > 0) await where.queue.ack(done);
}

/** The claimed messages as a one-shot source for runConnection (JSON messages, as NDJSON rows are). */
function rowsSource(rows: readonly QueuedRow[]): Source {
  return {
    kind: "ndjson",
    async *rows() {
      for (const row of rows) yield row.message;
    },
    async check() {
      return {};
    },
    async close() {},
    describe: () => "collector queue",
  };
}
