// The public vocabulary of the delivery client: what goes in, what comes out per event and per
// request, and the error a stopped run ends with.
import type { ServerEvent } from "../event.ts";
import type { ErrorClass } from "./error-classes.ts";

/**
 * One event to deliver, with the caller's opaque reference (e.g. a ledger row key): the event
 * itself, or its JSON made by `serializeEvent` (e.g. on another thread, which then spares the
 * client's thread the work).
 */
export type OutboundEvent<R> =
  | { readonly ref: R; readonly event: ServerEvent }
  | ({ readonly ref: R } & SerializedEvent);

/** An event as JSON, with the two fields its age window is read from. */
export interface SerializedEvent {
  readonly json: string;
  readonly event_time: unknown;
  readonly action_source: unknown;
}

/**
 * A queue as a source: besides waiting on its iterator, the sender takes the events it already
 * holds with `takeReady`, without a promise and an iterator result per event (~1 KB of garbage
 * each when events are many).
 */
export interface QueuedSource<R> extends AsyncIterable<OutboundEvent<R>> {
  /** An event that is already queued, or undefined when the iterator would have to wait. */
  takeReady(): OutboundEvent<R> | undefined;
}

/** Why an event was not delivered. Meta's own fields when Meta answered; the client's otherwise. */
export interface DeliveryError {
  /** `meta`: from Meta's error envelope; `client`: decided here (network, timeout, byte cap). */
  readonly source: "meta" | "client";
  readonly code?: number;
  readonly error_subcode?: number;
  readonly error_user_title?: string;
  readonly error_user_msg?: string;
  readonly fbtrace_id?: string;
  readonly type?: string;
  /** Meta's `message`, or the client's description; never contains a token or request data. */
  readonly message: string;
  readonly http_status?: number;
}

export type PendingReason =
  /** The run stopped (auth or config refusal) before this event's fate was known. */
  | "stopped"
  /** The caller aborted the send. */
  | "aborted"
  /** Meta answered with an events_received that differs from the count sent: not resent blindly. */
  | "ambiguous"
  /** Still failing (transient/throttle) after the configured number of attempts; retry in a later run. */
  | "retries_exhausted";

/** What became of one event. `pending` is the only non-terminal outcome. */
export type EventOutcome =
  | { readonly status: "delivered"; readonly fbtrace_id?: string }
  | { readonly status: "rejected"; readonly error: DeliveryError }
  | { readonly status: "expired"; readonly last_error?: DeliveryError }
  | { readonly status: "pending"; readonly reason: PendingReason; readonly last_error?: DeliveryError };

/** One HTTP exchange (or failed attempt at one). */
export interface RequestReport {
  readonly datasetId: string;
  readonly events: number;
  readonly bytes: number;
  /** 1 for the first try of this set of events, 2 for its first retry, … */
  readonly try: number;
  /** True for the sub-batches of a bisection or a split. */
  readonly probe: boolean;
  readonly outcome: ErrorClass | "timeout" | "network";
  readonly http_status?: number;
  readonly events_received?: number;
  readonly fbtrace_id?: string;
  readonly code?: number;
  readonly error_subcode?: number;
  readonly duration_ms: number;
}

export interface SendSummary {
  readonly datasetId: string;
  /** Events taken from the source. */
  events: number;
  delivered: number;
  rejected: number;
  expired: number;
  pending: number;
  requests: number;
  /** Requests that repeated a failed one (transient, throttle, policy, timeout, network). */
  retries: number;
  throttled: number;
  /** Successful answers whose events_received differed from the count sent. */
  ambiguous_batches: number;
  bytes_sent: number;
  /** True when the caller's signal aborted the send. */
  aborted: boolean;
}

/** Thrown by `send` when Meta refused the token or the configuration: the run cannot go on. */
export class GraphStopError extends Error {
  override readonly name = "GraphStopError";
  readonly kind: "auth" | "config";
  readonly datasetId: string;
  readonly code: number | undefined;
  readonly error_subcode: number | undefined;
  readonly error_user_title: string | undefined;
  readonly fbtrace_id: string | undefined;
  readonly http_status: number;
  /** The summary of the send that was running when the stop came (set when thrown by `send`). */
  summary: SendSummary | undefined;

  constructor(
    message: string,
    fields: {
      readonly kind: "auth" | "config";
      readonly datasetId: string;
      readonly http_status: number;
      readonly code?: number | undefined;
      readonly error_subcode?: number | undefined;
      readonly error_user_title?: string | undefined;
      readonly fbtrace_id?: string | undefined;
    },
  ) {
    super(message);
    this.kind = fields.kind;
    this.datasetId = fields.datasetId;
    this.http_status = fields.http_status;
    this.code = fields.code;
    this.error_subcode = fields.error_subcode;
    this.error_user_title = fields.error_user_title;
    this.fbtrace_id = fields.fbtrace_id;
  }

  /** A copy carrying the summary of one send (several sends may end on the same refusal). */
  withSummary(summary: SendSummary): GraphStopError {
    const copy = new GraphStopError(this.message, this);
    copy.summary = summary;
    return copy;
  }
}
