// The emulated endpoint: POST /{version}/{dataset_id}/events, processed in the order of spec §11.
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import multipart from "@fastify/multipart";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { createAuthorizer } from "./auth.ts";
import { textBody } from "./body.ts";
import { errorBody, type Rejection, reject, rejectWith, THROTTLE_ERRORS } from "./errors.ts";
import { type FaultDraw, type FaultKind, FaultPlan } from "./faults.ts";
import { registerInspection } from "./inspect.ts";
import { DEFAULT_DATASETS, DEFAULTS, type EmulatorDataset, type EmulatorOptions } from "./options.ts";
import {
  eventsFromJsonText,
  isRejection,
  type Params,
  type RawBody,
  type ReadParams,
  readEvents,
  readParams,
} from "./params.ts";
import { BUC_THROTTLE, RateLimiter, throttleRejection } from "./rate-limit.ts";
import { compileRules, firstFailure, type RuleContext, warningsFor } from "./rules.ts";
import { EmulatorStore } from "./store.ts";
import { LATEST_VERSION, servedVersion } from "./versions.ts";

/** Graph-style headers of every edge response (spec §1.6). */
const STATIC_HEADERS = {
  "content-type": "application/json; charset=UTF-8",
  "cache-control": "private, no-cache, no-store, must-revalidate",
  pragma: "no-cache",
  expires: "Sat, 01 Jan 2000 00:00:00 GMT",
} as const;

const VERSION_SEGMENT = /^v\d+(\.\d+)?$/;

interface Exchange {
  readonly startedAt: number;
  readonly at: number;
  readonly traceId: string;
  readonly randomness: Buffer;
  version: string | undefined;
  datasetId: string | undefined;
  test: boolean;
  fault: FaultKind | "rateLimit" | undefined;
}

interface Outcome {
  readonly rejection?: Rejection;
  readonly received?: number;
}

function pathOf(url: string): string {
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}

/** Everything one emulator instance holds; `buildEmulator` hides it behind fastify. */
export interface Emulator {
  readonly app: FastifyInstance;
  readonly store: EmulatorStore;
  readonly options: EmulatorOptions;
}

export function createEmulator(options: EmulatorOptions = {}): Emulator {
  const now = options.now ?? Date.now;
  const strict = options.strict ?? false;
  const latencyMs = options.latencyMs ?? 0;
  const bodyLimit = options.bodyLimit ?? DEFAULTS.bodyLimit;
  const datasets: readonly EmulatorDataset[] = options.datasets ?? DEFAULT_DATASETS;
  const faultOptions = options.faults ?? {};
  const faults = new FaultPlan(faultOptions);
  const rateLimiter = options.rateLimit ? new RateLimiter(options.rateLimit, now) : undefined;
  const rules = compileRules(strict, options.ruleOverrides);
  const limits = {
    maxAgeSeconds: options.maxAgeSeconds ?? DEFAULTS.maxAgeSeconds,
    physicalStoreMaxAgeSeconds: options.physicalStoreMaxAgeSeconds ?? DEFAULTS.physicalStoreMaxAgeSeconds,
    maxFutureSeconds: options.maxFutureSeconds ?? DEFAULTS.maxFutureSeconds,
  };
  const ruleContext = (): RuleContext => ({ nowSeconds: Math.floor(now() / 1000), ...limits });

  const authorize = createAuthorizer(datasets, options.appSecret, now);

  const store = new EmulatorStore({
    now,
    dedupWindowMs: (options.dedupWindowSeconds ?? DEFAULTS.dedupWindowSeconds) * 1000,
    offlineDedupWindowMs: (options.offlineDedupWindowSeconds ?? DEFAULTS.offlineDedupWindowSeconds) * 1000,
    record: options.recordEvents ?? true,
    requestLogLimit: options.requestLogLimit ?? DEFAULTS.requestLogLimit,
    datasetIds: datasets.map((d) => d.id),
    warningsFor: (event) => warningsFor(event, rules.warnings, ruleContext()),
    decode: eventsFromJsonText,
  });

  const revision = String(1_000_000_000 + (randomBytes(4).readUInt32BE(0) % 1_000_000_000));
  const heldSockets = new Set<Socket>();

  const app = Fastify({
    bodyLimit,
    forceCloseConnections: true,
    logger: options.logger
      ? {
          level: "info",
          ...(typeof options.logger === "object" ? { stream: options.logger.stream } : {}),
          // The default serializer logs the URL, whose query may hold access_token.
          serializers: { req: (req) => ({ method: req.method, url: pathOf(req.url) }) },
        }
      : false,
  });

  // Bodies are kept raw and decoded inside the route, after routing and auth (spec §11).
  app.removeAllContentTypeParsers();
  const keepRaw = (kind: RawBody["kind"]) => textBody(bodyLimit, (text): RawBody => ({ kind, text }));
  app.addContentTypeParser("application/json", keepRaw("json"));
  app.addContentTypeParser("application/x-www-form-urlencoded", keepRaw("form"));
  app.addContentTypeParser("*", keepRaw("other"));
  app.register(multipart, { limits: { fieldSize: bodyLimit, fileSize: bodyLimit } });

  function begin(): Exchange {
    const randomness = randomBytes(96);
    return {
      startedAt: performance.now(),
      at: now(),
      traceId: `A${randomness.toString("base64url", 0, 16).slice(0, 22)}`,
      randomness,
      version: undefined,
      datasetId: undefined,
      test: false,
      fault: undefined,
    };
  }

  function headersFor(exchange: Exchange): Record<string, string> {
    return {
      ...STATIC_HEADERS,
      "facebook-api-version": exchange.version ?? LATEST_VERSION,
      "x-fb-trace-id": exchange.traceId,
      "x-fb-rev": revision,
      "x-fb-request-id": `A${exchange.randomness.toString("base64url", 16, 32).slice(0, 22)}`,
      "x-fb-debug": exchange.randomness.toString("base64", 32, 96),
    };
  }

  function log(request: FastifyRequest, exchange: Exchange, status: number, outcome: Outcome): void {
    const error = outcome.rejection?.error;
    store.logRequest({
      at: exchange.at,
      method: request.method,
      path: pathOf(request.url),
      datasetId: exchange.datasetId,
      version: exchange.version,
      status,
      eventsReceived: outcome.received,
      errorCode: error?.code,
      errorSubcode: error?.error_subcode,
      failedIndex: outcome.rejection?.failedIndex,
      fault: exchange.fault,
      test: exchange.test,
      fbtraceId: exchange.traceId,
      durationMs: Math.round((performance.now() - exchange.startedAt) * 1000) / 1000,
    });
  }

  async function respond(request: FastifyRequest, reply: FastifyReply, exchange: Exchange, outcome: Outcome) {
    if (latencyMs > 0) await sleep(latencyMs);
    const rejection = outcome.rejection;
    const status = rejection?.status ?? 200;
    log(request, exchange, status, outcome);
    reply.code(status).headers(headersFor(exchange));
    if (rejection === undefined) {
      return reply.send(
        `{"events_received":${outcome.received},"messages":[],"fbtrace_id":"${exchange.traceId}"}`,
      );
    }
    if (rejection.headers) reply.headers(rejection.headers);
    if (rejection.failedIndex !== undefined)
      reply.header("x-emulator-failed-index", String(rejection.failedIndex));
    return reply.send(JSON.stringify(errorBody(rejection.error, exchange.traceId)));
  }

  /** Answers nothing: the client sees a reset connection (now) or a hang, then a reset (timeout). */
  function abandon(
    request: FastifyRequest,
    reply: FastifyReply,
    exchange: Exchange,
    outcome: Outcome,
    holdMs: number,
  ) {
    log(request, exchange, 0, outcome);
    reply.hijack();
    const socket = request.raw.socket;
    if (holdMs <= 0) {
      socket.destroy();
      return;
    }
    heldSockets.add(socket);
    const timer = setTimeout(() => {
      heldSockets.delete(socket);
      socket.destroy();
    }, holdMs);
    timer.unref();
    socket.once("close", () => {
      clearTimeout(timer);
      heldSockets.delete(socket);
    });
  }

  function injectedThrottle(datasetId: string, variant: number): Rejection {
    const template = THROTTLE_ERRORS[Math.floor(variant * THROTTLE_ERRORS.length)] ?? BUC_THROTTLE;
    return throttleRejection(
      datasetId,
      template,
      faultOptions.throttleRegainMinutes ?? 0,
      faultOptions.retryAfterSeconds,
    );
  }

  /** Steps 4–7 of spec §11: decode data, check every event, record. */
  function ingest(datasetId: string, read: ReadParams, exchange: Exchange): Outcome {
    if (read.malformed) return { rejection: reject("bodyMalformed") };
    const events = readEvents(read.params.data);
    if (isRejection(events)) return { rejection: events };
    const failure = firstFailure(events, rules.enforced, ruleContext());
    if (failure !== undefined) {
      return {
        rejection: rejectWith(
          failure.rule.template,
          { field: failure.field },
          { failedIndex: failure.index },
        ),
      };
    }
    const code = read.params.test_event_code;
    const testCode = typeof code === "string" && code !== "" ? code : undefined;
    store.accept(datasetId, testCode, events, exchange.traceId, read.jsonText);
    return { received: events.length };
  }

  /** Starts the exchange of a request on a dataset's edge; an unknown version leaves it unrouted. */
  function beginOnEdge(request: FastifyRequest, version: string | undefined) {
    const exchange = begin();
    const datasetId = (request.params as { node: string }).node;
    const served = version === undefined ? LATEST_VERSION : servedVersion(version, exchange.at);
    if (served !== undefined) {
      exchange.version = served;
      exchange.datasetId = datasetId;
    }
    return { exchange, datasetId, knownVersion: served !== undefined };
  }

  async function handleEvents(request: FastifyRequest, reply: FastifyReply, version: string | undefined) {
    const { exchange, datasetId, knownVersion } = beginOnEdge(request, version);
    if (!knownVersion) return respond(request, reply, exchange, { rejection: unknownPath(request.url) });
    const read = await readParams(request, bodyLimit);
    const code = read.params.test_event_code;
    exchange.test = typeof code === "string" && code !== "";
    const denied = authorize({
      datasetId,
      query: (request.query ?? {}) as Params,
      params: read.params,
      headers: request.headers,
    });
    if (denied) return respond(request, reply, exchange, { rejection: denied });

    const allowance = rateLimiter?.take(datasetId);
    if (allowance !== undefined && !allowance.allowed) {
      exchange.fault = "rateLimit";
      const rejection = throttleRejection(
        datasetId,
        BUC_THROTTLE,
        Math.ceil(allowance.waitMs / 60_000),
        Math.ceil(allowance.waitMs / 1000),
      );
      return respond(request, reply, exchange, { rejection });
    }

    const draw: FaultDraw = faults.next();
    exchange.fault = draw.kind;
    switch (draw.kind) {
      case "serverError":
        return respond(request, reply, exchange, { rejection: reject("unknownError") });
      case "transient":
        return respond(request, reply, exchange, { rejection: reject("transient") });
      case "throttle":
        return respond(request, reply, exchange, { rejection: injectedThrottle(datasetId, draw.variant) });
      case "timeout":
        return abandon(request, reply, exchange, {}, faultOptions.timeoutHoldMs ?? 3000);
      case "drop":
        return abandon(request, reply, exchange, {}, 0);
      case "lostResponse":
        return abandon(request, reply, exchange, ingest(datasetId, read, exchange), 0);
      default:
        return respond(request, reply, exchange, ingest(datasetId, read, exchange));
    }
  }

  function unknownPath(url: string): Rejection {
    const segments = pathOf(url)
      .split("/")
      .filter((s) => s !== "");
    const rest =
      segments.length > 0 && VERSION_SEGMENT.test(segments[0] as string) ? segments.slice(1) : segments;
    return reject("unknownPath", { path: `/${rest.join("/")}` });
  }

  async function unsupported(request: FastifyRequest, reply: FastifyReply, version: string | undefined) {
    const { exchange, datasetId, knownVersion } = beginOnEdge(request, version);
    if (!knownVersion) return respond(request, reply, exchange, { rejection: unknownPath(request.url) });
    const name = request.method === "DELETE" ? "unsupportedDelete" : "unsupportedGet";
    return respond(request, reply, exchange, { rejection: reject(name, { id: datasetId }) });
  }

  app.register(async (edge) => {
    const versioned = (request: FastifyRequest) => (request.params as { version: string }).version;
    edge.post("/:version/:node/events", (request, reply) => handleEvents(request, reply, versioned(request)));
    edge.post("/:node/events", (request, reply) => handleEvents(request, reply, undefined));
    for (const method of ["GET", "DELETE"] as const) {
      edge.route({
        method,
        url: "/:version/:node/events",
        handler: (request, reply) => unsupported(request, reply, versioned(request)),
      });
      edge.route({
        method,
        url: "/:node/events",
        handler: (request, reply) => unsupported(request, reply, undefined),
      });
    }
    registerInspection(edge, store, rules, () => {
      faults.reset();
      rateLimiter?.reset();
    });
  });

  app.setNotFoundHandler((request, reply) => {
    if (pathOf(request.url).startsWith("/_emulator/")) {
      return reply.code(404).send({ error: "no such inspection endpoint" });
    }
    return respond(request, reply, begin(), { rejection: unknownPath(request.url) });
  });

  app.setErrorHandler((error: { code?: string; statusCode?: number }, request, reply) => {
    const exchange = begin();
    const tooLarge = error.code === "FST_ERR_CTP_BODY_TOO_LARGE" || error.statusCode === 413;
    const malformed = !tooLarge && error.statusCode !== undefined && error.statusCode < 500;
    const name = tooLarge ? "bodyTooLarge" : malformed ? "bodyMalformed" : "unknownError";
    return respond(request, reply, exchange, { rejection: reject(name) });
  });

  app.addHook("onClose", async () => {
    for (const socket of heldSockets) socket.destroy();
    heldSockets.clear();
  });

  return { app, store, options };
}
