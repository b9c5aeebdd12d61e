// One run of one connection: source → keys filtered by the ledger → mapping, normalization,
// validation → per-dataset delivery → every row's outcome in the ledger. Streaming throughout:
// memory is bounded by the chunk size and the client's window, not by the source.
import type { ConnectionConfig } from "../config/schema.ts";
import {
  BASELINE_REASON,
  type Ledger,
  type Outcome,
  type RunId,
  type RunKind,
  type RunMode,
} from "../ledger/index.ts";
import { type Row, RowKeyError } from "../mapping/index.ts";
import type { ServerEvent } from "../meta/event.ts";
import {
  type EventOutcome,
  GraphClient,
  type GraphClientOptions,
  GraphStopError,
  type Logger,
  type OutboundEvent,
  type SendSummary,
} from "../meta/graph/index.ts";
import {
  isUnreadable,
  openSource,
  type SourceConfig,
  SourceError,
  type UnreadableRow,
} from "../sources/index.ts";
import { Channel } from "./channel.ts";
import { OutcomeRecorder } from "./outcome-recorder.ts";
import { type ConnectionDefaults, compileConnection, verdictOf } from "./prepare.ts";

/** Rows looked up in the ledger at once. */
const CHUNK_ROWS = 1000;
/** Events queued per dataset ahead of the client (the client adds its own window of batches). */
const CHANNEL_EVENTS = 4000;

export interface RunConnectionOptions {
  readonly name: string;
  readonly connection: ConnectionConfig;
  /** `defaults:` of the config, overridden by the connection's own `normalization:`. */
  readonly defaults?: ConnectionDefaults;
  /** Directory relative source paths resolve against (the config file's). */
  readonly baseDir: string;
  readonly ledger: Ledger;
  /** `replay`: send only keys that `ledger.reopen` made eligible. */
  readonly kind?: Extract<RunKind, "sync" | "replay">;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** Unix ms; for tests. */
  readonly now?: () => number;
  readonly onProgress?: (progress: RunCounts) => void;
  /** Overrides of the Graph client's settings (tests use fast backoff). */
  readonly client?: Partial<GraphClientOptions>;
}

export interface RunCounts {
  rows: number;
  delivered: number;
  rejected: number;
  expired: number;
  skipped: number;
  /** Rows whose fate is unknown when the run ended (stopped, aborted): the next run sends them. */
  pending: number;
}

export interface RunReport extends RunCounts {
  readonly connection: string;
  readonly runId: RunId;
  readonly mode: RunMode;
  readonly kind: RunKind;
  readonly status: "completed" | "stopped" | "failed";
  /** Why a run stopped or failed: value-free, token-free, with what to do. */
  readonly message?: string;
  /** `auth`/`config` for a refusal by Meta, `source` for an unreadable source. */
  readonly stopKind?: "auth" | "config" | "source" | "aborted" | "error";
  readonly duration_ms: number;
}

interface Ref {
  readonly key: string;
  readonly eventId: string | undefined;
  readonly datasetId: string;
}

interface DatasetLane {
  readonly channel: Channel<OutboundEvent<Ref>>;
  readonly done: Promise<SendSummary | GraphStopError>;
}

export async function runConnection(options: RunConnectionOptions): Promise<RunReport> {
  const started = performance.now();
  const { name, connection, ledger } = options;
  const destination = connection.destination;
  const mode: RunMode = destination.test_event_code ? "test" : "live";
  const requestedKind = options.kind ?? "sync";
  const baseline =
    requestedKind === "sync" &&
    !connection.deliver_existing &&
    (await ledger.baselineCompletedAt(name, mode)) === undefined;
  const kind: RunKind = baseline ? "baseline" : requestedKind;

  // Compiled before the run starts: a bad mapping is a config error, not a failed run.
  const compiled = compileConnection(name, connection, options.defaults);
  const now = options.now ?? Date.now;

  const runId = await ledger.startRun(name, { mode, kind });
  const counts: RunCounts = { rows: 0, delivered: 0, rejected: 0, expired: 0, skipped: 0, pending: 0 };
  const recorder = new OutcomeRecorder(ledger, runId);
  const source = openSource(connection.source as SourceConfig, { cwd: options.baseDir });
  const client = new GraphClient({
    accessToken: destination.access_token,
    ...(destination.app_secret && { appSecret: destination.app_secret }),
    graphUrl: destination.graph_url,
    ...(destination.api_version && { apiVersion: destination.api_version }),
    ...(destination.max_in_flight && { window: destination.max_in_flight }),
    ...(destination.timeout_ms && { timeoutMs: destination.timeout_ms }),
    ...(destination.batch_size && { maxBatchEvents: destination.batch_size }),
    ...(options.logger && { logger: options.logger }),
    ...options.client,
  });
  const lanes = new Map<string, DatasetLane>();
  /** Keys handed to the client whose outcome has not arrived: a key repeated in the source waits. */
  const inFlight = new Set<string>();
  const readAbort = new AbortController();
  const readSignal = options.signal ? AbortSignal.any([options.signal, readAbort.signal]) : readAbort.signal;

  const local = (outcome: Outcome): void => {
    counts[outcome.state]++;
    recorder.add(outcome);
  };

  const onOutcome = (ref: Ref, outcome: EventOutcome): void => {
    inFlight.delete(ref.key);
    if (outcome.status === "pending") {
      counts.pending++;
      return;
    }
    counts[outcome.status]++;
    recorder.add(toLedgerOutcome(ref, outcome), ref.datasetId, fbtraceOf(outcome));
  };

  const lane = (datasetId: string): DatasetLane => {
    let existing = lanes.get(datasetId);
    if (existing === undefined) {
      const channel = new Channel<OutboundEvent<Ref>>(CHANNEL_EVENTS);
      const sender = client.dataset<Ref>(datasetId, {
        ...(destination.test_event_code && { testEventCode: destination.test_event_code }),
        ...(destination.upload_tag && { uploadTag: destination.upload_tag }),
        ...(destination.namespace_id && { namespaceId: destination.namespace_id }),
      });
      const done = sender.send(channel, { onOutcome }).catch((error: unknown) => {
        if (error instanceof GraphStopError) {
          readAbort.abort(error);
          return error;
        }
        throw error;
      });
      existing = { channel, done };
      lanes.set(datasetId, existing);
    }
    return existing;
  };

  const processChunk = async (
    chunk: Array<{ item: Row | UnreadableRow; rowNumber: number }>,
  ): Promise<void> => {
    const candidates: Array<{ row: Row; rowNumber: number; key: string }> = [];
    const seen = new Set<string>();
    for (const { item, rowNumber } of chunk) {
      if (isUnreadable(item)) {
        local({
          key: `unreadable:${item.file}:${item.line}`,
          state: "rejected",
          code: item.code,
          message: item.message,
        });
        continue;
      }
      let key: string;
      try {
        key = compiled.rowKey(item);
      } catch (error) {
        if (!(error instanceof RowKeyError)) throw error;
        local({
          key: `row:${rowNumber}`,
          state: "rejected",
          code: "row.key",
          path: error.column ?? "",
          message: error.message,
        });
        continue;
      }
      if (seen.has(key) || inFlight.has(key)) {
        counts.skipped++;
        continue;
      }
      seen.add(key);
      candidates.push({ row: item, rowNumber, key });
    }
    if (candidates.length === 0) return;
    const fresh = new Set(
      await ledger.filterNew(
        name,
        candidates.map((c) => c.key),
        { mode, reopenedOnly: kind === "replay" },
      ),
    );
    counts.skipped += candidates.length - fresh.size;
    const nowSeconds = Math.floor(now() / 1000);
    for (const { row, rowNumber, key } of candidates) {
      if (!fresh.has(key)) continue;
      if (baseline) {
        local({ key, state: "skipped", reason: BASELINE_REASON });
        continue;
      }
      const prepared = await compiled.evaluate(row, rowNumber, nowSeconds);
      if (prepared.kind === "skipped") {
        local({ key, state: "skipped", reason: prepared.reason });
        continue;
      }
      if (prepared.kind === "invalid") {
        const { state, code, path, message } = verdictOf(prepared.errors);
        const eventId = prepared.event?.event_id;
        local(
          state === "expired"
            ? { key, state, reason: message, ...(eventId && { eventId }) }
            : { key, state, code, path, message, ...(eventId && { eventId }) },
        );
        continue;
      }
      const datasetId = prepared.datasetId ?? destination.dataset_id;
      if (datasetId === undefined) {
        local({
          key,
          state: "rejected",
          code: "destination.dataset_id",
          path: "meta_dataset_id",
          message: "no dataset: the row routes none and the destination sets no dataset_id",
        });
        continue;
      }
      const eventId = typeof prepared.event.event_id === "string" ? prepared.event.event_id : undefined;
      const target = lane(datasetId);
      if (target.channel.abandoned) {
        counts.pending++;
        continue;
      }
      inFlight.add(key);
      const backPressure = target.channel.push({ ref: { key, eventId, datasetId }, event: prepared.event });
      if (backPressure) await backPressure;
    }
    await recorder.flushIfFull();
    options.onProgress?.(counts);
  };

  let status: RunReport["status"] = "completed";
  let message: string | undefined;
  let stopKind: RunReport["stopKind"];
  try {
    let chunk: Array<{ item: Row | UnreadableRow; rowNumber: number }> = [];
    for await (const item of source.rows({ signal: readSignal })) {
      counts.rows++;
      chunk.push({ item, rowNumber: counts.rows });
      if (chunk.length >= CHUNK_ROWS) {
        await processChunk(chunk);
        chunk = [];
      }
    }
    await processChunk(chunk);
  } catch (error) {
    if (readAbort.signal.aborted) {
      // A lane's stop aborted the read; the stop is reported below.
    } else if (options.signal?.aborted) {
      status = "stopped";
      stopKind = "aborted";
      message = "interrupted: rows not yet sent stay pending for the next run";
    } else if (error instanceof SourceError) {
      status = "failed";
      stopKind = "source";
      message = error.message;
    } else {
      status = "failed";
      stopKind = "error";
      message = error instanceof Error ? `${error.name}: ${error.message}` : "unexpected error";
      options.logger?.error({ err: message }, "sync run failed");
    }
  } finally {
    for (const { channel } of lanes.values()) channel.close();
  }

  for (const { done } of lanes.values()) {
    const result = await done.catch((error: unknown) => error);
    if (result instanceof GraphStopError) {
      status = "stopped";
      stopKind = result.kind;
      message = result.message;
    } else if (result instanceof Error && status === "completed") {
      status = "failed";
      stopKind = "error";
      message = `${result.name}: ${result.message}`;
    }
  }
  // Events never handed over (an abandoned lane, a stop mid-chunk) are pending too.
  counts.pending += inFlight.size;
  await recorder.flush();
  if (baseline && status === "completed") await ledger.completeBaseline(runId);
  await ledger.finishRun(runId, {
    status,
    rowsRead: counts.rows,
    ...(message && { error: message }),
  });
  await Promise.allSettled([client.close(), source.close()]);
  return {
    connection: name,
    runId,
    mode,
    kind,
    status,
    ...(message && { message }),
    ...(stopKind && { stopKind }),
    ...counts,
    duration_ms: Math.round(performance.now() - started),
  };
}

function fbtraceOf(outcome: EventOutcome): string | undefined {
  switch (outcome.status) {
    case "delivered":
      return outcome.fbtrace_id;
    case "rejected":
      return outcome.error.fbtrace_id;
    default:
      return undefined;
  }
}

function toLedgerOutcome(ref: Ref, outcome: Exclude<EventOutcome, { status: "pending" }>): Outcome {
  const eventId = ref.eventId;
  switch (outcome.status) {
    case "delivered":
      return { key: ref.key, state: "delivered", eventId: eventId ?? "" };
    case "rejected": {
      const e = outcome.error;
      const detail = [e.error_user_title, e.error_user_msg].filter(Boolean).join(": ");
      return {
        key: ref.key,
        state: "rejected",
        ...(eventId && { eventId }),
        ...(e.code !== undefined && { code: e.code }),
        ...(e.error_subcode !== undefined && { subcode: e.error_subcode }),
        message: detail || e.message,
      };
    }
    case "expired":
      return {
        key: ref.key,
        state: "expired",
        ...(eventId && { eventId }),
        reason: "retry deadline passed (Meta's dedup or age window)",
      };
  }
}
