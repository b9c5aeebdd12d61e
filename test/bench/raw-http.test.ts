// The collector benchmark's load generator: it must count only full 200 answers as acknowledged,
// reuse keep-alive connections, and fail (never hang) when the server drops, refuses or closes.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { after, describe, it } from "node:test";
import { RawHttpClient } from "../../bench/raw-http.ts";

async function listening<S extends Server | TcpServer>(server: S): Promise<{ server: S; url: string }> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("the collector benchmark's HTTP client", () => {
  const servers: (Server | TcpServer)[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  it("answers every request with its status over at most its connections, and sends the body", async () => {
    let connections = 0;
    const bodies: string[] = [];
    const { server, url } = await listening(
      createServer((request, response) => {
        let body = "";
        request.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        request.on("end", () => {
          bodies.push(body);
          response.statusCode = body.includes("bad") ? 400 : 200;
          response.end(JSON.stringify({ success: response.statusCode === 200, pad: "x".repeat(5000) }));
        });
      }),
    );
    server.on("connection", () => connections++);
    servers.push(server);
    const client = new RawHttpClient(url, { connections: 3, headers: { authorization: "Basic a2V5Og==" } });
    const statuses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        client.post("/v1/track", i % 10 === 0 ? '{"bad":1}' : `{"n":${i}}`),
      ),
    );
    client.close();
    assert.equal(statuses.filter((status) => status === 200).length, 54);
    assert.equal(statuses.filter((status) => status === 400).length, 6);
    assert.equal(bodies.length, 60);
    assert.ok(bodies.includes('{"n":59}'));
    assert.ok(connections <= 3, `${connections} connections`);
  });

  it("rejects, and does not hang, when the server drops connections or is not there", async () => {
    const { server, url } = await listening(createTcpServer((socket) => socket.destroy()));
    servers.push(server);
    const dropped = new RawHttpClient(url, { connections: 1, headers: {} });
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => dropped.post("/", "{}")));
    assert.deepEqual(
      results.map((result) => result.status),
      ["rejected", "rejected", "rejected", "rejected"],
    );
    const refused = new RawHttpClient("http://127.0.0.1:1", { connections: 1, headers: {} });
    const answers = await Promise.allSettled([refused.post("/", "{}"), refused.post("/", "{}")]);
    assert.deepEqual(
      answers.map((result) => result.status),
      ["rejected", "rejected"],
    );
  });

  it("opens a new connection after a server's Connection: close", async () => {
    let connections = 0;
    const { server, url } = await listening(
      createServer((request, response) => {
        request.resume();
        request.on("end", () => {
          response.setHeader("connection", "close");
          response.end("{}");
        });
      }),
    );
    server.on("connection", () => connections++);
    servers.push(server);
    const client = new RawHttpClient(url, { connections: 1, headers: {} });
    assert.deepEqual(
      await Promise.all([client.post("/", "{}"), client.post("/", "{}"), client.post("/", "{}")]),
      [200, 200, 200],
    );
    assert.equal(connections, 3);
  });
});
