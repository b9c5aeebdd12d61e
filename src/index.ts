// The package's public face: Meta's rules as a library.
export type { Diagnostic, ValidationResult } from "./meta/diagnostics.ts";
export type * from "./meta/event.ts";
export { isSha256Hex, looksHashed, sha256 } from "./meta/hash.ts";
export { type NormalizeOptions, normalizeUserData, type RawUserData } from "./meta/normalize.ts";
export { HASH_REQUIRED_KEYS, NEVER_HASHED_KEYS, USER_DATA_KEYS } from "./meta/user-data-keys.ts";
export { type ValidateOptions, validateEvent } from "./meta/validate.ts";
export {
  ACTION_SOURCES,
  type ActionSource,
  BUSINESS_MESSAGING_EVENTS,
  canonicalEventName,
  EVENT_NAME_ALIASES,
  STANDARD_EVENTS,
  type StandardEventName,
} from "./meta/vocabulary.ts";
