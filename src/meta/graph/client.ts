// The Graph API delivery client: `new GraphClient(options).dataset(id).send(events, { onOutcome })`.
// The client holds what datasets share (token, connection pool, stop latch); each dataset's sender
// (sender.ts) holds its window and does the delivering.
import { createHmac } from "node:crypto";
import { setTimeout as sleepTimer } from "node:timers/promises";
import type { BackoffPolicy } from "./backoff.ts";
import { BufferPool, bodySuffix, MAX_EVENTS_PER_REQUEST } from "./batch.ts";
import { DEFAULT_DEADLINE_POLICY, type DeadlinePolicy } from "./deadline.ts";
import { classifyResponse } from "./error-classes.ts";
import { type Logger, SafeLog, Scrubber } from "./safe-log.ts";
import { DatasetSender, type DatasetState, type Settings } from "./sender.ts";
import { describeStop } from "./stop-messages.ts";
import { GraphTransport } from "./transport.ts";
import type { GraphStopError, RequestReport } from "./types.ts";
import { AimdWindow, Slots, type WindowStats } from "./window.ts";

/**
 * v26.0: released 2026-07-29, the version Meta's Node SDK pins; Conversions API versions live at
 * least two years (spec §1.7), so it is served until mid-2028 at the earliest.
 */
export const DEFAULT_API_VERSION = "v26.0";
export const DEFAULT_GRAPH_URL = "https://graph.facebook.com";

export interface GraphClientOptions {
  readonly accessToken: string;
  /** When set, every request carries appsecret_proof = HMAC-SHA256(app secret, token), hex (spec §1.2). */
  readonly appSecret?: string;
  readonly graphUrl?: string;
  readonly apiVersion?: string;
  /** Most requests on the wire per dataset; throttling shrinks it (AIMD). Default 8. */
  readonly window?: number;
  /**
   * Per request, ms. Default 5000. Meta suggests 1500 ms for typical requests (spec §1.5), but a
   * 1,000-event batch of several hundred KB takes longer to upload and validate, and each timeout is
   * an ambiguous answer whose retry may duplicate events; 5 s keeps those rare.
   */
  readonly timeoutMs?: number;
  /** Events per request, at most 1000 (Meta's limit). */
  readonly maxBatchEvents?: number;
  /** Request body bytes. Default 2 MiB (Meta documents no limit). */
  readonly maxBatchBytes?: number;
  /** Retry backoff. Default base 500 ms, cap 30 s. */
  readonly backoff?: BackoffPolicy;
  /** Tries per set of events before it is left `pending` (reason retries_exhausted). Default 10. */
  readonly maxAttempts?: number;
  /** Longest single wait the client accepts from a server hint. Default 15 min. */
  readonly maxRetryDelayMs?: number;
  /** Pause after code 368 (blocked for policy violations). Default 5 min. */
  readonly policyPauseMs?: number;
  readonly deadlines?: Partial<DeadlinePolicy>;
  /** A partial batch waits at most this long for more events from a slow source. Default 200 ms. */
  readonly lingerMs?: number;
  /** Sent as `partner_agent` (spec §1.4). Default "capi-sync". */
  readonly partnerAgent?: string;
  readonly logger?: Logger;
  readonly onRequest?: (report: RequestReport) => void;
  readonly onWindowChange?: (datasetId: string, stats: WindowStats) => void;
  /** Injectable for tests. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
}

export type ProbeResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly kind: "auth" | "config" | "network" | "unexpected";
      readonly message: string;
    };

/** Top-level parameters of one dataset's requests (spec §1.4). */
export interface DatasetParams {
  readonly testEventCode?: string;
  readonly uploadTag?: string;
  readonly namespaceId?: string;
}

/**
 * Batches a dataset holds at once: the window on the wire and half a window more, built and ready
 * for the next free place. Each holds a body buffer (~1.3 MB at 1,000 events), so this is most of
 * the client's memory. bench/sync.ts, window 8: twice the window cost ~20–35 MB more peak RSS than
 * 1.5 times; window + 2 saved no more RSS within the noise but cost the emulator on the same two
 * cores ~0.5 CPU-s more per 1M events (its bodies then arrive while it is idle, in more, smaller reads).
 */
function batchesHeld(window: number): number {
  return window + Math.ceil(window / 2);
}

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  sleepTimer(ms, undefined, { signal });

export class GraphClient {
  readonly #settings: Settings;
  readonly #transport: GraphTransport;
  readonly #log: SafeLog;
  readonly #scrubber: Scrubber;
  readonly #headers: Record<string, string>;
  readonly #proof: string | undefined;
  readonly #datasets = new Map<string, DatasetState>();
  readonly #stop = new AbortController();
  #stopError: GraphStopError | undefined;

  constructor(options: GraphClientOptions) {
    if (!options.accessToken) throw new TypeError("GraphClient needs an access token");
    const maxBatchEvents = options.maxBatchEvents ?? MAX_EVENTS_PER_REQUEST;
    if (maxBatchEvents < 1 || maxBatchEvents > MAX_EVENTS_PER_REQUEST) {
      throw new RangeError(`maxBatchEvents must be 1..${MAX_EVENTS_PER_REQUEST}`);
    }
    const window = options.window ?? 8;
    this.#settings = {
      apiVersion: options.apiVersion ?? DEFAULT_API_VERSION,
      window,
      limits: { maxEvents: maxBatchEvents, maxBodyBytes: options.maxBatchBytes ?? 2 * 1024 * 1024 },
      backoff: options.backoff ?? { baseMs: 500, capMs: 30_000 },
      maxAttempts: options.maxAttempts ?? 10,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 15 * 60_000,
      policyPauseMs: options.policyPauseMs ?? 5 * 60_000,
      deadlines: { ...DEFAULT_DEADLINE_POLICY, ...options.deadlines },
      lingerMs: options.lingerMs ?? 200,
      partnerAgent: options.partnerAgent ?? "capi-sync",
      now: options.now ?? Date.now,
      sleep: options.sleep ?? defaultSleep,
      random: options.random ?? Math.random,
      onRequest: options.onRequest,
      onWindowChange: options.onWindowChange,
    };
    this.#proof =
      options.appSecret === undefined
        ? undefined
        : createHmac("sha256", options.appSecret).update(options.accessToken).digest("hex");
    this.#scrubber = new Scrubber([options.accessToken, options.appSecret, this.#proof]);
    this.#log = new SafeLog(options.logger, this.#scrubber);
    this.#headers = {
      authorization: `Bearer ${options.accessToken}`,
      "content-type": "application/json",
      "user-agent": "capi-sync",
    };
    this.#transport = new GraphTransport({
      graphUrl: options.graphUrl ?? DEFAULT_GRAPH_URL,
      timeoutMs: options.timeoutMs ?? 5000,
    });
  }

  /** A sender for one dataset (pixel). Senders of the same dataset share its window. */
  dataset<R = unknown>(datasetId: string, params: DatasetParams = {}): DatasetSender<R> {
    if (!/^\d+$/.test(datasetId)) throw new TypeError("a dataset ID is a string of digits");
    let state = this.#datasets.get(datasetId);
    if (state === undefined) {
      const onChange = this.#settings.onWindowChange;
      let previous = 1;
      state = {
        window: new AimdWindow(this.#settings.window, {
          onChange: (stats) => {
            const fields = { datasetId, limit: stats.limit, max: stats.max };
            if (stats.limit < previous)
              this.#log.warn("Meta is throttling; fewer requests in flight", fields);
            else this.#log.debug("request window grew", fields);
            previous = stats.limit;
            onChange?.(datasetId, stats);
          },
        }),
        slots: new Slots(batchesHeld(this.#settings.window)),
        pausedUntil: 0,
        buffers: new BufferPool(this.#settings.limits.maxBodyBytes, batchesHeld(this.#settings.window) + 2),
      };
      this.#datasets.set(datasetId, state);
    }
    const suffix = bodySuffix({
      test_event_code: params.testEventCode,
      partner_agent: this.#settings.partnerAgent,
      upload_tag: params.uploadTag,
      namespace_id: params.namespaceId,
      appsecret_proof: this.#proof,
    });
    return new DatasetSender<R>(datasetId, suffix, state, {
      settings: this.#settings,
      transport: this.#transport,
      log: this.#log,
      scrubber: this.#scrubber,
      headers: this.#headers,
      stopSignal: this.#stop.signal,
      stopError: () => this.#stopError,
      stop: (error) => this.#stopRun(error),
    });
  }

  /**
   * Asks Meta whether the token may post to the dataset, without recording an event: an empty
   * `data` is refused with "(#100) param data must be non-empty" only after the route, the token
   * and the dataset passed (spec §1.5), so that refusal means yes.
   */
  async probe(datasetId: string): Promise<ProbeResult> {
    if (!/^\d+$/.test(datasetId))
      return { ok: false, kind: "config", message: "a dataset ID is a string of digits" };
    const suffix = bodySuffix({ partner_agent: this.#settings.partnerAgent, appsecret_proof: this.#proof });
    const body = Buffer.concat([Buffer.from('{"data":['), suffix]);
    const path = `/${this.#settings.apiVersion}/${datasetId}/events`;
    const answer = await this.#transport.post(path, this.#headers, body);
    if (answer.kind === "failure") {
      return {
        ok: false,
        kind: "network",
        message: `no answer from the Graph API (${answer.reason}, ${answer.code})`,
      };
    }
    const classified = classifyResponse(answer.status, answer.body);
    const message = classified.error?.message ?? "";
    if (
      classified.error?.code === 100 &&
      /non-empty|is required/.test(message) &&
      classified.error.error_subcode === undefined
    ) {
      return { ok: true };
    }
    if (classified.class === "auth" || classified.class === "config") {
      const context = { datasetId, apiVersion: this.#settings.apiVersion };
      return {
        ok: false,
        kind: classified.class,
        message: this.#scrubber.text(describeStop(classified.error, answer.status, context)),
      };
    }
    return {
      ok: false,
      kind: "unexpected",
      message: `unexpected answer (HTTP ${answer.status}${classified.error?.code === undefined ? "" : `, code ${classified.error.code}`}): ${classified.why}`,
    };
  }

  /** The refusal that stopped this client, if any. */
  get stopped(): GraphStopError | undefined {
    return this.#stopError;
  }

  /** Closes the connection pool after the requests on the wire finish. */
  async close(): Promise<void> {
    await this.#transport.close();
  }

  #stopRun(error: GraphStopError): void {
    if (this.#stopError !== undefined) return;
    this.#stopError = error;
    this.#log.error(error.message, {
      kind: error.kind,
      datasetId: error.datasetId,
      code: error.code,
      error_subcode: error.error_subcode,
      fbtrace_id: error.fbtrace_id,
    });
    this.#stop.abort(error);
  }
}
