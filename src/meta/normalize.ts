// Customer-information normalization and hashing (spec §3). The rules live in ./normalize/.
export {
  type NormalizedUserData,
  type NormalizeOptions,
  normalizeUserData,
  type RawUserData,
} from "./normalize/user-data.ts";
