import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { REQUEST_END_CHANNEL, REQUEST_START_CHANNEL } from "../../../src/meta/graph/index.ts";
import { GraphTransport } from "../../../src/meta/graph/transport.ts";

type Handler = (request: IncomingMessage, body: Buffer, response: ServerResponse) => void;

/** A plain HTTP server on loopback that counts the connections it accepted. */
async function serve(handler: Handler, host = "127.0.0.1") {
  let connections = 0;
  let onSocketClose = (): void => undefined;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => handler(request, Buffer.concat(chunks), response));
  });
  server.on("connection", (socket) => {
    connections++;
    socket.on("close", () => onSocketClose());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const url = host.includes(":") ? `http://[${host}]:${port}` : `http://${host}:${port}`;
  return {
    url,
    connections: () => connections,
    onClose: (listener: () => void) => {
      onSocketClose = listener;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const json = { "content-type": "application/json" };

describe("GraphTransport (node:http keep-alive)", () => {
  it("posts the body with its length under the base path and returns status, headers and text", async () => {
    const seen: Array<{ path?: string; length?: string; auth?: string; body: string }> = [];
    const server = await serve((request, body, response) => {
      seen.push({
        path: request.url,
        length: request.headers["content-length"],
        auth: request.headers.authorization,
        body: body.toString("utf8"),
      });
      response.writeHead(400, { "content-type": "application/json", "x-fb-trace-id": "T1" });
      response.end('{"error":{"code":100,"message":"é"}}');
    });
    const transport = new GraphTransport({ graphUrl: `${server.url}/graph/`, timeoutMs: 5000 });
    try {
      const body = Buffer.from('{"data":[{"event_name":"Purchase","x":"ü"}]}');
      const result = await transport.post("/v24.0/123/events", { ...json, authorization: "Bearer t" }, body);
      assert.equal(result.kind, "response");
      assert.ok(result.kind === "response");
      assert.equal(result.status, 400);
      assert.equal(result.headers["x-fb-trace-id"], "T1");
      assert.equal(result.body, '{"error":{"code":100,"message":"é"}}');
      assert.deepEqual(seen, [
        {
          path: "/graph/v24.0/123/events",
          length: String(body.byteLength),
          auth: "Bearer t",
          body: body.toString("utf8"),
        },
      ]);
    } finally {
      await transport.close();
      await server.close();
    }
  });

  it("keeps connections alive: 40 requests, 4 at a time, open 4 connections", async () => {
    const server = await serve((_request, _body, response) => {
      response.writeHead(200, json);
      response.end("{}");
    });
    const transport = new GraphTransport({ graphUrl: server.url, timeoutMs: 5000 });
    try {
      const body = Buffer.alloc(200_000, 0x61);
      for (let round = 0; round < 10; round++) {
        const results = await Promise.all([1, 2, 3, 4].map(() => transport.post("/e", json, body)));
        assert.ok(results.every((r) => r.kind === "response" && r.status === 200));
      }
      assert.equal(server.connections(), 4);
    } finally {
      await transport.close();
      await server.close();
    }
  });

  it("reaches an IPv6 literal", async (t) => {
    const server = await serve((_request, _body, response) => response.end("ok"), "::1").catch(
      () => undefined,
    );
    if (server === undefined) {
      assert.notEqual(process.env.CI, "true", "IPv6 loopback is missing in CI");
      t.skip("no IPv6 loopback on this machine");
      return;
    }
    const transport = new GraphTransport({ graphUrl: server.url, timeoutMs: 5000 });
    try {
      const result = await transport.post("/e", json, Buffer.from("{}"));
      assert.ok(result.kind === "response" && result.body === "ok");
    } finally {
      await transport.close();
      await server.close();
    }
  });

  it("turns a silent server into a timeout and a refused port into a network failure with its code", async () => {
    const server = await serve(() => undefined);
    const transport = new GraphTransport({ graphUrl: server.url, timeoutMs: 150 });
    try {
      const started = performance.now();
      assert.deepEqual(await transport.post("/e", json, Buffer.from("{}")), {
        kind: "failure",
        reason: "timeout",
        code: "TIMEOUT",
      });
      assert.ok(performance.now() - started < 2000);
    } finally {
      await transport.close();
      await server.close();
    }
    const refused = new GraphTransport({ graphUrl: server.url, timeoutMs: 5000 });
    try {
      assert.deepEqual(await refused.post("/e", json, Buffer.from("{}")), {
        kind: "failure",
        reason: "network",
        code: "ECONNREFUSED",
      });
    } finally {
      await refused.close();
    }
  });

  it("reports a connection the server drops mid-answer as a network failure", async () => {
    const server = await serve((_request, _body, response) => {
      response.writeHead(200, { ...json, "content-length": "100" });
      response.write('{"events_rec');
      setTimeout(() => response.socket?.destroy(), 20);
    });
    const transport = new GraphTransport({ graphUrl: server.url, timeoutMs: 5000 });
    try {
      const result = await transport.post("/e", json, Buffer.from("{}"));
      assert.deepEqual(result, { kind: "failure", reason: "network", code: "ECONNRESET" });
    } finally {
      await transport.close();
      await server.close();
    }
  });

  it("answers a request Node refuses to build (a token with a line break) as a failure, never a throw", async () => {
    const server = await serve((_request, _body, response) => response.end("{}"));
    const transport = new GraphTransport({ graphUrl: server.url, timeoutMs: 5000 });
    const events: string[] = [];
    const onStart = () => events.push("start");
    const onEnd = () => events.push("end");
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    subscribe(REQUEST_START_CHANNEL, onStart);
    subscribe(REQUEST_END_CHANNEL, onEnd);
    process.on("unhandledRejection", onUnhandled);
    try {
      const token = "EAAB-secret-token\n";
      const result = await transport.post(
        "/e",
        { ...json, authorization: `Bearer ${token}` },
        Buffer.from("{}"),
      );
      assert.deepEqual(result, { kind: "failure", reason: "network", code: "ERR_INVALID_CHAR" });
      assert.ok(!JSON.stringify(result).includes("secret"));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      assert.deepEqual(events, ["start", "end"]);
      assert.equal(server.connections(), 0);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      unsubscribe(REQUEST_START_CHANNEL, onStart);
      unsubscribe(REQUEST_END_CHANNEL, onEnd);
      await transport.close();
      await server.close();
    }
  });

  it("refuses a Graph URL that is not http or https", () => {
    for (const graphUrl of ["ftp://graph.facebook.com", "file:///tmp/x"]) {
      assert.throws(() => new GraphTransport({ graphUrl, timeoutMs: 5000 }), /http or https/);
    }
  });

  it("gives a repeated header as a list, like undici did, and a single one as its value", async () => {
    const server = await serve((_request, _body, response) => {
      response.setHeader("x-app-usage", ['{"call_count":1}', '{"call_count":2}']);
      response.setHeader("retry-after", "3");
      response.end("\uFEFF{}");
    });
    const transport = new GraphTransport({ graphUrl: server.url, timeoutMs: 5000 });
    try {
      const result = await transport.post("/e", json, Buffer.from("{}"));
      assert.ok(result.kind === "response");
      assert.deepEqual(result.headers["x-app-usage"], ['{"call_count":1}', '{"call_count":2}']);
      assert.equal(result.headers["retry-after"], "3");
      assert.equal(result.body, "{}", "a byte-order mark is not part of the text");
    } finally {
      await transport.close();
      await server.close();
    }
  });

  it("times out an answer that stalls after its headers, and publishes its end once", async () => {
    const server = await serve((_request, _body, response) => {
      response.writeHead(200, { ...json, "content-length": "100" });
      response.write('{"events_rec');
    });
    const transport = new GraphTransport({ graphUrl: server.url, timeoutMs: 150 });
    let ends = 0;
    const onEnd = () => ends++;
    subscribe(REQUEST_END_CHANNEL, onEnd);
    try {
      assert.deepEqual(await transport.post("/e", json, Buffer.from("{}")), {
        kind: "failure",
        reason: "timeout",
        code: "TIMEOUT",
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(ends, 1);
    } finally {
      unsubscribe(REQUEST_END_CHANNEL, onEnd);
      await transport.close();
      await server.close();
    }
  });

  it("after close: no socket is left open and a new request is refused without touching the network", async () => {
    let closed = 0;
    const server = await serve((_request, _body, response) => response.end("{}"));
    const transport = new GraphTransport({ graphUrl: server.url, timeoutMs: 5000 });
    try {
      await Promise.all([1, 2, 3].map(() => transport.post("/e", json, Buffer.from("{}"))));
      assert.equal(server.connections(), 3);
      server.onClose(() => closed++);
      await transport.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(closed, 3, "every kept-alive socket is closed");
      assert.deepEqual(await transport.post("/e", json, Buffer.from("{}")), {
        kind: "failure",
        reason: "network",
        code: "CLIENT_CLOSED",
      });
      assert.equal(server.connections(), 3);
    } finally {
      await server.close();
    }
  });

  it("publishes each request's start and end in the caller's async context; close waits for it", async () => {
    const server = await serve((_request, _body, response) => {
      setTimeout(() => {
        response.writeHead(200, json);
        response.end("{}");
      }, 100);
    });
    const transport = new GraphTransport({ graphUrl: server.url, timeoutMs: 5000 });
    const context = new AsyncLocalStorage<string>();
    const events: string[] = [];
    const onStart = (message: unknown) => events.push(`start ${context.getStore()} ${typeof message}`);
    const onEnd = () => events.push("end");
    subscribe(REQUEST_START_CHANNEL, onStart);
    subscribe(REQUEST_END_CHANNEL, onEnd);
    try {
      const answer = context.run("run-1", () => transport.post("/e", json, Buffer.from("{}")));
      assert.deepEqual(events, ["start run-1 object"]);
      await transport.close();
      assert.deepEqual(events, ["start run-1 object", "end"], "close waited for the answer");
      assert.equal((await answer).kind, "response");
    } finally {
      unsubscribe(REQUEST_START_CHANNEL, onStart);
      unsubscribe(REQUEST_END_CHANNEL, onEnd);
      await server.close();
    }
  });
});
