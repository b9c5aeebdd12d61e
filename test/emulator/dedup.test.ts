import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emulatorStore } from "../../src/emulator/index.ts";
import { clock, DATASET, DAY_S, emulator, HASHED, json, NOW_S, postEvents, purchase } from "./fixtures.ts";

const HOUR_MS = 3_600_000;

function offline(overrides: Record<string, unknown> = {}) {
  return purchase({
    action_source: "physical_store",
    event_source_url: undefined,
    event_id: undefined,
    event_time: NOW_S - 3 * DAY_S,
    user_data: { em: [HASHED.em], ph: [HASHED.ph] },
    custom_data: { value: 20, currency: "EUR", order_id: "till-7-0042", item_number: "1" },
    upload_tag: undefined,
    ...overrides,
  });
}

describe("event_id dedup (spec §8)", () => {
  it("counts duplicates in events_received but flags them as discarded", async () => {
    const app = emulator();
    const first = await postEvents(app, [purchase({ event_id: "A" }), purchase({ event_id: "B" })]);
    const again = await postEvents(app, [purchase({ event_id: "A" }), purchase({ event_id: "C" })]);
    assert.equal(json(first).events_received, 2);
    assert.equal(json(again).events_received, 2);
    const store = emulatorStore(app);
    assert.deepEqual(store.stats()[DATASET]?.live, { batches: 2, received: 4, unique: 3, duplicates: 1 });
    const duplicates = store.duplicates(DATASET);
    assert.equal(duplicates.length, 1);
    assert.equal((duplicates[0]?.event as { event_id?: string } | undefined)?.event_id, "A");
    assert.equal(duplicates[0]?.duplicateOf, "event_id");
  });

  it("dedups within one batch too, and only on the (event_name, event_id) pair", async () => {
    const app = emulator();
    await postEvents(app, [
      purchase({ event_id: "X" }),
      purchase({ event_id: "X" }),
      purchase({ event_id: "X", event_name: "AddToCart", custom_data: undefined }),
      purchase({ event_id: undefined }),
      purchase({ event_id: undefined }),
    ]);
    assert.deepEqual(emulatorStore(app).stats()[DATASET]?.live, {
      batches: 1,
      received: 5,
      unique: 4,
      duplicates: 1,
    });
  });

  it("forgets a key 48 hours after its first receipt, not after its last", async () => {
    const time = clock();
    const app = emulator({ now: time.now, maxAgeSeconds: 30 * DAY_S });
    const send = () => postEvents(app, [purchase({ event_id: "W", event_time: Math.floor(time.ms / 1000) })]);
    await send();
    time.ms += 47 * HOUR_MS;
    await send(); // duplicate: 47 h after the first receipt
    time.ms += 1 * HOUR_MS;
    await send(); // duplicate: exactly 48 h after the first receipt
    time.ms += 1;
    await send(); // new: just past 48 h since the first receipt, though 1 h after the last copy
    const flags = emulatorStore(app)
      .events(DATASET)
      .map((received) => received.duplicateOf ?? "new");
    assert.deepEqual(flags, ["new", "event_id", "event_id", "new"]);
  });

  it("honours a configured window", async () => {
    const time = clock();
    const app = emulator({ now: time.now, dedupWindowSeconds: 60 });
    await postEvents(app, [purchase({ event_id: "S" })]);
    time.ms += 61_000;
    await postEvents(app, [purchase({ event_id: "S" })]);
    assert.equal(emulatorStore(app).stats()[DATASET]?.live.duplicates, 0);
  });

  it("does not dedup business_messaging events (spec §8)", async () => {
    const app = emulator();
    const event = purchase({
      action_source: "business_messaging",
      messaging_channel: "messenger",
      event_id: "same",
      user_data: { page_id: "1", page_scoped_user_id: "2" },
    });
    await postEvents(app, [event, event]);
    assert.equal(emulatorStore(app).stats()[DATASET]?.live.duplicates, 0);
  });
});

describe("offline dedup (spec §8)", () => {
  it("dedups physical_store events on event_time, event_name, item_number and order_id", async () => {
    const app = emulator();
    await postEvents(app, [
      offline(),
      offline({ user_data: { em: [HASHED.em] } }), // same order and item: duplicate whatever the customer fields
      offline({ custom_data: { value: 20, currency: "EUR", order_id: "till-7-0042", item_number: "2" } }),
      offline({ event_time: NOW_S - 3 * DAY_S + 1 }),
      offline({ event_time: String(NOW_S - 3 * DAY_S) }), // the same time written as a string
    ]);
    const flags = emulatorStore(app)
      .events(DATASET)
      .map((received) => received.duplicateOf ?? "new");
    assert.deepEqual(flags, ["new", "offline", "new", "new", "offline"]);
  });

  it("falls back to the customer fields when there is no order_id", async () => {
    const app = emulator();
    const noOrder = (userData: Record<string, unknown>) =>
      offline({ user_data: userData, custom_data: { value: 5, currency: "EUR", item_number: "1" } });
    await postEvents(app, [
      noOrder({ em: [HASHED.em], ph: [HASHED.ph] }),
      noOrder({ ph: [HASHED.ph], em: [HASHED.em] }),
      noOrder({ em: [HASHED.em] }),
    ]);
    const flags = emulatorStore(app)
      .events(DATASET)
      .map((received) => received.duplicateOf ?? "new");
    assert.deepEqual(flags, ["new", "offline", "new"]);
  });

  it("ignores event_id for offline events and keeps its window at 7 days", async () => {
    const time = clock();
    const app = emulator({ now: time.now });
    await postEvents(app, [offline({ event_id: "1" })]);
    time.ms += 6 * 24 * HOUR_MS;
    await postEvents(app, [offline({ event_id: "2" })]);
    time.ms += 2 * 24 * HOUR_MS;
    await postEvents(app, [offline({ event_id: "3", event_time: NOW_S - 3 * DAY_S })]);
    const flags = emulatorStore(app)
      .events(DATASET)
      .map((received) => received.duplicateOf ?? "new");
    assert.deepEqual(flags, ["new", "offline", "new"]);
  });
});

describe("test events (spec §9)", () => {
  it("keeps events with test_event_code apart from live ones, dedup included", async () => {
    const app = emulator();
    await postEvents(app, [purchase({ event_id: "T" })], { test_event_code: "TEST4242" });
    await postEvents(app, [purchase({ event_id: "T" })]);
    await postEvents(app, [purchase({ event_id: "T" })], { test_event_code: "TEST4242" });
    const store = emulatorStore(app);
    assert.deepEqual(store.stats()[DATASET], {
      live: { batches: 1, received: 1, unique: 1, duplicates: 0 },
      test: { batches: 2, received: 2, unique: 1, duplicates: 1 },
    });
    assert.equal(store.events(DATASET, { test: false }).length, 1);
    const test = store.events(DATASET, { test: true });
    assert.equal(test.length, 2);
    assert.ok(test.every((received) => received.test && received.testEventCode === "TEST4242"));
    assert.equal(store.events(DATASET).length, 3);
  });
});

describe("record modes", () => {
  it('"count" keeps counters and dedup but no events; false keeps counters only', async () => {
    const counting = emulator({ recordEvents: "count" });
    await postEvents(counting, [purchase({ event_id: "R" }), purchase({ event_id: "R" })]);
    assert.equal(emulatorStore(counting).events().length, 0);
    assert.equal(emulatorStore(counting).stats()[DATASET]?.live.duplicates, 1);
    const bare = emulator({ recordEvents: false });
    await postEvents(bare, [purchase({ event_id: "R" }), purchase({ event_id: "R" })]);
    assert.deepEqual(emulatorStore(bare).stats()[DATASET]?.live, {
      batches: 1,
      received: 2,
      unique: 2,
      duplicates: 0,
    });
  });

  it("gives back the events exactly as sent, whatever the encoding they were kept in", async () => {
    const app = emulator();
    const sent = [
      purchase({ event_id: "k1" }),
      purchase({ event_id: "k2", custom_data: { value: "9.99", currency: "EUR" } }),
    ];
    await postEvents(app, sent);
    await postEvents(app, [JSON.stringify(purchase({ event_id: "k3" }))]);
    const got = emulatorStore(app)
      .events()
      .map((received) => received.event);
    assert.deepEqual(got, [...sent, purchase({ event_id: "k3" })]);
  });
});
