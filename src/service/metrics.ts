// Prometheus metrics of the service, on a registry of its own (plus prom-client's process metrics).
// Row counters follow the RunReport exactly (live from onProgress, settled by the final report);
// rejections by code come from the outcomes the ledger recorded; request metrics from the Graph
// client's hooks. Every label takes values from a bounded set: connection names come from the config,
// outcomes and statuses from fixed lists, rejection codes are capped per connection.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Ledger, Outcome } from "../ledger/index.ts";
import type { GraphClientOptions, RequestReport } from "../meta/graph/index.ts";
import type { RunCounts, RunReport } from "../sync/run.ts";
import { COLLECTOR_ROUTES, type CollectorMetric } from "./collector/index.ts";
import { observeOutcomes } from "./observed-ledger.ts";
import type { RequestScope } from "./request-tracker.ts";

export const ROW_OUTCOMES = ["delivered", "rejected", "expired", "skipped", "pending"] as const;

/** Distinct rejection codes kept as label values per connection; later ones count as `other`. */
export const MAX_CODES_PER_CONNECTION = 50;
const CODE_LABEL = /^[A-Za-z0-9_.:/-]{1,64}$/;

export interface MetricsOptions {
  /** prom-client's process metrics (CPU, memory, event loop lag, …). Default true. */
  readonly processMetrics?: boolean;
}

/** The instruments of one run: hand them to runConnection, then call `finished` or `failed`. */
export interface RunInstruments {
  readonly onProgress: (counts: RunCounts) => void;
  readonly client: Pick<GraphClientOptions, "onRequest" | "onWindowChange">;
  readonly requests: RequestScope;
  observe(ledger: Ledger): Ledger;
  /** Outcomes the ledger recorded (what `observe` reports): rejections are counted by code. */
  recorded(outcomes: readonly Outcome[]): void;
  finished(report: RunReport, finishedAtMs: number): void;
  /** The run threw before it could report (e.g. the ledger refused to start it). */
  failed(): void;
}

/** Queue depth per connection, read at each scrape. */
export type QueueDepthSource = () => Iterable<readonly [connection: string, depth: number]>;

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #rowsRead: Counter<"connection">;
  readonly #rows: Counter<"connection" | "outcome">;
  readonly #rejections: Counter<"connection" | "code">;
  readonly #requests: Counter<"connection" | "outcome">;
  readonly #retries: Counter<"connection">;
  readonly #throttled: Counter<"connection">;
  readonly #inFlight: Gauge<"connection">;
  readonly #window: Gauge<"connection">;
  readonly #requestSeconds: Histogram<"connection" | "outcome">;
  readonly #runs: Counter<"connection" | "status">;
  readonly #runSeconds: Histogram<"connection">;
  readonly #running: Gauge<"connection">;
  readonly #lastSuccess: Gauge<"connection">;
  readonly #halted: Gauge<"connection">;
  readonly #codes = new Map<string, Set<string>>();
  readonly #collectorRequests: Counter<"route" | "status">;
  readonly #collectorMessages: Counter<"connection" | "outcome" | "code">;
  readonly #collectorEnriched: Counter<"connection" | "note">;
  #queueDepth: QueueDepthSource | undefined;

  constructor(connections: readonly string[], options: MetricsOptions = {}) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.#rowsRead = new Counter({
      name: "capi_sync_rows_read_total",
      help: "Rows read from the connection's source",
      labelNames: ["connection"],
      registers,
    });
    this.#rows = new Counter({
      name: "capi_sync_rows_total",
      help: "Rows by outcome, as in the run reports (pending: left for the next run)",
      labelNames: ["connection", "outcome"],
      registers,
    });
    this.#rejections = new Counter({
      name: "capi_sync_rejections_total",
      help: `Rejected rows by code: Meta's code[/subcode] or capi-sync's validation code (at most ${MAX_CODES_PER_CONNECTION} codes per connection, then "other")`,
      labelNames: ["connection", "code"],
      registers,
    });
    this.#requests = new Counter({
      name: "capi_sync_requests_total",
      help: "Requests to Meta by outcome (success, payload_invalid, throttle, transient, auth, config, timeout, network, …)",
      labelNames: ["connection", "outcome"],
      registers,
    });
    this.#retries = new Counter({
      name: "capi_sync_request_retries_total",
      help: "Requests that repeated an earlier failed one",
      labelNames: ["connection"],
      registers,
    });
    this.#throttled = new Counter({
      name: "capi_sync_throttled_requests_total",
      help: "Requests Meta answered with a rate-limit error",
      labelNames: ["connection"],
      registers,
    });
    this.#inFlight = new Gauge({
      name: "capi_sync_requests_in_flight",
      help: "Requests to Meta on the wire now",
      labelNames: ["connection"],
      registers,
    });
    this.#window = new Gauge({
      name: "capi_sync_request_window",
      help: "Requests the client allows on the wire now, summed over datasets (shrinks when Meta throttles)",
      labelNames: ["connection"],
      registers,
    });
    this.#requestSeconds = new Histogram({
      name: "capi_sync_request_duration_seconds",
      help: "Time from sending a request to Meta to its answer",
      labelNames: ["connection", "outcome"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#runs = new Counter({
      name: "capi_sync_runs_total",
      help: "Runs by final status (completed, stopped, failed; error: the run could not start or crashed)",
      labelNames: ["connection", "status"],
      registers,
    });
    this.#runSeconds = new Histogram({
      name: "capi_sync_run_duration_seconds",
      help: "Duration of runs",
      labelNames: ["connection"],
      buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600],
      registers,
    });
    this.#running = new Gauge({
      name: "capi_sync_run_in_progress",
      help: "1 while the connection runs",
      labelNames: ["connection"],
      registers,
    });
    this.#lastSuccess = new Gauge({
      name: "capi_sync_last_successful_run_timestamp_seconds",
      help: "When the connection's last completed run ended (unix seconds)",
      labelNames: ["connection"],
      registers,
    });
    this.#halted = new Gauge({
      name: "capi_sync_connection_halted",
      help: "1 when Meta refused the connection's token or configuration: no runs until the service restarts",
      labelNames: ["connection"],
      registers,
    });
    this.#collectorRequests = new Counter({
      name: "capi_sync_collector_requests_total",
      help: "Requests the collector answered, by route and HTTP status",
      labelNames: ["route", "status"],
      registers,
    });
    this.#collectorMessages = new Counter({
      name: "capi_sync_collector_messages_total",
      help: "Messages the collector stored (accepted) or refused (rejected, by code)",
      labelNames: ["connection", "outcome", "code"],
      registers,
    });
    this.#collectorEnriched = new Counter({
      name: "capi_sync_collector_enrichments_total",
      help: "Fields the collector added to messages (client IP, user agent, fbc, fbp, …), by note",
      labelNames: ["connection", "note"],
      registers,
    });
    const depth = (): QueueDepthSource | undefined => this.#queueDepth;
    new Gauge({
      name: "capi_sync_collector_queue_depth",
      help: "Events the collector accepted and has not delivered yet",
      labelNames: ["connection"],
      registers,
      collect() {
        const source = depth();
        if (source === undefined) return;
        this.reset();
        for (const [connection, value] of source()) this.set({ connection }, value);
      },
    });
    for (const connection of connections) {
      // Series exist from the start, so rate() and absence alerts work before the first run.
      this.#rowsRead.inc({ connection }, 0);
      for (const outcome of ROW_OUTCOMES) this.#rows.inc({ connection, outcome }, 0);
      this.#running.set({ connection }, 0);
      this.#inFlight.set({ connection }, 0);
      this.#halted.set({ connection }, 0);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  setLastSuccess(connection: string, unixSeconds: number): void {
    this.#lastSuccess.set({ connection }, unixSeconds);
  }

  setHalted(connection: string, halted: boolean): void {
    this.#halted.set({ connection }, halted ? 1 : 0);
  }

  /** Where the collector's queue depth is read from (set once the collector is attached). */
  setQueueDepthSource(source: QueueDepthSource): void {
    this.#queueDepth = source;
  }

  /** The collector's counter events (its `onMetric` option). */
  readonly collectorMetric = (metric: CollectorMetric): void => {
    switch (metric.name) {
      case "request": {
        // Unknown paths (404s) share one label value, so probes of random URLs add no series.
        const route = Object.hasOwn(COLLECTOR_ROUTES, metric.route) ? metric.route : "other";
        this.#collectorRequests.inc({ route, status: String(metric.status) });
        return;
      }
      case "accepted":
        this.#collectorMessages.inc(
          { connection: metric.connection, outcome: "accepted", code: "" },
          metric.count,
        );
        return;
      case "rejected":
        this.#collectorMessages.inc(
          { connection: metric.connection ?? "(unknown)", outcome: "rejected", code: metric.code },
          metric.count,
        );
        return;
      case "enriched":
        this.#collectorEnriched.inc({ connection: metric.connection, note: metric.note }, metric.count);
        return;
    }
  };

  startRun(connection: string): RunInstruments {
    this.#running.set({ connection }, 1);
    const counted: RunCounts = { rows: 0, delivered: 0, rejected: 0, expired: 0, skipped: 0, pending: 0 };
    const windows = new Map<string, number>();
    let ended = false;
    const catchUp = (counts: RunCounts): void => {
      const rowsDelta = counts.rows - counted.rows;
      if (rowsDelta > 0) this.#rowsRead.inc({ connection }, rowsDelta);
      counted.rows = Math.max(counted.rows, counts.rows);
      for (const outcome of ROW_OUTCOMES) {
        const delta = counts[outcome] - counted[outcome];
        if (delta > 0) this.#rows.inc({ connection, outcome }, delta);
        counted[outcome] = Math.max(counted[outcome], counts[outcome]);
      }
    };
    const end = (): void => {
      ended = true;
      this.#running.set({ connection }, 0);
      this.#window.set({ connection }, 0);
    };
    return {
      onProgress: catchUp,
      client: {
        onRequest: (report) => this.#request(connection, report),
        onWindowChange: (datasetId, stats) => {
          if (ended) return;
          windows.set(datasetId, stats.limit);
          let sum = 0;
          for (const limit of windows.values()) sum += limit;
          this.#window.set({ connection }, sum);
        },
      },
      requests: {
        started: () => this.#inFlight.inc({ connection }),
        ended: () => this.#inFlight.dec({ connection }),
      },
      observe: (ledger) => observeOutcomes(ledger, (outcomes) => this.#recorded(connection, outcomes)),
      recorded: (outcomes) => this.#recorded(connection, outcomes),
      finished: (report, finishedAtMs) => {
        catchUp(report);
        this.#runs.inc({ connection, status: report.status });
        this.#runSeconds.observe({ connection }, report.duration_ms / 1000);
        if (report.status === "completed") this.setLastSuccess(connection, Math.floor(finishedAtMs / 1000));
        end();
      },
      failed: () => {
        this.#runs.inc({ connection, status: "error" });
        end();
      },
    };
  }

  #request(connection: string, report: RequestReport): void {
    this.#requests.inc({ connection, outcome: report.outcome });
    this.#requestSeconds.observe({ connection, outcome: report.outcome }, report.duration_ms / 1000);
    if (report.try > 1) this.#retries.inc({ connection });
    if (report.outcome === "throttle") this.#throttled.inc({ connection });
  }

  #recorded(connection: string, outcomes: readonly Outcome[]): void {
    for (const outcome of outcomes) {
      if (outcome.state !== "rejected") continue;
      this.#rejections.inc({ connection, code: this.#codeLabel(connection, outcome) });
    }
  }

  #codeLabel(connection: string, outcome: Extract<Outcome, { state: "rejected" }>): string {
    const raw =
      outcome.code === undefined
        ? "unknown"
        : outcome.subcode === undefined
          ? String(outcome.code)
          : `${outcome.code}/${outcome.subcode}`;
    if (!CODE_LABEL.test(raw)) return "other";
    let seen = this.#codes.get(connection);
    if (seen === undefined) {
      seen = new Set();
      this.#codes.set(connection, seen);
    }
    if (seen.has(raw)) return raw;
    if (seen.size >= MAX_CODES_PER_CONNECTION) return "other";
    seen.add(raw);
    return raw;
  }
}
