// Request loggers: Fastify's per-request child (bound to the request id) is made only when the
// request writes a line, and such a line still carries the id and passes through redaction.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { buildHttp } from "../../src/service/http.ts";
import { createServiceLogger } from "../../src/service/logger.ts";
import { ServiceMetrics } from "../../src/service/metrics.ts";

function logged(level: "info" | "debug") {
  const lines: Record<string, unknown>[] = [];
  const destination = new PassThrough();
  destination.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line));
  });
  const logger = createServiceLogger({ level, destination });
  let children = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof child>) => {
    children++;
    return child(...args);
  }) as typeof logger.child;
  const app = buildHttp({
    logger,
    metrics: new ServiceMetrics([]),
    readiness: async () => ({ ready: true, body: {} }),
  });
  app.get("/levels", async (request) => {
    const log = request.log as unknown as { isLevelEnabled(level: string): boolean };
    return { debug: log.isLevelEnabled("debug"), info: log.isLevelEnabled("info") };
  });
  app.get("/probe", async (request) => {
    request.log.info({ email: "Zelda.Http@Example.net" }, "probe called");
    return { ok: true };
  });
  return {
    app,
    lines,
    children: () => children,
    /** Counts from here: Fastify makes children of its own while it starts. */
    ready: async () => {
      await app.ready();
      children = 0;
    },
  };
}

describe("request loggers", () => {
  it("are not made for requests that log nothing at an enabled level", async () => {
    const { app, lines, children, ready } = logged("info");
    await ready();
    for (let i = 0; i < 5; i++) assert.equal((await app.inject({ url: "/healthz" })).statusCode, 200);
    assert.deepEqual((await app.inject({ url: "/levels" })).json(), { debug: false, info: true });
    assert.equal(children(), 0, "no child logger per request");
    assert.deepEqual(lines, []);
    await app.close();
  });

  it("are made when a request logs, with its id, and its lines are redacted", async () => {
    const { app, lines, children, ready } = logged("info");
    await ready();
    assert.equal((await app.inject({ url: "/probe" })).statusCode, 200);
    assert.equal(children(), 1);
    const line = lines.find((l) => l.msg === "probe called");
    assert.ok(line, "the request's line is written");
    assert.equal(typeof line.reqId, "string");
    assert.equal(JSON.stringify(lines).includes("Zelda.Http@Example.net"), false, "redacted");
    await app.close();
  });

  it("write the debug request line, with the id, when debug is on", async () => {
    const { app, lines } = logged("debug");
    assert.equal((await app.inject({ url: "/healthz" })).statusCode, 200);
    const line = lines.find((l) => l.msg === "http request");
    assert.equal(line?.route, "/healthz");
    assert.equal(typeof line?.reqId, "string");
    await app.close();
  });
});
