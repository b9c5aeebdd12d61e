import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { EVENT_RULES, emulatorStore } from "../../src/emulator/index.ts";
import {
  DAY_S,
  emulator,
  FBC,
  FBP,
  graphError,
  HASHED,
  json,
  NOW_S,
  postEvents,
  purchase,
} from "./fixtures.ts";

const TOO_OLD = {
  message: "Invalid parameter",
  type: "OAuthException",
  code: 100,
  error_subcode: 2804003,
  is_transient: false,
  error_user_title: "Event Timestamp Too Old",
  error_user_msg:
    "The timestamp for this event is too far in the past. Events need to be sent from your server within 7 days of when they occurred. Enter a timestamp that has occurred within the last 7 days.",
};

function without<T extends Record<string, unknown>>(object: T, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = object;
  return rest;
}

describe("Meta's observed per-event errors, envelopes exactly as in the spec (§6.2, §6.3)", () => {
  it("2804003: event_time more than 7 days old rejects the batch", async () => {
    const response = await postEvents(emulator(), [purchase({ event_time: NOW_S - 7 * DAY_S - 1 })]);
    assert.equal(response.statusCode, 400);
    const error = graphError(response);
    assert.match(String(error.fbtrace_id), /^[A-Za-z0-9_-]{11,27}$/);
    assert.deepEqual(without(error, "fbtrace_id"), TOO_OLD);
  });

  it("2804003 boundary: exactly 7 days old is accepted; physical_store gets 62 days", async () => {
    const app = emulator();
    assert.equal((await postEvents(app, [purchase({ event_time: NOW_S - 7 * DAY_S })])).statusCode, 200);
    const store = { action_source: "physical_store", event_source_url: undefined };
    assert.equal(
      (await postEvents(app, [purchase({ ...store, event_time: NOW_S - 60 * DAY_S })])).statusCode,
      200,
    );
    const tooOld = await postEvents(app, [purchase({ ...store, event_time: NOW_S - 62 * DAY_S - 1 })]);
    assert.equal(graphError(tooOld).error_subcode, 2804003);
  });

  it("2804016: an unhashed hash-required key is named in the message", async () => {
    const event = purchase({ user_data: { em: [HASHED.em], ct: "paris", client_user_agent: "UA" } });
    const response = await postEvents(emulator(), [event]);
    assert.equal(response.statusCode, 400);
    assert.deepEqual(without(graphError(response), "fbtrace_id"), {
      message: "Invalid parameter",
      type: "OAuthException",
      code: 100,
      error_subcode: 2804016,
      is_transient: false,
      error_user_title: "User Parameter Not Hashed",
      error_user_msg:
        "The ct parameter isn’t hashed. Hash all user parameters as SHA256, except for client user agent, click ID, and browser ID. Any other user parameters that are not hashed are automatically rejected by Facebook.",
    });
  });

  it("2804016 covers every hash-required key of spec §3.1, in lists too, and never the raw keys", async () => {
    const app = emulator();
    for (const key of ["em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country"]) {
      for (const value of ["plain", ["plain"], [HASHED.em, "plain"], 12345]) {
        const response = await postEvents(app, [purchase({ user_data: { em: HASHED.em, [key]: value } })]);
        assert.equal(graphError(response).error_subcode, 2804016, `${key} ${JSON.stringify(value)}`);
        assert.match(
          String(graphError(response).error_user_msg),
          new RegExp(`^The ${key} parameter isn’t hashed`),
        );
      }
    }
    const raw = {
      external_id: "crm-42",
      client_ip_address: "203.0.113.7",
      client_user_agent: "UA",
      fbc: FBC,
      fbp: FBP,
    };
    const accepted = await postEvents(app, [purchase({ user_data: { em: HASHED.em, ...raw } })]);
    assert.equal(accepted.statusCode, 200, accepted.body);
  });

  it("2804016 accepts hashes with a Parameter Builder appendix and uppercase hex (spec §3.2, §3.3)", async () => {
    const app = emulator();
    const values = [`${HASHED.em}.ABcDEFGh`, `${HASHED.em}.AQ`, HASHED.em.toUpperCase()];
    for (const em of values) {
      const response = await postEvents(app, [purchase({ user_data: { em, client_user_agent: "UA" } })]);
      assert.equal(response.statusCode, 200, em);
    }
    const badAppendix = await postEvents(app, [purchase({ user_data: { em: `${HASHED.em}.abc` } })]);
    assert.equal(graphError(badAppendix).error_subcode, 2804016);
  });

  it("2804016 names the first unhashed key in Meta's table order, whatever the object's order", async () => {
    const app = emulator();
    const event = purchase({
      user_data: { zp: "75001", client_user_agent: "UA", ph: "0612345678", em: HASHED.em },
    });
    const response = await postEvents(app, [event]);
    assert.match(String(graphError(response).error_user_msg), /^The ph parameter isn’t hashed/);
  });

  it("2804016: a digest is exactly 64 hex digits; look-alike characters are not digits", async () => {
    const app = emulator();
    const digest = HASHED.em;
    const notHashes = [
      digest.slice(1),
      `${digest}0`,
      `${digest.slice(0, 63)}g`,
      `G${digest.slice(1)}`,
      ...["/", ":", "@", "`", "\u0161", "\u0130", "\uff10", "\u0000"].map(
        (c) => `${digest.slice(0, 40)}${c}${digest.slice(41)}`,
      ),
      `${digest}.A`,
      `${digest}.ABCDEFGHI`,
      `${digest}.ABCDEF$H`,
    ];
    for (const em of notHashes) {
      const response = await postEvents(app, [purchase({ user_data: { em, client_user_agent: "UA" } })]);
      assert.equal(graphError(response).error_subcode, 2804016, JSON.stringify(em));
    }
  });

  it("2804016 agrees with the spec's hashed-value pattern (§3.2, any case) on generated values", async () => {
    const app = emulator();
    const pattern = /^[0-9a-fA-F]{64}(\.[A-Za-z0-9_-]{2}|\.[A-Za-z0-9_-]{8})?$/;
    const hex = fc.constantFrom(..."0123456789abcdefABCDEF");
    const intruder = fc.constantFrom("g", "G", "/", ":", "`", "\u0161", "\uff10", ".", "_");
    const appendixUnit = fc.constantFrom("A", "z", "0", "_", "-", "$", ".");
    const value = fc
      .tuple(
        fc.oneof(
          { arbitrary: fc.string({ unit: hex, minLength: 64, maxLength: 64 }), weight: 4 },
          { arbitrary: fc.string({ unit: hex, minLength: 62, maxLength: 66 }), weight: 1 },
        ),
        fc.option(fc.tuple(fc.nat(65), intruder), { freq: 2 }),
        fc.oneof(
          { arbitrary: fc.constant(""), weight: 2 },
          fc.string({ unit: appendixUnit, maxLength: 9 }).map((rest) => `.${rest}`),
          fc.string({ unit: appendixUnit, maxLength: 9 }),
        ),
      )
      .map(([digits, swap, appendix]) => {
        const chars = [...digits];
        if (swap !== null) chars[swap[0] % chars.length] = swap[1];
        return chars.join("") + appendix;
      });
    const seen = { accepted: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(value, async (em) => {
        const response = await postEvents(app, [purchase({ user_data: { em, client_user_agent: "UA" } })]);
        const accepted = response.statusCode === 200;
        seen[accepted ? "accepted" : "rejected"]++;
        assert.equal(accepted, pattern.test(em), JSON.stringify(em));
        if (!accepted) assert.equal(graphError(response).error_subcode, 2804016);
      }),
      { numRuns: 400 },
    );
    assert.ok(seen.accepted > 20 && seen.rejected > 20, JSON.stringify(seen));
  });

  it("2804050: empty user_data, missing user_data and the too-broad combinations of spec §3.4", async () => {
    const app = emulator();
    const thin: unknown[] = [
      undefined,
      {},
      { client_user_agent: "UA" },
      {
        ct: HASHED.em,
        country: HASHED.country,
        st: HASHED.em,
        zp: HASHED.em,
        ge: HASHED.em,
        client_user_agent: "UA",
      },
      { ge: HASHED.em, ct: HASHED.em, st: HASHED.em, country: HASHED.country }, // the page's own example
      { db: HASHED.db, client_user_agent: "UA" },
      { fn: HASHED.fn, ge: HASHED.em },
      { ln: HASHED.fn, ge: HASHED.em },
      { fn: HASHED.fn, ge: "", em: [] },
    ];
    for (const userData of thin) {
      const response = await postEvents(app, [purchase({ user_data: userData })]);
      assert.equal(response.statusCode, 400, JSON.stringify(userData));
      const error = graphError(response);
      assert.equal(error.code, 100);
      assert.equal(error.error_subcode, 2804050);
      assert.equal(error.message, "Invalid parameter");
      assert.match(String(error.error_user_title), /sufficient customer information parameters/);
    }
    const enough = [
      { em: HASHED.em },
      { fn: HASHED.fn, ln: HASHED.fn, ge: HASHED.em },
      { db: HASHED.db, client_user_agent: "UA", client_ip_address: "203.0.113.7" },
      { fbp: FBP, client_user_agent: "UA" },
      { external_id: "crm-42" },
    ];
    for (const userData of enough) {
      const response = await postEvents(app, [purchase({ user_data: userData })]);
      assert.equal(response.statusCode, 200, JSON.stringify(userData));
    }
  });

  it("2804009: a Purchase without value, with Meta's title and message", async () => {
    const app = emulator();
    for (const customData of [undefined, {}, { currency: "USD" }, { value: null, currency: "USD" }]) {
      const response = await postEvents(app, [purchase({ custom_data: customData })]);
      assert.equal(response.statusCode, 400);
      assert.deepEqual(without(graphError(response), "fbtrace_id"), {
        message: "Invalid parameter",
        type: "OAuthException",
        code: 100,
        error_subcode: 2804009,
        is_transient: false,
        error_user_title: "Missing Value for Purchase Event",
        error_user_msg:
          "Your purchase event doesn’t include a value parameter. Enter a value. For example: 1.99",
      });
    }
    const numericString = await postEvents(app, [
      purchase({ custom_data: { value: "142.52", currency: "USD" } }),
    ]);
    assert.equal(numericString.statusCode, 200);
    const lead = await postEvents(app, [purchase({ event_name: "Lead", custom_data: undefined })]);
    assert.equal(lead.statusCode, 200);
  });

  it("2804066: business_messaging accepts only the 14 names of spec §5.4", async () => {
    const app = emulator();
    const messaging = (eventName: string) =>
      purchase({
        event_name: eventName,
        action_source: "business_messaging",
        messaging_channel: "whatsapp",
        event_source_url: undefined,
        event_id: undefined,
        user_data: {
          ctwa_clid:
            "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a",
        },
      });
    const rejected = await postEvents(app, [messaging("Lead")]);
    assert.equal(rejected.statusCode, 400);
    assert.equal(graphError(rejected).error_subcode, 2804066);
    assert.equal(graphError(rejected).error_user_title, "Messaging Event Invalid Event Type");
    for (const name of ["LeadSubmitted", "OrderShipped", "QualifiedLead"]) {
      const response = await postEvents(app, [messaging(name)]);
      assert.equal(response.statusCode, 200, name);
    }
  });
});

describe("emulator-chosen errors for rules no source pins down ([UNVERIFIED], table-driven)", () => {
  const cases: Array<{ rule: string; event: Record<string, unknown> }> = [
    { rule: "event.not_object", event: 42 as unknown as Record<string, unknown> },
    { rule: "event_name.missing", event: purchase({ event_name: undefined }) },
    { rule: "event_time.missing", event: purchase({ event_time: undefined }) },
    { rule: "event_time.missing", event: purchase({ event_time: "yesterday" }) },
    { rule: "event_time.in_future", event: purchase({ event_time: NOW_S + 601 }) },
    { rule: "event_time.in_future", event: purchase({ event_time: NOW_S * 1000 }) },
    { rule: "action_source.invalid", event: purchase({ action_source: "webpage" }) },
    {
      rule: "custom_data.value_invalid",
      event: purchase({ custom_data: { value: "lots", currency: "USD" } }),
    },
    {
      rule: "custom_data.currency_invalid",
      event: purchase({ custom_data: { value: 1, currency: "dollars" } }),
    },
    {
      rule: "custom_data.delivery_category_invalid",
      event: purchase({ custom_data: { value: 1, currency: "USD", delivery_category: "drone" } }),
    },
    {
      rule: "custom_data.delivery_category_invalid",
      event: purchase({
        custom_data: {
          value: 1,
          currency: "USD",
          contents: [{ id: "a", quantity: 1, delivery_category: "x" }],
        },
      }),
    },
    { rule: "data_processing_options.invalid", event: purchase({ data_processing_options: ["GDPR"] }) },
    {
      rule: "data_processing_options.invalid",
      event: purchase({
        data_processing_options: ["LDU"],
        data_processing_options_country: 1,
        data_processing_options_state: 999,
      }),
    },
    {
      rule: "data_processing_options.invalid",
      event: purchase({ data_processing_options: ["LDU"], data_processing_options_country: 44 }),
    },
    {
      rule: "app_data.extinfo_invalid",
      event: purchase({
        action_source: "app",
        app_data: { advertiser_tracking_enabled: 1, extinfo: ["a2"] },
      }),
    },
  ];

  for (const { rule, event } of cases) {
    it(`${rule}: ${JSON.stringify(event).slice(0, 80)}`, async () => {
      const spec = EVENT_RULES.find((r) => r.id === rule);
      assert.ok(spec, rule);
      assert.equal(spec.evidence, "UNVERIFIED");
      const response = await postEvents(emulator(), [event]);
      assert.equal(response.statusCode, 400);
      const error = graphError(response);
      assert.equal(error.code, 100);
      assert.equal(error.message, "Invalid parameter");
      assert.equal(error.type, "OAuthException");
      assert.equal(error.error_subcode, spec.error.error_subcode);
      assert.equal(error.error_user_title, spec.error.error_user_title);
    });
  }

  it("accepts what those rules allow: integer-like and ISO strings, LDU geolocation, 16-slot extinfo", async () => {
    const app = emulator();
    const extinfo = [
      "i2",
      "com.example",
      "1.0",
      "1.0 (1)",
      "17.4",
      "iPhone15,2",
      "en_US",
      "UTC",
      "",
      "390",
      "844",
      "3",
      "6",
      "128",
      "64",
      "Europe/Paris",
    ];
    const accepted = [
      purchase({ event_time: String(NOW_S - 60) }),
      purchase({ event_time: "2026-09-15T11:59:00Z" }),
      purchase({ event_time: NOW_S + 600 }),
      purchase({ data_processing_options: [] }),
      purchase({
        data_processing_options: ["LDU"],
        data_processing_options_country: 0,
        data_processing_options_state: 0,
      }),
      purchase({
        data_processing_options: ["LDU"],
        data_processing_options_country: 1,
        data_processing_options_state: 1000,
      }),
      purchase({ action_source: "app", app_data: { advertiser_tracking_enabled: 1, extinfo } }),
      purchase({
        action_source: "app",
        app_data: { advertiser_tracking_enabled: 1, extinfo: { ...extinfo } },
      }),
      purchase({ custom_data: { value: 1, currency: "eur", delivery_category: "curbside" } }),
    ];
    for (const event of accepted) {
      const response = await postEvents(app, [event]);
      assert.equal(response.statusCode, 200, `${JSON.stringify(event).slice(0, 200)} → ${response.body}`);
    }
  });

  it("lets a rule's envelope be overridden or the rule turned off", async () => {
    const custom = emulator({
      ruleOverrides: {
        "custom_data.currency_invalid": {
          error: { error_subcode: 2804019, error_user_title: "Bad currency" },
        },
      },
    });
    const bad = purchase({ custom_data: { value: 1, currency: "dollars" } });
    const response = await postEvents(custom, [bad]);
    assert.equal(graphError(response).error_subcode, 2804019);
    assert.equal(graphError(response).error_user_title, "Bad currency");
    const off = emulator({ ruleOverrides: { "custom_data.currency_invalid": { enabled: false } } });
    assert.equal((await postEvents(off, [bad])).statusCode, 200);
    assert.throws(
      () => emulator({ ruleOverrides: { "no.such.rule": { enabled: false } } }),
      /unknown emulator rule/,
    );
  });
});

describe("batch atomicity (spec §1.5, §8)", () => {
  it("rejects the whole batch on its first bad event, records nothing, and names the index in a debug header", async () => {
    const app = emulator();
    const events = [
      purchase({ event_id: "ok-1" }),
      purchase({ event_id: "ok-2" }),
      purchase({ event_id: "old", event_time: NOW_S - 30 * DAY_S }),
      purchase({ event_id: "unhashed", user_data: { em: "someone@example.com" } }),
    ];
    const response = await postEvents(app, events);
    assert.equal(response.statusCode, 400);
    assert.equal(graphError(response).error_subcode, 2804003);
    assert.equal(response.headers["x-emulator-failed-index"], "2");
    assert.equal(emulatorStore(app).events().length, 0);
    const log = emulatorStore(app).requests();
    assert.equal(log.at(-1)?.failedIndex, 2);
    assert.equal(log.at(-1)?.errorSubcode, 2804003);
  });
});

describe("faithful vs strict (spec §2.2, §3.3)", () => {
  const flagged: Array<{ rule: string; event: Record<string, unknown> }> = [
    { rule: "website.client_user_agent_missing", event: purchase({ user_data: { em: HASHED.em } }) },
    { rule: "website.event_source_url_missing", event: purchase({ event_source_url: undefined }) },
    { rule: "action_source.missing", event: purchase({ action_source: undefined }) },
    {
      rule: "user_data.fbc_malformed",
      event: purchase({ user_data: { em: HASHED.em, client_user_agent: "UA", fbc: "AbCdEf123" } }),
    },
    {
      rule: "user_data.fbp_malformed",
      event: purchase({ user_data: { em: HASHED.em, client_user_agent: "UA", fbp: "fb.1.abc" } }),
    },
    { rule: "purchase.currency_missing", event: purchase({ custom_data: { value: 10 } }) },
    { rule: "event_time.not_integer", event: purchase({ event_time: String(NOW_S) }) },
  ];

  for (const { rule, event } of flagged) {
    it(`${rule}: accepted with a warning when faithful, rejected when strict`, async () => {
      const faithful = emulator();
      const accepted = await postEvents(faithful, [event]);
      assert.equal(accepted.statusCode, 200, accepted.body);
      assert.ok(emulatorStore(faithful).events()[0]?.warnings.includes(rule), rule);
      const strict = emulator({ strict: true });
      const rejected = await postEvents(strict, [event]);
      assert.equal(rejected.statusCode, 400, rule);
      const spec = EVENT_RULES.find((r) => r.id === rule);
      assert.equal(graphError(rejected).error_subcode, spec?.error.error_subcode);
    });
  }

  it("a clean event passes strict mode and carries no warnings", async () => {
    const strict = emulator({ strict: true });
    const response = await postEvents(strict, [purchase()]);
    assert.equal(response.statusCode, 200, response.body);
    const faithful = emulator();
    await postEvents(faithful, [purchase()]);
    assert.deepEqual(emulatorStore(faithful).events()[0]?.warnings, []);
    assert.equal(json(response).events_received, 1);
  });
});
