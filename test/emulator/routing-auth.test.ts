import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { emulatorStore } from "../../src/emulator/index.ts";
import {
  DATASET,
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

const OBJECT_MISSING =
  "does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api";

describe("routing and versions", () => {
  it("answers a known version with Graph's success shape and headers (spec §1.6, §6.1)", async () => {
    const app = emulator();
    const response = await postEvents(app, [purchase()]);
    assert.equal(response.statusCode, 200);
    const body = json(response);
    assert.deepEqual(Object.keys(body), ["events_received", "messages", "fbtrace_id"]);
    assert.equal(body.events_received, 1);
    assert.deepEqual(body.messages, []);
    assert.match(body.fbtrace_id, /^[A-Za-z0-9_-]{11,27}$/);
    assert.equal(response.headers["content-type"], "application/json; charset=UTF-8");
    assert.equal(response.headers["facebook-api-version"], "v24.0");
    assert.equal(response.headers["x-fb-trace-id"], body.fbtrace_id);
    assert.match(String(response.headers["x-fb-rev"]), /^\d+$/);
    assert.ok(response.headers["x-fb-request-id"]);
    assert.equal(response.headers["cache-control"], "private, no-cache, no-store, must-revalidate");
    assert.equal(response.headers.pragma, "no-cache");
    assert.equal(response.headers.expires, "Sat, 01 Jan 2000 00:00:00 GMT");
  });

  it("gives every response its own fbtrace_id", async () => {
    const app = emulator();
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++)
      ids.add(json(await postEvents(app, [purchase({ event_id: `e${i}` })])).fbtrace_id);
    assert.equal(ids.size, 5);
  });

  it("rejects an unknown version with 2500 Unknown path components (spec §1.1)", async () => {
    const app = emulator();
    const response = await postEvents(app, [purchase()], {});
    assert.equal(response.statusCode, 200);
    const unknown = await postJson(app, { data: [purchase()] }, { path: `/v99.0/${DATASET}/events` });
    assert.equal(unknown.statusCode, 400);
    assert.deepEqual(
      { ...graphError(unknown), fbtrace_id: "x" },
      {
        message: `Unknown path components: /${DATASET}/events`,
        type: "OAuthException",
        code: 2500,
        fbtrace_id: "x",
      },
    );
  });

  it("auto-upgrades an expired version and says which version served it (spec §1.7)", async () => {
    // v19.0 expired 2026-05-21; the next usable one on 2026-09-15 is v20.0 (until 2026-09-24).
    const before = emulator();
    const upgraded = await postJson(before, { data: [purchase()] }, { path: `/v19.0/${DATASET}/events` });
    assert.equal(upgraded.statusCode, 200);
    assert.equal(upgraded.headers["facebook-api-version"], "v20.0");
    const later = emulator({ now: () => Date.parse("2026-10-01T00:00:00Z") });
    const afterV20 = await postJson(
      later,
      { data: [purchase({ event_time: Date.parse("2026-10-01T00:00:00Z") / 1000 })] },
      {
        path: `/v20.0/${DATASET}/events`,
      },
    );
    assert.equal(afterV20.statusCode, 200);
    assert.equal(afterV20.headers["facebook-api-version"], "v21.0");
  });

  it("answers GET and DELETE on the edge with Graph's unsupported-request error", async () => {
    const app = emulator();
    for (const method of ["GET", "DELETE"] as const) {
      const response = await app.inject({ method, url: `${EDGE}?access_token=${TOKEN}` });
      assert.equal(response.statusCode, 400);
      const error = graphError(response);
      assert.equal(error.code, 100);
      assert.equal(error.error_subcode, 33);
      assert.equal(error.type, "GraphMethodException");
      assert.equal(
        error.message,
        `Unsupported ${method.toLowerCase()} request. Object with ID '${DATASET}' ${OBJECT_MISSING}`,
      );
    }
  });

  it("answers other paths with 2500 naming the path after the version", async () => {
    const app = emulator();
    const response = await app.inject({
      method: "POST",
      url: `/v24.0/${DATASET}/stats?access_token=${TOKEN}`,
    });
    assert.equal(response.statusCode, 400);
    assert.equal(graphError(response).message, `Unknown path components: /${DATASET}/stats`);
  });
});

describe("access tokens", () => {
  it("accepts the token as Bearer header, access_token query param or body field (spec §1.2)", async () => {
    const app = emulator();
    const bearer = await postJson(app, { data: [purchase({ event_id: "a" })] });
    const query = await postJson(
      app,
      { data: [purchase({ event_id: "b" })] },
      { token: null, query: { access_token: TOKEN } },
    );
    const body = await postJson(
      app,
      { data: [purchase({ event_id: "c" })], access_token: TOKEN },
      { token: null },
    );
    const oauth = await app.inject({
      method: "POST",
      url: EDGE,
      headers: { "content-type": "application/json", authorization: `OAuth ${TOKEN}` },
      payload: { data: [purchase({ event_id: "d" })] },
    });
    for (const response of [bearer, query, body, oauth])
      assert.equal(response.statusCode, 200, response.body);
  });

  it("answers a missing or unparseable token with 401, code 190 (spec §6.3)", async () => {
    const app = emulator();
    for (const token of [null, "", "has spaces in it", 'quoted"token']) {
      const response = await postJson(
        app,
        { data: [purchase()] },
        { token: null, query: token === null ? {} : { access_token: token } },
      );
      assert.equal(response.statusCode, 401, String(token));
      assert.deepEqual(
        { ...graphError(response), fbtrace_id: "x" },
        {
          message: "Invalid OAuth access token - Cannot parse access token",
          type: "OAuthException",
          code: 190,
          fbtrace_id: "x",
        },
      );
    }
  });

  it("answers a token without access to the dataset, or an unknown dataset, with 100/33", async () => {
    const app = emulator({
      datasets: [
        { id: "111", tokens: ["token-a"] },
        { id: "222", tokens: ["token-b"] },
      ],
    });
    const cases = [
      { path: "/v24.0/111/events", token: "token-b", id: "111" },
      { path: "/v24.0/111/events", token: "never-configured", id: "111" },
      { path: "/v24.0/999/events", token: "token-a", id: "999" },
    ];
    for (const { path, token, id } of cases) {
      const response = await postJson(app, { data: [purchase()] }, { path, token });
      assert.equal(response.statusCode, 400);
      assert.deepEqual(
        { ...graphError(response), fbtrace_id: "x" },
        {
          message: `Unsupported post request. Object with ID '${id}' ${OBJECT_MISSING}`,
          type: "GraphMethodException",
          code: 100,
          error_subcode: 33,
          fbtrace_id: "x",
        },
      );
    }
    const ok = await postJson(app, { data: [purchase()] }, { path: "/v24.0/222/events", token: "token-b" });
    assert.equal(ok.statusCode, 200);
  });

  it("answers a configured-expired token with 190/463", async () => {
    const app = emulator({ datasets: [{ id: DATASET, tokens: [TOKEN], expiredTokens: ["old-token"] }] });
    const response = await postJson(app, { data: [purchase()] }, { token: "old-token" });
    assert.equal(response.statusCode, 401);
    const error = graphError(response);
    assert.equal(error.code, 190);
    assert.equal(error.error_subcode, 463);
    assert.equal(error.type, "OAuthException");
    assert.match(String(error.message), /^Error validating access token: Session has expired/);
  });
});

describe("appsecret_proof", () => {
  const appSecret = "app-secret-value";
  const proof = createHmac("sha256", appSecret).update(TOKEN).digest("hex");

  it("requires the proof when the app secret is set", async () => {
    const app = emulator({ appSecret });
    const response = await postEvents(app, [purchase()]);
    assert.equal(response.statusCode, 400);
    assert.deepEqual(
      { ...graphError(response), fbtrace_id: "x" },
      {
        message: "API calls from the server require an appsecret_proof argument",
        type: "GraphMethodException",
        code: 100,
        fbtrace_id: "x",
      },
    );
  });

  it("rejects a wrong proof and accepts HMAC-SHA256(app_secret, token) in query or body", async () => {
    const app = emulator({ appSecret });
    const wrong = await postEvents(app, [purchase()], { appsecret_proof: "0".repeat(64) });
    assert.equal(wrong.statusCode, 400);
    assert.equal(graphError(wrong).message, "Invalid appsecret_proof provided in the API argument");
    assert.equal(graphError(wrong).type, "GraphMethodException");
    const inBody = await postEvents(app, [purchase({ event_id: "a" })], { appsecret_proof: proof });
    assert.equal(inBody.statusCode, 200);
    const inQuery = await postJson(
      app,
      { data: [purchase({ event_id: "b" })] },
      { query: { appsecret_proof: proof } },
    );
    assert.equal(inQuery.statusCode, 200);
  });

  it("ignores a proof when no app secret is configured", async () => {
    const response = await postEvents(emulator(), [purchase()], { appsecret_proof: "whatever" });
    assert.equal(response.statusCode, 200);
  });
});

describe("secrets stay out of logs and answers", () => {
  it("keeps tokens and the app secret out of the request log and error bodies", async () => {
    const secretToken = "EAAsecretTOKENvalue123";
    const appSecret = "super-secret-app-secret";
    const app = emulator({ appSecret, datasets: [{ id: DATASET, tokens: [secretToken] }] });
    const responses = [
      await postJson(app, { data: [purchase()] }, { token: null, query: { access_token: secretToken } }),
      await postJson(
        app,
        { data: [purchase()], access_token: secretToken, appsecret_proof: "bad" },
        { token: null },
      ),
      await postJson(
        app,
        { data: [purchase()] },
        { path: "/v24.0/999/events", query: { access_token: secretToken } },
      ),
    ];
    const log = JSON.stringify(emulatorStore(app).requests());
    const inspected = (await app.inject({ method: "GET", url: "/_emulator/requests" })).body;
    for (const text of [
      log,
      inspected,
      ...responses.map((r) => r.body),
      JSON.stringify(responses.map((r) => r.headers)),
    ]) {
      assert.ok(!text.includes(secretToken), "token leaked");
      assert.ok(!text.includes(appSecret), "app secret leaked");
    }
    assert.equal(emulatorStore(app).requests().length, 3);
    assert.ok(
      emulatorStore(app)
        .requests()
        .every((entry) => !entry.path.includes("?")),
    );
  });

  it("keeps tokens out of the server log too", async () => {
    let logged = "";
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logged += String(chunk);
        done();
      },
    });
    const app = emulator({ logger: { stream } });
    await postJson(
      app,
      { data: [purchase()] },
      { token: null, query: { access_token: TOKEN, appsecret_proof: "p" } },
    );
    await postJson(app, "{broken", { query: { access_token: TOKEN } });
    assert.match(logged, /\/v24\.0\/1234567890\/events/);
    assert.ok(!logged.includes(TOKEN), logged);
    assert.ok(!logged.includes("authorization"));
  });

  it("returns the clock it was given in the request log", async () => {
    const app = emulator();
    await postEvents(app, [purchase()]);
    assert.equal(emulatorStore(app).requests()[0]?.at, NOW_MS);
  });
});
