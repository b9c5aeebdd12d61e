// What the run (ledger side, main thread) and the delivery stage (rows and Graph client, a worker
// thread or inline) say to each other. All plain data, cheap to clone: keys, verdict bytes and
// value-free outcomes cross; rows and events never do.
import type { ConnectionConfig } from "../config/schema.ts";
import type { Outcome } from "../ledger/index.ts";
import type { GraphClientOptions } from "../meta/graph/index.ts";
import { SourceError, type SourceErrorCode } from "../sources/types.ts";
import type { ConnectionDefaults } from "./prepare.ts";

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
  /** Rows per chunk: one ledger lookup, one message each way. */
  readonly chunkRows: number;
  /** Chunks read ahead of their verdicts, so reading goes on while the ledger is asked. */
  readonly readAhead: number;
  /** Events queued per dataset ahead of the client, which adds its own window of batches. */
  readonly channelEvents: number;
}

/** The ledger keys of a chunk of rows, for the run to judge. */
export interface KeysMessage {
  readonly type: "keys";
  readonly seq: number;
  /** Rows read from the source for this chunk, readable or not. */
  readonly rows: number;
  /** Keys of the chunk's rows that have one, in source order, repeats included. */
  readonly keys: string[];
  /** Rows decided without the ledger: unreadable records, rows without a usable key. */
  readonly outcomes: Outcome[];
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

export interface OutcomesMessage {
  readonly type: "outcomes";
  /** Events about to be handed to the client: each will be answered, or counted pending at the end. */
  readonly handed: number;
  /** Verdicts of the stage itself: skipped by the mapping, invalid, expired, without a dataset. */
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

/** An error as plain data: a SourceError stays a SourceError on the other side. */
export interface ErrorDescription {
  readonly name: string;
  readonly message: string;
  readonly source?: { readonly label: string; readonly code: SourceErrorCode; readonly driverCode?: string };
}

export interface EndMessage {
  readonly type: "end";
  /** Reading stopped before the source's end, on the run's request. */
  readonly interrupted: boolean;
  /** Meta refused the token or the configuration. */
  readonly stop?: StopDescription;
  readonly error?: ErrorDescription;
}

export interface LogMessage {
  readonly type: "log";
  readonly level: "debug" | "info" | "warn" | "error";
  readonly fields: object;
  readonly message: string | undefined;
}

export type StageOutbound = KeysMessage | OutcomesMessage | EndMessage | LogMessage;

/** Which keys of a chunk to deliver, judged as of `nowSeconds`. */
export interface VerdictMessage {
  readonly type: "verdict";
  readonly seq: number;
  /** One byte per key of the chunk: 1 = deliver the row, 0 = leave it. */
  readonly deliver: Uint8Array<ArrayBuffer>;
  readonly nowSeconds: number;
}

/** Stop reading; deliver what was handed to the client, then end. */
export interface StopMessage {
  readonly type: "stop";
}

export type StageInbound = VerdictMessage | StopMessage;

export function describeError(error: unknown): ErrorDescription {
  if (error instanceof SourceError) {
    return {
      name: error.name,
      message: error.message,
      source: {
        label: error.source,
        code: error.code,
        ...(error.driverCode !== undefined && { driverCode: error.driverCode }),
      },
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: "unexpected error" };
}

export function rebuildError(description: ErrorDescription): Error {
  const { source } = description;
  if (source !== undefined) {
    const problem = description.message.slice(source.label.length + 2);
    return new SourceError(source.label, source.code, problem, source.driverCode);
  }
  const error = new Error(description.message);
  error.name = description.name;
  return error;
}
