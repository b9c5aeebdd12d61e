// The ledger's public contract. One interface, several stores: SQLite now, Postgres later.
//
// Privacy contract: the ledger stores row KEYS, ids (event, dataset, fbtrace), Meta's error codes and
// value-free messages. Never raw customer data, never tokens. The row key is the user's key column
// (an order id, a lead id): it must not be PII. When it might be (an email used as key), open the
// ledger with `hashKeys: true` and only SHA-256(key) is stored.

/** Where outcomes are kept apart: a run with `test_event_code` never counts as delivered for live. */
export const RUN_MODES = ["live", "test"] as const;
export type RunMode = (typeof RUN_MODES)[number];

/** What a run does; shown by `capi-sync runs`. */
export const RUN_KINDS = ["sync", "replay", "baseline"] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/**
 * `running` until `finishRun`; `interrupted` when the process that owned it died (found at open).
 * `stopped` is a deliberate stop (auth or config error, user interrupt), `failed` an unexpected error.
 */
export const RUN_STATUSES = ["running", "completed", "stopped", "failed", "interrupted"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type FinalRunStatus = Exclude<RunStatus, "running" | "interrupted">;

/**
 * Per-key states. The first four are terminal: `filterNew` never returns their keys.
 * `reopened` is a rejected/expired key that `reopen` (replay) made eligible again.
 */
export const ROW_STATES = ["delivered", "rejected", "expired", "skipped", "reopened"] as const;
export type RowState = (typeof ROW_STATES)[number];
export type OutcomeState = Exclude<RowState, "reopened">;
export const OUTCOME_STATES = [
  "delivered",
  "rejected",
  "expired",
  "skipped",
] as const satisfies readonly OutcomeState[];
export const REPLAYABLE_STATES = ["rejected", "expired"] as const satisfies readonly OutcomeState[];
export type ReplayableState = (typeof REPLAYABLE_STATES)[number];

export type RunId = number;
export type BatchId = number;

/**
 * The final word on one row key. Messages and reasons are value-free (name the field and the rule,
 * never the value): the ledger cannot tell, so callers must not pass values.
 */
export type Outcome =
  | { readonly key: string; readonly state: "delivered"; readonly eventId: string }
  | {
      readonly key: string;
      readonly state: "rejected";
      readonly eventId?: string;
      /** Meta's error code (e.g. 100) or a local diagnostic code (e.g. `event_time.too_old`). */
      readonly code?: number | string;
      readonly subcode?: number;
      /** Field path inside the event, e.g. `user_data.em[0]`. */
      readonly path?: string;
      readonly message: string;
    }
  | { readonly key: string; readonly state: "expired"; readonly eventId?: string; readonly reason?: string }
  | { readonly key: string; readonly state: "skipped"; readonly reason: string };

/** The skip reason `deliver_existing: false` records for keys present at the first run. */
export const BASELINE_REASON = "baseline";

export interface StartRunOptions {
  readonly mode: RunMode;
  readonly kind?: RunKind;
}

export interface FinishRunOptions {
  readonly status: FinalRunStatus;
  /** Rows the source yielded; the per-state counts are tallied by the ledger as outcomes arrive. */
  readonly rowsRead?: number;
  /** Value-free; truncated to 2000 characters. */
  readonly error?: string;
}

export type StateCounts = Record<RowState, number>;
export type OutcomeCounts = Record<OutcomeState, number>;

export interface RunSummary {
  readonly id: RunId;
  readonly connection: string;
  readonly mode: RunMode;
  readonly kind: RunKind;
  readonly status: RunStatus;
  readonly startedAt: Date;
  /** For an interrupted run: its last recorded activity. */
  readonly finishedAt?: Date;
  readonly rowsRead?: number;
  /** Outcomes recorded by this run (a key whose outcome changed within the run counts in both). */
  readonly counts: OutcomeCounts;
  /**
   * Events of batches opened but never answered when the run ended: Meta may have received them,
   * and the next run sends them again with the same event_id.
   */
  readonly inFlightAtEnd?: number;
  readonly error?: string;
}

export interface FilterOptions {
  /** Default `live`. */
  readonly mode?: RunMode;
  /** Replay: return only keys that `reopen` made eligible, not keys never seen. */
  readonly reopenedOnly?: boolean;
}

export interface OpenBatchOptions {
  readonly datasetId: string;
  readonly events: number;
}

export interface BatchResponse {
  readonly batchId: BatchId;
  readonly fbtraceId?: string;
}

export interface RecordResult {
  /** Outcomes that changed a key's state. */
  readonly applied: number;
  /** Outcomes for keys already `delivered`, which no later outcome downgrades. */
  readonly ignored: number;
}

export interface KeyQuery {
  readonly states: readonly RowState[];
  readonly mode?: RunMode;
  /** Only keys whose latest outcome is at or after this instant. */
  readonly since?: Date;
  readonly limit?: number;
}

export interface ReopenQuery {
  readonly states: readonly ReplayableState[];
  readonly mode?: RunMode;
  readonly since?: Date;
}

export interface KeyRecord {
  /** The key as given, or its SHA-256 hex when the ledger hashes keys. */
  readonly key: string;
  readonly state: RowState;
  readonly eventId?: string;
  readonly runId: RunId;
  readonly updatedAt: Date;
  readonly reason?: string;
}

export interface RejectionQuery {
  readonly runId?: RunId;
  readonly connection?: string;
  readonly limit?: number;
}

export interface Rejection {
  readonly runId: RunId;
  readonly connection: string;
  readonly mode: RunMode;
  /** The key as given, or its SHA-256 hex when the ledger hashes keys. */
  readonly key: string;
  readonly eventId?: string;
  readonly datasetId?: string;
  readonly fbtraceId?: string;
  readonly code?: number | string;
  readonly subcode?: number;
  readonly path?: string;
  readonly message: string;
  readonly at: Date;
}

export interface CheckResult {
  readonly ok: boolean;
  /** SQLite's integrity_check lines; they name pages and tables, not row contents. */
  readonly problems: readonly string[];
}

/**
 * Durable accounting of every row a connection ever saw. All methods are async so that a
 * networked store (Postgres) can implement the same contract.
 *
 * Pipeline contract for crash safety: (1) `filterNew` the keys of a chunk of rows, (2) `openBatch`
 * before each request to Meta, (3) `recordOutcomes` with that batch as responses arrive. The
 * event_id of a row must be a pure function of (connection, key) so that a row resent after a crash
 * carries the same event_id.
 */
export interface Ledger {
  /** Runs that were `running` under a process that no longer exists, marked `interrupted` at open. */
  readonly recoveredRuns: readonly RunSummary[];
  /** Whether keys are stored as SHA-256 (fixed when the ledger file is created). */
  readonly hashesKeys: boolean;

  /** Refuses (`run_in_progress`) while a live process runs the same connection and mode. */
  startRun(connection: string, options: StartRunOptions): Promise<RunId>;
  finishRun(runId: RunId, options: FinishRunOptions): Promise<RunSummary>;
  getRun(runId: RunId): Promise<RunSummary | undefined>;
  /** Newest first. */
  listRuns(options?: { connection?: string; limit?: number }): Promise<RunSummary[]>;

  /** The given keys, in order, minus those in a terminal state. */
  filterNew(connection: string, keys: readonly string[], options?: FilterOptions): Promise<string[]>;
  /** Marks `events` events as in flight until `recordOutcomes` names this batch. */
  openBatch(runId: RunId, options: OpenBatchOptions): Promise<BatchId>;
  /**
   * Records outcomes in one transaction. `delivered` is final: a later outcome for a delivered key
   * is ignored. Otherwise the latest outcome wins. Naming a batch closes it.
   */
  recordOutcomes(runId: RunId, outcomes: readonly Outcome[], response?: BatchResponse): Promise<RecordResult>;

  /** When the first-run baseline (`deliver_existing: false`) completed, if it did. */
  baselineCompletedAt(connection: string, mode?: RunMode): Promise<Date | undefined>;
  completeBaseline(runId: RunId): Promise<void>;

  findKeys(connection: string, query: KeyQuery): Promise<KeyRecord[]>;
  /** Makes matching rejected/expired keys eligible for the next run; returns how many. */
  reopen(connection: string, query: ReopenQuery): Promise<number>;
  /** Newest first; the history of rejections, kept when a key is later delivered. */
  rejections(query?: RejectionQuery): Promise<Rejection[]>;
  countsByState(connection: string, mode?: RunMode): Promise<StateCounts>;

  check(): Promise<CheckResult>;
  close(): Promise<void>;
}
