import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DATASET, emulator, json, postEvents, purchase } from "./fixtures.ts";

describe("inspection API under /_emulator/", () => {
  it("lists received events by dataset and live/test, with paging", async () => {
    const app = emulator({
      datasets: [
        { id: DATASET, tokens: ["test-token"] },
        { id: "42", tokens: ["test-token"] },
      ],
    });
    await postEvents(app, [purchase({ event_id: "1" }), purchase({ event_id: "2" })]);
    await postEvents(app, [purchase({ event_id: "3" })], { test_event_code: "TEST1" });
    await app.inject({
      method: "POST",
      url: "/v24.0/42/events",
      headers: { authorization: "Bearer test-token" },
      payload: { data: [purchase({ event_id: "4" })] },
    });
    const get = async (query: string) =>
      json(await app.inject({ method: "GET", url: `/_emulator/events${query}` }));
    assert.equal((await get("")).count, 4);
    assert.deepEqual(
      (await get(`?dataset=${DATASET}&test=false`)).events.map(
        (e: { event: { event_id: string } }) => e.event.event_id,
      ),
      ["1", "2"],
    );
    const test = await get(`?dataset=${DATASET}&test=true`);
    assert.equal(test.count, 1);
    assert.equal(test.events[0].testEventCode, "TEST1");
    assert.equal(test.events[0].test, true);
    assert.deepEqual(
      (await get("?dataset=42")).events.map((e: { datasetId: string }) => e.datasetId),
      ["42"],
    );
    const page = await get(`?dataset=${DATASET}&offset=1&limit=1`);
    assert.equal(page.events[0].event.event_id, "2");
  });

  it("reports stats per dataset: received, unique and duplicates, live vs test", async () => {
    const app = emulator();
    await postEvents(app, [purchase({ event_id: "D" }), purchase({ event_id: "D" })]);
    await postEvents(app, [purchase({ event_id: "E" })], { test_event_code: "TEST1" });
    await postEvents(app, []);
    const stats = json(await app.inject({ method: "GET", url: "/_emulator/stats" }));
    assert.deepEqual(stats.datasets[DATASET], {
      live: { batches: 1, received: 2, unique: 1, duplicates: 1 },
      test: { batches: 1, received: 1, unique: 1, duplicates: 0 },
    });
    assert.deepEqual(stats.requests, { logged: 3, byStatus: { 200: 2, 400: 1 } });
    const duplicates = json(await app.inject({ method: "GET", url: "/_emulator/duplicates" }));
    assert.equal(duplicates.count, 1);
    assert.equal(duplicates.duplicates[0].duplicateOf, "event_id");
  });

  it("logs requests with status, count, error code and fbtrace_id", async () => {
    const app = emulator();
    const ok = await postEvents(app, [purchase()]);
    const bad = await postEvents(app, [purchase({ custom_data: {} })]);
    const { requests } = json(await app.inject({ method: "GET", url: "/_emulator/requests" }));
    assert.equal(requests.length, 2);
    assert.equal(requests[0].status, 200);
    assert.equal(requests[0].eventsReceived, 1);
    assert.equal(requests[0].fbtraceId, json(ok).fbtrace_id);
    assert.equal(requests[0].version, "v24.0");
    assert.equal(requests[0].datasetId, DATASET);
    assert.equal(requests[1].status, 400);
    assert.equal(requests[1].errorCode, 100);
    assert.equal(requests[1].errorSubcode, 2804009);
    assert.equal(requests[1].fbtraceId, json(bad).error.fbtrace_id);
    const last = json(await app.inject({ method: "GET", url: "/_emulator/requests?limit=1" }));
    assert.equal(last.requests.length, 1);
    assert.equal(last.requests[0].status, 400);
  });

  it("keeps only the most recent requests when the log is bounded", async () => {
    const app = emulator({ requestLogLimit: 3 });
    for (let i = 0; i < 10; i++) await postEvents(app, [purchase({ event_id: `b${i}` })]);
    const { requests } = json(await app.inject({ method: "GET", url: "/_emulator/requests" }));
    assert.equal(requests.length, 3);
  });

  it("resets events, dedup memory and the request log", async () => {
    const app = emulator();
    await postEvents(app, [purchase({ event_id: "R" })]);
    const reset = await app.inject({ method: "POST", url: "/_emulator/reset" });
    assert.equal(reset.statusCode, 200);
    const stats = json(await app.inject({ method: "GET", url: "/_emulator/stats" }));
    assert.deepEqual(stats.datasets[DATASET].live, { batches: 0, received: 0, unique: 0, duplicates: 0 });
    assert.equal(stats.requests.logged, 0);
    await postEvents(app, [purchase({ event_id: "R" })]);
    const again = json(await app.inject({ method: "GET", url: "/_emulator/stats" }));
    assert.equal(again.datasets[DATASET].live.duplicates, 0);
  });

  it("lists the rules in force with their evidence, strict-only ones as warnings when faithful", async () => {
    const faithful = json(await emulator().inject({ method: "GET", url: "/_emulator/rules" }));
    const strict = json(await emulator({ strict: true }).inject({ method: "GET", url: "/_emulator/rules" }));
    const ids = (list: Array<{ id: string }>) => list.map((rule) => rule.id);
    assert.ok(ids(faithful.enforced).includes("event_time.too_old"));
    assert.ok(ids(faithful.warnings).includes("website.client_user_agent_missing"));
    assert.ok(ids(strict.enforced).includes("website.client_user_agent_missing"));
    assert.deepEqual(strict.warnings, []);
    const tooOld = faithful.enforced.find((rule: { id: string }) => rule.id === "event_time.too_old");
    assert.deepEqual(tooOld, {
      id: "event_time.too_old",
      status: 400,
      code: 100,
      error_subcode: 2804003,
      error_user_title: "Event Timestamp Too Old",
      evidence: "OBS",
    });
  });

  it("answers an unknown inspection path with 404", async () => {
    const response = await emulator().inject({ method: "GET", url: "/_emulator/nope" });
    assert.equal(response.statusCode, 404);
  });
});
