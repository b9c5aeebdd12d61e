// The ledger's public face. See README.md in this folder for the model and its guarantees.
export { LEDGER_ERROR_CODES, LedgerError, type LedgerErrorCode } from "./errors.ts";
export * from "./ledger.ts";
export {
  DEFAULT_LEDGER_PATH,
  type LedgerLocation,
  type LedgerOptions,
  openLedger,
  parseLedgerLocation,
} from "./open.ts";
export { SCHEMA_VERSION } from "./schema.ts";
export { SqliteLedger, type SqliteLedgerOptions } from "./sqlite.ts";
