import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  classifyResponse,
  describeStop,
  type ErrorClass,
  type GraphErrorBody,
  HTTP_STATUS_RULES,
  META_ERROR_RULES,
} from "../../../src/meta/graph/index.ts";

interface Sample {
  readonly name: string;
  readonly status: number;
  readonly body: string;
  readonly expected: ErrorClass;
}

const envelope = (status: number, error: GraphErrorBody, expected: ErrorClass, name: string): Sample => ({
  name,
  status,
  body: JSON.stringify({ error: { type: "OAuthException", message: "x", fbtrace_id: "AbC123", ...error } }),
  expected,
});

/** Answers of spec §6.1–§6.3, each with the class spec §6.4 gives it. */
const SAMPLES: readonly Sample[] = [
  {
    name: "success",
    status: 200,
    body: '{"events_received":3,"messages":[],"fbtrace_id":"AbC"}',
    expected: "success",
  },
  envelope(
    400,
    { code: 100, error_subcode: 2804003, message: "Invalid parameter" },
    "payload_invalid",
    "too old",
  ),
  envelope(400, { code: 100, error_subcode: 2804016 }, "payload_invalid", "not hashed"),
  envelope(400, { code: 100, error_subcode: 2804009 }, "payload_invalid", "purchase value"),
  envelope(400, { code: 100, error_subcode: 2804050 }, "payload_invalid", "thin user_data"),
  envelope(
    400,
    { code: 100, message: "(#100) param data must be non-empty" },
    "payload_invalid",
    "data empty",
  ),
  envelope(
    400,
    { code: 100, message: "(#100) The parameter data is required" },
    "payload_invalid",
    "data missing",
  ),
  envelope(400, { code: 100, error_subcode: 33, type: "GraphMethodException" }, "config", "unknown dataset"),
  envelope(
    400,
    { code: 100, message: "API calls from the server require an appsecret_proof argument" },
    "config",
    "proof missing",
  ),
  envelope(
    400,
    { code: 100, message: "Invalid appsecret_proof provided in the API argument" },
    "config",
    "bad proof",
  ),
  envelope(403, { code: 10 }, "config", "permission denied"),
  envelope(403, { code: 200 }, "config", "permission error 200"),
  envelope(403, { code: 299 }, "config", "permission error 299"),
  envelope(400, { code: 3 }, "config", "capability"),
  envelope(400, { code: 294 }, "config", "ads_management"),
  envelope(400, { code: 2500, message: "Unknown path components: /x" }, "config", "unknown version"),
  envelope(
    401,
    { code: 190, message: "Invalid OAuth access token - Cannot parse access token" },
    "auth",
    "bad token",
  ),
  envelope(400, { code: 190, error_subcode: 463 }, "auth", "expired token"),
  envelope(400, { code: 190, error_subcode: 460 }, "auth", "password changed"),
  envelope(400, { code: 102 }, "auth", "session"),
  envelope(400, { code: 4 }, "throttle", "app limit"),
  envelope(400, { code: 17, error_subcode: 2446079 }, "throttle", "user limit"),
  envelope(400, { code: 32 }, "throttle", "page limit"),
  envelope(400, { code: 613, error_subcode: 1487742 }, "throttle", "rate limit"),
  envelope(400, { code: 80000 }, "throttle", "BUC 80000"),
  envelope(400, { code: 80004 }, "throttle", "BUC 80004"),
  envelope(400, { code: 80014 }, "throttle", "BUC 80014"),
  envelope(500, { code: 1, message: "An unknown error occurred." }, "transient", "unknown error"),
  envelope(500, { code: 2, is_transient: true }, "transient", "unexpected error"),
  envelope(500, { code: 2 }, "transient", "unexpected error without is_transient"),
  envelope(400, { code: 341 }, "transient", "application limit"),
  envelope(400, { code: 21009 }, "transient", "upload not ready"),
  envelope(400, { code: 9999, is_transient: true }, "transient", "is_transient"),
  envelope(400, { code: 368 }, "policy", "policy block"),
  envelope(400, { code: 5000 }, "permanent", "unknown code, 4xx"),
  envelope(503, { code: 5000 }, "transient", "unknown code, 5xx"),
  envelope(400, { code: -3 }, "permanent", "negative code, 4xx"),
  { name: "401 without JSON", status: 401, body: "Unauthorized", expected: "auth" },
  { name: "429 without JSON", status: 429, body: "", expected: "throttle" },
  envelope(
    413,
    { code: 100, message: "(#100) The request body is too large" },
    "too_large",
    "413 with code 100",
  ),
  { name: "413 from a proxy", status: 413, body: "<html>too large</html>", expected: "too_large" },
  { name: "HTML 502", status: 502, body: "<html>Bad Gateway</html>", expected: "transient" },
  { name: "HTML 200", status: 200, body: "<html>portal</html>", expected: "transient" },
  { name: "truncated 200", status: 200, body: '{"events_rec', expected: "transient" },
  { name: "plain 404", status: 404, body: "not found", expected: "permanent" },
  { name: "code as string", status: 400, body: '{"error":{"code":"190"}}', expected: "auth" },
];

describe("classifyResponse", () => {
  for (const sample of SAMPLES) {
    it(`${sample.name} → ${sample.expected}`, () => {
      assert.equal(classifyResponse(sample.status, sample.body).class, sample.expected);
    });
  }

  it("every rule of both tables is reached by at least one sample", () => {
    const reached = SAMPLES.map((s) => classifyResponse(s.status, s.body).why);
    for (const rule of [...META_ERROR_RULES, ...HTTP_STATUS_RULES]) {
      const hit = reached.some((why) => why === rule.why || why.startsWith(`${rule.why}; `));
      assert.ok(hit, `no sample reaches rule: ${rule.why}`);
    }
  });

  it("keeps Meta's error fields and the success count", () => {
    const rejected = classifyResponse(
      400,
      JSON.stringify({
        error: {
          message: "Invalid parameter",
          type: "OAuthException",
          code: 100,
          error_subcode: 2804003,
          is_transient: false,
          error_user_title: "Event Timestamp Too Old",
          error_user_msg: "The timestamp for this event is too far in the past.",
          fbtrace_id: "A6UyEgg_HdoiRX9duxcBOjb",
        },
      }),
    );
    assert.deepEqual(rejected.error, {
      message: "Invalid parameter",
      type: "OAuthException",
      code: 100,
      error_subcode: 2804003,
      is_transient: false,
      error_user_title: "Event Timestamp Too Old",
      error_user_msg: "The timestamp for this event is too far in the past.",
      fbtrace_id: "A6UyEgg_HdoiRX9duxcBOjb",
    });
    assert.equal(rejected.fbtraceId, "A6UyEgg_HdoiRX9duxcBOjb");
    const ok = classifyResponse(200, '{"events_received":7,"messages":[],"fbtrace_id":"Zz9"}');
    assert.equal(ok.eventsReceived, 7);
    assert.equal(ok.fbtraceId, "Zz9");
  });
});

describe("describeStop", () => {
  const context = { datasetId: "1234567890", apiVersion: "v26.0" };

  it("names an expired token and the remedy", () => {
    const message = describeStop({ code: 190, error_subcode: 463, fbtrace_id: "Tr4ce" }, 401, context);
    assert.match(message, /^Meta rejected the access token \(code 190\/463: expired\)\. /);
    assert.match(message, /Generate a new system-user token/);
    assert.match(message, /META_ACCESS_TOKEN/);
    assert.match(message, /fbtrace_id Tr4ce/);
  });

  it("names the dataset Meta does not know", () => {
    const message = describeStop({ code: 100, error_subcode: 33 }, 400, context);
    assert.match(
      message,
      /dataset 1234567890 does not exist or the access token cannot use it \(code 100\/33\)/,
    );
  });

  it("points at the app secret for appsecret_proof errors and at the version for 2500", () => {
    assert.match(
      describeStop(
        { code: 100, message: "Invalid appsecret_proof provided in the API argument" },
        400,
        context,
      ),
      /META_APP_SECRET/,
    );
    assert.match(describeStop({ code: 2500 }, 400, context), /API version v26\.0/);
  });

  it("handles a bare HTTP 401", () => {
    assert.match(describeStop(undefined, 401, context), /HTTP 401/);
  });
});
