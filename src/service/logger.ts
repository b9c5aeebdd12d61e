// Structured JSON logs (pino) for the service, with two layers against leaks: redact paths censor
// known secret and customer-data keys wherever a log call passes them, and a last pass over each
// finished line replaces every secret value of the config (tokens, app secrets, database passwords,
// the admin token), wherever it appears: in a message, an error, a nested field.
import { type DestinationStream, type Logger, pino } from "pino";
import { maskSecrets } from "../config/mask.ts";
import { type LogLevel, ServiceConfigError } from "../config/service.ts";
import { USER_DATA_KEYS } from "../meta/user-data-keys.ts";

export const REDACTED = "[REDACTED]";

/** Keys whose values are secrets wherever they appear in a log call. */
export const SECRET_KEYS = [
  "access_token",
  "accessToken",
  "app_secret",
  "appSecret",
  "appsecret_proof",
  "admin_token",
  "authorization",
  "password",
  "token",
] as const;

/** Keys that carry raw or hashed customer data: Meta's user_data keys and common raw columns. */
export const PII_KEYS = [
  ...Object.keys(USER_DATA_KEYS),
  "user_data",
  "email",
  "phone",
  "first_name",
  "last_name",
  "traits",
  "ip",
  "userAgent",
] as const;

/** Secrets shorter than this are not searched for in free text (they would mask common words). */
const MIN_SCRUBBED_LENGTH = 4;

export interface ServiceLoggerOptions {
  readonly level: LogLevel;
  /** Where JSON lines go; default stdout. */
  readonly destination?: DestinationStream | NodeJS.WritableStream;
  /** Secret strings replaced wherever they appear in a line. */
  readonly secrets?: readonly (string | undefined)[];
  /** More pino redact paths (from `service.log_redact`). */
  readonly redactPaths?: readonly string[];
}

export function createServiceLogger(options: ServiceLoggerOptions): Logger {
  const keys = [...SECRET_KEYS, ...PII_KEYS];
  const paths = [...keys, ...keys.map((k) => `*.${k}`), ...(options.redactPaths ?? [])];
  const scrub = lineScrubber(options.secrets ?? []);
  try {
    return pino(
      {
        level: options.level,
        redact: { paths, censor: REDACTED },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        // Fastify logs `req` on server errors; its default form carries the client's address.
        serializers: { req: requestSummary },
        hooks: { streamWrite: scrub },
      },
      (options.destination ?? process.stdout) as DestinationStream,
    );
  } catch (error) {
    // pino names the bad path; paths are config keys, not values.
    const reason = error instanceof Error ? error.message : "invalid path";
    throw new ServiceConfigError(`service.log_redact: ${reason}`);
  }
}

function requestSummary(request: { method?: unknown; url?: unknown }): Record<string, unknown> {
  const url = typeof request.url === "string" ? request.url : "";
  // The query string may carry anything a client sent; the path is enough to find the route.
  return { method: request.method, path: url.split("?")[0] };
}

/** Replaces each secret, raw or as JSON escapes it, in a finished log line. */
export function lineScrubber(secrets: readonly (string | undefined)[]): (line: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === undefined || secret.length < MIN_SCRUBBED_LENGTH) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first, so a secret that contains another is replaced whole.
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return (line) => line;
  return (line) => {
    let out = line;
    for (const form of ordered) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return out;
  };
}

/**
 * Every secret value of a parsed config: the strings the config schema marks secret (found as the
 * values `maskSecrets` changes), and the password inside a database URL on its own, plain and decoded.
 */
export function configSecrets(config: unknown): string[] {
  const found: string[] = [];
  const walk = (original: unknown, masked: unknown): void => {
    if (typeof original === "string") {
      if (original === masked) return;
      found.push(original);
      const password = urlPassword(original);
      if (password) found.push(password, safeDecode(password));
      return;
    }
    if (original === null || typeof original !== "object" || masked === null || typeof masked !== "object")
      return;
    for (const [key, value] of Object.entries(original))
      walk(value, (masked as Record<string, unknown>)[key]);
  };
  walk(config, maskSecrets(config));
  return [...new Set(found)];
}

function urlPassword(value: string): string | undefined {
  try {
    return new URL(value).password || undefined;
  } catch {
    return undefined;
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
