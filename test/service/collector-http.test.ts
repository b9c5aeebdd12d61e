import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  COLLECTOR_ROUTES,
  CollectorConfigError,
  CollectorQueue,
  CollectorQueueError,
  type CollectorServerOptions,
  createCollector,
  type QueuedRow,
  type RejectionCode,
  startCollectorServer,
} from "../../src/service/collector/index.ts";

const WRITE_KEY = "wk_web_1";
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;

interface Running {
  readonly url: string;
  readonly queue: CollectorQueue;
  readonly counters: ReturnType<typeof createCollector>["counters"];
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  rows(): Promise<QueuedRow[]>;
}

async function start(t: TestContext, options: Partial<CollectorServerOptions> = {}): Promise<Running> {
  // In memory: these tests are about HTTP; the file's durability has its own tests.
  const queue = await CollectorQueue.open({ path: ":memory:" });
  const server = await startCollectorServer({
    queue,
    connections: [
      { name: "web", writeKeys: [WRITE_KEY, "wk_web_2"] },
      { name: "app", writeKeys: ["wk_app"] },
    ],
    ...options,
  });
  t.after(async () => {
    await server.close();
    await queue.close();
  });
  return {
    url: server.url,
    queue,
    counters: server.collector.counters,
    post: (path, body, headers = {}) =>
      fetch(server.url + path, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: basic(WRITE_KEY), ...headers },
        body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
      }),
    rows: async () => [...(await queue.claim("web", 1000)), ...(await queue.claim("app", 1000))],
  };
}

const contextOf = (row: QueuedRow | undefined) => (row?.message.context ?? {}) as Record<string, unknown>;

const TRACK = { userId: "u1", event: "Order Completed", messageId: "m-1", properties: { revenue: 10 } };

describe("endpoints", () => {
  const examples: Record<string, Record<string, unknown>> = {
    track: { anonymousId: "a1", event: "Product Viewed" },
    page: { anonymousId: "a1", name: "Home" },
    screen: { anonymousId: "a1", name: "Home" },
    identify: { userId: "u1", traits: { email: "x@example.com" } },
    group: { userId: "u1", groupId: "g1" },
    alias: { userId: "u1", previousId: "a1" },
  };
  for (const [path, call] of Object.entries(COLLECTOR_ROUTES)) {
    if (call === "batch") continue;
    test(`POST ${path} stores a ${call} call`, async (t) => {
      const collector = await start(t);
      const response = await collector.post(path, { ...examples[call], messageId: `id-${path}` });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { success: true });
      const [row] = await collector.rows();
      assert.equal(row?.connection, "web");
      assert.equal(row?.message.type, call);
      assert.equal(row?.message.messageId, `id-${path}`);
    });
  }

  for (const path of ["/v1/batch", "/v1/b", "/v1/import"]) {
    test(`POST ${path} stores each message of the batch with its own type`, async (t) => {
      const collector = await start(t);
      const response = await collector.post(path, {
        batch: [
          { type: "track", ...TRACK },
          { type: "page", anonymousId: "a1", messageId: "m-2" },
          { type: "identify", userId: "u1", messageId: "m-3", traits: { email: "x@example.com" } },
        ],
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { success: true });
      const rows = await collector.rows();
      assert.deepEqual(
        rows.map((row) => [row.message.type, row.message.messageId]),
        [
          ["track", "m-1"],
          ["page", "m-2"],
          ["identify", "m-3"],
        ],
      );
    });
  }

  test("stored messages keep their fields and gain receivedAt; the write key is not stored", async (t) => {
    const collector = await start(t);
    const message = {
      ...TRACK,
      timestamp: "2026-11-20T14:03:00.000Z",
      sentAt: "2026-11-20T14:03:01.000Z",
      context: { ip: "198.51.100.4", userAgent: "Mozilla/5.0 test", traits: { email: "x@example.com" } },
      writeKey: WRITE_KEY,
    };
    assert.equal((await collector.post("/v1/track", message, { authorization: "" })).status, 200);
    const [row] = await collector.rows();
    const { writeKey: _dropped, ...expected } = message;
    assert.deepEqual(
      { ...row?.message, receivedAt: undefined },
      { ...expected, type: "track", receivedAt: undefined },
    );
    assert.match(String(row?.message.receivedAt), /^\d{4}-\d{2}-\d{2}T/);
    assert.deepEqual(row?.notes, [], "context.ip and context.userAgent win over the request's");
  });

  test("a gzip body (RudderStack) and a text/plain body (analytics.js) are read as JSON", async (t) => {
    const collector = await start(t);
    const gzipped = gzipSync(JSON.stringify({ batch: [{ type: "track", ...TRACK }] }));
    assert.equal((await collector.post("/v1/batch", gzipped, { "content-encoding": "gzip" })).status, 200);
    const plain = { ...TRACK, messageId: "m-plain", writeKey: WRITE_KEY };
    assert.equal(
      (await collector.post("/v1/t", plain, { "content-type": "text/plain", authorization: "" })).status,
      200,
    );
    assert.deepEqual(
      (await collector.rows()).map((row) => row.message.messageId),
      ["m-1", "m-plain"],
    );
  });

  test("a batch's top-level context applies to every message; the message's own keys win", async (t) => {
    const collector = await start(t);
    const response = await collector.post("/v1/batch", {
      context: { locale: "da-DK", ip: "198.51.100.9" },
      batch: [
        { type: "track", ...TRACK },
        { type: "track", ...TRACK, messageId: "m-2", context: { ip: "198.51.100.1" } },
      ],
    });
    assert.equal(response.status, 200);
    const rows = await collector.rows();
    assert.deepEqual(
      rows.map((row) => row.message.context),
      [
        { locale: "da-DK", ip: "198.51.100.9", userAgent: "node" },
        { locale: "da-DK", ip: "198.51.100.1", userAgent: "node" },
      ],
    );
  });
});

describe("write keys", () => {
  test("Basic auth with the write key as user name selects the connection; so does any of its keys", async (t) => {
    const collector = await start(t);
    assert.equal((await collector.post("/v1/track", TRACK, { authorization: basic("wk_app") })).status, 200);
    assert.equal(
      (await collector.post("/v1/track", TRACK, { authorization: basic("wk_web_2") })).status,
      200,
    );
    const encodedWithoutColon = `Basic ${Buffer.from("wk_app").toString("base64")}`;
    assert.equal(
      (await collector.post("/v1/track", TRACK, { authorization: encodedWithoutColon })).status,
      200,
    );
    assert.equal(collector.queue.depth("app"), 2);
    assert.equal(collector.queue.depth("web"), 1);
  });

  test("writeKey in the body authenticates when no Basic header is sent (Bearer is not a write key)", async (t) => {
    const collector = await start(t);
    const response = await collector.post(
      "/v1/batch",
      { writeKey: "wk_app", batch: [{ type: "track", ...TRACK }] },
      { authorization: "Bearer some-oauth-token" },
    );
    assert.equal(response.status, 200);
    assert.equal(collector.queue.depth("app"), 1);
  });

  const refusals: [string, Record<string, string>, Record<string, unknown>, RejectionCode][] = [
    ["no key at all", { authorization: "" }, TRACK, "write_key_missing"],
    ["an unknown Basic key", { authorization: basic("nope") }, TRACK, "write_key_invalid"],
    ["an unknown body key", { authorization: "" }, { ...TRACK, writeKey: "nope" }, "write_key_invalid"],
  ];
  for (const [name, headers, body, code] of refusals) {
    test(`401 for ${name}`, async (t) => {
      const collector = await start(t);
      const response = await collector.post("/v1/track", body, headers);
      assert.equal(response.status, 401);
      const answer = (await response.json()) as { success: boolean; code: string; message: string };
      assert.equal(answer.success, false);
      assert.equal(answer.code, code);
      assert.ok(!answer.message.includes("nope"), "the refused key is not echoed");
      assert.equal(collector.queue.depth(), 0);
      assert.equal(collector.counters.snapshot().rejected[code], 1);
    });
  }

  test("a key shared by two connections, or a connection without keys, is a configuration error", async () => {
    const queue = { append: async () => {}, depth: () => 0 };
    assert.throws(
      () =>
        createCollector({
          queue,
          connections: [
            { name: "a", writeKeys: ["k"] },
            { name: "b", writeKeys: ["k"] },
          ],
        }),
      CollectorConfigError,
    );
    assert.throws(
      () => createCollector({ queue, connections: [{ name: "a", writeKeys: [] }] }),
      CollectorConfigError,
    );
  });
});

describe("bad requests", () => {
  const cases: [string, string, unknown, RejectionCode][] = [
    ["malformed JSON", "/v1/track", '{"userId": "u1", "event": ', "body_invalid_json"],
    ["an array body", "/v1/track", [TRACK], "body_not_object"],
    ["a track without event", "/v1/track", { userId: "u1" }, "event_missing"],
    ["a track with an empty event", "/v1/track", { userId: "u1", event: "" }, "event_missing"],
    ["neither userId nor anonymousId", "/v1/page", { name: "Home" }, "identity_missing"],
    ["an unreadable timestamp", "/v1/track", { ...TRACK, timestamp: "last tuesday" }, "timestamp_invalid"],
    ["an impossible date", "/v1/track", { ...TRACK, timestamp: "2026-02-30T10:00:00Z" }, "timestamp_invalid"],
    ["an unreadable sentAt", "/v1/track", { ...TRACK, sentAt: "soon" }, "timestamp_invalid"],
    ["a numeric messageId", "/v1/track", { ...TRACK, messageId: 42 }, "message_id_invalid"],
    [
      "a messageId over 100 characters",
      "/v1/track",
      { ...TRACK, messageId: "x".repeat(101) },
      "message_id_invalid",
    ],
    ["properties that are not an object", "/v1/track", { ...TRACK, properties: [1] }, "field_not_object"],
    ["an event that is not a string", "/v1/track", { ...TRACK, event: 7 }, "field_not_string"],
    ["an alias without previousId", "/v1/alias", { userId: "u1" }, "previous_id_missing"],
    ["a group without groupId", "/v1/group", { userId: "u1" }, "group_id_missing"],
    ["a batch without a batch array", "/v1/batch", { messages: [] }, "batch_missing"],
  ];
  for (const [name, path, body, code] of cases) {
    test(`400 ${code} for ${name}`, async (t) => {
      const collector = await start(t);
      const response = await collector.post(path, body);
      assert.equal(response.status, 400);
      const answer = (await response.json()) as { success: boolean; code: string };
      assert.equal(answer.success, false);
      assert.equal(answer.code, code);
      assert.equal(collector.queue.depth(), 0);
    });
  }

  test("error answers never quote the body", async (t) => {
    const collector = await start(t);
    const secret = "jane.doe@example.com";
    for (const body of [`{"email": "${secret}", `, { userId: secret }, { ...TRACK, timestamp: secret }]) {
      const text = await (await collector.post("/v1/track", body)).text();
      assert.ok(!text.includes(secret), text);
    }
  });

  test("one bad message in a batch does not reject the others", async (t) => {
    const collector = await start(t);
    const response = await collector.post("/v1/batch", {
      batch: [
        { type: "track", ...TRACK },
        { type: "track", userId: "u1", messageId: "m-no-event" },
        { type: "launch", userId: "u1" },
        "not an object",
        { type: "page", anonymousId: "a1", messageId: "m-page" },
      ],
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      success: true,
      accepted: 2,
      rejected: 3,
      errors: [
        { index: 1, code: "event_missing", message: "track call needs an `event` name" },
        {
          index: 2,
          code: "type_invalid",
          path: "type",
          message: "`type` must be track, page, screen, identify, group or alias",
        },
        { index: 3, code: "message_not_object", message: "message must be a JSON object" },
      ],
    });
    assert.deepEqual(
      (await collector.rows()).map((row) => row.message.messageId),
      ["m-1", "m-page"],
    );
    const rejected = collector.counters.snapshot().rejected;
    assert.equal(rejected.event_missing, 1);
    assert.equal(rejected.type_invalid, 1);
    assert.equal(rejected.message_not_object, 1);
  });

  test("a batch where every message is bad is a 400", async (t) => {
    const collector = await start(t);
    const response = await collector.post("/v1/batch", { batch: [{ type: "track", userId: "u1" }] });
    assert.equal(response.status, 400);
    const answer = (await response.json()) as { code: string; rejected: number };
    assert.equal(answer.code, "batch_all_rejected");
    assert.equal(answer.rejected, 1);
  });

  test("messages beyond the batch limit are rejected, the first ones kept", async (t) => {
    const collector = await start(t, { limits: { batchMessages: 2 } });
    const batch = ["a", "b", "c"].map((id) => ({ type: "track", ...TRACK, messageId: id }));
    const answer = (await (await collector.post("/v1/batch", { batch })).json()) as { accepted: number };
    assert.equal(answer.accepted, 2);
    assert.deepEqual(
      (await collector.rows()).map((row) => row.message.messageId),
      ["a", "b"],
    );
  });
});

describe("size limits", () => {
  test("413 for a single call over 32 KB and a batch over 500 KB", async (t) => {
    const collector = await start(t);
    const big = { ...TRACK, properties: { notes: "x".repeat(33 * 1024) } };
    assert.equal((await collector.post("/v1/track", big)).status, 413);
    const batch = Array.from({ length: 20 }, (_, i) => ({
      type: "track",
      ...TRACK,
      messageId: `m${i}`,
      pad: "y".repeat(26 * 1024),
    }));
    const response = await collector.post("/v1/batch", { batch });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { code: string }).code, "body_too_large");
    assert.equal(collector.queue.depth(), 0);
  });

  test("the limit holds after decompression: a small gzip body that inflates past it is a 413", async (t) => {
    const collector = await start(t);
    const bomb = gzipSync(
      JSON.stringify({ batch: [{ type: "track", ...TRACK, pad: "z".repeat(2 * 1024 * 1024) }] }),
    );
    assert.ok(bomb.length < 500 * 1024);
    const response = await collector.post("/v1/batch", bomb, { "content-encoding": "gzip" });
    assert.equal(response.status, 413);
  });

  test("a message over 32 KB inside a batch is rejected alone", async (t) => {
    const collector = await start(t);
    const response = await collector.post("/v1/batch", {
      batch: [
        { type: "track", ...TRACK, pad: "y".repeat(33 * 1024) },
        { type: "track", ...TRACK, messageId: "small" },
      ],
    });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as { errors: { code: string }[] };
    assert.equal(answer.errors[0]?.code, "message_too_large");
    assert.deepEqual(
      (await collector.rows()).map((row) => row.message.messageId),
      ["small"],
    );
  });

  test("an unknown Content-Encoding is a 415, a corrupt gzip body a 400", async (t) => {
    const collector = await start(t);
    assert.equal((await collector.post("/v1/track", TRACK, { "content-encoding": "zstd" })).status, 415);
    assert.equal((await collector.post("/v1/track", "not gzip", { "content-encoding": "gzip" })).status, 400);
  });
});

describe("CORS", () => {
  test("default: any origin, without credentials; preflight answers 204", async (t) => {
    const collector = await start(t);
    const preflight = await fetch(`${collector.url}/v1/t`, {
      method: "OPTIONS",
      headers: {
        origin: "https://shop.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
    assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /POST/);
    assert.equal(preflight.headers.get("access-control-allow-headers"), "content-type");
    assert.equal(preflight.headers.get("access-control-allow-credentials"), null);
    const response = await collector.post("/v1/t", TRACK, { origin: "https://shop.example" });
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
  });

  test("an origin list echoes allowed origins (with credentials when enabled) and refuses others", async (t) => {
    const collector = await start(t, { cors: { origins: ["https://shop.example"], credentials: true } });
    const allowed = await collector.post("/v1/t", TRACK, { origin: "https://shop.example" });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://shop.example");
    assert.equal(allowed.headers.get("access-control-allow-credentials"), "true");
    assert.match(allowed.headers.get("vary") ?? "", /Origin/);

    const unauthorized = await collector.post("/v1/t", TRACK, {
      origin: "https://shop.example",
      authorization: basic("x"),
    });
    assert.equal(unauthorized.status, 401);
    assert.equal(
      unauthorized.headers.get("access-control-allow-origin"),
      "https://shop.example",
      "errors carry CORS headers so the browser library can read the status",
    );

    const foreignPreflight = await fetch(`${collector.url}/v1/t`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    assert.equal(foreignPreflight.status, 403);
    assert.equal(foreignPreflight.headers.get("access-control-allow-origin"), null);
    // text/plain posts skip the preflight: the origin check must hold on the POST itself.
    const foreign = await collector.post("/v1/t", TRACK, {
      origin: "https://evil.example",
      "content-type": "text/plain",
    });
    assert.equal(foreign.status, 403);
    assert.equal(collector.queue.depth(), 1);
  });

  test('credentials with origins "*" is a configuration error', () => {
    const queue = { append: async () => {}, depth: () => 0 };
    assert.throws(
      () =>
        createCollector({
          queue,
          connections: [{ name: "a", writeKeys: ["k"] }],
          cors: { origins: "*", credentials: true },
        }),
      CollectorConfigError,
    );
  });
});

describe("enrichment", () => {
  test("_fbp and _fbc cookies fill context.fbp and context.fbc", async (t) => {
    const collector = await start(t);
    const cookie = "theme=dark; _fbp=fb.1.1596403881668.1116446470; _fbc=fb.1.1554763741205.AbCdEf";
    assert.equal((await collector.post("/v1/track", TRACK, { cookie })).status, 200);
    const [row] = await collector.rows();
    const context = row?.message.context as Record<string, unknown>;
    assert.equal(context.fbp, "fb.1.1596403881668.1116446470");
    assert.equal(context.fbc, "fb.1.1554763741205.AbCdEf");
    assert.deepEqual(row?.notes, [
      "ip_from_request",
      "user_agent_from_request",
      "fbp_from_cookie",
      "fbc_from_cookie",
    ]);
  });

  test("values sent in context or properties win over cookies", async (t) => {
    const collector = await start(t);
    const message = {
      ...TRACK,
      context: { fbp: "fb.1.1.from-context" },
      properties: { fbc: "fb.1.2.from-properties" },
    };
    await collector.post("/v1/track", message, { cookie: "_fbp=fb.1.9.cookie; _fbc=fb.1.9.cookie" });
    const [row] = await collector.rows();
    assert.equal(contextOf(row).fbp, "fb.1.1.from-context");
    assert.equal(contextOf(row).fbc, undefined);
    assert.equal(
      (row?.message.properties as Record<string, unknown> | undefined)?.fbc,
      "fb.1.2.from-properties",
    );
    assert.ok(!row?.notes.some((note) => note.startsWith("fb")));
  });

  test("an fbclid in the page URL becomes fbc = fb.1.{event time ms}.{fbclid verbatim}", async (t) => {
    const collector = await start(t);
    const fbclid = "IwAR2xYz_Ab-CdEfGh";
    const message = {
      ...TRACK,
      timestamp: "2026-11-20T14:03:00Z",
      context: { page: { url: `https://shop.example/p?utm_source=fb&fbclid=${fbclid}#top` } },
    };
    await collector.post("/v1/track", message);
    const [row] = await collector.rows();
    assert.equal(contextOf(row).fbc, `fb.1.${Date.UTC(2026, 10, 20, 14, 3)}.${fbclid}`);
    assert.ok(row?.notes.includes("fbc_from_fbclid"));
  });

  test("properties.url is read for an fbclid too; a cookie _fbc wins over an fbclid", async (t) => {
    const collector = await start(t);
    const page = {
      anonymousId: "a1",
      messageId: "p1",
      properties: { url: "https://shop.example/?fbclid=AbC" },
    };
    await collector.post("/v1/page", page);
    await collector.post(
      "/v1/page",
      { ...page, messageId: "p2" },
      { cookie: "_fbc=fb.1.1554763741205.Cookie" },
    );
    const rows = await collector.rows();
    assert.match(String(contextOf(rows[0]).fbc), /^fb\.1\.\d{13}\.AbC$/);
    assert.equal(contextOf(rows[1]).fbc, "fb.1.1554763741205.Cookie");
  });

  test("a message without messageId gets one, noted and counted", async (t) => {
    const collector = await start(t);
    const { messageId: _none, ...message } = TRACK;
    await collector.post("/v1/track", message);
    const [row] = await collector.rows();
    assert.match(String(row?.message.messageId), /^[0-9a-f-]{36}$/);
    assert.ok(row?.notes.includes("message_id_generated"));
    assert.equal(collector.counters.snapshot().enriched.message_id_generated, 1);
  });

  test("the request's address and User-Agent are not the visitor's when a server library sent the call", async (t) => {
    const collector = await start(t);
    const fromServer = {
      ...TRACK,
      context: { library: { name: "@segment/analytics-node", version: "3.1.0" } },
    };
    await collector.post("/v1/track", fromServer, { "user-agent": "analytics-node-next/latest" });
    const direct = { ...TRACK, messageId: "m-2", context: { ...fromServer.context, direct: true } };
    await collector.post("/v1/track", direct, { "user-agent": "Mozilla/5.0 direct" });
    const [server, device] = await collector.rows();
    assert.equal(contextOf(server).ip, undefined);
    assert.equal(contextOf(server).userAgent, undefined);
    assert.equal(contextOf(device).ip, "127.0.0.1");
    assert.equal(contextOf(device).userAgent, "Mozilla/5.0 direct");
  });

  test("X-Forwarded-For is believed only from a trusted proxy", async (t) => {
    const headers = { "x-forwarded-for": "203.0.113.7" };
    const untrusting = await start(t);
    await untrusting.post("/v1/track", TRACK, headers);
    const otherProxy = await start(t, { trustProxy: ["10.0.0.1"] });
    await otherProxy.post("/v1/track", TRACK, headers);
    const trusting = await start(t, { trustProxy: ["127.0.0.1"] });
    await trusting.post("/v1/track", TRACK, headers);
    const ipOf = async (running: Running) =>
      ((await running.rows())[0]?.message.context as Record<string, unknown> | undefined)?.ip;
    assert.equal(await ipOf(untrusting), "127.0.0.1");
    assert.equal(await ipOf(otherProxy), "127.0.0.1");
    assert.equal(await ipOf(trusting), "203.0.113.7");
  });
});

describe("logs", () => {
  test("warnings name the connection and the rule once, never a value", async (t) => {
    const lines: { fields: object; message: string }[] = [];
    const capture = (fields: object, message: string) => lines.push({ fields, message });
    const collector = await start(t, { logger: { warn: capture, error: capture, debug: capture } });
    const secret = "jane.doe@example.com";
    const bad = { type: "track", userId: secret, context: { traits: { email: secret } } };
    const { messageId: _none, ...withoutId } = { ...TRACK, userId: secret };
    for (let i = 0; i < 3; i++) {
      await collector.post("/v1/batch", { batch: [bad, { type: "track", ...withoutId }] });
    }
    await collector.post("/v1/track", { userId: secret });
    const warnings = lines.filter(
      (line) => line.message.includes("rejected") || line.message.includes("messageId"),
    );
    assert.equal(warnings.length, 2, "one warning for the rejection code, one for generated ids");
    assert.deepEqual(warnings[0]?.fields, { connection: "web", code: "event_missing" });
    assert.ok(!JSON.stringify(lines).includes(secret));
    assert.equal(collector.counters.snapshot().rejected.event_missing, 4);
  });
});

describe("durability and back-pressure", () => {
  test("concurrent requests share commits, and every 200 is in the queue", async (t) => {
    const collector = await start(t);
    const requests = 120;
    const responses = await Promise.all(
      Array.from({ length: requests }, (_, i) =>
        collector.post("/v1/track", { ...TRACK, messageId: `c${i}` }),
      ),
    );
    assert.ok(responses.every((response) => response.status === 200));
    const stats = collector.queue.stats();
    assert.equal(stats.rowsAppended, requests);
    assert.ok(stats.commits < requests, `${requests} requests took ${stats.commits} commits`);
    assert.equal(collector.queue.depth("web"), requests);
  });

  test("429 with Retry-After once the queue holds `queuedMessages`", async (t) => {
    const collector = await start(t, { limits: { queuedMessages: 2 } });
    assert.equal(
      (
        await collector.post("/v1/batch", {
          batch: [
            { type: "track", ...TRACK },
            { type: "track", ...TRACK },
          ],
        })
      ).status,
      200,
    );
    const refused = await collector.post("/v1/track", TRACK);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "10");
    assert.equal(collector.queue.depth(), 2);
  });

  test("503 when the queue cannot store: the sender keeps the messages and retries", async (t) => {
    const broken = {
      append: async () => {
        throw new CollectorQueueError("SQLITE_FULL", "collector queue: database or disk is full");
      },
      depth: () => 0,
    };
    const server = await startCollectorServer({
      queue: broken,
      connections: [{ name: "web", writeKeys: [WRITE_KEY] }],
    });
    t.after(() => server.close());
    const response = await fetch(`${server.url}/v1/track`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basic(WRITE_KEY) },
      body: JSON.stringify(TRACK),
    });
    assert.equal(response.status, 503);
    assert.equal(((await response.json()) as { code: string }).code, "queue_unavailable");
  });

  test("counters: requests by status, body bytes, accepted by connection", async (t) => {
    const collector = await start(t);
    const body = JSON.stringify(TRACK);
    await collector.post("/v1/track", body);
    await collector.post("/v1/track", body, { authorization: basic("wk_app") });
    await collector.post("/v1/track", "{");
    const snapshot = collector.counters.snapshot();
    assert.deepEqual(snapshot.requests, { "200": 2, "400": 1 });
    assert.equal(snapshot.bodyBytes, 2 * Buffer.byteLength(body) + 1);
    assert.deepEqual(snapshot.accepted, { web: 1, app: 1 });
  });
});
