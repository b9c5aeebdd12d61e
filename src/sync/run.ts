// One run of one connection: source → keys filtered by the ledger → mapping, normalization,
// validation → per-dataset delivery → every row's outcome in the ledger. Streaming throughout:
// memory is bounded by the chunk size and the client's window, not by the source.
//
// Two sides. This one reads the source and keeps the ledger: it judges each chunk's keys, sends the
// new rows on, and records every outcome. The delivery stage (delivery-stage.ts) maps, normalizes,
// hashes, validates and delivers them through the Graph client, on a worker thread by default.
// When that worker already has its chunks, this thread evaluates the next one itself and sends it
// as JSON (run-thread-evaluation.ts), so that both cores evaluate.
import { channel } from "node:diagnostics_channel";
import type { ConnectionConfig } from "../config/schema.ts";
import {
  BASELINE_REASON,
  type Ledger,
  OUTCOME_STATES,
  type Outcome,
  type OutcomeState,
  type RunId,
  type RunKind,
  type RunMode,
} from "../ledger/index.ts";
import type { GraphClient, GraphClientOptions, Logger } from "../meta/graph/index.ts";
// Not through the index, which would load the Graph client on this thread.
import { linkedAbort } from "../meta/graph/linked-abort.ts";
import { openSource, type Source, type SourceConfig, SourceError } from "../sources/index.ts";
import { compileMappingAndKey, type MappingAndKey } from "./mapping-and-key.ts";
import { OutcomeRecorder } from "./outcome-recorder.ts";
import type { ConnectionDefaults } from "./prepare.ts";
import { ChunkReader, type ReadChunk } from "./row-chunks.ts";
import type { RunThreadEvaluator } from "./run-thread-evaluation.ts";
import { openStage, type StageLink } from "./stage-link.ts";
import {
  type HeldRow,
  type OutcomesMessage,
  outcomeOf,
  rebuildError,
  type StageOutbound,
  type StopDescription,
} from "./stage-protocol.ts";

/**
 * Rows per chunk: one ledger lookup, one message to the stage. Small, with reading just ahead of
 * delivery, so rows die young on both threads: a chunk that waits outlives V8's young generation,
 * and the old generation then fills with rows that are garbage by the time it is collected.
 */
export const CHUNK_ROWS = 256;
/** Chunks of rows sent to the stage and not yet taken by its client. */
const CHUNKS_AHEAD = 3;
/**
 * Chunks this thread evaluated (run-thread-evaluation.ts) and sent, not yet taken: enough that the
 * worker's client never waits for this thread. 4 gave 1–16% more events/s than 2 in four
 * alternating runs and about as many as 8 (bench/sync.ts); each holds ~330 KB of JSON.
 */
const EVALUATED_AHEAD = 4;

/**
 * Each chunk sent to the stage: `{ rows, evaluatedHere, workerChunks }` (chunks of rows the worker
 * held when this one was decided), value-free. For tests and diagnostics; nothing is published
 * without a subscriber.
 */
export const CHUNK_SENT_CHANNEL = "capi-sync:sync:chunk-sent";
const chunkSent = channel(CHUNK_SENT_CHANNEL);
/**
 * Events queued per dataset ahead of the client, on the stage's own thread: a hand-off, not a buffer
 * (the client holds its own window of batches). Small, so events die young.
 */
const CHANNEL_EVENTS = 256;

/**
 * The state names as this thread's own strings. A name that crossed from the worker is a copy, and
 * `counts[copy]` with a copy of the name the optimizer specialized on threw the optimized `record`
 * away about 60 times a 1M-row run.
 */
const OWN_STATE_NAMES: ReadonlyMap<string, OutcomeState> = new Map(
  OUTCOME_STATES.map((state) => [state, state]),
);

/** `state` as one of this thread's own strings (see OWN_STATE_NAMES). */
function ownState(state: OutcomeState): OutcomeState {
  return OWN_STATE_NAMES.get(state) ?? state;
}

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
  /** Rows from elsewhere than the configured source (the collector's queue hands over micro-batches). */
  readonly source?: Source;
  /**
   * Map, normalize, validate and deliver on a worker thread; this one reads the source and keeps the
   * ledger. Default: true for the connection's own source, false for a handed-over `source` (the
   * collector's micro-batches), whose few rows would not repay a worker's start (~0.25 s). Client
   * settings that are functions (test clocks, request hooks) cannot cross threads: with those
   * everything runs on this thread.
   */
  readonly worker?: boolean;
  /**
   * Compiled by the caller for many runs of the same connection (the collector's micro-batches,
   * about ten a second): not compiled again per run.
   */
  readonly compiled?: MappingAndKey;
  /**
   * A Graph client that outlives the run, keeping its connections, buffers and learned window
   * across the collector's micro-batches; the run does not close it. Implies the stage runs inline.
   * Its settings, hooks and logger are the ones it was made with: `client` and `logger` do not
   * reach it.
   */
  readonly graphClient?: GraphClient;
  /**
   * With a worker: whether this thread evaluates chunks too. `when-busy` (the default): a chunk the
   * worker has no room for is evaluated here rather than waited on. `always` is for tests.
   */
  readonly evaluateHere?: "when-busy" | "never" | "always";
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
  const compiled = options.compiled ?? compileMappingAndKey(name, connection);
  const source = options.source ?? openConfiguredSource(connection, options.baseDir);
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
  const worker =
    (options.worker ?? options.source === undefined) && !hasFunctions && options.graphClient === undefined;
  /** Aborted by the run itself: Meta's refusal, a failed stage. */
  const readAbort = new AbortController();
  /** Either that or the caller's signal (serve's shutdown, which outlives many runs). */
  const reading = linkedAbort([options.signal, readAbort.signal]);
  const readSignal = reading.signal;
  /** Meta's refusal, as the stage reported it. */
  let halted: StopDescription | undefined;
  let stageError: Error | undefined;
  let stageEnded = false;
  /** The read loop is over: a stage that ends now ends as told. */
  let readingOver = false;
  let sent = 0;
  /** Chunks of rows sent to the stage and not yet taken. */
  let rowsAhead = 0;
  /** Sequence numbers of chunks evaluated here, sent to the stage and not yet taken. */
  const evaluatedAhead = new Set<number>();
  const evaluateHere = worker ? (options.evaluateHere ?? "when-busy") : "never";
  let evaluator: RunThreadEvaluator | undefined;
  /** Wakes the run when the stage says something: a chunk taken, outcomes to write, the end. */
  let wake: (() => void) | undefined;
  const heard = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });
  const notify = (): void => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  readSignal.addEventListener("abort", notify, { once: true });

  const local = (outcome: Outcome): void => {
    counts[ownState(outcome.state)]++;
    recorder.add(outcome);
  };

  /**
   * Meta's answers are written as soon as they arrive, even while this thread is reading: the fewer
   * answered events wait unrecorded, the fewer a kill makes the next run send again. A failed write
   * fails the next awaited one, and with it the run.
   */
  const writeAnswers = (): void => {
    recorder.flush().catch(() => undefined);
  };

  /** A chunk's (or a cut chunk's) events handed to the client and its rows' local verdicts. */
  const recordChunk = (handed: number, verdicts: readonly Outcome[]): void => {
    unanswered += handed;
    for (const outcome of verdicts) local(outcome);
  };

  const record = (message: OutcomesMessage): void => {
    recordChunk(message.handed, message.local);
    for (const { datasetId, fbtraceId, outcome, keys, eventIds } of message.answers) {
      unanswered -= keys.length;
      counts[ownState(outcome.state)] += keys.length;
      for (let i = 0; i < keys.length; i++) {
        recorder.add(outcomeOf(outcome, keys[i] as string, eventIds[i]), datasetId, fbtraceId);
      }
    }
    unanswered -= message.pending.length;
    counts.pending += message.pending.length;
    for (const key of message.pending) claimed.delete(key);
    if (message.answers.length > 0) writeAnswers();
    options.onProgress?.(counts);
  };

  const onMessage = (message: StageOutbound): void => {
    switch (message.type) {
      case "outcomes":
        record(message);
        break;
      case "taken":
        if (!evaluatedAhead.delete(message.seq)) rowsAhead--;
        recordChunk(message.handed, message.local);
        options.onProgress?.(counts);
        break;
      case "halted":
        halted ??= message.stop;
        readAbort.abort();
        break;
      case "log":
        options.logger?.[message.level](message.fields, message.message);
        break;
      case "end":
        stageEnded = true;
        if (message.error) stageError ??= rebuildError(message.error);
        // A stage that ends while rows are still read failed: nothing would make room for them.
        if (!readingOver) readAbort.abort();
        break;
    }
    notify();
  };

  /** The ledger's say on a chunk: new rows go to the stage (in a baseline they are skipped instead). */
  const judge = async (chunk: ReadChunk): Promise<HeldRow[]> => {
    counts.rows += chunk.rows;
    for (const outcome of chunk.outcomes) local(outcome);
    const candidates: HeldRow[] = [];
    // Claimed at once, so that the key repeated later in this chunk is skipped too; a claim the
    // ledger turns down is given back below.
    for (const held of chunk.held) {
      if (claimed.has(held.key)) counts.skipped++;
      else {
        claimed.add(held.key);
        candidates.push(held);
      }
    }
    if (candidates.length === 0) return [];
    const fresh = await ledger.filterNew(
      name,
      candidates.map((held) => held.key),
      { mode, reopenedOnly: kind === "replay" },
    );
    // filterNew keeps the given order, so one pass pairs its answer with the candidates.
    const rows: HeldRow[] = [];
    let next = 0;
    for (const held of candidates) {
      if (fresh[next] !== held.key) {
        claimed.delete(held.key);
        counts.skipped++;
        continue;
      }
      next++;
      rows.push(held);
      if (baseline) local({ key: held.key, state: "skipped", reason: BASELINE_REASON });
    }
    return baseline ? [] : rows;
  };

  let stage: StageLink | undefined;
  let readError: unknown;
  try {
    stage = await openStage(
      {
        name,
        connection,
        defaults: options.defaults,
        baseDir: options.baseDir,
        client: worker ? options.client : undefined,
        logs: options.logger !== undefined,
        channelEvents: CHANNEL_EVENTS,
      },
      {
        worker,
        mappingAndKey: compiled,
        client: options.client,
        logger: options.logger,
        graphClient: options.graphClient,
      },
      onMessage,
    );
    stage.done.catch((error: unknown) => {
      stageError ??= error instanceof Error ? error : new Error(String(error));
      readAbort.abort();
      notify();
    });
    const reader = new ChunkReader(source, { signal: readSignal }, compiled.rowKey, CHUNK_ROWS);
    const roomForRows = () => evaluateHere !== "always" && rowsAhead < CHUNKS_AHEAD;
    const roomHere = () =>
      evaluateHere !== "never" &&
      evaluatedAhead.size < EVALUATED_AHEAD &&
      (evaluateHere === "always" || rowsAhead >= CHUNKS_AHEAD);
    for (;;) {
      // Room first, then read: the rows go to the stage as soon as the ledger has judged them.
      while (!roomForRows() && !roomHere() && !readSignal.aborted) {
        await heard();
        await recorder.flushIfFull();
      }
      readSignal.throwIfAborted();
      const here = !roomForRows();
      /** The worker's chunks when this one was decided, for the diagnostics channel. */
      const workerChunks = rowsAhead;
      const chunk = await reader.read();
      if (chunk === undefined) break;
      const rows = await judge(chunk);
      readSignal.throwIfAborted();
      const nowSeconds = Math.floor(now() / 1000);
      const sentBefore = sent;
      if (rows.length > 0 && here) {
        evaluator ??= (await import("./run-thread-evaluation.ts")).runThreadEvaluator(
          name,
          connection,
          options.defaults,
          compiled,
        );
        const { events, local: verdicts } = await evaluator(rows, nowSeconds);
        for (const outcome of verdicts) local(outcome);
        if (events.keys.length > 0) {
          evaluatedAhead.add(sent);
          stage.send({ type: "evaluated", seq: sent++, events });
        }
      } else if (rows.length > 0) {
        rowsAhead++;
        stage.send({ type: "rows", seq: sent++, rows, nowSeconds });
      }
      if (sent > sentBefore && chunkSent.hasSubscribers)
        chunkSent.publish({ rows: rows.length, evaluatedHere: here, workerChunks });
      await recorder.flushIfFull();
      options.onProgress?.(counts);
    }
  } catch (error) {
    readError = error;
  }
  readingOver = true;
  // A failed read still delivers what was sent; an interrupt or a refusal drops what was not taken.
  stage?.send({ type: readSignal.aborted ? "stop" : "finish" });
  try {
    while (stage !== undefined && !stageEnded && stageError === undefined) {
      await heard();
      await recorder.flushIfFull();
    }
  } catch (error) {
    readError ??= error;
  } finally {
    reading.unlink();
    await Promise.allSettled([stage?.close(), source.close()]);
  }

  const { status, stopKind, message } = verdictOfRun({
    halted,
    stageError,
    readError: readAbort.signal.aborted ? undefined : readError,
    interrupted: readError !== undefined && options.signal?.aborted === true,
  });
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
function verdictOfRun(ending: {
  halted: StopDescription | undefined;
  stageError: Error | undefined;
  readError: unknown;
  interrupted: boolean;
}): Pick<RunReport, "status" | "stopKind" | "message"> {
  if (ending.halted)
    return { status: "stopped", stopKind: ending.halted.kind, message: ending.halted.message };
  if (ending.interrupted) {
    return {
      status: "stopped",
      stopKind: "aborted",
      message: "interrupted: rows not yet sent stay pending for the next run",
    };
  }
  const error = ending.readError ?? ending.stageError;
  if (error instanceof SourceError) return { status: "failed", stopKind: "source", message: error.message };
  if (error !== undefined) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : "unexpected error";
    return { status: "failed", stopKind: "error", message };
  }
  return { status: "completed" };
}

/** The connection's own source; collector connections have none outside `serve`. */
function openConfiguredSource(connection: ConnectionConfig, baseDir: string): Source {
  if (connection.source.kind === "collector") {
    throw new SourceError(
      "collector",
      "not_found",
      "collector connections receive events over HTTP: they are delivered by `capi-sync serve`, not by sync",
    );
  }
  return openSource(connection.source as SourceConfig, { cwd: baseDir });
}
