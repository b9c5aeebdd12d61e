import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LedgerError } from "./errors.ts";
import type { Ledger } from "./ledger.ts";
import { SqliteLedger, type SqliteLedgerOptions } from "./sqlite.ts";

/** Where the ledger lives unless the config says otherwise, relative to the working directory. */
export const DEFAULT_LEDGER_PATH = ".capi-sync/state.db";

export type LedgerOptions = SqliteLedgerOptions;

export type LedgerLocation =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "memory" }
  | { readonly kind: "unsupported"; readonly scheme: string };

const IN_MEMORY = ":memory:";
const POSTGRES_SCHEMES = new Set(["postgres", "postgresql"]);
// `scheme://`, or `file:`/`sqlite:` without slashes. A Windows drive (`C:\`) is a path.
const URL_SCHEME = /^([a-z][a-z0-9+.-]+):(?=\/\/)|^(file|sqlite):/i;

/**
 * Reads a ledger location: a path, `file:` URL, `sqlite:PATH`, or `:memory:`. Never echoes the text
 * back in errors: a database URL can carry a password.
 */
export function parseLedgerLocation(location: string | URL, cwd: string = process.cwd()): LedgerLocation {
  if (location instanceof URL) location = location.href;
  if (location === IN_MEMORY) return { kind: "memory" };
  const match = URL_SCHEME.exec(location);
  if (match === null) return { kind: "sqlite", path: resolve(cwd, location) };
  const scheme = (match[1] ?? match[2] ?? "").toLowerCase();
  if (scheme === "file") return { kind: "sqlite", path: fileURLToPath(location) };
  if (scheme === "sqlite") {
    const rest = location.slice(match[0].length).replace(/^\/\/(?=\/)/, "");
    return rest === IN_MEMORY ? { kind: "memory" } : { kind: "sqlite", path: resolve(cwd, rest) };
  }
  return { kind: "unsupported", scheme };
}

/**
 * Opens the ledger at `location` (default `.capi-sync/state.db`), creating the file and its parent
 * directory on first use. Fails with a `LedgerError` rather than ever recreating an unreadable file.
 */
export async function openLedger(
  location: string | URL = DEFAULT_LEDGER_PATH,
  options: LedgerOptions = {},
): Promise<Ledger> {
  const parsed = parseLedgerLocation(location);
  switch (parsed.kind) {
    case "memory":
      return SqliteLedger.open(IN_MEMORY, options);
    case "sqlite":
      try {
        mkdirSync(dirname(parsed.path), { recursive: true });
      } catch (error) {
        throw new LedgerError("unreadable", `cannot create the directory for the ledger ${parsed.path}`, {
          cause: error,
        });
      }
      return SqliteLedger.open(parsed.path, options);
    case "unsupported":
      throw new LedgerError(
        "unsupported_location",
        POSTGRES_SCHEMES.has(parsed.scheme)
          ? "a Postgres ledger is not supported yet; use a SQLite file path (default .capi-sync/state.db)"
          : `ledger URLs with scheme ${parsed.scheme}: are not supported; use a SQLite file path`,
      );
  }
}
