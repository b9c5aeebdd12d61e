// The `service:` settings and the service's logger: defaults, refusals that never echo a value, and
// the two redaction layers (pino paths, then every configured secret wherever it shows up in a line).
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { parseConfig } from "../../src/config/load.ts";
import {
  assertSafeExposure,
  configSecrets,
  createServiceLogger,
  isLoopback,
  lineScrubber,
  REDACTED,
  readServiceConfig,
  ServiceConfigError,
} from "../../src/service/index.ts";

function capture(options: Parameters<typeof createServiceLogger>[0]) {
  const destination = new PassThrough();
  const chunks: Buffer[] = [];
  destination.on("data", (c: Buffer) => chunks.push(c));
  const logger = createServiceLogger({ ...options, destination });
  return { logger, text: () => Buffer.concat(chunks).toString("utf8") };
}

describe("service settings", () => {
  it("defaults every setting when the config has no service section", () => {
    assert.deepEqual(readServiceConfig({ connections: {} }), {
      host: "127.0.0.1",
      port: 4200,
      grace_period_ms: 25_000,
      log_level: "info",
    });
  });

  it("refuses bad settings naming the key and the rule, never the value", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ admin_token: "short-secret" }, /service\.admin_token: at least 16 characters/],
      [{ port: 70_000 }, /service\.port/],
      [
        { trusted_proxies: ["172.16.0.0/12", "proxy.internal"] },
        /service\.trusted_proxies\.1: an IP address/,
      ],
      [{ timezone: "Mars/Olympus" }, /service\.timezone: an IANA time zone/],
      [{ log_level: "loud" }, /service\.log_level/],
      [{ unknown_key: true }, /^service: Unrecognized key/],
    ];
    for (const [section, expected] of cases) {
      assert.throws(
        () => readServiceConfig({ service: section }),
        (error: unknown) => {
          assert.ok(error instanceof ServiceConfigError);
          assert.match(error.message, expected);
          for (const v of Object.values(section).flat()) {
            if (typeof v === "string" && v.length > 4) assert.equal(error.message.includes(v), false);
          }
          return true;
        },
      );
    }
    assert.deepEqual(
      readServiceConfig({ service: { trusted_proxies: ["loopback", "::1", "10.0.0.0/8"] } }).trusted_proxies,
      ["loopback", "::1", "10.0.0.0/8"],
    );
  });

  it("tells loopback binds from exposed ones, and refuses exposed ones without a token", () => {
    const table: Array<[string, boolean]> = [
      ["127.0.0.1", true],
      ["127.8.9.10", true],
      ["localhost", true],
      ["::1", true],
      ["[::1]", true],
      ["::ffff:127.0.0.1", true],
      ["0.0.0.0", false],
      ["::", false],
      ["10.1.2.3", false],
      ["myhost.internal", false],
    ];
    for (const [host, loopback] of table) {
      assert.equal(isLoopback(host), loopback, host);
      if (loopback) assertSafeExposure({ host });
      else assert.throws(() => assertSafeExposure({ host }), ServiceConfigError, host);
      assertSafeExposure({ host, admin_token: "a-long-enough-admin-token" });
    }
  });
});

describe("service logger", () => {
  it("finds every secret of a config: tokens, app secrets, database passwords (plain and decoded)", () => {
    const config = parseConfig(
      `connections:
  pg:
    source: { kind: postgres, url: "postgres://reader:p%40ss-w0rd-xyz@db.internal/shop", query: "select 1" }
    key: id
    destination: { dataset_id: "1", access_token: tok-aaaa-1111, app_secret: sec-bbbb-2222 }
  csv:
    source: { kind: csv, path: a.csv }
    key: id
    destination: { dataset_id: "2", access_token: tok-cccc-3333 }
`,
      {},
    );
    const secrets = configSecrets(config);
    for (const expected of [
      "tok-aaaa-1111",
      "sec-bbbb-2222",
      "tok-cccc-3333",
      "postgres://reader:p%40ss-w0rd-xyz@db.internal/shop",
      "p%40ss-w0rd-xyz",
      "p@ss-w0rd-xyz",
    ]) {
      assert.ok(secrets.includes(expected), expected);
    }
    for (const notSecret of ["a.csv", "select 1", "1", "2", "id"])
      assert.equal(secrets.includes(notSecret), false);
  });

  it("replaces configured secrets anywhere in a line: message, nested fields, errors, JSON-escaped", () => {
    const quoted = 'se"cret\\with-escapes';
    const { logger, text } = capture({ level: "debug", secrets: ["tok-aaaa-1111", quoted, "abc"] });
    logger.info({ detail: { deeper: ["x tok-aaaa-1111 y"] } }, "token tok-aaaa-1111 in a message");
    logger.error({ err: new Error(`driver said ${quoted}`) }, "failure");
    logger.debug({ note: "abc is too short to scrub" }, "short");
    const out = text();
    assert.equal(out.includes("tok-aaaa-1111"), false);
    assert.equal(out.includes(JSON.stringify(quoted).slice(1, -1)), false);
    const [info, error] = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(info.msg, `token ${REDACTED} in a message`);
    assert.deepEqual(info.detail, { deeper: [`x ${REDACTED} y`] });
    assert.equal(error.err.message, `driver said ${REDACTED}`);
    assert.match(out, /abc is too short/, "secrets under 4 characters are left alone");
  });

  it("censors known secret and customer-data keys, and the extra paths configured", () => {
    const { logger, text } = capture({ level: "info", redactPaths: ["order.coupon"] });
    logger.info(
      {
        access_token: "t1",
        authorization: "Bearer t2",
        request: { app_secret: "s1", user_data: { em: ["h"] } },
        email: "person@example.com",
        order: { coupon: "GOLD-FRIEND", total: 10 },
        count: 3,
      },
      "fields",
    );
    const line = JSON.parse(text()) as Record<string, unknown>;
    assert.equal(line.access_token, REDACTED);
    assert.equal(line.authorization, REDACTED);
    assert.deepEqual(line.request, { app_secret: REDACTED, user_data: REDACTED });
    assert.equal(line.email, REDACTED);
    assert.deepEqual(line.order, { coupon: REDACTED, total: 10 });
    assert.equal(line.count, 3);
  });

  it("logs a request as method and path only (no query string, no client address)", () => {
    const { logger, text } = capture({ level: "info" });
    logger.error(
      { req: { method: "POST", url: "/v1/batch?writeKey=k&email=x@y.z", remoteAddress: "203.0.113.9" } },
      "boom",
    );
    const line = JSON.parse(text()) as { req: Record<string, unknown> };
    assert.deepEqual(line.req, { method: "POST", path: "/v1/batch" });
  });

  it("scrubs nothing when there are no secrets, and keeps lines byte-identical", () => {
    const scrub = lineScrubber([undefined, ""]);
    const line = '{"msg":"hello"}\n';
    assert.equal(scrub(line), line);
  });
});
