import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emulatorStore } from "../../src/emulator/index.ts";
import {
  EDGE,
  emulator,
  graphError,
  json,
  NOW_MS,
  postEvents,
  postJson,
  purchase,
  TOKEN,
} from "./fixtures.ts";

function form(fields: Record<string, string>) {
  return new URLSearchParams(fields).toString();
}

function multipart(fields: Record<string, string>, file?: { name: string; content: string }) {
  const boundary = "----capisyncboundary";
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  if (file) {
    parts.push(
      `--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="events.json"\r\nContent-Type: application/json\r\n\r\n${file.content}\r\n`,
    );
  }
  return {
    payload: `${parts.join("")}--${boundary}--\r\n`,
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

describe("content types (spec §1.3)", () => {
  it("accepts a JSON body with data as an array of objects", async () => {
    const app = emulator();
    const response = await postEvents(app, [purchase({ event_id: "1" }), purchase({ event_id: "2" })]);
    assert.equal(response.statusCode, 200);
    assert.equal(json(response).events_received, 2);
    assert.equal(emulatorStore(app).events().length, 2);
  });

  it("accepts form-urlencoded data as a JSON array of objects (Graph reference example)", async () => {
    const app = emulator();
    const response = await app.inject({
      method: "POST",
      url: EDGE,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: form({ data: JSON.stringify([purchase()]), access_token: TOKEN }),
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(json(response).events_received, 1);
    assert.equal(
      (emulatorStore(app).events()[0]?.event as { event_name?: string } | undefined)?.event_name,
      "Purchase",
    );
  });

  it("accepts form-urlencoded data as a JSON array of JSON-encoded strings (Python SDK)", async () => {
    const app = emulator();
    const events = [purchase({ event_id: "p1" }), purchase({ event_id: "p2" })];
    const response = await app.inject({
      method: "POST",
      url: EDGE,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: form({
        data: JSON.stringify(events.map((event) => JSON.stringify(event))),
        access_token: TOKEN,
        platforms: JSON.stringify([{ name: "capi-sync", type: "connector", version: "0.1.0" }]),
      }),
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(json(response).events_received, 2);
    assert.deepEqual(
      emulatorStore(app)
        .events()
        .map((received) => received.event),
      events,
    );
  });

  it("accepts multipart/form-data fields like curl -F, and data sent as a file part", async () => {
    const app = emulator();
    const field = multipart({ data: JSON.stringify([purchase({ event_id: "m1" })]), access_token: TOKEN });
    const asField = await app.inject({
      method: "POST",
      url: EDGE,
      headers: { "content-type": field.contentType },
      payload: field.payload,
    });
    assert.equal(asField.statusCode, 200, asField.body);
    const file = multipart(
      { access_token: TOKEN },
      { name: "data", content: JSON.stringify([purchase({ event_id: "m2" })]) },
    );
    const asFile = await app.inject({
      method: "POST",
      url: EDGE,
      headers: { "content-type": file.contentType },
      payload: file.payload,
    });
    assert.equal(asFile.statusCode, 200, asFile.body);
    assert.equal(emulatorStore(app).events().length, 2);
  });

  it("accepts data given as a JSON string inside a JSON body", async () => {
    const response = await postJson(emulator(), { data: JSON.stringify([purchase()]) });
    assert.equal(response.statusCode, 200);
  });

  it("accepts the documented top-level params beside data (spec §1.4)", async () => {
    const response = await postEvents(emulator(), [purchase()], {
      partner_agent: "capisync-0.1",
      namespace_id: "555",
      upload_id: "u-1",
      upload_tag: "store-upload",
      upload_source: "capi-sync",
      platforms: [{ name: "capi-sync", type: "connector" }],
      progress: { start_inclusive: 0, end_exclusive: 1 },
      trace: 0,
    });
    assert.equal(response.statusCode, 200, response.body);
  });
});

describe("data errors (spec §1.5)", () => {
  const dataError = (message: string) => ({ message, type: "OAuthException", code: 100 });
  const strip = (error: Record<string, unknown>) => {
    const { fbtrace_id: _trace, ...rest } = error;
    return rest;
  };

  it("answers a missing data with (#100) The parameter data is required", async () => {
    const response = await postJson(emulator(), { test_event_code: "TEST123" });
    assert.equal(response.statusCode, 400);
    assert.deepEqual(strip(graphError(response)), dataError("(#100) The parameter data is required"));
  });

  it("answers data: [] with (#100) param data must be non-empty, recording nothing", async () => {
    const app = emulator();
    const response = await postEvents(app, []);
    assert.equal(response.statusCode, 400);
    assert.deepEqual(strip(graphError(response)), dataError("(#100) param data must be non-empty"));
    assert.equal(emulatorStore(app).events().length, 0);
  });

  it("answers more than 1000 events with a (#100) error and accepts exactly 1000", async () => {
    const app = emulator();
    const many = (n: number) => Array.from({ length: n }, (_, i) => purchase({ event_id: `e${i}` }));
    const over = await postEvents(app, many(1001));
    assert.equal(over.statusCode, 400);
    assert.equal(graphError(over).code, 100);
    assert.match(String(graphError(over).message), /^\(#100\) /);
    const limit = await postEvents(app, many(1000));
    assert.equal(limit.statusCode, 200);
    assert.equal(json(limit).events_received, 1000);
  });

  it("answers malformed JSON (body, data string, or an element string) with code 100", async () => {
    const app = emulator();
    const badBody = await postJson(app, '{"data": [');
    const badData = await postJson(app, { data: "[{" });
    const badElement = await postJson(app, { data: ['{"event_name":'] });
    const notArray = await postJson(app, { data: { event_name: "Purchase" } });
    for (const response of [badBody, badData, badElement, notArray]) {
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(graphError(response).code, 100);
      assert.equal(graphError(response).type, "OAuthException");
    }
    assert.equal(emulatorStore(app).events().length, 0);
  });

  it("checks the token before the body: a malformed body without a token is a 190", async () => {
    const response = await postJson(emulator(), "{nope", { token: null });
    assert.equal(response.statusCode, 401);
    assert.equal(graphError(response).code, 190);
  });
});

describe("reading bodies (pooled buffers, Fastify's limits)", () => {
  /** Posts `body` over a real socket in `chunk`-byte pieces without a content-length (chunked). */
  async function postChunked(url: string, body: Buffer, chunk: number) {
    const { request } = await import("node:http");
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${url}${EDGE}?access_token=${TOKEN}`,
        { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (part: string) => {
            text += part;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      for (let at = 0; at < body.length; at += chunk) req.write(body.subarray(at, at + chunk));
      req.end();
    });
  }

  it("answers a declared body over the limit with (#100) The request body is too large", async () => {
    const response = await postJson(emulator({ bodyLimit: 2_000 }), {
      data: [purchase({ note: "x".repeat(3_000) })],
    });
    assert.equal(response.statusCode, 413);
    assert.equal(graphError(response).message, "(#100) The request body is too large");
  });

  it("reads a chunked body past the first buffer, with characters split across chunks, and bodies side by side", async () => {
    const { startEmulator } = await import("../../src/emulator/index.ts");
    const running = await startEmulator({ port: 0, now: () => NOW_MS });
    try {
      const note = "é".repeat(60_000); // 120 kB of two-byte characters: past the first 64 KiB buffer
      const bodies = [0, 1, 2].map((i) =>
        Buffer.from(
          JSON.stringify({
            data: [
              purchase({
                event_id: `chunked-${i}`,
                custom_data: { ...(purchase().custom_data as object), note: `${i}${note}` },
              }),
            ],
          }),
        ),
      );
      // 4,999-byte pieces cut some "é" in two; three at once share the buffer pool.
      const answers = await Promise.all(bodies.map((body) => postChunked(running.url, body, 4_999)));
      for (const answer of answers) assert.equal(answer.status, 200, answer.body);
      const stored = running.store
        .events()
        .map((e) => e.event as { event_id: string; custom_data: { note: string } });
      for (let i = 0; i < 3; i++) {
        const event = stored.find((e) => e.event_id === `chunked-${i}`);
        assert.equal(event?.custom_data.note, `${i}${note}`);
      }
    } finally {
      await running.close();
    }
  });

  it("answers a chunked body that grows over the limit with the same error", async () => {
    const { startEmulator } = await import("../../src/emulator/index.ts");
    const running = await startEmulator({ port: 0, bodyLimit: 50_000, now: () => NOW_MS });
    try {
      const body = Buffer.from(JSON.stringify({ data: [purchase({ note: "x".repeat(80_000) })] }));
      const answer = await postChunked(running.url, body, 8_192);
      assert.equal(answer.status, 413);
      assert.equal((JSON.parse(answer.body) as { error: { code: number } }).error.code, 100);
    } finally {
      await running.close();
    }
  });

  it("recovers from a client that leaves in the middle of a body", async () => {
    const { startEmulator } = await import("../../src/emulator/index.ts");
    const { connect } = await import("node:net");
    const running = await startEmulator({ port: 0, now: () => NOW_MS });
    try {
      const { port } = new URL(running.url);
      for (let i = 0; i < 3; i++) {
        const socket = connect(Number(port), "127.0.0.1");
        await new Promise((resolve) => socket.once("connect", resolve));
        socket.write(
          `POST ${EDGE}?access_token=${TOKEN} HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 200000\r\n\r\n`,
        );
        socket.write(`{"data":[${"1".repeat(70_000)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        socket.destroy();
      }
      const body = JSON.stringify({ data: [purchase({ event_id: "after-abort" })] });
      const answer = await postChunked(running.url, Buffer.from(body), 100);
      assert.equal(answer.status, 200, answer.body);
      assert.ok(
        running.store.events().some((e) => (e.event as { event_id?: string }).event_id === "after-abort"),
      );
    } finally {
      await running.close();
    }
  });
});
