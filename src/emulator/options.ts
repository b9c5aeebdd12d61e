// The emulator's options and their defaults (spec §2.1, §8 for the windows).
import type { FaultOptions } from "./faults.ts";
import type { RateLimitOptions } from "./rate-limit.ts";
import type { RuleOverride } from "./rules.ts";
import type { RecordMode } from "./store.ts";

export interface EmulatorDataset {
  id: string;
  tokens: string[];
  /** Tokens answered with 190/463 "Session has expired". */
  expiredTokens?: string[];
}

export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 4100; 0 = ephemeral. */
  port?: number;
  /** Default: one dataset "1234567890" with token "test-token". */
  datasets?: EmulatorDataset[];
  /** When set, appsecret_proof is required and checked. */
  appSecret?: string;
  /** Also reject what Meta only flags (missing UA/URL on web events, bad fbc/fbp, …). */
  strict?: boolean;
  /** Added to every response of the events edge. */
  latencyMs?: number;
  faults?: FaultOptions;
  /** A deterministic token bucket per dataset; over it, requests get code 80004 with usage headers. */
  rateLimit?: RateLimitOptions;
  /** Default 48 h. */
  dedupWindowSeconds?: number;
  /** Offline (physical_store) dedup window. Default 7 d. */
  offlineDedupWindowSeconds?: number;
  /** Default 7 d. */
  maxAgeSeconds?: number;
  /** Default 62 d. */
  physicalStoreMaxAgeSeconds?: number;
  /** Default 600 s. */
  maxFutureSeconds?: number;
  /** Unix ms clock, for tests. */
  now?: () => number;
  /** Log requests (method and path only: never the query, which may hold access_token). */
  logger?: boolean | { stream: NodeJS.WritableStream };
  /** true (default): keep events; "count": counters and dedup only; false: counters only. */
  recordEvents?: RecordMode;
  /** How many recent requests the request log keeps. Default 10 000. */
  requestLogLimit?: number;
  /** Change a per-event rule's envelope or mode, or turn it off (ids in rules.ts). */
  ruleOverrides?: Record<string, RuleOverride>;
  /** Largest accepted request body in bytes. Default 64 MiB ([UNVERIFIED]: Meta documents none). */
  bodyLimit?: number;
}

export const DEFAULT_DATASETS: readonly EmulatorDataset[] = [{ id: "1234567890", tokens: ["test-token"] }];

const DAY = 86_400;

export const DEFAULTS = {
  host: "127.0.0.1",
  port: 4100,
  dedupWindowSeconds: 2 * DAY,
  offlineDedupWindowSeconds: 7 * DAY,
  maxAgeSeconds: 7 * DAY,
  physicalStoreMaxAgeSeconds: 62 * DAY,
  maxFutureSeconds: 600,
  requestLogLimit: 10_000,
  bodyLimit: 64 * 1024 * 1024,
} as const;
