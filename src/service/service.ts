// The always-on service: HTTP (health, readiness, metrics, and the collector's routes when a
// connection uses it), the scheduler running each scheduled connection, and a shutdown that lets
// runs in flight finish their current batches within a grace period.
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { LoadedConfig } from "../config/load.ts";
import type { ConnectionConfig } from "../config/schema.ts";
import { assertSafeExposure, type ServiceConfig } from "../config/service.ts";
import type { Ledger } from "../ledger/index.ts";
import type { GraphClientOptions } from "../meta/graph/index.ts";
import type { RunReport } from "../sync/run.ts";
import { type Clock, systemClock } from "./clock.ts";
import { buildHttp, type Readiness } from "./http.ts";
import { ServiceMetrics } from "./metrics.ts";
import { ConnectionRunner, type Halt } from "./runner.ts";
import { Scheduler } from "./scheduler.ts";

/** What the collector gives the service once attached: its queue depth, and a way to stop. */
export interface CollectorAttachment {
  /** Accepted events not yet delivered, per connection; read at each /metrics scrape. */
  queueDepth(): Iterable<readonly [connection: string, depth: number]>;
  /** Collector connections whose delivery Meta refused (token or configuration): shown by /readyz. */
  halts(): readonly Halt[];
  /** Stop accepting; let deliveries in flight finish unless `signal` aborts (grace period over). */
  close(signal: AbortSignal): Promise<void>;
}

export interface CollectorContext {
  /** The connections whose `source.kind` is `collector`. */
  readonly connections: ReadonlyArray<readonly [name: string, connection: ConnectionConfig]>;
  readonly loaded: LoadedConfig;
  readonly ledger: Ledger;
  readonly logger: Logger;
  /** Wire as the collector's `onMetric`: its counters join the service's /metrics. */
  readonly onMetric: ServiceMetrics["collectorMetric"];
  /** For the delivery's run metrics (rows, rejections, requests, last successful run, halts). */
  readonly metrics: ServiceMetrics;
  readonly clock: Clock;
}

/** Registers the collector's routes on the service's server (the seam for src/service/collector). */
export type AttachCollector = (
  app: FastifyInstance,
  context: CollectorContext,
) => Promise<CollectorAttachment>;

export interface ServiceOptions {
  readonly loaded: LoadedConfig;
  readonly service: ServiceConfig;
  readonly ledger: Ledger;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Overrides of the Graph client's settings (tests use fast backoff). */
  readonly client?: Partial<GraphClientOptions>;
  /** prom-client's process metrics; default true. */
  readonly processMetrics?: boolean;
  readonly onReport?: (report: RunReport) => void;
  /** Needed when a connection has `source.kind: collector`. */
  readonly attachCollector?: AttachCollector;
}

export interface ShutdownResult {
  /** Every run in flight finished (completed or stopped) within the grace period. */
  readonly clean: boolean;
  /** Connections whose runs were still going when the grace period ended. */
  readonly abandoned: readonly string[];
}

export interface RunningService {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly scheduler: Scheduler;
  readonly runner: ConnectionRunner;
  readonly metrics: ServiceMetrics;
  /**
   * Stops scheduling, asks runs in flight to stop reading (their current batches finish), waits for
   * them up to the grace period (or until `force` aborts), then closes the server. Idempotent.
   */
  shutdown(options?: { readonly graceMs?: number; readonly force?: AbortSignal }): Promise<ShutdownResult>;
}

const READY_CHECK_TIMEOUT_MS = 2000;

/** The connections of a config that use the real-time collector rather than a schedule. */
export function collectorConnections(loaded: LoadedConfig): Array<[string, ConnectionConfig]> {
  return Object.entries(loaded.config.connections).filter(
    ([, c]) => (c.source as { kind: string }).kind === "collector",
  );
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { loaded, service, ledger, logger } = options;
  assertSafeExposure(service);
  const clock = options.clock ?? systemClock;
  const names = Object.keys(loaded.config.connections);
  const collected = collectorConnections(loaded);
  const scheduled = Object.entries(loaded.config.connections)
    .filter(([name, c]) => c.schedule !== undefined && !collected.some(([n]) => n === name))
    .map(([name, c]) => ({ name, schedule: c.schedule as string }));

  const metrics = new ServiceMetrics(names, { processMetrics: options.processMetrics ?? true });
  const runner = new ConnectionRunner({
    loaded,
    ledger,
    logger,
    metrics,
    clock,
    ...(options.client && { client: options.client }),
    ...(options.onReport && { onReport: options.onReport }),
  });
  // Built before binding: a bad cron expression refuses to start rather than serving without it.
  const scheduler = new Scheduler({
    connections: scheduled,
    run: (name, signal, trigger) => runner.run(name, signal, trigger),
    lastCompletedRunStart: (name) => runner.lastCompletedRunStart(name),
    clock,
    ...(service.timezone && { timezone: service.timezone }),
    logger,
  });
  await runner.seedLastSuccess(names);

  let stopping = false;
  let collector: CollectorAttachment | undefined;
  const readiness = async (): Promise<Readiness> => {
    if (stopping) return { ready: false, body: { status: "stopping" } };
    const ledgerOk = await withTimeout(ledger.listRuns({ limit: 1 }), READY_CHECK_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
    const halted = [...runner.halts, ...(collector?.halts() ?? [])].map((h) => ({
      connection: h.connection,
      kind: h.kind,
      run_id: h.runId,
      message: h.message,
    }));
    const ready = ledgerOk && halted.length === 0;
    return {
      ready,
      body: {
        status: ready ? "ready" : "not ready",
        ledger: ledgerOk ? "ok" : "unreachable",
        ...(halted.length > 0 && { halted }),
      },
    };
  };

  const app = buildHttp({
    logger: logger.child({ component: "http" }),
    metrics,
    readiness,
    ...(service.admin_token && { adminToken: service.admin_token }),
    ...(service.trusted_proxies && { trustedProxies: service.trusted_proxies }),
  });

  if (collected.length > 0) {
    if (options.attachCollector === undefined) {
      await app.close();
      throw new Error(
        `connections ${collected.map(([n]) => n).join(", ")} use source kind collector, which this build of serve cannot attach yet`,
      );
    }
    collector = await options.attachCollector(app, {
      connections: collected,
      loaded,
      ledger,
      logger: logger.child({ component: "collector" }),
      onMetric: metrics.collectorMetric,
      metrics,
      clock,
    });
    const attached = collector;
    metrics.setQueueDepthSource(() => attached.queueDepth());
  }

  try {
    await app.listen({ host: service.host, port: service.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const { port } = app.server.address() as AddressInfo;
  const urlHost = service.host.includes(":") ? `[${service.host}]` : service.host;
  const url = `http://${urlHost}:${port}`;
  logger.info(
    {
      url,
      scheduled: scheduler.status().map((s) => s.name),
      collector: collected.map(([n]) => n),
      admin_auth: service.admin_token !== undefined,
    },
    "capi-sync serve listening",
  );
  if (scheduled.length === 0 && collected.length === 0) {
    logger.warn("no connection has a schedule or a collector source: nothing will run");
  }
  try {
    await scheduler.start();
  } catch (error) {
    scheduler.stop();
    scheduler.abortRuns(error);
    await scheduler.settled();
    await app.close();
    throw error;
  }

  let shuttingDown: Promise<ShutdownResult> | undefined;
  const shutdown = (shutdownOptions: { graceMs?: number; force?: AbortSignal } = {}) => {
    shuttingDown ??= (async () => {
      stopping = true;
      scheduler.stop();
      const graceMs = shutdownOptions.graceMs ?? service.grace_period_ms;
      const running = scheduler.running;
      logger.info(
        { running, grace_period_ms: graceMs },
        "shutting down: no new runs; runs in flight stop reading and finish their current batches",
      );
      scheduler.abortRuns(new Error("service shutting down"));
      const graceOver = new AbortController();
      const timer = setTimeout(() => graceOver.abort(), graceMs);
      const onForce = (): void => graceOver.abort();
      shutdownOptions.force?.addEventListener("abort", onForce, { once: true });
      if (shutdownOptions.force?.aborted) graceOver.abort();
      try {
        const drained = Promise.all([scheduler.settled(), collector?.close(graceOver.signal)]);
        const clean = await Promise.race([
          drained.then(() => true),
          new Promise<false>((resolve) => graceOver.signal.addEventListener("abort", () => resolve(false))),
        ]);
        await app.close();
        const abandoned = clean ? [] : scheduler.running;
        if (clean)
          logger.info("shut down cleanly: every run in flight finished and is recorded in the ledger");
        else {
          logger.warn(
            { abandoned },
            "grace period over with runs still in flight: the next start marks them interrupted, and " +
              "their rows without a recorded outcome are sent again (same event_id) by the next run",
          );
        }
        return { clean, abandoned };
      } finally {
        clearTimeout(timer);
        shutdownOptions.force?.removeEventListener("abort", onForce);
      }
    })();
    return shuttingDown;
  };

  return { url, port, app, scheduler, runner, metrics, shutdown };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
