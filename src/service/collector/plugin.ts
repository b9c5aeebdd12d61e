// The collector's HTTP face: Segment's tracking API (the paths analytics.js, Segment's and
// RudderStack's server libraries post to) as an encapsulated Fastify plugin, so that `serve` mounts
// it beside its own routes without sharing its body parsers or error handler.
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
} from "fastify";
import {
  basicAuthUser,
  CollectorConfigError,
  type CollectorConnection,
  type CollectorCors,
  corsPolicy,
  writeKeyIndex,
} from "./access.ts";
import { decodeBody } from "./body.ts";
import { type EnrichmentNote, enrichMessage, type RequestFacts } from "./enrich.ts";
import { type CallType, checkMessage, isCallType, isObject, type SegmentMessage } from "./messages.ts";
import { CollectorCounters, type CollectorMetric } from "./metrics.ts";
import type { CollectorQueue, QueueEntry } from "./queue.ts";
import { CollectorRejection, type Rejection, type RejectionCode, rejectionText } from "./rejections.ts";

/** Path → call: Segment's long names, analytics.js' one-letter ones, and the batch aliases. */
export const COLLECTOR_ROUTES: Readonly<Record<string, CallType | "batch">> = {
  "/v1/track": "track",
  "/v1/t": "track",
  "/v1/page": "page",
  "/v1/p": "page",
  "/v1/screen": "screen",
  "/v1/s": "screen",
  "/v1/identify": "identify",
  "/v1/i": "identify",
  "/v1/group": "group",
  "/v1/g": "group",
  "/v1/alias": "alias",
  "/v1/a": "alias",
  "/v1/batch": "batch",
  "/v1/b": "batch",
  "/v1/import": "batch",
};

export interface CollectorLimits {
  /** One message, and the body of a single-call endpoint (Segment: 32 KB). */
  readonly messageBytes?: number;
  /** The body of a batch, after decompression (Segment: 500 KB). */
  readonly batchBytes?: number;
  /** Messages in one batch; later ones are rejected (Segment: 2500). */
  readonly batchMessages?: number;
  /** Stored, unacknowledged messages over all connections before requests get 429 (default 1,000,000). */
  readonly queuedMessages?: number;
}

export const DEFAULT_LIMITS: Required<CollectorLimits> = {
  messageBytes: 32 * 1024,
  batchBytes: 500 * 1024,
  batchMessages: 2500,
  queuedMessages: 1_000_000,
};

/** A pino-compatible logger; the collector gives it codes and counts, never message content. */
export interface CollectorLogger {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  debug?(fields: object, message: string): void;
}

export interface CollectorOptions {
  readonly queue: Pick<CollectorQueue, "append" | "depth">;
  readonly connections: readonly CollectorConnection[];
  /** Default: any origin, without credentials. */
  readonly cors?: CollectorCors;
  readonly limits?: CollectorLimits;
  /** Default: the Fastify instance's logger. */
  readonly logger?: CollectorLogger;
  /** Called for every counter change (wire prom-client here). */
  readonly onMetric?: (metric: CollectorMetric) => void;
  /** Clock (unix ms) for received times; tests move it. */
  readonly now?: () => number;
}

export interface Collector {
  /** `app.register(collector.plugin)`: the routes of COLLECTOR_ROUTES, OPTIONS included. */
  readonly plugin: FastifyPluginAsync;
  readonly counters: CollectorCounters;
}

/** Per request: the connection its Authorization header named, and the body's size on the wire. */
interface Exchange {
  route: string;
  connection: string | undefined;
  bytes: number;
}

/** Per-message errors listed in a batch answer; the rest are counted only. */
const LISTED_ERRORS = 20;
const RETRY_AFTER_SECONDS = "10";
const SUCCESS = '{"success":true}';

const FASTIFY_REJECTIONS: Readonly<Record<string, RejectionCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "body_too_large",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "body_bad_length",
  FST_ERR_CTP_EMPTY_JSON_BODY: "body_empty",
};

interface BatchError extends Rejection {
  readonly index: number;
}

export function createCollector(options: CollectorOptions): Collector {
  const keys = writeKeyIndex(options.connections);
  const cors = corsPolicy(options.cors ?? { origins: "*" });
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0)
      throw new CollectorConfigError(`collector limit ${name} must be a positive integer`);
  }
  const now = options.now ?? Date.now;
  const counters = new CollectorCounters(options.onMetric);
  const exchanges = new WeakMap<FastifyRequest, Exchange>();

  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    const log: CollectorLogger = options.logger ?? app.log;
    const jsonParser = app.getDefaultJsonParser("remove", "remove");
    /** Fastify's own JSON parser (prototype-poisoning safe); its errors quote the body, so they are dropped. */
    const parseJson = (
      request: FastifyRequest,
      text: string,
      done: (error: Error | null, body?: unknown) => void,
    ) =>
      jsonParser(request, text, (error, value) =>
        error
          ? done(new CollectorRejection(text.trim() === "" ? "body_empty" : "body_invalid_json"))
          : done(null, value),
      );
    const warnedGeneratedIds = new Set<string>();
    const warnedRejections = new Set<string>();

    /** Warns once per connection and code; the counters carry every later occurrence. */
    function warnFirstRejections(connection: string, errors: readonly BatchError[]): void {
      for (const { code, path } of errors) {
        const key = `${connection}\u0000${code}`;
        if (warnedRejections.has(key)) continue;
        warnedRejections.add(key);
        log.warn(
          { connection, code, ...(path === undefined ? {} : { path }) },
          "collector rejected a message of a batch; later ones with this code are only counted (rejected metric)",
        );
      }
    }

    function exchangeOf(request: FastifyRequest): Exchange {
      let exchange = exchanges.get(request);
      if (!exchange) {
        exchange = { route: request.routeOptions.url ?? request.url, connection: undefined, bytes: 0 };
        exchanges.set(request, exchange);
      }
      return exchange;
    }

    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      "*",
      { parseAs: "buffer" },
      (
        request: FastifyRequest,
        raw: string | Buffer,
        done: (error: Error | null, body?: unknown) => void,
      ) => {
        const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
        exchangeOf(request).bytes = bytes.length;
        const encoding = request.headers["content-encoding"];
        if (encoding === undefined) return parseJson(request, bytes.toString("utf8"), done);
        const limit = request.routeOptions.bodyLimit ?? limits.batchBytes;
        decodeBody(bytes, encoding, limit).then(
          (decoded) => parseJson(request, decoded.toString("utf8"), done),
          done,
        );
      },
    );

    app.addHook("onRequest", async (request, reply) => {
      const exchange = exchangeOf(request);
      const corsHeaders = cors.headers(request.headers.origin);
      if (!corsHeaders) throw new CollectorRejection("origin_not_allowed");
      reply.headers(corsHeaders);
      if (request.method !== "POST") return;
      const key = basicAuthUser(request.headers.authorization);
      if (key === undefined) return;
      // Refused before the body is read: a wrong key costs the sender one round trip, not an upload.
      exchange.connection = keys.get(key);
      if (exchange.connection === undefined) throw new CollectorRejection("write_key_invalid");
    });

    app.addHook("onResponse", async (request, reply) => {
      const exchange = exchangeOf(request);
      counters.record({
        name: "request",
        route: exchange.route,
        status: reply.statusCode,
        bytes: exchange.bytes,
      });
    });

    app.setErrorHandler((error: FastifyError | CollectorRejection, request, reply) => {
      const rejection =
        error instanceof CollectorRejection
          ? error
          : Object.hasOwn(FASTIFY_REJECTIONS, error.code)
            ? new CollectorRejection(FASTIFY_REJECTIONS[error.code] as RejectionCode)
            : (error.statusCode ?? 500) < 500
              ? new CollectorRejection("request_invalid")
              : undefined;
      if (!rejection) {
        // Fastify's and Node's messages can quote the request; log the error's class and code only.
        log.error({ error: error.name, code: error.code }, "collector request failed");
        return reply.code(500).send({ success: false, code: "internal", message: "internal error" });
      }
      const exchange = exchangeOf(request);
      counters.record({ name: "rejected", connection: exchange.connection, code: rejection.code, count: 1 });
      log.debug?.({ code: rejection.code, connection: exchange.connection }, "collector refused a request");
      if (rejection.code === "queue_full") reply.header("retry-after", RETRY_AFTER_SECONDS);
      return reply.code(rejection.statusCode).send({
        success: false,
        code: rejection.code,
        message: rejectionText({ code: rejection.code, path: rejection.path }),
      });
    });

    function connectionOf(request: FastifyRequest, body: Record<string, unknown>): string {
      const exchange = exchangeOf(request);
      if (exchange.connection !== undefined) return exchange.connection;
      if (typeof body.writeKey !== "string" || body.writeKey === "")
        throw new CollectorRejection("write_key_missing");
      exchange.connection = keys.get(body.writeKey);
      if (exchange.connection === undefined) throw new CollectorRejection("write_key_invalid");
      return exchange.connection;
    }

    function factsOf(request: FastifyRequest): RequestFacts {
      return {
        ip: request.ip,
        userAgent: request.headers["user-agent"],
        cookieHeader: request.headers.cookie,
        receivedAt: now(),
      };
    }

    async function store(connection: string, entries: QueueEntry[]): Promise<void> {
      if (options.queue.depth() + entries.length > limits.queuedMessages)
        throw new CollectorRejection("queue_full");
      try {
        await options.queue.append(connection, entries);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        log.error(
          { connection, code: typeof code === "string" ? code : "unknown" },
          "collector queue refused messages",
        );
        throw new CollectorRejection("queue_unavailable");
      }
      counters.record({ name: "accepted", connection, count: entries.length });
      const notes = new Map<EnrichmentNote, number>();
      for (const entry of entries)
        for (const note of entry.notes ?? [])
          notes.set(note as EnrichmentNote, (notes.get(note as EnrichmentNote) ?? 0) + 1);
      for (const [note, count] of notes) counters.record({ name: "enriched", connection, note, count });
      if (notes.has("message_id_generated") && !warnedGeneratedIds.has(connection)) {
        warnedGeneratedIds.add(connection);
        log.warn(
          { connection },
          "collector received messages without messageId and generated one; retried requests of such " +
            "messages cannot be deduplicated (counted in enriched.message_id_generated)",
        );
      }
    }

    function single(call: CallType) {
      return async (request: FastifyRequest, reply: FastifyReply) => {
        const body = request.body;
        if (body === undefined) throw new CollectorRejection("body_empty");
        if (!isObject(body)) throw new CollectorRejection("body_not_object");
        const connection = connectionOf(request, body);
        const message: SegmentMessage = body;
        message.type = call;
        const rejection = checkMessage(call, message);
        if (rejection) throw new CollectorRejection(rejection.code, rejection.path);
        const notes = enrichMessage(message, factsOf(request));
        await store(connection, [{ message, notes }]);
        return reply.type("application/json").send(SUCCESS);
      };
    }

    async function batch(request: FastifyRequest, reply: FastifyReply) {
      const body = request.body;
      if (body === undefined) throw new CollectorRejection("body_empty");
      if (!isObject(body)) throw new CollectorRejection("body_not_object");
      const connection = connectionOf(request, body);
      if (!Array.isArray(body.batch)) throw new CollectorRejection("batch_missing");
      const facts = factsOf(request);
      // A context at the batch's top level applies to every message (the message's own keys win).
      const sharedContext = isObject(body.context) ? body.context : undefined;
      const entries: QueueEntry[] = [];
      const errors: BatchError[] = [];
      for (const [index, item] of (body.batch as unknown[]).entries()) {
        const rejection = batchItemRejection(item, index, sharedContext);
        if (rejection) {
          errors.push({ index, ...rejection });
          continue;
        }
        const message = item as SegmentMessage;
        entries.push({ message, notes: enrichMessage(message, facts) });
      }
      for (const [code, count] of countBy(errors))
        counters.record({ name: "rejected", connection, code, count });
      warnFirstRejections(connection, errors);
      if (entries.length === 0 && errors.length > 0) {
        return reply.code(400).send({
          success: false,
          code: "batch_all_rejected",
          message: rejectionText({ code: "batch_all_rejected" }),
          ...errorList(entries.length, errors),
        });
      }
      await store(connection, entries);
      if (errors.length === 0) return reply.type("application/json").send(SUCCESS);
      return reply.send({ success: true, ...errorList(entries.length, errors) });
    }

    function batchItemRejection(
      item: unknown,
      index: number,
      sharedContext: Record<string, unknown> | undefined,
    ): Rejection | undefined {
      if (index >= limits.batchMessages) return { code: "batch_too_many" };
      if (!isObject(item)) return { code: "message_not_object" };
      if (Buffer.byteLength(JSON.stringify(item)) > limits.messageBytes) return { code: "message_too_large" };
      if (!isCallType(item.type)) return { code: "type_invalid", path: "type" };
      if (sharedContext) {
        if (item.context !== undefined && item.context !== null && !isObject(item.context)) {
          return { code: "field_not_object", path: "context" };
        }
        item.context = { ...sharedContext, ...(item.context as Record<string, unknown> | undefined) };
      }
      return checkMessage(item.type, item);
    }

    for (const [path, call] of Object.entries(COLLECTOR_ROUTES)) {
      const bodyLimit = call === "batch" ? limits.batchBytes : limits.messageBytes;
      app.post(path, { bodyLimit }, call === "batch" ? batch : single(call));
      app.options(path, async (request, reply) => {
        reply.headers(cors.preflight(request.headers["access-control-request-headers"]));
        return reply.code(204).send();
      });
    }
  };

  return { plugin, counters };
}

function countBy(errors: readonly BatchError[]): Map<RejectionCode, number> {
  const counts = new Map<RejectionCode, number>();
  for (const { code } of errors) counts.set(code, (counts.get(code) ?? 0) + 1);
  return counts;
}

function errorList(accepted: number, errors: readonly BatchError[]) {
  return {
    accepted,
    rejected: errors.length,
    errors: errors.slice(0, LISTED_ERRORS).map((error) => ({
      index: error.index,
      code: error.code,
      ...(error.path === undefined ? {} : { path: error.path }),
      message: rejectionText({ code: error.code }),
    })),
  };
}
