// One scheduled run of one connection, as the service does it: runConnection with the service's
// logger and metrics, a log line at the start and the end, and the halt rule: when Meta refuses the
// token or the configuration, the connection runs no more until the service restarts (the config,
// token included, is read at start-up, so running it again could only fail the same way).
import type { Logger } from "pino";
import type { LoadedConfig } from "../config/load.ts";
import { type Ledger, LedgerError, type RunMode } from "../ledger/index.ts";
import type { Logger as ClientLogger, GraphClientOptions } from "../meta/graph/index.ts";
import { type RunReport, runConnection } from "../sync/run.ts";
import type { Clock } from "./clock.ts";
import type { ServiceMetrics } from "./metrics.ts";
import { trackRequests } from "./request-tracker.ts";
import type { RunTrigger, RunVerdict } from "./scheduler.ts";

/** A connection Meta refused; shown by /readyz until the service restarts. */
export interface Halt {
  readonly connection: string;
  readonly kind: "auth" | "config";
  /** Value-free: Meta's code and what to do. */
  readonly message: string;
  /** The run that met the refusal; absent when the connection could not start one. */
  readonly runId?: number | undefined;
  readonly at: Date;
}

export interface ConnectionRunnerOptions {
  readonly loaded: LoadedConfig;
  readonly ledger: Ledger;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly clock: Clock;
  /** Overrides of the Graph client's settings (tests use fast backoff). */
  readonly client?: Partial<GraphClientOptions>;
  readonly onReport?: (report: RunReport) => void;
}

const HISTORY_SCAN = 50;

export class ConnectionRunner {
  readonly #options: ConnectionRunnerOptions;
  readonly #halts = new Map<string, Halt>();

  constructor(options: ConnectionRunnerOptions) {
    this.#options = options;
  }

  get halts(): Halt[] {
    return [...this.#halts.values()];
  }

  /** Runs `name` once; resolves with `halt` when Meta refused its token or configuration. Never throws. */
  async run(name: string, signal: AbortSignal, trigger: RunTrigger): Promise<RunVerdict> {
    const { loaded, ledger, metrics, clock } = this.#options;
    const connection = loaded.config.connections[name];
    const log = this.#options.logger.child({ connection: name });
    if (connection === undefined) {
      log.error("no such connection in the config");
      return "halt";
    }
    const instruments = metrics.startRun(name);
    const folded = foldStopLine(log);
    log.info({ trigger }, "run started");
    let report: RunReport;
    try {
      report = await trackRequests(instruments.requests, () =>
        runConnection({
          name,
          connection,
          defaults: loaded.config.defaults,
          baseDir: loaded.baseDir,
          ledger: instruments.observe(ledger),
          signal,
          logger: folded.logger,
          onProgress: instruments.onProgress,
          client: { ...this.#options.client, ...chain(this.#options.client, instruments.client) },
        }),
      );
    } catch (error) {
      instruments.failed();
      folded.release();
      if (error instanceof LedgerError && error.code === "run_in_progress") {
        log.warn("another process is running this connection now; this run is skipped");
      } else {
        log.error(
          { err: error instanceof Error ? `${error.name}: ${error.message}` : "unknown error" },
          "the run could not start or crashed; its rows stay pending and the next fire time runs it again",
        );
      }
      return "continue";
    }
    instruments.finished(report, clock.now());
    const refusal = report.stopKind === "auth" || report.stopKind === "config" ? report.stopKind : undefined;
    if (refusal === undefined) folded.release();
    this.#options.onReport?.(report);
    const fields = {
      run_id: report.runId,
      kind: report.kind,
      status: report.status,
      rows: report.rows,
      delivered: report.delivered,
      rejected: report.rejected,
      expired: report.expired,
      skipped: report.skipped,
      pending: report.pending,
      duration_ms: report.duration_ms,
      ...(report.stopKind && { stop_kind: report.stopKind }),
    };
    if (refusal !== undefined) {
      this.#halt(name, refusal, report);
      log.error(
        { ...folded.take(), ...fields, halted: true },
        `${report.message ?? "Meta refused the request"} Connection ${name} is halted: no more runs until ` +
          "`capi-sync serve` restarts with the fix; its rows not yet delivered stay pending for that run.",
      );
      return "halt";
    }
    if (report.status === "completed") log.info(fields, "run finished");
    else log.warn({ ...fields, ...(report.message && { reason: report.message }) }, "run ended early");
    return "continue";
  }

  /** Start of the newest completed run that read the source for this connection's mode. */
  async lastCompletedRunStart(name: string): Promise<Date | undefined> {
    const last = await this.#lastCompleted(name);
    return last?.startedAt;
  }

  /** Seeds the last-success gauge of each connection from the ledger, so it survives restarts. */
  async seedLastSuccess(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const last = await this.#lastCompleted(name);
      const at = last?.finishedAt ?? last?.startedAt;
      if (at) this.#options.metrics.setLastSuccess(name, Math.floor(at.getTime() / 1000));
    }
  }

  async #lastCompleted(name: string) {
    const connection = this.#options.loaded.config.connections[name];
    const mode: RunMode = connection?.destination.test_event_code ? "test" : "live";
    const runs = await this.#options.ledger.listRuns({ connection: name, limit: HISTORY_SCAN });
    return runs.find((r) => r.status === "completed" && r.kind !== "replay" && r.mode === mode);
  }

  #halt(name: string, kind: "auth" | "config", report: RunReport): void {
    this.#halts.set(name, {
      connection: name,
      kind,
      message: report.message ?? "Meta refused the request",
      runId: report.runId,
      at: new Date(this.#options.clock.now()),
    });
    this.#options.metrics.setHalted(name, true);
  }
}

/**
 * The Graph client logs Meta's refusal itself, as an error; the service folds that line's fields
 * (code, subcode, dataset, fbtrace_id) into its own halt line, so the stop is logged once. A
 * refusal the halt line does not take is logged as it came (`release`).
 */
export function foldStopLine(log: ClientLogger) {
  let held: { fields: Record<string, unknown>; message: string | undefined } | undefined;
  const logger: ClientLogger = {
    debug: (fields, message) => log.debug(fields, message),
    info: (fields, message) => log.info(fields, message),
    warn: (fields, message) => log.warn(fields, message),
    error: (fields, message) => {
      const { kind, ...rest } = fields as Record<string, unknown>;
      if (kind === "auth" || kind === "config") held = { fields: rest, message };
      else log.error(fields, message);
    },
  };
  return {
    logger,
    /** The held refusal's fields, for the halt line. */
    take: (): Record<string, unknown> => {
      const fields = held?.fields ?? {};
      held = undefined;
      return fields;
    },
    release: (): void => {
      if (held) log.error({ ...held.fields }, held.message);
      held = undefined;
    },
  };
}

/** The metrics' client hooks, after any the caller passed (tests observe requests too). */
export function chain(
  first: Partial<GraphClientOptions> | undefined,
  second: Pick<GraphClientOptions, "onRequest" | "onWindowChange">,
): Pick<GraphClientOptions, "onRequest" | "onWindowChange"> {
  const onRequest = first?.onRequest;
  const onWindowChange = first?.onWindowChange;
  return {
    onRequest: (report) => {
      onRequest?.(report);
      second.onRequest?.(report);
    },
    onWindowChange: (datasetId, stats) => {
      onWindowChange?.(datasetId, stats);
      second.onWindowChange?.(datasetId, stats);
    },
  };
}
