// Wires the collector into `serve`: its routes on the service's server, its durable queue next to
// the ledger, and one delivery loop per collector connection that drains the queue in micro-batches
// through the same pipeline as `sync`. A queued event is acknowledged (deleted) only once the ledger
// holds its outcome, so a crash between acceptance and delivery loses nothing.
import { dirname, isAbsolute, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import type { CollectorSourceSettings, ConnectionConfig } from "../config/schema.ts";
import type { Ledger } from "../ledger/index.ts";
import { compileRowKey, type Row } from "../mapping/index.ts";
import type { Source } from "../sources/index.ts";
import { type RunReport, runConnection } from "../sync/run.ts";
import { CollectorQueue, createCollector, type QueuedRow } from "./collector/index.ts";
import type { AttachCollector, CollectorAttachment, CollectorContext } from "./service.ts";

/** Where the queue lives: beside the ledger file, or in `.capi-sync/` for a non-file ledger. */
function queuePath(context: CollectorContext): string {
  const state = context.loaded.config.state;
  const ledgerFile = isAbsolute(state) ? state : join(context.loaded.baseDir, state);
  return state.includes("://") || state === ":memory:"
    ? join(context.loaded.baseDir, ".capi-sync", "collector.db")
    : join(dirname(ledgerFile), "collector.db");
}

export interface CollectorRunnerOptions {
  /** Called after each micro-batch run (metrics, tests). */
  readonly onReport?: (report: RunReport) => void;
  /** Overrides of the queue's location (tests). */
  readonly queuePath?: string;
  readonly client?: Parameters<typeof runConnection>[0]["client"];
}

export function collectorRunner(runnerOptions: CollectorRunnerOptions = {}): AttachCollector {
  return async (app: FastifyInstance, context: CollectorContext): Promise<CollectorAttachment> => {
    const queue = await CollectorQueue.open({ path: runnerOptions.queuePath ?? queuePath(context) });
    const settings = context.connections.map(([name, connection]) => ({
      name,
      connection,
      source: connection.source as CollectorSourceSettings,
    }));
    const origins = settings.flatMap((s) => (s.source.cors_origins === "*" ? [] : s.source.cors_origins));
    const anyOrigin = settings.some((s) => s.source.cors_origins === "*");
    const collector = createCollector({
      queue,
      connections: settings.map((s) => ({ name: s.name, writeKeys: s.source.write_keys })),
      cors: { origins: anyOrigin ? "*" : origins },
      logger: context.logger,
      onMetric: context.onMetric,
    });
    await app.register(collector.plugin);

    const stop = new AbortController();
    const loops = settings.map(({ name, connection, source }) =>
      deliverLoop({
        name,
        connection,
        maxDelayMs: source.max_delay_ms,
        queue,
        context,
        signal: stop.signal,
        runnerOptions,
      }),
    );
    return {
      queueDepth: () => settings.map(({ name }) => [name, queue.depth(name)] as const),
      async close(signal: AbortSignal) {
        stop.abort(new Error("service shutting down"));
        const abandon = new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        await Promise.race([Promise.allSettled(loops), abandon]);
        await queue.close();
      },
    };
  };
}

interface LoopOptions {
  readonly name: string;
  readonly connection: ConnectionConfig;
  readonly maxDelayMs: number;
  readonly queue: CollectorQueue;
  readonly context: CollectorContext;
  readonly signal: AbortSignal;
  readonly runnerOptions: CollectorRunnerOptions;
}

async function deliverLoop(options: LoopOptions): Promise<void> {
  const { name, connection, queue, context, signal } = options;
  const mode = connection.destination.test_event_code ? "test" : "live";
  const rowKey = compileRowKey(Array.isArray(connection.key) ? connection.key : [connection.key]);
  while (!signal.aborted) {
    let rows: QueuedRow[];
    try {
      rows = await queue.waitForRows(name, { max: 1000, maxDelayMs: options.maxDelayMs, signal });
    } catch {
      return; // aborted: the rows stay queued for the next start
    }
    if (rows.length === 0) continue;
    // Rows whose outcome the run records are acknowledged; the others (a stop, a failure) go back.
    let report: RunReport;
    try {
      report = await runConnection({
        name,
        connection,
        defaults: context.loaded.config.defaults,
        baseDir: context.loaded.baseDir,
        ledger: context.ledger,
        source: rowsSource(rows),
        // A micro-batch is too small to repay starting a worker thread.
        worker: false,
        logger: context.logger,
        ...(options.runnerOptions.client && { client: options.runnerOptions.client }),
      });
    } catch (error) {
      queue.release(rows.map((row) => row.id));
      context.logger.error(
        { connection: name, err: error instanceof Error ? error.name : "unknown" },
        "collector delivery failed; the events stay queued and are retried",
      );
      await sleep(1000, undefined, { signal }).catch(() => undefined);
      continue;
    }
    options.runnerOptions.onReport?.(report);
    await settle(rows, rowKey, name, mode, context.ledger, queue);
    if (report.stopKind === "auth" || report.stopKind === "config") {
      context.logger.error(
        { connection: name, err: report.message },
        "collector delivery stopped; events stay queued",
      );
      return;
    }
  }
}

/** Acknowledges rows whose key now has a terminal outcome in the ledger; releases the rest. */
async function settle(
  rows: readonly QueuedRow[],
  rowKey: (row: Row) => string,
  connection: string,
  mode: "live" | "test",
  ledger: Ledger,
  queue: CollectorQueue,
): Promise<void> {
  const keyOf = (row: QueuedRow): string | undefined => {
    try {
      return rowKey(row.message);
    } catch {
      return undefined;
    }
  };
  const keyed = rows.map((row) => ({ row, key: keyOf(row) }));
  const open = new Set(
    await ledger.filterNew(
      connection,
      keyed.flatMap(({ key }) => (key === undefined ? [] : [key])),
      { mode },
    ),
  );
  // A row without a key cannot be accounted for by key; its run recorded it as rejected (row.key).
  const done = keyed.filter(({ key }) => key === undefined || !open.has(key)).map(({ row }) => row.id);
  const retry = keyed.filter(({ key }) => key !== undefined && open.has(key)).map(({ row }) => row.id);
  if (done.length > 0) await queue.ack(done);
  if (retry.length > 0) queue.release(retry);
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
