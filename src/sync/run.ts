// One run of one connection: source → keys filtered by the ledger → mapping, normalization,
// validation → per-dataset delivery → every row's outcome in the ledger. Streaming throughout:
// memory is bounded by the chunk size and the client's window, not by the source.
//
// Two sides. This one keeps the ledger: it judges each chunk's keys and records every outcome. The
// delivery stage (delivery-stage.ts) does the rest, on a worker thread by default: reading, mapping,
// normalizing, hashing, validating and the Graph client. They exchange keys, verdicts and outcomes,
// never rows or events (stage-protocol.ts).
import type { ConnectionConfig } from "../config/schema.ts";
import {
  BASELINE_REASON,
  type Ledger,
  type Outcome,
  type RunId,
  type RunKind,
  type RunMode,
} from "../ledger/index.ts";
import type { GraphClientOptions, Logger } from "../meta/graph/index.ts";
import { SourceError } from "../sources/types.ts";
import { OutcomeRecorder } from "./outcome-recorder.ts";
import { type ConnectionDefaults, compileConnection } from "./prepare.ts";
import { openStage, type StageLink } from "./stage-link.ts";
import {
  type EndMessage,
  type KeysMessage,
  type OutcomesMessage,
  outcomeOf,
  rebuildError,
} from "./stage-protocol.ts";

/** Rows per chunk: one ledger lookup, one message each way. */
const CHUNK_ROWS = 1000;
/** Chunks read ahead of their verdicts, so reading goes on while the ledger is asked. */
const READ_AHEAD = 2;
/**
 * Events queued per dataset ahead of the client, on the stage's own thread: a hand-off, not a buffer
 * (the client holds its own window of batches). Small, so events die young.
 */
const CHANNEL_EVENTS = 256;

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
  /**
   * Read, prepare and deliver rows on a worker thread, leaving this one the ledger. Default true.
   * Client settings that are functions (test clocks, request hooks) cannot cross threads: with
   * those, and with false, everything runs on this thread.
   */
  readonly worker?: boolean;
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
  /**
   * Keys this run took on whose outcome is not in the ledger yet: a key repeated in the source is
   * skipped while its first row is on its way, as the ledger skips it once recorded.
   */
  const claimed = new Set<string>();
  /** Events handed to the client and not answered yet: pending if the run ends first. */
  let unanswered = 0;
  const recorder = new OutcomeRecorder(ledger, runId, (written) => {
    for (const outcome of written) claimed.delete(outcome.key);
  });
  const hasFunctions = Object.values(options.client ?? {}).some((value) => typeof value === "function");
  const worker = (options.worker ?? true) && !hasFunctions;
  const stage: StageLink = openStage(
    {
      name,
      connection,
      defaults: options.defaults,
      baseDir: options.baseDir,
      client: worker ? options.client : undefined,
      logs: options.logger !== undefined,
      chunkRows: CHUNK_ROWS,
      readAhead: READ_AHEAD,
      channelEvents: CHANNEL_EVENTS,
    },
    { worker, compiled, client: options.client, logger: options.logger },
  );
  const stop = (): void => stage.send({ type: "stop" });
  options.signal?.addEventListener("abort", stop, { once: true });
  if (options.signal?.aborted) stop();

  const local = (outcome: Outcome): void => {
    counts[outcome.state]++;
    recorder.add(outcome);
  };

  /** The ledger's say on a chunk's keys: new ones are delivered (or, in a baseline, skipped). */
  const judge = async (chunk: KeysMessage): Promise<void> => {
    counts.rows += chunk.rows;
    for (const outcome of chunk.outcomes) local(outcome);
    const candidates: string[] = [];
    const positions: number[] = [];
    const seen = new Set<string>();
    chunk.keys.forEach((key, position) => {
      if (claimed.has(key) || seen.has(key)) {
        counts.skipped++;
        return;
      }
      seen.add(key);
      candidates.push(key);
      positions.push(position);
    });
    const fresh =
      candidates.length === 0
        ? new Set<string>()
        : new Set(await ledger.filterNew(name, candidates, { mode, reopenedOnly: kind === "replay" }));
    counts.skipped += candidates.length - fresh.size;
    const deliver = new Uint8Array(chunk.keys.length);
    candidates.forEach((key, index) => {
      if (!fresh.has(key)) return;
      claimed.add(key);
      if (baseline) local({ key, state: "skipped", reason: BASELINE_REASON });
      else deliver[positions[index] as number] = 1;
    });
    stage.send({ type: "verdict", seq: chunk.seq, deliver, nowSeconds: Math.floor(now() / 1000) });
    await recorder.flushIfFull();
  };

  const record = async (message: OutcomesMessage): Promise<void> => {
    unanswered += message.handed;
    for (const outcome of message.local) local(outcome);
    for (const { datasetId, fbtraceId, outcome, keys, eventIds } of message.answers) {
      unanswered -= keys.length;
      counts[outcome.state] += keys.length;
      for (let i = 0; i < keys.length; i++) {
        recorder.add(outcomeOf(outcome, keys[i] as string, eventIds[i]), datasetId, fbtraceId);
      }
    }
    unanswered -= message.pending.length;
    counts.pending += message.pending.length;
    for (const key of message.pending) claimed.delete(key);
    await recorder.flushIfFull();
    options.onProgress?.(counts);
  };

  let end: EndMessage | undefined;
  let crash: unknown;
  try {
    while (end === undefined) {
      const message = await stage.next();
      if (message.type === "keys") await judge(message);
      else if (message.type === "outcomes") await record(message);
      else if (message.type === "log") options.logger?.[message.level](message.fields, message.message);
      else end = message;
    }
  } catch (error) {
    // A worker that died without an end (out of memory, a bug), or a ledger failure.
    crash = error;
    stop();
  } finally {
    options.signal?.removeEventListener("abort", stop);
    await stage.close();
  }

  const { status, stopKind, message } = verdictOfRun(end, crash, options.signal?.aborted === true);
  if (stopKind === "error") options.logger?.error({ err: message }, "sync run failed");
  counts.pending += unanswered;
  await recorder.flush();
  if (baseline && status === "completed") await ledger.completeBaseline(runId);
  await ledger.finishRun(runId, {
    status,
    rowsRead: counts.rows,
    ...(message && { error: message }),
  });
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

/** How the run ended: a refusal by Meta first, then the caller's interrupt, then failures. */
function verdictOfRun(
  end: EndMessage | undefined,
  crash: unknown,
  aborted: boolean,
): Pick<RunReport, "status" | "stopKind" | "message"> {
  if (end?.stop) return { status: "stopped", stopKind: end.stop.kind, message: end.stop.message };
  const error = crash ?? (end?.error && rebuildError(end.error));
  if (aborted && (error !== undefined || end?.interrupted)) {
    return {
      status: "stopped",
      stopKind: "aborted",
      message: "interrupted: rows not yet sent stay pending for the next run",
    };
  }
  if (error instanceof SourceError) return { status: "failed", stopKind: "source", message: error.message };
  if (error !== undefined) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : "unexpected error";
    return { status: "failed", stopKind: "error", message };
  }
  return { status: "completed" };
}
