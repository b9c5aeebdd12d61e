// Wires the collector into `serve`: its routes on the service's server, its durable queue next to
// the ledger, and one delivery loop per collector connection (collector-delivery.ts) that drains the
// queue in micro-batches through the same pipeline as `sync`. A queued event is acknowledged
// (deleted) only once the ledger holds its outcome, so a crash between acceptance and delivery loses
// nothing.
//
// Where delivery runs: in a process of its own (collector-delivery-process.ts), at a lower CPU
// priority, with its own ledger connection and queue reader, so that mapping, hashing,
// serialization, requests, ledger writes and the garbage collection they cause never delay an
// acknowledgement. A ledger or queue that is not a file (`:memory:`) cannot be shared with another
// process; then, and for client settings that are functions (tests), the loops run in serve's.
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { CollectorSourceSettings } from "../config/schema.ts";
import { parseLedgerLocation } from "../ledger/index.ts";
import type { GraphClientOptions } from "../meta/graph/index.ts";
import type { RunReport } from "../sync/run.ts";
import { CollectorQueue, createCollector } from "./collector/index.ts";
import { type DeliveryReporter, deliverLoop } from "./collector-delivery.ts";
import { DeliveryProcess } from "./collector-delivery-host.ts";
import type { Halt } from "./runner.ts";
import type { AttachCollector, CollectorAttachment, CollectorContext } from "./service.ts";

/** Where the queue lives: beside the ledger file, or in `.capi-sync/` for a non-file ledger. */
function queuePath(context: CollectorContext): string {
  const file = ledgerFile(context);
  return file === undefined
    ? join(context.loaded.baseDir, ".capi-sync", "collector.db")
    : join(dirname(file), "collector.db");
}

/** The ledger file of the config (relative to the config's directory), when it is one. */
function ledgerFile(context: CollectorContext): string | undefined {
  const parsed = parseLedgerLocation(context.loaded.config.state, context.loaded.baseDir);
  return parsed.kind === "sqlite" ? parsed.path : undefined;
}

export interface CollectorRunnerOptions {
  /** Called after each micro-batch run (metrics, tests). */
  readonly onReport?: (report: RunReport) => void;
  /** Overrides of the queue's location (tests). */
  readonly queuePath?: string;
  readonly client?: Partial<GraphClientOptions>;
  /** Deliver in a process of its own when the ledger and the queue are files (default true). */
  readonly process?: boolean;
}

export function collectorRunner(runnerOptions: CollectorRunnerOptions = {}): AttachCollector {
  return async (app: FastifyInstance, context: CollectorContext): Promise<CollectorAttachment> => {
    const path = runnerOptions.queuePath ?? queuePath(context);
    if (path !== ":memory:") await mkdir(dirname(path), { recursive: true });
    const queue = await CollectorQueue.open({ path });
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

    const halts = new Map<string, Halt>();
    const reporter = serviceReporter(context, halts, runnerOptions.onReport);
    const loops = settings.map(({ name, connection, source }) => ({
      name,
      connection,
      maxDelayMs: source.max_delay_ms,
    }));
    const shared = { defaults: context.loaded.config.defaults, baseDir: context.loaded.baseDir };
    const ledgerPath = ledgerFile(context);
    const plainClient = !Object.values(runnerOptions.client ?? {}).some((v) => typeof v === "function");
    let stopDelivery: (signal: AbortSignal) => Promise<unknown>;
    if (runnerOptions.process !== false && ledgerPath !== undefined && path !== ":memory:" && plainClient) {
      let delivery: DeliveryProcess;
      try {
        delivery = await DeliveryProcess.start(
          { ledgerPath, queuePath: path, connections: loops, ...shared, client: runnerOptions.client },
          queue,
          reporter,
          context.logger,
        );
      } catch (error) {
        await queue.close();
        throw error;
      }
      stopDelivery = (signal) => delivery.stop(signal);
    } else {
      const stop = new AbortController();
      const running = loops.map(({ name, connection, maxDelayMs }) =>
        deliverLoop({
          name,
          connection,
          ...shared,
          maxDelayMs,
          queue,
          ledger: context.ledger,
          logger: context.logger,
          reporter,
          signal: stop.signal,
          ...(runnerOptions.client && { client: runnerOptions.client }),
        }),
      );
      stopDelivery = async (signal) => {
        stop.abort(new Error("service shutting down"));
        const abandon = new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        await Promise.race([Promise.allSettled(running), abandon]);
      };
    }

    return {
      queueDepth: () => settings.map(({ name }) => [name, queue.depth(name)] as const),
      halts: () => [...halts.values()],
      async close(signal: AbortSignal) {
        await stopDelivery(signal);
        await queue.close();
      },
    };
  };
}

/** Micro-batch runs into the service's metrics; a refusal by Meta into /readyz and one log line. */
function serviceReporter(
  context: CollectorContext,
  halts: Map<string, Halt>,
  onReport: ((report: RunReport) => void) | undefined,
): DeliveryReporter {
  return {
    startBatch(connection) {
      const run = context.metrics.startRun(connection);
      return {
        client: run.client,
        requests: run.requests,
        recorded: (outcomes) => run.recorded(outcomes),
        finished: (report) => {
          run.finished(report, context.clock.now());
          onReport?.(report);
        },
        failed: () => run.failed(),
      };
    },
    halted(connection, notice) {
      halts.set(connection, {
        connection,
        kind: notice.kind,
        message: notice.message,
        runId: notice.runId,
        at: new Date(context.clock.now()),
      });
      context.metrics.setHalted(connection, true);
      context.logger.error(
        { ...notice.fields, connection, run_id: notice.runId, stop_kind: notice.kind, halted: true },
        `${notice.message} Collector connection ${connection} is halted: events are still accepted and ` +
          "stay queued, and nothing is delivered until `capi-sync serve` restarts with the fix.",
      );
    },
  };
}
