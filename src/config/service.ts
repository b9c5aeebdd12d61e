// The `service:` section of the config file: what `capi-sync serve` needs beyond the connections.
// Hooked into the main schema as an optional top-level key; `readServiceConfig` also copes with a
// config parsed before that hook existed (no `service:` → every default).
import { isIP } from "node:net";
import { z } from "zod";

/** Same marker as the main schema's secrets: `config show` masks it and the logger scrubs it. */
const secret = (description: string) =>
  z
    .string()
    .min(16, "at least 16 characters (e.g. the output of `openssl rand -hex 32`)")
    .meta({ writeOnly: true, description: `${description} (secret)` });

/** proxy-addr's named ranges, which fastify's trustProxy accepts besides addresses and CIDRs. */
const PROXY_RANGES = new Set(["loopback", "linklocal", "uniquelocal"]);

const proxyAddress = z.string().refine((value) => {
  if (PROXY_RANGES.has(value)) return true;
  const [address = "", prefix, ...rest] = value.split("/");
  if (rest.length > 0 || isIP(address) === 0) return false;
  return prefix === undefined || /^\d{1,3}$/.test(prefix);
}, "an IP address, a CIDR range (10.0.0.0/8) or one of loopback, linklocal, uniquelocal");

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const serviceConfigSchema = z
  .object({
    host: z
      .string()
      .min(1)
      .default("127.0.0.1")
      .describe("Address the HTTP server binds to; any non-loopback address requires admin_token"),
    port: z.number().int().min(0).max(65_535).default(4200).describe("HTTP port (0 = any free port)"),
    admin_token: secret(
      "Bearer token that /metrics and /readyz require; required when host is not a loopback address",
    ).optional(),
    grace_period_ms: z
      .number()
      .int()
      .nonnegative()
      // Inside Kubernetes' default 30 s termination grace, so the process exits before a SIGKILL.
      .default(25_000)
      .describe("On SIGTERM/SIGINT, how long runs in flight may take to finish their current batches"),
    trusted_proxies: z
      .array(proxyAddress)
      .optional()
      .describe("Reverse proxies whose X-Forwarded-For is believed (the collector's client IP)"),
    log_level: z.enum(LOG_LEVELS).default("info"),
    log_redact: z
      .array(z.string().min(1))
      .optional()
      .describe("Extra pino redact paths (e.g. `context.traits`), added to the built-in secret and PII keys"),
    timezone: z
      .string()
      .refine(isTimeZone, "an IANA time zone such as Europe/Paris or UTC")
      .optional()
      .describe(
        "Time zone of the connections' cron schedules (default: the process's, usually UTC in containers)",
      ),
  })
  .strict();

export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type ServiceConfigInput = z.input<typeof serviceConfigSchema>;

/** A `service:` section that does not validate; names the key and the rule, never the value. */
export class ServiceConfigError extends Error {
  override readonly name = "ServiceConfigError";
}

/** The `service:` section of a parsed config, with defaults; a config without one gets every default. */
export function readServiceConfig(config: unknown): ServiceConfig {
  const section =
    config !== null && typeof config === "object" ? (config as { service?: unknown }).service : undefined;
  const result = serviceConfigSchema.safeParse(section ?? {});
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((issue) => `${["service", ...issue.path.map(String)].join(".")}: ${issue.message}`);
    throw new ServiceConfigError(issues.join("; "));
  }
  return result.data;
}

/**
 * True for addresses only this machine can reach. A host name other than `localhost` counts as
 * exposed: what it resolves to may change, so it is treated like the wider address it could be.
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost" || bare === "::1") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  return mapped?.[1]?.startsWith("127.") ?? false;
}

/** Refuses an exposed bind without an admin token: /metrics and /readyz would be open to the network. */
export function assertSafeExposure(config: Pick<ServiceConfig, "host" | "admin_token">): void {
  if (config.admin_token === undefined && !isLoopback(config.host)) {
    throw new ServiceConfigError(
      `service.host ${config.host} is reachable from other machines: set service.admin_token ` +
        "(at least 16 characters) so /metrics and /readyz require it, or bind to 127.0.0.1",
    );
  }
}

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}
