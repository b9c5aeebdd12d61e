/** Why the ledger refused. Messages name files, runs and rules, never row keys or values. */
export const LEDGER_ERROR_CODES = [
  /** The file is not SQLite, is corrupted, or cannot be opened. */
  "unreadable",
  /** A SQLite database, but not a capi-sync ledger: it is left untouched. */
  "not_a_ledger",
  /** Written by a newer capi-sync: upgrade rather than risk an older reading of newer state. */
  "newer_schema",
  /** A location this build cannot use (e.g. a Postgres URL). */
  "unsupported_location",
  /** `hashKeys` differs from how the ledger was created; switching would resend every row. */
  "key_encoding_mismatch",
  "unknown_run",
  /** The run is no longer running (finished or interrupted) and takes no more outcomes. */
  "run_not_running",
  /** Another live process runs the same connection and mode. */
  "run_in_progress",
  "closed",
] as const;
export type LedgerErrorCode = (typeof LEDGER_ERROR_CODES)[number];

export class LedgerError extends Error {
  override readonly name = "LedgerError";
  readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

// SQLite primary result codes that mean "this file is not a usable database" (sqlite.org/rescode.html).
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

/** True for node:sqlite errors that mean the file itself is damaged or not a database. */
export function isUnreadableFileError(error: unknown): boolean {
  if (typeof error !== "object" || error === null || !("errcode" in error)) return false;
  const primary = Number(error.errcode) & 0xff;
  return primary === SQLITE_CORRUPT || primary === SQLITE_NOTADB;
}
