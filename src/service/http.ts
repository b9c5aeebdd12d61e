// The service's HTTP face: /healthz (the process answers), /readyz (it can do its job), /metrics
// (Prometheus). /readyz and /metrics are admin endpoints: with an admin token set they require
// `Authorization: Bearer <token>`; the token is required whenever the bind address is not loopback.
import { createHash, timingSafeEqual } from "node:crypto";
import fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { Bindings, ChildLoggerOptions, Logger } from "pino";
import type { ServiceMetrics } from "./metrics.ts";

export interface Readiness {
  readonly ready: boolean;
  readonly body: Record<string, unknown>;
}

export interface HttpOptions {
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly readiness: () => Promise<Readiness>;
  readonly adminToken?: string;
  /** Addresses, CIDRs or proxy-addr range names whose X-Forwarded-* headers are believed. */
  readonly trustedProxies?: readonly string[];
}

/**
 * Fastify gives every request a pino child bound to its id, and pino runs its redaction over each
 * child's bindings: ~8 µs a request on serve's HTTP thread (bench/collector.ts profile), for
 * loggers that almost never write (the request line is debug). This one makes the child when the
 * request first logs at an enabled level.
 */
function lazyRequestLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  if (options.level !== undefined || options.serializers !== undefined)
    return parent.child(bindings, options);
  return new LazyChild(parent, bindings);
}

/** One object a request, methods on the prototype: the HTTP thread makes ten thousand a second. */
class LazyChild implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  #child: FastifyBaseLogger | undefined;

  constructor(parent: FastifyBaseLogger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  get level(): FastifyBaseLogger["level"] {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: FastifyBaseLogger["level"]) {
    this.#real().level = level;
  }

  fatal(...args: LogArgs): void {
    this.#write("fatal", args);
  }
  error(...args: LogArgs): void {
    this.#write("error", args);
  }
  warn(...args: LogArgs): void {
    this.#write("warn", args);
  }
  info(...args: LogArgs): void {
    this.#write("info", args);
  }
  debug(...args: LogArgs): void {
    this.#write("debug", args);
  }
  trace(...args: LogArgs): void {
    this.#write("trace", args);
  }
  silent(): void {}

  /** pino's own check, which plugins call before building a costly line. */
  isLevelEnabled(level: string): boolean {
    return isEnabled(this.#child ?? this.#parent, level);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options);
  }

  #write(level: "fatal" | "error" | "warn" | "info" | "debug" | "trace", args: LogArgs): void {
    if (this.#child === undefined && !isEnabled(this.#parent, level)) return;
    this.#real()[level](...args);
  }

  #real(): FastifyBaseLogger {
    const child = this.#child ?? this.#parent.child(this.#bindings);
    this.#child = child;
    return child;
  }
}

type LogArgs = Parameters<FastifyBaseLogger["info"]>;

function isEnabled(logger: FastifyBaseLogger, level: string): boolean {
  const check = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return check === undefined ? true : check.call(logger, level);
}

export function buildHttp(options: HttpOptions): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = options.logger;
  const app = fastify({
    loggerInstance,
    // Request lines carry client addresses (personal data); the hook below logs routes only.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyRequestLogger,
    trustProxy: options.trustedProxies ? [...options.trustedProxies] : false,
  });
  app.addHook("onResponse", async (request, reply) => {
    request.log.debug(
      {
        method: request.method,
        route: request.routeOptions.url ?? "(no route)",
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      "http request",
    );
  });

  const admin = adminGuard(options.adminToken);

  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", { onRequest: admin }, async (_request, reply) => {
    const { ready, body } = await options.readiness();
    return reply.code(ready ? 200 : 503).send(body);
  });

  app.get("/metrics", { onRequest: admin }, async (_request, reply) => {
    const text = await options.metrics.render();
    return reply.type(options.metrics.contentType).send(text);
  });

  return app;
}

/** No token: open (the caller refused a non-loopback bind). A token: Bearer, compared in constant time. */
function adminGuard(token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (expected === undefined) return;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
    const given = match?.[1];
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return;
    await reply
      .code(401)
      .header("www-authenticate", 'Bearer realm="capi-sync"')
      .send({ error: "unauthorized", message: "send Authorization: Bearer <service.admin_token>" });
  };
}

/** Hashing first gives equal-length buffers, so the comparison's time says nothing about the token. */
function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
