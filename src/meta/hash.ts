import { hash } from "node:crypto";

const SHA256_HEX = /^[a-f0-9]{64}$/i;
/** Meta's "looks hashed" rule, allowing the Parameter Builder appendix (spec §3.2, §3.3). */
const SHA256_HEX_WITH_APPENDIX = /^[a-fA-F0-9]{64}(\.[A-Za-z0-9_-]{2}|\.[A-Za-z0-9_-]{8})?$/;

/** SHA-256 of the UTF-8 bytes, lowercase hex. */
export function sha256(value: string): string {
  return hash("sha256", value, "hex");
}

/** True when the (trimmed) value already is a SHA-256 hex digest, in any case. */
export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value.trim());
}

/** True when a value as sent would pass Meta's hashed check, Parameter Builder appendix included. */
export function looksHashed(value: string): boolean {
  return SHA256_HEX_WITH_APPENDIX.test(value);
}
