// What the run (source and ledger, on the caller's thread) and the delivery stage (mapping,
// normalization, validation and the Graph client; a worker thread or inline) say to each other.
// Plain data: rows the ledger found new go one way, value-free outcomes come back.
import type { ConnectionConfig } from "../config/schema.ts";
import type { Outcome } from "../ledger/index.ts";
import type { Row } from "../mapping/index.ts";
import type { GraphClientOptions } from "../meta/graph/index.ts";
import type { ConnectionDefaults } from "./prepare.ts";
import type { ChunkRows } from "./row-pack.ts";

/** Everything the stage needs to start, as plain data. */
export interface StageSetup {
  readonly name: string;
  readonly connection: ConnectionConfig;
  readonly defaults: ConnectionDefaults | undefined;
  readonly baseDir: string;
  /** Plain-data overrides of the client's settings (functions cannot cross to a worker). */
  readonly client: Partial<GraphClientOptions> | undefined;
  /** Forward the client's log records to the run's logger. */
  readonly logs: boolean;
  /** Events queued per dataset ahead of the client, which adds its own window of batches. */
  readonly channelEvents: number;
}

/** A source row with its position in the read and its ledger key. */
export interface HeldRow {
  readonly row: Row;
  readonly rowNumber: number;
  readonly key: string;
}

/** Rows the ledger found new, to prepare and deliver (packed on their way to a worker). */
export interface RowsMessage {
  readonly type: "rows";
  readonly seq: number;
  readonly rows: ChunkRows;
  /** Validation's clock (the run's, so tests can set it). */
  readonly nowSeconds: number;
}

/**
 * Events the run's thread evaluated and serialized itself while the stage was busy: the stage only
 * hands them to the client. Column lists, one entry per event, which cross threads cheaply. The
 * chunk's local verdicts stayed with the run.
 */
export interface EvaluatedMessage {
  readonly type: "evaluated";
  readonly seq: number;
  readonly events: SerializedEvents;
}

export interface SerializedEvents {
  readonly keys: string[];
  readonly eventIds: (string | undefined)[];
  readonly datasetIds: string[];
  /** `serializeEvent`'s output, field by field. */
  readonly jsons: string[];
  readonly eventTimes: unknown[];
  readonly actionSources: unknown[];
}

/** No more rows: deliver what was sent, then end. */
export interface FinishMessage {
  readonly type: "finish";
}

/** Drop the rows not yet handed to the client, let the client settle what it holds, then end. */
export interface StopMessage {
  readonly type: "stop";
}

export type StageInbound = RowsMessage | EvaluatedMessage | FinishMessage | StopMessage;

/**
 * A chunk's events are all with the client: the run may send another (back-pressure). It carries
 * the chunk's local verdicts and how many events were handed, so a chunk costs the stage one
 * message: a post wakes the run's thread, which on a busy machine can take the stage's core.
 * A chunk cut short by a stop or a failure is told by an `outcomes` message instead. Only a worker
 * that dies mid-chunk leaves its chunk untold: the failed run's report then counts fewer pending
 * events than were on the wire; their rows have no outcome, so the next run sends them again.
 */
export interface TakenMessage {
  readonly type: "taken";
  readonly seq: number;
  /** Events of the chunk handed to the client: each will be answered, or counted pending at the end. */
  readonly handed: number;
  /** Verdicts of the stage itself on the chunk's rows: skipped by the mapping, invalid, expired, without a dataset. */
  readonly local: Outcome[];
}

/** A ledger outcome less its key and event_id: what the events of one answer have in common. */
export type OutcomeTemplate =
  | { readonly state: "delivered" }
  | {
      readonly state: "rejected";
      readonly code?: number | string;
      readonly subcode?: number;
      readonly message: string;
    }
  | { readonly state: "expired"; readonly reason: string };

/**
 * The events of one Meta answer share an outcome, a dataset and an fbtrace_id, which the ledger
 * keeps with them: sent once, with the keys and event_ids as plain string lists.
 */
export interface AnswerGroup {
  readonly datasetId: string;
  readonly fbtraceId: string | undefined;
  readonly outcome: OutcomeTemplate;
  readonly keys: string[];
  readonly eventIds: (string | undefined)[];
}

export function outcomeOf(template: OutcomeTemplate, key: string, eventId: string | undefined): Outcome {
  return template.state === "delivered"
    ? { key, state: "delivered", eventId: eventId ?? "" }
    : { ...template, key, ...(eventId && { eventId }) };
}

/** Answers as they come; `handed` and `local` as in TakenMessage, for a chunk cut short by a stop or a failure. */
export interface OutcomesMessage {
  readonly type: "outcomes";
  readonly handed: number;
  readonly local: Outcome[];
  /** Meta's answers (and the client's own verdicts) on handed events. */
  readonly answers: AnswerGroup[];
  /** Keys of handed events whose fate is unknown (a stop): the next run sends them again. */
  readonly pending: string[];
}

export interface StopDescription {
  readonly kind: "auth" | "config";
  readonly message: string;
}

/** An error as plain data. */
export interface ErrorDescription {
  readonly name: string;
  readonly message: string;
}

/** Meta refused the token or the configuration: the run reads no more. */
export interface HaltedMessage {
  readonly type: "halted";
  readonly stop: StopDescription;
}

export interface EndMessage {
  readonly type: "end";
  /** The client failed unexpectedly (not a refusal by Meta). */
  readonly error?: ErrorDescription;
}

export interface LogMessage {
  readonly type: "log";
  readonly level: "debug" | "info" | "warn" | "error";
  readonly fields: object;
  readonly message: string | undefined;
}

export type StageOutbound = OutcomesMessage | TakenMessage | HaltedMessage | EndMessage | LogMessage;

export function describeError(error: unknown): ErrorDescription {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: "Error", message: "unexpected error" };
}

export function rebuildError(description: ErrorDescription): Error {
  const error = new Error(description.message);
  error.name = description.name;
  return error;
}
