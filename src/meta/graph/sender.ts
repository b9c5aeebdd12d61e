// One dataset's delivery. It pulls events from the caller's (async) iterable only when a batch slot
// is free, so a caller streaming millions of rows is held back and memory stays at about
// 1.5 × window batches; it sends them through the window, retries, bisects, and reports every
// event's outcome.

import { setTimeout as sleepTimer } from "node:timers/promises";
import { type BackoffPolicy, fullJitterDelay, serverWaitHintMs } from "./backoff.ts";
import {
  type Batch,
  BatchBuilder,
  type BatchLimits,
  type BufferPool,
  buildBody,
  type PendingEvent,
  splitIntoBatches,
} from "./batch.ts";
import { type AttemptResult, deliverWithBisection } from "./bisect.ts";
import { ageDeadlineMs, type DeadlinePolicy, retryDeadlineMs } from "./deadline.ts";
import { type Classified, classifyResponse, type GraphErrorBody } from "./error-classes.ts";
import { linkedAbort } from "./linked-abort.ts";
import type { SafeLog, Scrubber } from "./safe-log.ts";
import { eventJson, NOT_A_JSON_OBJECT } from "./serialize.ts";
import { describeStop } from "./stop-messages.ts";
import type { GraphTransport, WireResult } from "./transport.ts";
import {
  type DeliveryError,
  type EventOutcome,
  GraphStopError,
  type OutboundEvent,
  type PendingReason,
  type QueuedSource,
  type RequestReport,
  type SendSummary,
} from "./types.ts";
import type { AimdWindow, Slots, WindowStats } from "./window.ts";

export interface SendHandlers<R> {
  /** Called once per event with its outcome, as soon as it is known. */
  readonly onOutcome?: (ref: R, outcome: EventOutcome) => void;
  readonly signal?: AbortSignal;
}

export interface Settings {
  readonly apiVersion: string;
  readonly window: number;
  readonly limits: BatchLimits;
  readonly backoff: BackoffPolicy;
  readonly maxAttempts: number;
  readonly maxRetryDelayMs: number;
  readonly policyPauseMs: number;
  readonly deadlines: DeadlinePolicy;
  readonly lingerMs: number;
  readonly partnerAgent: string;
  readonly now: () => number;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random: () => number;
  readonly onRequest: ((report: RequestReport) => void) | undefined;
  readonly onWindowChange: ((datasetId: string, stats: WindowStats) => void) | undefined;
}

/** Per dataset, shared by every sender of that dataset. */
export interface DatasetState {
  readonly window: AimdWindow;
  /**
   * Bounds the batches held (built and waiting for the wire, sending, retrying, bisecting) to the
   * window and half a window more: when answers free the window, the next batches are already
   * built, so the window refills at once instead of one batch-build (a few ms each) after another.
   */
  readonly slots: Slots;
  /** No request before this instant (server wait hints, policy blocks). */
  pausedUntil: number;
  readonly buffers: BufferPool;
}

/** What a sender needs from its client; not part of the public surface. */
export interface ClientContext {
  readonly settings: Settings;
  readonly transport: GraphTransport;
  readonly log: SafeLog;
  readonly scrubber: Scrubber;
  readonly headers: Record<string, string>;
  readonly stopSignal: AbortSignal;
  readonly stopError: () => GraphStopError | undefined;
  readonly stop: (error: GraphStopError) => void;
}

/** State of one `send` call. */
interface Run<R> {
  readonly summary: SendSummary;
  readonly signal: AbortSignal;
  readonly emit: (events: readonly { readonly ref: R }[], outcome: EventOutcome) => void;
}

export class DatasetSender<R> {
  readonly datasetId: string;
  readonly #suffix: Buffer;
  readonly #limits: BatchLimits;
  readonly #state: DatasetState;
  readonly #ctx: ClientContext;

  constructor(datasetId: string, suffix: Buffer, state: DatasetState, context: ClientContext) {
    this.datasetId = datasetId;
    this.#suffix = suffix;
    this.#limits = context.settings.limits;
    this.#state = state;
    this.#ctx = context;
  }

  /** The current request window of this dataset. */
  get window(): WindowStats {
    return this.#state.window.stats;
  }

  /**
   * Delivers every event of `source`, reporting each outcome through `onOutcome`. Resolves with the
   * summary; throws GraphStopError (carrying the summary) when Meta refused the token or the
   * configuration — every event taken from the source whose fate is unknown is then `pending`.
   */
  async send(
    source: Iterable<OutboundEvent<R>> | AsyncIterable<OutboundEvent<R>>,
    handlers: SendHandlers<R> = {},
  ): Promise<SendSummary> {
    const summary: SendSummary = {
      datasetId: this.datasetId,
      events: 0,
      delivered: 0,
      rejected: 0,
      expired: 0,
      pending: 0,
      requests: 0,
      retries: 0,
      throttled: 0,
      ambiguous_batches: 0,
      bytes_sent: 0,
      aborted: false,
    };
    const stopped = this.#ctx.stopError();
    if (stopped !== undefined) throw stopped.withSummary(summary);
    // Aborted by the client's stop (auth/config refusal), the caller, or a throwing onOutcome.
    const runAbort = linkedAbort([this.#ctx.stopSignal, handlers.signal]);
    const signal = runAbort.signal;
    // Read per event: a plain flag, since a composite signal's `aborted` getter is not cheap.
    let aborted = signal.aborted;
    signal.addEventListener("abort", () => {
      aborted = true;
    });
    const onOutcome = handlers.onOutcome;
    let callbackError: { error: unknown } | undefined;
    const run: Run<R> = {
      summary,
      signal,
      emit: (events, outcome) => {
        summary[outcome.status] += events.length;
        if (onOutcome === undefined || callbackError !== undefined) return;
        try {
          for (const event of events) onOutcome(event.ref, outcome);
        } catch (error) {
          callbackError = { error };
          runAbort.abort(error);
        }
      },
    };

    const tasks = new Set<Promise<void>>();
    /** A batch failed unexpectedly (not an answer of Meta's, which is an outcome): the send ends. */
    let taskError: { error: unknown } | undefined;
    const dispatch = async (batch: Batch<R>): Promise<void> => {
      await this.#state.slots.acquire();
      // Caught here, not where tasks are awaited at the end: a rejection nothing handles yet would
      // take the process down while later batches are still dispatched.
      const failed = (error: unknown): void => {
        taskError ??= { error };
        runAbort.abort(error);
      };
      const task = this.#deliver(batch, run)
        .then(undefined, failed)
        .finally(() => {
          if (batch.buffer !== undefined) this.#state.buffers.give(batch.buffer);
          this.#state.slots.release();
          tasks.delete(task);
        });
      tasks.add(task);
    };
    const builder = new BatchBuilder<R>(this.#limits, this.#suffix, this.#state.buffers);
    const maxEvents = this.#limits.maxEvents;
    /** Takes one event; returns a promise only when a batch had to be dispatched (back-pressure). */
    const accept = (item: OutboundEvent<R>): Promise<void> | undefined => {
      summary.events += 1;
      const prepared = this.#prepare(item, run);
      if (prepared === undefined) return undefined;
      if (aborted) {
        run.emit([item], pendingOutcome(this.#pendingReason(run)));
        return undefined;
      }
      const [json, ageDeadline] = prepared;
      if (builder.add(item.ref, json, ageDeadline) !== undefined) {
        return builder.size >= maxEvents ? dispatch(builder.take()) : undefined;
      }
      const full = builder.size > 0 ? builder.take() : undefined;
      if (builder.add(item.ref, json, ageDeadline) === undefined) {
        const bytes = Buffer.byteLength(json);
        run.emit(
          [item],
          rejectedByClient(`the event serializes to ${bytes} bytes, above the request byte cap`),
        );
      }
      return full === undefined ? undefined : dispatch(full);
    };

    try {
      if (Symbol.asyncIterator in source) {
        await this.#pullAsync(
          source,
          accept,
          () => aborted,
          () => builder.size,
          () => (builder.size > 0 ? dispatch(builder.take()) : undefined),
        );
      } else {
        for (const item of source) {
          const dispatched = accept(item);
          if (dispatched !== undefined) await dispatched;
          if (aborted) break;
        }
      }
      if (builder.size > 0) {
        const last = builder.take();
        if (aborted) run.emit(last.events, pendingOutcome(this.#pendingReason(run)));
        else await dispatch(last);
      }
    } finally {
      try {
        while (tasks.size > 0) await Promise.all(tasks);
      } finally {
        runAbort.unlink();
      }
    }

    summary.aborted = handlers.signal?.aborted === true;
    if (callbackError !== undefined) throw callbackError.error;
    // A refusal by Meta says what to do; it outranks a batch that failed meanwhile.
    const stopError = this.#ctx.stopError();
    if (stopError !== undefined) throw stopError.withSummary(summary);
    if (taskError !== undefined) throw taskError.error;
    this.#ctx.log.info("delivery finished", {
      datasetId: this.datasetId,
      events: summary.events,
      delivered: summary.delivered,
      rejected: summary.rejected,
      expired: summary.expired,
      pending: summary.pending,
      requests: summary.requests,
    });
    return summary;
  }

  /**
   * Pulls from an async source. When a partial batch has waited `lingerMs` for the next event,
   * `flush` dispatches it, so a slow stream is still delivered promptly.
   */
  async #pullAsync(
    source: AsyncIterable<OutboundEvent<R>>,
    accept: (item: OutboundEvent<R>) => Promise<void> | undefined,
    aborted: () => boolean,
    partial: () => number,
    flush: () => Promise<void> | undefined,
  ): Promise<void> {
    const iterator = source[Symbol.asyncIterator]();
    const lingerMs = this.#ctx.settings.lingerMs;
    let linger: { timer: Promise<undefined>; abort: AbortController } | undefined;
    const stopLinger = (): void => {
      linger?.abort.abort();
      linger = undefined;
    };
    const queued = source as Partial<QueuedSource<R>>;
    const takeReady = typeof queued.takeReady === "function" ? queued.takeReady.bind(queued) : undefined;
    /** The iterator's next result; a partial batch that waits `lingerMs` for it is flushed meanwhile. */
    const pull = async (): Promise<IteratorResult<OutboundEvent<R>>> => {
      const next = iterator.next();
      if (partial() > 0 && linger === undefined) {
        // One timer per partial batch, raced against each pull until the batch leaves.
        const abort = new AbortController();
        const timer = sleepTimer(lingerMs, undefined, { signal: abort.signal, ref: false }).then(
          () => undefined,
          () => undefined,
        );
        linger = { timer, abort };
      }
      const result = linger === undefined ? await next : await Promise.race([next, linger.timer]);
      if (result !== undefined) return result;
      stopLinger();
      const flushed = flush();
      if (flushed !== undefined) await flushed;
      return next;
    };
    let finished = false;
    try {
      while (!aborted()) {
        let item = takeReady?.();
        if (item === undefined) {
          const result = await pull();
          if (result.done) {
            finished = true;
            break;
          }
          item = result.value;
        }
        const dispatched = accept(item);
        if (dispatched !== undefined) {
          stopLinger();
          await dispatched;
        }
      }
    } finally {
      stopLinger();
      if (!finished) await iterator.return?.();
    }
  }

  /** The event's JSON and age deadline, or undefined when it got its outcome here. */
  #prepare(item: OutboundEvent<R>, run: Run<R>): [json: string, ageDeadline: number] | undefined {
    const settings = this.#ctx.settings;
    const serialized = "json" in item;
    const json = serialized ? item.json : eventJson(item.event);
    if (json === undefined) {
      run.emit([item], rejectedByClient(NOT_A_JSON_OBJECT));
      return undefined;
    }
    const timed = serialized ? item : item.event;
    const ageDeadline = ageDeadlineMs(timed.event_time, timed.action_source, settings.deadlines);
    if (settings.now() >= ageDeadline) {
      run.emit([item], { status: "expired" });
      return undefined;
    }
    return [json, ageDeadline];
  }

  #deliver(batch: Batch<R>, run: Run<R>): Promise<void> {
    return deliverWithBisection(batch.events, {
      attempt: (events, probe) =>
        this.#attempt(events, events === batch.events ? batch.body : undefined, probe, run),
      reject: (event, error) => {
        this.#ctx.log.debug("event rejected by Meta", {
          datasetId: this.datasetId,
          code: error.code,
          error_subcode: error.error_subcode,
          fbtrace_id: error.fbtrace_id,
        });
        run.emit([event], { status: "rejected", error });
      },
      rejectTooLarge: (event) =>
        run.emit(
          [event],
          rejectedByClient("the server refused the event as too large (HTTP 413), even alone"),
        ),
      rebatch: (events) => splitIntoBatches(events, this.#limits, this.#suffix),
    });
  }

  /** Sends one set of events, retrying transient failures, until it settles or needs splitting. */
  async #attempt(
    events: PendingEvent<R>[],
    batchBody: Buffer | undefined,
    probe: boolean,
    run: Run<R>,
  ): Promise<AttemptResult<PendingEvent<R>>> {
    const { settings, log } = this.#ctx;
    const state = this.#state;
    let live = events;
    /** The body of `live`: the batch's own buffer while no event has dropped out. */
    let body = batchBody;
    let lastError: DeliveryError | undefined;
    for (let attempt = 1; ; attempt++) {
      live = this.#dropExpired(live, settings.now(), run, lastError);
      if (live.length === 0) return { kind: "settled" };
      if (run.signal.aborted) return this.#leavePending(live, this.#pendingReason(run), run, lastError);
      if (attempt > settings.maxAttempts) {
        log.warn("retries exhausted; events left pending", {
          datasetId: this.datasetId,
          events: live.length,
        });
        return this.#leavePending(live, "retries_exhausted", run, lastError);
      }
      let ticket: number;
      try {
        const pause = state.pausedUntil - settings.now();
        if (pause > 0) {
          live = this.#dropExpired(live, state.pausedUntil, run, lastError);
          if (live.length === 0) return { kind: "settled" };
          await settings.sleep(pause, run.signal);
          attempt -= 1;
          continue;
        }
        ticket = await state.window.acquire(run.signal);
      } catch {
        return this.#leavePending(live, this.#pendingReason(run), run, lastError);
      }
      if (run.signal.aborted) {
        // Woken by a slot freed while the answer that stops the run was being read.
        state.window.release();
        return this.#leavePending(live, this.#pendingReason(run), run, lastError);
      }

      const startedAt = settings.now();
      let bytes: number;
      let answer: ReturnType<typeof interpret>;
      // The slot is freed whatever throws (a hook, a logger): a window shared by later sends (the
      // collector's client) would otherwise keep it for good.
      try {
        for (const event of live) {
          if (event.firstAttemptAt === undefined) {
            event.firstAttemptAt = startedAt;
            event.deadline = retryDeadlineMs(event.ageDeadline, startedAt, settings.deadlines);
          }
        }
        if (body === undefined || live !== events) body = buildBody(live, this.#suffix);
        bytes = body.length;
        const path = `/${settings.apiVersion}/${this.datasetId}/events`;
        answer = interpret(await this.#ctx.transport.post(path, this.#ctx.headers, body));
        // The window reacts before the slot is freed, so no waiter goes out under a stale decision.
        if (answer.class === "auth" || answer.class === "config") this.#ctx.stop(this.#stopError(answer));
        else if (answer.class === "success") state.window.onSuccess();
        else if (answer.class === "throttle") state.window.onThrottle(ticket);
      } finally {
        state.window.release();
      }
      run.summary.requests += 1;
      run.summary.bytes_sent += bytes;
      if (attempt > 1) run.summary.retries += 1;
      this.#report(live.length, bytes, attempt, probe, answer, settings.now() - startedAt);

      const error = answer.error === undefined ? undefined : this.#deliveryError(answer.error, answer.status);
      switch (answer.class) {
        case "success": {
          if (answer.eventsReceived === live.length) {
            run.emit(live, deliveredOutcome(answer.fbtraceId));
            return live.length === events.length ? { kind: "accepted_all" } : { kind: "settled" };
          }
          run.summary.ambiguous_batches += 1;
          log.error(
            "Meta acknowledged a different number of events than sent; batch left pending, not resent",
            {
              datasetId: this.datasetId,
              sent: live.length,
              events_received: answer.eventsReceived,
              fbtrace_id: answer.fbtraceId,
            },
          );
          return this.#leavePending(live, "ambiguous", run, undefined);
        }
        case "payload_invalid":
          return { kind: "invalid", sent: live, error: error ?? this.#clientError(answer) };
        case "too_large":
          return { kind: "too_large", sent: live };
        case "auth":
        case "config":
          return this.#leavePending(live, "stopped", run, error);
        case "permanent": {
          const rejection = error ?? this.#clientError(answer);
          log.warn("Meta rejected a batch with an unlisted client error; not retried", {
            datasetId: this.datasetId,
            events: live.length,
            http_status: answer.status,
            code: rejection.code,
            error_subcode: rejection.error_subcode,
            fbtrace_id: rejection.fbtrace_id,
          });
          run.emit(live, { status: "rejected", error: rejection });
          return { kind: "settled" };
        }
        default: {
          lastError = error ?? this.#clientError(answer);
          const now = settings.now();
          let wait = fullJitterDelay(attempt, settings.backoff, settings.random);
          if (answer.class === "throttle") {
            run.summary.throttled += 1;
            const hint = serverWaitHintMs(answer.headers, now);
            if (hint !== undefined) {
              const hinted = Math.min(hint, settings.maxRetryDelayMs);
              state.pausedUntil = Math.max(state.pausedUntil, now + hinted);
              wait = Math.max(wait, hinted);
            }
          } else if (answer.class === "policy") {
            log.warn("Meta temporarily blocked this app for policy violations (code 368); pausing", {
              datasetId: this.datasetId,
              pause_ms: settings.policyPauseMs,
              fbtrace_id: lastError.fbtrace_id,
            });
            state.pausedUntil = Math.max(state.pausedUntil, now + settings.policyPauseMs);
            wait = Math.max(wait, settings.policyPauseMs);
          }
          log.debug("request failed; will retry", {
            datasetId: this.datasetId,
            outcome: answer.kind === "failure" ? answer.reason : answer.class,
            http_status: answer.status,
            code: lastError.code,
            error_subcode: lastError.error_subcode,
            fbtrace_id: lastError.fbtrace_id,
            attempt,
            wait_ms: wait,
          });
          // Events whose deadline falls before the retry can go out are expired now, not after the wait.
          live = this.#dropExpired(live, now + wait, run, lastError);
          if (live.length === 0) return { kind: "settled" };
          try {
            await settings.sleep(wait, run.signal);
          } catch {
            return this.#leavePending(live, this.#pendingReason(run), run, lastError);
          }
        }
      }
    }
  }

  #dropExpired(
    events: PendingEvent<R>[],
    at: number,
    run: Run<R>,
    lastError: DeliveryError | undefined,
  ): PendingEvent<R>[] {
    if (!events.some((event) => at >= event.deadline)) return events;
    const expired = events.filter((event) => at >= event.deadline);
    run.emit(
      expired,
      lastError === undefined ? { status: "expired" } : { status: "expired", last_error: lastError },
    );
    return events.filter((event) => at < event.deadline);
  }

  #leavePending(
    events: PendingEvent<R>[],
    reason: PendingReason,
    run: Run<R>,
    lastError: DeliveryError | undefined,
  ): AttemptResult<PendingEvent<R>> {
    run.emit(events, pendingOutcome(reason, lastError));
    return { kind: "settled" };
  }

  #pendingReason(run: Run<R>): PendingReason {
    if (this.#ctx.stopError() !== undefined) return "stopped";
    return run.signal.aborted ? "aborted" : "stopped";
  }

  #deliveryError(error: GraphErrorBody, status: number | undefined): DeliveryError {
    const scrub = (text: string | undefined): string | undefined =>
      text === undefined ? undefined : this.#ctx.scrubber.text(text);
    return dropUndefined({
      source: "meta",
      code: error.code,
      error_subcode: error.error_subcode,
      error_user_title: scrub(error.error_user_title),
      error_user_msg: scrub(error.error_user_msg),
      fbtrace_id: error.fbtrace_id,
      type: error.type,
      message: scrub(error.message) ?? "Meta returned an error without a message",
      http_status: status,
    }) as DeliveryError;
  }

  #clientError(answer: Answer): DeliveryError {
    if (answer.kind === "failure") {
      return {
        source: "client",
        message:
          answer.reason === "timeout"
            ? "no answer within the request timeout"
            : `network error ${answer.code}`,
      };
    }
    return dropUndefined({
      source: "client",
      message: `HTTP ${answer.status}: ${answer.why}`,
      http_status: answer.status,
      fbtrace_id: answer.fbtraceId,
    }) as DeliveryError;
  }

  #stopError(answer: Answer): GraphStopError {
    const status = answer.status ?? 0;
    const message = describeStop(answer.error, status, {
      datasetId: this.datasetId,
      apiVersion: this.#ctx.settings.apiVersion,
    });
    return new GraphStopError(
      this.#ctx.scrubber.text(message),
      dropUndefined({
        kind: answer.class === "auth" ? "auth" : "config",
        datasetId: this.datasetId,
        http_status: status,
        code: answer.error?.code,
        error_subcode: answer.error?.error_subcode,
        error_user_title:
          answer.error?.error_user_title && this.#ctx.scrubber.text(answer.error.error_user_title),
        fbtrace_id: answer.error?.fbtrace_id ?? answer.fbtraceId,
      }) as ConstructorParameters<typeof GraphStopError>[1],
    );
  }

  #report(
    events: number,
    bytes: number,
    attempt: number,
    probe: boolean,
    answer: Answer,
    durationMs: number,
  ): void {
    const onRequest = this.#ctx.settings.onRequest;
    if (onRequest === undefined) return;
    onRequest(
      dropUndefined({
        datasetId: this.datasetId,
        events,
        bytes,
        try: attempt,
        probe,
        outcome: answer.kind === "failure" ? answer.reason : answer.class,
        http_status: answer.status,
        events_received: answer.eventsReceived,
        fbtrace_id: answer.fbtraceId,
        code: answer.error?.code,
        error_subcode: answer.error?.error_subcode,
        duration_ms: durationMs,
      }) as RequestReport,
    );
  }
}

/** A wire result with its classification; network failures and timeouts are transient. */
type Answer = Classified & {
  readonly kind: WireResult["kind"];
  readonly status?: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly reason?: "timeout" | "network";
  readonly code?: string;
};

function interpret(wire: WireResult): Answer {
  if (wire.kind === "failure") {
    return {
      kind: "failure",
      class: "transient",
      why: wire.reason,
      headers: {},
      reason: wire.reason,
      code: wire.code,
    };
  }
  return {
    ...classifyResponse(wire.status, wire.body),
    kind: "response",
    status: wire.status,
    headers: wire.headers,
  };
}

function deliveredOutcome(fbtraceId: string | undefined): EventOutcome {
  return fbtraceId === undefined ? { status: "delivered" } : { status: "delivered", fbtrace_id: fbtraceId };
}

function pendingOutcome(reason: PendingReason, lastError?: DeliveryError): EventOutcome {
  return lastError === undefined
    ? { status: "pending", reason }
    : { status: "pending", reason, last_error: lastError };
}

function rejectedByClient(message: string): EventOutcome {
  return { status: "rejected", error: { source: "client", message } };
}

function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}
