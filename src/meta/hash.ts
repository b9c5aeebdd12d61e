import { hash } from "node:crypto";

// `+` with a length check runs ~4x faster in V8 than a `{64}` quantifier on this hot path.
const HEX = /^[a-fA-F0-9]+$/;
const APPENDIX = /^\.[A-Za-z0-9_-]+$/;
const SHA256_HEX_LENGTH = 64;

/** SHA-256 of the UTF-8 bytes, lowercase hex. */
export function sha256(value: string): string {
  return hash("sha256", value, "hex");
}

/** True when the (trimmed) value already is a SHA-256 hex digest, in any case. */
export function isSha256Hex(value: string): boolean {
  const trimmed = value.length === SHA256_HEX_LENGTH ? value : value.trim();
  return trimmed.length === SHA256_HEX_LENGTH && HEX.test(trimmed);
}

/**
 * True when a value as sent would pass Meta's hashed check: 64 hex characters, optionally followed
 * by a Parameter Builder appendix of 2 (legacy) or 8 characters (spec §3.2, §3.3).
 */
export function looksHashed(value: string): boolean {
  const length = value.length;
  if (length !== 64 && length !== 67 && length !== 73) return false;
  if (!HEX.test(length === 64 ? value : value.slice(0, 64))) return false;
  return length === 64 || APPENDIX.test(value.slice(64));
}
