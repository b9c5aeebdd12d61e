// The SQLite ledger's schema, as a list of migrations applied in order. `PRAGMA user_version` holds
// the number of migrations applied; `PRAGMA application_id` marks the file as a capi-sync ledger.

import type { RowState } from "./ledger.ts";

/** "capi" in ASCII: lets `open` tell a ledger from any other SQLite file. */
export const APPLICATION_ID = 0x63617069;

/** Integer codes of row states, kept small because every row stores one. */
export const STATE_CODES = {
  delivered: 1,
  rejected: 2,
  expired: 3,
  skipped: 4,
  reopened: 5,
} as const satisfies Record<RowState, number>;

export const TERMINAL_CODES = [
  STATE_CODES.delivered,
  STATE_CODES.rejected,
  STATE_CODES.expired,
  STATE_CODES.skipped,
] as const;

const stateNameRows = Object.entries(STATE_CODES)
  .map(([name, code]) => `(${code}, '${name}')`)
  .join(", ");

export interface Migration {
  /** user_version after this migration. */
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE namespaces (
  id INTEGER PRIMARY KEY,
  connection TEXT NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('live', 'test')),
  baseline_completed_at INTEGER,
  baseline_run_id INTEGER,
  UNIQUE (connection, mode)
);

CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  namespace_id INTEGER NOT NULL REFERENCES namespaces (id),
  kind TEXT NOT NULL CHECK (kind IN ('sync', 'replay', 'baseline')),
  status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'stopped', 'failed', 'interrupted')),
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  last_activity_at INTEGER NOT NULL,
  owner_host TEXT NOT NULL,
  owner_pid INTEGER NOT NULL,
  owner_token TEXT NOT NULL,
  rows_read INTEGER,
  delivered INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  expired INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  in_flight_at_end INTEGER,
  error_message TEXT
);
CREATE INDEX runs_by_namespace ON runs (namespace_id, id);
CREATE INDEX runs_running ON runs (namespace_id) WHERE status = 'running';

CREATE TABLE batches (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs (id),
  dataset_id TEXT NOT NULL,
  events INTEGER NOT NULL,
  opened_at INTEGER NOT NULL,
  closed_at INTEGER,
  fbtrace_id TEXT
);
CREATE INDEX batches_open ON batches (run_id) WHERE closed_at IS NULL;

CREATE TABLE state_names (
  code INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
INSERT INTO state_names (code, name) VALUES ${stateNameRows};

-- One row per (namespace, key): the key's current state. The key column has no declared type so it
-- keeps TEXT (plain keys) or a 32-byte BLOB (SHA-256 when hashKeys) exactly as bound.
CREATE TABLE row_states (
  namespace_id INTEGER NOT NULL,
  key NOT NULL,
  state INTEGER NOT NULL,
  event_id TEXT,
  batch_id INTEGER,
  rejection_id INTEGER,
  reason TEXT,
  run_id INTEGER NOT NULL,
  first_seen_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace_id, key)
) WITHOUT ROWID;
CREATE INDEX row_states_replayable ON row_states (namespace_id, state, updated_at)
  WHERE state IN (${STATE_CODES.rejected}, ${STATE_CODES.expired});

-- Append-only: every rejection a run recorded, kept after the key is replayed and delivered.
CREATE TABLE rejections (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL,
  namespace_id INTEGER NOT NULL,
  key NOT NULL,
  event_id TEXT,
  batch_id INTEGER,
  code,
  subcode INTEGER,
  path TEXT,
  message TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX rejections_by_run ON rejections (run_id);
CREATE INDEX rejections_by_namespace ON rejections (namespace_id, id);

-- For people reading the file with the sqlite3 shell.
CREATE VIEW ledger_rows AS
SELECT n.connection, n.mode, CASE WHEN typeof(r.key) = 'blob' THEN lower(hex(r.key)) ELSE r.key END AS key,
  s.name AS state, r.event_id, b.dataset_id, b.fbtrace_id, r.reason, r.run_id,
  datetime(r.first_seen_at / 1000, 'unixepoch') AS first_seen, datetime(r.updated_at / 1000, 'unixepoch') AS updated
FROM row_states r
JOIN namespaces n ON n.id = r.namespace_id
JOIN state_names s ON s.code = r.state
LEFT JOIN batches b ON b.id = r.batch_id;
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/**
 * What every stored column may hold. Nothing here can carry raw row data: keys are the user's key
 * column (documented as non-PII, or hashed), the rest are ids, codes, counts, times and value-free
 * text. The privacy test fails if a table grows a column that is not listed here.
 */
export const COLUMN_PURPOSES: Record<string, Record<string, string>> = {
  settings: { name: "setting name", value: "setting value (key_encoding, created_at)" },
  namespaces: {
    id: "internal id",
    connection: "connection name from the config",
    mode: "live | test",
    baseline_completed_at: "time",
    baseline_run_id: "run id",
  },
  runs: {
    id: "run id",
    namespace_id: "internal id",
    kind: "sync | replay | baseline",
    status: "run status",
    started_at: "time",
    finished_at: "time",
    last_activity_at: "time",
    owner_host: "host name of the process that ran it",
    owner_pid: "process id",
    owner_token: "random id of the process instance",
    rows_read: "count",
    delivered: "count",
    rejected: "count",
    expired: "count",
    skipped: "count",
    in_flight_at_end: "count",
    error_message: "value-free error message",
  },
  batches: {
    id: "batch id",
    run_id: "run id",
    dataset_id: "Meta dataset (pixel) id",
    events: "count",
    opened_at: "time",
    closed_at: "time",
    fbtrace_id: "Meta's trace id of the response",
  },
  state_names: { code: "state code", name: "state name" },
  row_states: {
    namespace_id: "internal id",
    key: "row key (non-PII key column) or its SHA-256",
    state: "state code",
    event_id: "event_id sent to Meta",
    batch_id: "batch id",
    rejection_id: "rejection id",
    reason: "value-free skip/expiry reason",
    run_id: "run id",
    first_seen_at: "time",
    updated_at: "time",
  },
  rejections: {
    id: "rejection id",
    run_id: "run id",
    namespace_id: "internal id",
    key: "row key (non-PII key column) or its SHA-256",
    event_id: "event_id sent to Meta",
    batch_id: "batch id",
    code: "Meta error code or local diagnostic code",
    subcode: "Meta error subcode",
    path: "field path in the event",
    message: "value-free message",
    at: "time",
  },
};
