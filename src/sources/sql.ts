// What the SQL sources share: turning a user's query into a cheap probe, and errors into SourceErrors.
import { redactText, withoutQuotedValues } from "./redact.ts";
import { SourceError, type SourceErrorCode } from "./types.ts";

/** Rows per block of the SQL sources that choose it: a cursor's round trip (unless configured), SQLite's steps. */
export const DEFAULT_BATCH_SIZE = 1000;

/** The user's query as a derived table returning no row: the server plans it and reports its columns. */
export function probeQuery(query: string): string {
  // Newlines keep a trailing `-- comment` in the user's query from swallowing the closing parenthesis.
  return `SELECT * FROM (\n${withoutTrailingSemicolons(query)}\n) AS capi_sync_probe LIMIT 0`;
}

export function withoutTrailingSemicolons(query: string): string {
  return query.trim().replace(/[;\s]+$/, "");
}

/** Rows are objects keyed by column name: a repeated name would silently overwrite a value. */
export function assertDistinctColumns(columns: readonly string[], label: string): void {
  const seen = new Set<string>();
  for (const name of columns) {
    if (seen.has(name)) {
      throw new SourceError(label, "query", `the query returns column "${name}" twice; give one an alias`);
    }
    seen.add(name);
  }
}

/** Network failures, by Node's errno names, the same for every driver. */
const NETWORK_ERRNOS: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EPIPE",
]);

/**
 * A driver error as a SourceError: secrets masked and, for data errors (whose messages quote the
 * offending value), quoted literals dropped.
 */
export function driverError(
  label: string,
  error: unknown,
  classify: (driverCode: string | undefined, message: string) => SourceErrorCode,
  secrets: readonly string[],
): SourceError {
  if (error instanceof SourceError) return error;
  const driverCode = (error as { code?: unknown } | null)?.code;
  const codeText = typeof driverCode === "string" ? driverCode : undefined;
  const message = redactText(String((error as Error | null)?.message ?? error).split("\n")[0] ?? "", secrets);
  const code = codeText && NETWORK_ERRNOS.has(codeText) ? "unreachable" : classify(codeText, message);
  return new SourceError(label, code, code === "data" ? withoutQuotedValues(message) : message, codeText);
}
