// Every `user_data` key Meta documents, with its hashing rule (spec §3.1). The normalizers that
// go with the hash-required keys live in normalize.ts; validation and the emulator read this table.

export type Hashing = "required" | "recommended" | "never";

export interface UserDataKeySpec {
  readonly hashing: Hashing;
  /** Accepts a list of values (all hash-required keys and external_id). */
  readonly multi: boolean;
}

const hashed: UserDataKeySpec = { hashing: "required", multi: true };
const raw: UserDataKeySpec = { hashing: "never", multi: false };

export const USER_DATA_KEYS = {
  em: hashed,
  ph: hashed,
  fn: hashed,
  ln: hashed,
  db: hashed,
  ge: hashed,
  ct: hashed,
  st: hashed,
  zp: hashed,
  country: hashed,
  external_id: { hashing: "recommended", multi: true },
  client_ip_address: raw,
  client_user_agent: raw,
  fbc: raw,
  fbp: raw,
  subscription_id: raw,
  fb_login_id: raw,
  lead_id: raw,
  anon_id: raw,
  madid: raw,
  page_id: raw,
  page_scoped_user_id: raw,
  ctwa_clid: raw,
  ig_account_id: raw,
  ig_sid: raw,
  whatsapp_business_account_id: raw,
  instagram_business_account_id: raw,
} as const satisfies Record<string, UserDataKeySpec>;

export type UserDataKey = keyof typeof USER_DATA_KEYS;

export const HASH_REQUIRED_KEYS = Object.freeze(
  (Object.keys(USER_DATA_KEYS) as UserDataKey[]).filter((k) => USER_DATA_KEYS[k].hashing === "required"),
);
export const NEVER_HASHED_KEYS = Object.freeze(
  (Object.keys(USER_DATA_KEYS) as UserDataKey[]).filter((k) => USER_DATA_KEYS[k].hashing === "never"),
);

export function isUserDataKey(key: string): key is UserDataKey {
  return Object.hasOwn(USER_DATA_KEYS, key);
}

/**
 * Customer-information combinations Meta calls too broad to match on (spec §3.4): an event whose
 * user_data keys are all inside one of these sets is rejected with 2804050.
 */
export const TOO_BROAD_COMBINATIONS: readonly (readonly string[])[] = [
  ["ct", "country", "st", "zp", "ge", "client_user_agent"],
  ["db", "client_user_agent"],
  ["fn", "ge"],
  ["ln", "ge"],
];
