// The ledger on one SQLite file through node:sqlite (no native build).
//
// Durability: WAL journal. A commit has written its frames to the WAL with write(2) before COMMIT
// returns, so a process crash (SIGKILL, OOM kill) loses nothing committed: the kernel still holds the
// bytes. `synchronous = NORMAL` (default) skips the fsync per commit; only a power loss or kernel
// crash can then drop the last commits, whose rows are resent with the same event_id by the next run
// (never corruption). `synchronous: 'full'` fsyncs every commit for those who cannot accept that.
import type { SQLInputValue, SQLOutputValue, StatementSync } from "node:sqlite";
import { DatabaseSync } from "node:sqlite";
import { sha256 } from "../meta/hash.ts";
import { isUnreadableFileError, LedgerError } from "./errors.ts";
import {
  type BatchId,
  type BatchResponse,
  type CheckResult,
  type FilterOptions,
  type FinishRunOptions,
  type KeyQuery,
  type KeyRecord,
  type Ledger,
  type OpenBatchOptions,
  OUTCOME_STATES,
  type Outcome,
  type OutcomeCounts,
  REPLAYABLE_STATES,
  type RecordResult,
  type Rejection,
  type RejectionQuery,
  type ReopenQuery,
  ROW_STATES,
  type RowState,
  type RunId,
  type RunKind,
  type RunMode,
  type RunStatus,
  type RunSummary,
  type StartRunOptions,
  type StateCounts,
} from "./ledger.ts";
import { isOwnerAlive, THIS_PROCESS } from "./owner.ts";
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, STATE_CODES, TERMINAL_CODES } from "./schema.ts";

export interface SqliteLedgerOptions {
  /**
   * Store SHA-256(key) instead of the key. Fixed when the file is created; left undefined, an
   * existing file keeps its setting and a new one stores keys as given.
   */
  readonly hashKeys?: boolean;
  /** `normal` (default) survives process crashes; `full` also survives power loss, at one fsync per commit. */
  readonly synchronous?: "normal" | "full";
  /** How long to wait for another process's write lock. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** Clock in epoch milliseconds, for tests. */
  readonly now?: () => number;
}

const KEY_ENCODINGS = { plain: "plain", sha256: "sha256" } as const;
const ERROR_MESSAGE_MAX = 2000;
/** Rows per upsert statement; what is left of a run takes statements of 16, 4 and 1. */
const UPSERT_ROWS = 64;
const DEFAULT_LIST_LIMIT = 100;

// Measured on a 1M-row ledger (README): keys written in random order dirty about one page each; a
// larger cache keeps those pages between batches, and rarer checkpoints copy a page dirtied by many
// commits back to the database once instead of once per commit.
const TUNING_PRAGMAS = ["PRAGMA cache_size = -16384", "PRAGMA wal_autocheckpoint = 10000"];

const STATE_BY_CODE = new Map<number, RowState>(ROW_STATES.map((state) => [STATE_CODES[state], state]));
const TERMINAL_LIST = TERMINAL_CODES.join(", ");
const REPLAYABLE_LIST = REPLAYABLE_STATES.map((state) => STATE_CODES[state]).join(", ");

type Row = Record<string, SQLOutputValue>;

interface ActiveRun {
  readonly namespaceId: number;
}

export class SqliteLedger implements Ledger {
  readonly hashesKeys: boolean;
  readonly recoveredRuns: readonly RunSummary[];

  readonly #db: DatabaseSync;
  readonly #location: string;
  readonly #now: () => number;
  readonly #statements = new Map<string, StatementSync>();
  /** Upserts by their number of rows: built and looked up by their long SQL per call, they cost ~10% more. */
  readonly #upserts = new Map<number, StatementSync>();
  readonly #namespaces = new Map<string, number>();
  readonly #activeRuns = new Map<RunId, ActiveRun>();
  #closed = false;

  /** Opens (creating or migrating) the ledger at `location`, a file path or `:memory:`. */
  static open(location: string, options: SqliteLedgerOptions = {}): SqliteLedger {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(location);
    } catch (error) {
      throw unreadable(location, error);
    }
    try {
      return new SqliteLedger(db, location, options);
    } catch (error) {
      db.close();
      throw error instanceof LedgerError || !isSqliteError(error) ? error : unreadable(location, error);
    }
  }

  private constructor(db: DatabaseSync, location: string, options: SqliteLedgerOptions) {
    this.#db = db;
    this.#location = location;
    this.#now = options.now ?? Date.now;
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    this.#checkHeader();
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`);
    for (const pragma of TUNING_PRAGMAS) db.exec(pragma);
    this.#migrate(options.hashKeys ?? false);
    this.hashesKeys = this.#keyEncoding(options.hashKeys) === KEY_ENCODINGS.sha256;
    this.recoveredRuns = this.#recoverInterruptedRuns();
  }

  // ── opening ────────────────────────────────────────────────────────────────────────────────────

  #checkHeader(): void {
    const applicationId = this.#pragmaNumber("application_id");
    const version = this.#pragmaNumber("user_version");
    if (applicationId !== APPLICATION_ID) {
      const objects = this.#db.prepare("SELECT count(*) AS n FROM sqlite_schema").get();
      if (applicationId !== 0 || version !== 0 || Number(objects?.n) > 0) {
        throw new LedgerError(
          "not_a_ledger",
          `${this.#location} is a SQLite database but not a capi-sync ledger; choose another path`,
        );
      }
    }
    if (version > SCHEMA_VERSION) throw newerSchema(this.#location, version);
  }

  #migrate(hashKeys: boolean): void {
    if (this.#pragmaNumber("user_version") === SCHEMA_VERSION) return;
    this.#transaction(() => {
      // Read again under the write lock: another process may have migrated meanwhile.
      const current = this.#pragmaNumber("user_version");
      if (current > SCHEMA_VERSION) throw newerSchema(this.#location, current);
      for (const migration of MIGRATIONS) {
        if (migration.version > current) this.#db.exec(migration.sql);
      }
      if (current === 0) {
        const insert = this.#db.prepare("INSERT INTO settings (name, value) VALUES (?, ?)");
        insert.run("key_encoding", hashKeys ? KEY_ENCODINGS.sha256 : KEY_ENCODINGS.plain);
        insert.run("created_at", new Date(this.#now()).toISOString());
      }
      this.#db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
      this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    });
  }

  #keyEncoding(requestedHashKeys: boolean | undefined): string {
    const stored = str(
      this.#db.prepare("SELECT value FROM settings WHERE name = 'key_encoding'").get()?.value,
    );
    const requested = requestedHashKeys === undefined ? stored : requestedHashKeys ? "sha256" : "plain";
    if (requested !== stored) {
      throw new LedgerError(
        "key_encoding_mismatch",
        `${this.#location} stores keys as ${stored}, but hashKeys asks for ${requested}; ` +
          "changing it would make every known key look new and resend every row",
      );
    }
    return stored;
  }

  #recoverInterruptedRuns(): RunSummary[] {
    const running = this.#statement(`${RUN_SELECT} WHERE r.status = 'running'`).all();
    const dead = running.filter((row) => !isOwnerAlive(ownerOf(row)));
    if (dead.length === 0) return [];
    return this.#transaction(() => {
      const recovered: RunSummary[] = [];
      for (const row of dead) {
        if (this.#markInterrupted(num(row.id))) recovered.push(this.#runById(num(row.id)) as RunSummary);
      }
      return recovered;
    });
  }

  /** Inside a transaction. False when another process got there first. */
  #markInterrupted(runId: RunId): boolean {
    const result = this.#statement(
      `UPDATE runs SET status = 'interrupted', finished_at = last_activity_at, in_flight_at_end = ?
       WHERE id = ? AND status = 'running'`,
    ).run(this.#eventsInFlight(runId), runId);
    return Number(result.changes) > 0;
  }

  // ── runs ───────────────────────────────────────────────────────────────────────────────────────

  async startRun(connection: string, options: StartRunOptions): Promise<RunId> {
    return this.#use(() =>
      this.#transaction(() => {
        const namespaceId = this.#ensureNamespace(connection, options.mode);
        const running = this.#statement(
          `${RUN_SELECT} WHERE r.namespace_id = ? AND r.status = 'running'`,
        ).all(namespaceId);
        for (const row of running) {
          if (isOwnerAlive(ownerOf(row))) {
            throw new LedgerError(
              "run_in_progress",
              `connection ${connection} (${options.mode}) already has run ${num(row.id)} in progress ` +
                `(process ${num(row.owner_pid)} on ${str(row.owner_host)})`,
            );
          }
          this.#markInterrupted(num(row.id));
        }
        const now = this.#now();
        const result = this.#statement(
          `INSERT INTO runs (namespace_id, kind, status, started_at, last_activity_at, owner_host, owner_pid, owner_token)
           VALUES (?, ?, 'running', ?, ?, ?, ?, ?)`,
        ).run(
          namespaceId,
          options.kind ?? "sync",
          now,
          now,
          THIS_PROCESS.host,
          THIS_PROCESS.pid,
          THIS_PROCESS.token,
        );
        const runId = Number(result.lastInsertRowid);
        this.#activeRuns.set(runId, { namespaceId });
        return runId;
      }),
    );
  }

  async finishRun(runId: RunId, options: FinishRunOptions): Promise<RunSummary> {
    return this.#use(() =>
      this.#transaction(() => {
        this.#requireRunning(runId);
        this.#statement(
          `UPDATE runs SET status = ?, finished_at = ?, rows_read = ?, in_flight_at_end = ?, error_message = ?
           WHERE id = ?`,
        ).run(
          options.status,
          this.#now(),
          options.rowsRead ?? null,
          this.#eventsInFlight(runId),
          options.error === undefined ? null : options.error.slice(0, ERROR_MESSAGE_MAX),
          runId,
        );
        this.#activeRuns.delete(runId);
        return this.#runById(runId) as RunSummary;
      }),
    );
  }

  async getRun(runId: RunId): Promise<RunSummary | undefined> {
    return this.#use(() => this.#runById(runId));
  }

  async listRuns(options: { connection?: string; limit?: number } = {}): Promise<RunSummary[]> {
    return this.#use(() => {
      const limit = listLimit(options.limit);
      const rows =
        options.connection === undefined
          ? this.#statement(`${RUN_SELECT} ORDER BY r.id DESC LIMIT ?`).all(limit)
          : this.#statement(`${RUN_SELECT} WHERE n.connection = ? ORDER BY r.id DESC LIMIT ?`).all(
              options.connection,
              limit,
            );
      return rows.map(toRunSummary);
    });
  }

  #runById(runId: RunId): RunSummary | undefined {
    const row = this.#statement(`${RUN_SELECT} WHERE r.id = ?`).get(runId);
    return row === undefined ? undefined : toRunSummary(row);
  }

  #requireRunning(runId: RunId): ActiveRun {
    const active = this.#activeRuns.get(runId);
    if (active !== undefined) return active;
    const row = this.#statement("SELECT namespace_id, status FROM runs WHERE id = ?").get(runId);
    if (row === undefined) throw new LedgerError("unknown_run", `run ${runId} does not exist in this ledger`);
    if (row.status !== "running") {
      throw new LedgerError(
        "run_not_running",
        `run ${runId} is ${str(row.status)} and takes no more outcomes`,
      );
    }
    return { namespaceId: num(row.namespace_id) };
  }

  #eventsInFlight(runId: RunId): number {
    const row = this.#statement(
      "SELECT coalesce(sum(events), 0) AS n FROM batches WHERE run_id = ? AND closed_at IS NULL",
    ).get(runId);
    return num(row?.n);
  }

  // ── keys ───────────────────────────────────────────────────────────────────────────────────────

  async filterNew(
    connection: string,
    keys: readonly string[],
    options: FilterOptions = {},
  ): Promise<string[]> {
    return this.#use(() => {
      const namespaceId = this.#findNamespace(connection, options.mode ?? "live");
      if (namespaceId === undefined || keys.length === 0) return options.reopenedOnly ? [] : [...keys];
      const wanted = options.reopenedOnly ? `= ${STATE_CODES.reopened}` : `IN (${TERMINAL_LIST})`;
      // json_each's `key` is the array index: matches come back as positions, whatever the key encoding.
      // CROSS JOIN fixes the loop order (one primary-key probe per given key) whatever the table stats.
      const positions = this.#statement(
        `SELECT j.key AS i FROM json_each(?) AS j CROSS JOIN row_states AS r
         WHERE r.namespace_id = ? AND r.key = ${this.#boundKeyExpression("j.value")} AND r.state ${wanted}`,
      ).all(this.#keysAsJson(keys), namespaceId);
      const matched = new Uint8Array(keys.length);
      for (const row of positions) matched[num(row.i)] = 1;
      return keys.filter((_, index) => (options.reopenedOnly ? matched[index] === 1 : matched[index] === 0));
    });
  }

  async openBatch(runId: RunId, options: OpenBatchOptions): Promise<BatchId> {
    return this.#use(() => {
      this.#requireRunning(runId);
      const result = this.#statement(
        "INSERT INTO batches (run_id, dataset_id, events, opened_at) VALUES (?, ?, ?, ?)",
      ).run(runId, options.datasetId, options.events, this.#now());
      return Number(result.lastInsertRowid);
    });
  }

  async recordOutcomes(
    runId: RunId,
    outcomes: readonly Outcome[],
    response?: BatchResponse,
  ): Promise<RecordResult> {
    return this.#use(() =>
      this.#transaction(() => {
        const { namespaceId } = this.#requireRunning(runId);
        const now = this.#now();
        const batchId = response?.batchId ?? null;
        if (response !== undefined) {
          this.#statement(
            "UPDATE batches SET closed_at = ?, fbtrace_id = ? WHERE id = ? AND run_id = ? AND closed_at IS NULL",
          ).run(now, response.fbtraceId ?? null, response.batchId, runId);
        }
        const counts = zeroCounts(OUTCOME_STATES);
        let ignored = 0;
        for (let start = 0; start < outcomes.length; ) {
          const first = outcomes[start] as Outcome;
          if (first.state === "rejected") {
            if (this.#recordRejected(runId, namespaceId, first, batchId, now)) counts.rejected++;
            else ignored++;
            start++;
            continue;
          }
          // The outcomes of one answer share a state: they go in statements of several rows each.
          let end = start + 1;
          while (end < outcomes.length && (outcomes[end] as Outcome).state === first.state) end++;
          const applied = this.#upsertSameState(runId, namespaceId, outcomes, start, end, batchId, now);
          counts[first.state] += applied;
          ignored += end - start - applied;
          start = end;
        }
        this.#statement(
          `UPDATE runs SET delivered = delivered + ?, rejected = rejected + ?, expired = expired + ?,
             skipped = skipped + ?, last_activity_at = ? WHERE id = ?`,
        ).run(counts.delivered, counts.rejected, counts.expired, counts.skipped, now, runId);
        return { applied: outcomes.length - ignored, ignored };
      }),
    );
  }

  /** A rejection is logged unless the key was delivered meanwhile; false when it changed nothing. */
  #recordRejected(
    runId: RunId,
    namespaceId: number,
    outcome: Extract<Outcome, { state: "rejected" }>,
    batchId: BatchId | null,
    now: number,
  ): boolean {
    const key = this.#storedKey(outcome.key);
    if (this.#isDelivered(namespaceId, key)) return false;
    const rejectionId = this.#logRejection(runId, namespaceId, key, outcome, batchId, now);
    const result = this.#upsertStatement(1).run(
      namespaceId,
      key,
      STATE_CODES.rejected,
      outcome.eventId ?? null,
      batchId,
      rejectionId,
      null,
      runId,
      now,
      now,
    );
    return Number(result.changes) > 0;
  }

  /**
   * Outcomes `start` to `end`, all of one state other than rejected, upserted by statements of
   * UPSERT_ROWS rows and fewer. A statement per row cost 1.44–1.76 µs a row in transactions of
   * 1,000 on a bare table, 64 rows per statement 1.14–1.19: most of a call is its own overhead.
   * Rows of one statement are applied in order, as one statement each would be. Returns how many
   * rows changed; a delivered key is never overwritten.
   */
  #upsertSameState(
    runId: RunId,
    namespaceId: number,
    outcomes: readonly Outcome[],
    start: number,
    end: number,
    batchId: BatchId | null,
    now: number,
  ): number {
    const state = (outcomes[start] as Outcome).state;
    const sentBatch = state === "delivered" ? batchId : null;
    const code = STATE_CODES[state];
    let applied = 0;
    for (let from = start; from < end; ) {
      let rows = UPSERT_ROWS;
      while (rows > end - from) rows >>= 2;
      const args: SQLInputValue[] = [];
      for (let i = from; i < from + rows; i++) {
        const outcome = outcomes[i] as Exclude<Outcome, { state: "rejected" }>;
        args.push(
          namespaceId,
          this.#storedKey(outcome.key),
          code,
          ("eventId" in outcome ? outcome.eventId : undefined) ?? null,
          sentBatch,
          null,
          ("reason" in outcome ? outcome.reason : undefined) ?? null,
          runId,
          now,
          now,
        );
      }
      applied += Number(this.#upsertStatement(rows).run(...args).changes);
      from += rows;
    }
    return applied;
  }

  /**
   * An upsert of `rows` rows, ten parameters each. Numbered parameters shared by the rows (`?1` for
   * the namespace in every row) measured twice as slow as binding each row's own.
   */
  #upsertStatement(rows: number): StatementSync {
    const cached = this.#upserts.get(rows);
    if (cached !== undefined) return cached;
    const values: string[] = [];
    for (let row = 0; row < rows; row++) values.push("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const statement = this.#statement(
      `INSERT INTO row_states
         (namespace_id, key, state, event_id, batch_id, rejection_id, reason, run_id, first_seen_at, updated_at)
       VALUES ${values.join(", ")}
       ON CONFLICT (namespace_id, key) DO UPDATE SET
         state = excluded.state, event_id = coalesce(excluded.event_id, row_states.event_id),
         batch_id = excluded.batch_id, rejection_id = excluded.rejection_id, reason = excluded.reason,
         run_id = excluded.run_id, updated_at = excluded.updated_at
       WHERE row_states.state <> ${STATE_CODES.delivered}`,
    );
    this.#upserts.set(rows, statement);
    return statement;
  }

  #isDelivered(namespaceId: number, key: SQLInputValue): boolean {
    const row = this.#statement("SELECT state FROM row_states WHERE namespace_id = ? AND key = ?").get(
      namespaceId,
      key,
    );
    return row?.state === STATE_CODES.delivered;
  }

  #logRejection(
    runId: RunId,
    namespaceId: number,
    key: SQLInputValue,
    outcome: Extract<Outcome, { state: "rejected" }>,
    batchId: BatchId | null,
    now: number,
  ): number {
    const result = this.#statement(
      `INSERT INTO rejections (run_id, namespace_id, key, event_id, batch_id, code, subcode, path, message, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      runId,
      namespaceId,
      key,
      outcome.eventId ?? null,
      batchId,
      outcome.code ?? null,
      outcome.subcode ?? null,
      outcome.path ?? null,
      outcome.message.slice(0, ERROR_MESSAGE_MAX),
      now,
    );
    return Number(result.lastInsertRowid);
  }

  // ── baseline ───────────────────────────────────────────────────────────────────────────────────

  async baselineCompletedAt(connection: string, mode: RunMode = "live"): Promise<Date | undefined> {
    return this.#use(() => {
      const row = this.#statement(
        "SELECT baseline_completed_at AS at FROM namespaces WHERE connection = ? AND mode = ?",
      ).get(connection, mode);
      return row?.at == null ? undefined : new Date(num(row.at));
    });
  }

  async completeBaseline(runId: RunId): Promise<void> {
    return this.#use(() => {
      const { namespaceId } = this.#requireRunning(runId);
      this.#statement(
        `UPDATE namespaces SET baseline_completed_at = ?, baseline_run_id = ?
         WHERE id = ? AND baseline_completed_at IS NULL`,
      ).run(this.#now(), runId, namespaceId);
    });
  }

  // ── queries and replay ─────────────────────────────────────────────────────────────────────────

  async findKeys(connection: string, query: KeyQuery): Promise<KeyRecord[]> {
    return this.#use(() => {
      const namespaceId = this.#findNamespace(connection, query.mode ?? "live");
      if (namespaceId === undefined || query.states.length === 0) return [];
      const rows = this.#statement(
        `SELECT key, state, event_id, run_id, updated_at, reason FROM row_states
         WHERE namespace_id = ? AND ${stateCondition(query.states)} AND updated_at >= ?
         ORDER BY updated_at LIMIT ?`,
      ).all(namespaceId, query.since?.getTime() ?? 0, listLimit(query.limit));
      return rows.map((row) => ({
        key: displayKey(row.key),
        state: stateName(row.state),
        eventId: optStr(row.event_id),
        runId: num(row.run_id),
        updatedAt: new Date(num(row.updated_at)),
        reason: optStr(row.reason),
      }));
    });
  }

  async reopen(connection: string, query: ReopenQuery): Promise<number> {
    return this.#use(() => {
      const namespaceId = this.#findNamespace(connection, query.mode ?? "live");
      if (namespaceId === undefined || query.states.length === 0) return 0;
      const result = this.#statement(
        `UPDATE row_states SET state = ${STATE_CODES.reopened}, updated_at = ?
         WHERE namespace_id = ? AND ${stateCondition(query.states)} AND updated_at >= ?`,
      ).run(this.#now(), namespaceId, query.since?.getTime() ?? 0);
      return Number(result.changes);
    });
  }

  async rejections(query: RejectionQuery = {}): Promise<Rejection[]> {
    return this.#use(() => {
      const conditions: string[] = [];
      const parameters: SQLInputValue[] = [];
      if (query.runId !== undefined) {
        conditions.push("j.run_id = ?");
        parameters.push(query.runId);
      }
      if (query.connection !== undefined) {
        conditions.push("n.connection = ?");
        parameters.push(query.connection);
      }
      const where = conditions.length === 0 ? "" : `WHERE ${conditions.join(" AND ")}`;
      const rows = this.#statement(
        `SELECT j.*, n.connection, n.mode, b.dataset_id, b.fbtrace_id
         FROM rejections AS j
         JOIN namespaces AS n ON n.id = j.namespace_id
         LEFT JOIN batches AS b ON b.id = j.batch_id
         ${where} ORDER BY j.id DESC LIMIT ?`,
      ).all(...parameters, listLimit(query.limit));
      return rows.map((row) => ({
        runId: num(row.run_id),
        connection: str(row.connection),
        mode: str(row.mode) as RunMode,
        key: displayKey(row.key),
        eventId: optStr(row.event_id),
        datasetId: optStr(row.dataset_id),
        fbtraceId: optStr(row.fbtrace_id),
        code: typeof row.code === "number" || typeof row.code === "string" ? row.code : undefined,
        subcode: row.subcode == null ? undefined : num(row.subcode),
        path: optStr(row.path),
        message: str(row.message),
        at: new Date(num(row.at)),
      }));
    });
  }

  async countsByState(connection: string, mode: RunMode = "live"): Promise<StateCounts> {
    return this.#use(() => {
      const counts = zeroCounts(ROW_STATES);
      const namespaceId = this.#findNamespace(connection, mode);
      if (namespaceId === undefined) return counts;
      const rows = this.#statement(
        "SELECT state, count(*) AS n FROM row_states WHERE namespace_id = ? GROUP BY state",
      ).all(namespaceId);
      for (const row of rows) counts[stateName(row.state)] = num(row.n);
      return counts;
    });
  }

  // ── housekeeping ───────────────────────────────────────────────────────────────────────────────

  async check(): Promise<CheckResult> {
    return this.#use(() => {
      const problems = this.#db
        .prepare("PRAGMA integrity_check")
        .all()
        .map((row) => str(row.integrity_check))
        .filter((line) => line !== "ok");
      return { ok: problems.length === 0, problems };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }

  // ── plumbing ───────────────────────────────────────────────────────────────────────────────────

  #use<T>(work: () => T): T {
    if (this.#closed) throw new LedgerError("closed", "the ledger is closed");
    try {
      return work();
    } catch (error) {
      if (isUnreadableFileError(error)) throw unreadable(this.#location, error);
      throw error;
    }
  }

  #transaction<T>(work: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #pragmaNumber(name: "application_id" | "user_version"): number {
    return num(this.#db.prepare(`PRAGMA ${name}`).get()?.[name]);
  }

  #findNamespace(connection: string, mode: RunMode): number | undefined {
    const cacheKey = `${mode}\u0000${connection}`;
    const cached = this.#namespaces.get(cacheKey);
    if (cached !== undefined) return cached;
    const row = this.#statement("SELECT id FROM namespaces WHERE connection = ? AND mode = ?").get(
      connection,
      mode,
    );
    if (row === undefined) return undefined;
    this.#namespaces.set(cacheKey, num(row.id));
    return num(row.id);
  }

  #ensureNamespace(connection: string, mode: RunMode): number {
    const found = this.#findNamespace(connection, mode);
    if (found !== undefined) return found;
    // Not cached here: the enclosing transaction may still roll back.
    const result = this.#statement("INSERT INTO namespaces (connection, mode) VALUES (?, ?)").run(
      connection,
      mode,
    );
    return Number(result.lastInsertRowid);
  }

  #storedKey(key: string): SQLInputValue {
    return this.hashesKeys ? Buffer.from(sha256(key), "hex") : key;
  }

  #keysAsJson(keys: readonly string[]): string {
    return JSON.stringify(this.hashesKeys ? keys.map(sha256) : keys);
  }

  /** SQL turning a bound key (TEXT; hex digest when hashing) into the stored form. */
  #boundKeyExpression(expression: string): string {
    return this.hashesKeys ? `unhex(${expression})` : expression;
  }
}

const RUN_SELECT = `SELECT r.*, n.connection, n.mode FROM runs AS r JOIN namespaces AS n ON n.id = r.namespace_id`;

function toRunSummary(row: Row): RunSummary {
  return {
    id: num(row.id),
    connection: str(row.connection),
    mode: str(row.mode) as RunMode,
    kind: str(row.kind) as RunKind,
    status: str(row.status) as RunStatus,
    startedAt: new Date(num(row.started_at)),
    finishedAt: row.finished_at == null ? undefined : new Date(num(row.finished_at)),
    rowsRead: row.rows_read == null ? undefined : num(row.rows_read),
    counts: {
      delivered: num(row.delivered),
      rejected: num(row.rejected),
      expired: num(row.expired),
      skipped: num(row.skipped),
    } satisfies OutcomeCounts,
    inFlightAtEnd: row.in_flight_at_end == null ? undefined : num(row.in_flight_at_end),
    error: optStr(row.error_message),
  };
}

function ownerOf(row: Row) {
  return { host: str(row.owner_host), pid: num(row.owner_pid), token: str(row.owner_token) };
}

/**
 * SQL condition on `state` for a closed list of states (integer literals, never user text). When
 * all are replayable, the literal `IN (rejected, expired)` lets SQLite use the partial index.
 */
function stateCondition(states: readonly RowState[]): string {
  const codes = [...new Set(states.map((state) => STATE_CODES[state]))].sort((a, b) => a - b);
  const replayableOnly = states.every((state) => (REPLAYABLE_STATES as readonly RowState[]).includes(state));
  return `${replayableOnly ? `state IN (${REPLAYABLE_LIST}) AND ` : ""}state IN (${codes.join(", ")})`;
}

function zeroCounts<S extends string>(states: readonly S[]): Record<S, number> {
  return Object.fromEntries(states.map((state) => [state, 0])) as Record<S, number>;
}

function listLimit(limit: number | undefined): number {
  return limit === undefined ? DEFAULT_LIST_LIMIT : Math.max(0, Math.trunc(limit));
}

function stateName(code: SQLOutputValue | undefined): RowState {
  const state = STATE_BY_CODE.get(num(code));
  if (state === undefined) throw new Error(`unknown row state code ${String(code)} in the ledger`);
  return state;
}

function displayKey(value: SQLOutputValue | undefined): string {
  return value instanceof Uint8Array ? Buffer.from(value).toString("hex") : String(value);
}

function num(value: SQLOutputValue | undefined): number {
  return Number(value ?? 0);
}

function str(value: SQLOutputValue | undefined): string {
  return value == null ? "" : String(value);
}

function optStr(value: SQLOutputValue | undefined): string | undefined {
  return value == null ? undefined : String(value);
}

function isSqliteError(error: unknown): boolean {
  return typeof error === "object" && error !== null && "errcode" in error;
}

function unreadable(location: string, cause: unknown): LedgerError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LedgerError("unreadable", `cannot read the ledger ${location}: ${reason}`, { cause });
}

function newerSchema(location: string, version: number): LedgerError {
  return new LedgerError(
    "newer_schema",
    `${location} has ledger schema version ${version}, newer than the ${SCHEMA_VERSION} this capi-sync ` +
      "knows; upgrade capi-sync (the file was left untouched)",
  );
}
