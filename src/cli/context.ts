import { isAbsolute, join } from "node:path";
import { DEFAULT_CONFIG_FILE, type LoadedConfig, loadConfig } from "../config/load.ts";
import type { ConnectionConfig } from "../config/schema.ts";
import { type Ledger, openLedger, parseLedgerLocation } from "../ledger/index.ts";
import type { CommandIo } from "./command.ts";
import { UsageError } from "./command.ts";

export const CONFIG_OPTION = { config: { type: "string", short: "c" } } as const;

export async function loadFromArgs(io: CommandIo, configPath: string | undefined): Promise<LoadedConfig> {
  const path = configPath ?? DEFAULT_CONFIG_FILE;
  return loadConfig(isAbsolute(path) ? path : join(io.cwd, path), io.env);
}

/** The named connections, or all of them; unknown names are a usage error listing the known ones. */
export function selectConnections(
  loaded: LoadedConfig,
  names: readonly string[],
): Array<[string, ConnectionConfig]> {
  const all = Object.entries(loaded.config.connections);
  if (names.length === 0) return all;
  const unknown = names.filter((n) => !loaded.config.connections[n]);
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown connection ${unknown.join(", ")} (known: ${all.map(([n]) => n).join(", ")})`,
    );
  }
  return all.filter(([n]) => names.includes(n));
}

/** Opens the ledger the config names, relative to the config file. Ledger errors are printed by the caller. */
export async function openConfiguredLedger(loaded: LoadedConfig): Promise<Ledger> {
  const state = loaded.config.state;
  // A path, or a sqlite:/file: URL, names a file (relative ones beside the config file);
  // ":memory:" and URLs of other schemes go to openLedger as written (it refuses the unsupported).
  const location = parseLedgerLocation(state, loaded.baseDir);
  return openLedger(location.kind === "sqlite" ? location.path : state);
}
