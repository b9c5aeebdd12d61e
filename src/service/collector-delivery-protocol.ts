// What `serve` and its collector delivery process say to each other over the IPC channel. Plain,
// value-free data: the events themselves never cross (the delivery process reads them from the
// queue file); what crosses is what the service's logs and metrics need, row ids to delete, and the
// setup (which holds the access tokens, so it is sent over IPC, never on the command line).
import type { ConnectionConfig } from "../config/schema.ts";
import type { Outcome } from "../ledger/index.ts";
import type { GraphClientOptions, RequestReport, WindowStats } from "../meta/graph/index.ts";
import type { ConnectionDefaults } from "../sync/prepare.ts";
import type { RunReport } from "../sync/run.ts";
import type { HaltNotice } from "./collector-delivery.ts";

export interface DeliverySetup {
  /** The ledger file serve opened; the delivery process opens it too (WAL, busy timeout). */
  readonly ledgerPath: string;
  /** The collector queue's file; the delivery process reads it, serve's writer deletes from it. */
  readonly queuePath: string;
  readonly connections: readonly {
    readonly name: string;
    readonly connection: ConnectionConfig;
    readonly maxDelayMs: number;
  }[];
  readonly defaults: ConnectionDefaults | undefined;
  readonly baseDir: string;
  /** Plain-data overrides of the Graph client's settings (functions cannot cross). */
  readonly client: Partial<GraphClientOptions> | undefined;
}

/** serve → delivery process. */
export type HostMessage =
  /** The first message: what to deliver, from where. */
  | { readonly type: "setup"; readonly setup: DeliverySetup }
  /** Messages were stored for these connections. */
  | { readonly type: "wake"; readonly connections: readonly string[] }
  /** The rows of an `ack` are deleted (or could not be: `error`). */
  | { readonly type: "acked"; readonly seq: number; readonly error?: string }
  /** Shut down: the batch in flight stops reading, what was answered is recorded and acknowledged. */
  | { readonly type: "stop" };

export type LogLevel = "debug" | "info" | "warn" | "error";

/** delivery process → serve. */
export type DeliveryMessage =
  | { readonly type: "ready" }
  | { readonly type: "failed"; readonly message: string }
  /** Delete these delivered rows from the queue (serve's writer is the queue's only writer). */
  | { readonly type: "ack"; readonly seq: number; readonly ids: readonly number[] }
  | {
      readonly type: "log";
      readonly level: LogLevel;
      readonly fields: object;
      readonly message: string | undefined;
    }
  | { readonly type: "batch-started"; readonly connection: string }
  | { readonly type: "request"; readonly connection: string; readonly report: RequestReport }
  | {
      readonly type: "window";
      readonly connection: string;
      readonly datasetId: string;
      readonly stats: WindowStats;
    }
  | { readonly type: "on-wire"; readonly connection: string; readonly delta: 1 | -1 }
  | { readonly type: "recorded"; readonly connection: string; readonly outcomes: readonly Outcome[] }
  | { readonly type: "batch-finished"; readonly connection: string; readonly report: RunReport }
  | { readonly type: "batch-failed"; readonly connection: string }
  | { readonly type: "halted"; readonly connection: string; readonly notice: HaltNotice }
  /** Every loop has ended and the process's ledger and queue reader are closed. */
  | { readonly type: "stopped" };
