// Auth and config refusals end the run at once: one clear message, nothing marked delivered or
// rejected because of them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RunningEmulator, startEmulator } from "../../../src/emulator/index.ts";
import {
  type EventOutcome,
  GraphClient,
  type GraphClientOptions,
  GraphStopError,
} from "../../../src/meta/graph/index.ts";
import { DATASET, TOKEN, validEvent } from "./helpers.ts";

const OTHER_DATASET = "2222222222";
const EXPIRED = "expired-token";

async function sendExpectingStop(
  emulator: RunningEmulator,
  options: Partial<GraphClientOptions>,
  datasetId = DATASET,
  count = 5000,
) {
  emulator.store.reset();
  const client = new GraphClient({
    accessToken: TOKEN,
    graphUrl: emulator.url,
    maxBatchEvents: 100,
    ...options,
  });
  const outcomes: EventOutcome[] = [];
  try {
    const sending = client.dataset<number>(datasetId).send(
      Array.from({ length: count }, (_, ref) => ({ ref, event: validEvent(ref) })),
      { onOutcome: (_ref, outcome) => outcomes.push(outcome) },
    );
    const error = await sending.then(
      () => assert.fail("send should have stopped"),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof GraphStopError, String(error));
    assert.ok(error.summary);
    assert.equal(error.summary.delivered, 0);
    assert.equal(error.summary.rejected, 0);
    assert.equal(error.summary.pending, error.summary.events);
    assert.equal(outcomes.length, error.summary.events);
    assert.ok(outcomes.every((o) => o.status === "pending" && o.reason === "stopped"));
    assert.equal(emulator.store.requests().length, 1, "the run must stop after the first refusal");
    // The client stays stopped: a later send throws at once, without a request.
    await assert.rejects(client.dataset(datasetId).send([{ ref: 0, event: validEvent(0) }]), GraphStopError);
    assert.equal(emulator.store.requests().length, 1);
    return error;
  } finally {
    await client.close();
  }
}

describe("stopping the run", () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator({
      port: 0,
      latencyMs: 5,
      datasets: [
        { id: DATASET, tokens: [TOKEN, EXPIRED], expiredTokens: [EXPIRED] },
        { id: OTHER_DATASET, tokens: [TOKEN] },
      ],
    });
  });
  after(() => emulator.close());

  it("an expired token (190/463) stops within one request, saying what to do", async () => {
    const error = await sendExpectingStop(emulator, { accessToken: EXPIRED });
    assert.equal(error.kind, "auth");
    assert.equal(error.code, 190);
    assert.equal(error.error_subcode, 463);
    assert.ok(error.fbtrace_id);
    assert.match(
      error.message,
      /^Meta rejected the access token \(code 190\/463: expired\)\. Generate a new system-user token .*META_ACCESS_TOKEN/,
    );
  });

  it("an unreadable token (190, HTTP 401) stops", async () => {
    const error = await sendExpectingStop(emulator, { accessToken: "not a token" });
    assert.equal(error.kind, "auth");
    assert.equal(error.http_status, 401);
    assert.match(error.message, /code 190: invalid or unreadable/);
  });

  it("an unknown dataset (100/33) stops", async () => {
    const error = await sendExpectingStop(emulator, {}, "9999999999");
    assert.equal(error.kind, "config");
    assert.equal(error.error_subcode, 33);
    assert.match(error.message, /dataset 9999999999 does not exist/);
  });

  it("an unknown API version (2500) stops", async () => {
    const error = await sendExpectingStop(emulator, { apiVersion: "v99.0" });
    assert.equal(error.kind, "config");
    assert.equal(error.code, 2500);
    assert.match(error.message, /API version v99\.0/);
  });

  it("drains in-flight requests of other datasets and leaves the rest pending", async () => {
    emulator.store.reset();
    const client = new GraphClient({ accessToken: TOKEN, graphUrl: emulator.url, maxBatchEvents: 50 });
    const status = new Map<number, string>();
    const record = (ref: number, outcome: EventOutcome) => {
      assert.equal(status.get(ref), undefined, `event ${ref} got two outcomes`);
      status.set(ref, outcome.status);
    };
    const healthy = client.dataset<number>(OTHER_DATASET).send(
      Array.from({ length: 20_000 }, (_, ref) => ({ ref, event: validEvent(ref) })),
      { onOutcome: record },
    );
    // Let the healthy dataset get going, then refuse another dataset's requests.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const refused = client
      .dataset<number>("9999999999")
      .send([{ ref: -1, event: validEvent(-1) }], { onOutcome: record });
    const [healthyResult, refusedResult] = await Promise.allSettled([healthy, refused]);
    await client.close();
    assert.equal(refusedResult.status, "rejected");
    assert.equal(healthyResult.status, "rejected");
    const error = healthyResult.status === "rejected" ? (healthyResult.reason as GraphStopError) : undefined;
    assert.ok(error instanceof GraphStopError && error.summary);
    const delivered = [...status.values()].filter((s) => s === "delivered").length;
    assert.ok(
      delivered > 0 && error.summary.pending > 0,
      `${delivered} delivered, ${error.summary.pending} pending`,
    );
    assert.ok([...status.values()].every((s) => s === "delivered" || s === "pending"));
    assert.equal(error.summary.delivered + error.summary.pending, error.summary.events);
    // Exactly what the client reports delivered reached the emulator.
    assert.equal(emulator.store.stats()[OTHER_DATASET]?.live.unique, delivered);
  });
});

describe("an unexpected failure in a batch (a bug, a throwing hook)", () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator({ port: 0, datasets: [{ id: DATASET, tokens: [TOKEN] }] });
  });
  after(() => emulator.close());

  it("ends the send with that error, the rest pending, and no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const client = new GraphClient({
      accessToken: TOKEN,
      graphUrl: emulator.url,
      maxBatchEvents: 100,
      window: 4,
      onRequest: () => {
        throw new Error("hook blew up");
      },
    });
    try {
      const outcomes = new Map<number, string>();
      const sending = client.dataset<number>(DATASET).send(
        Array.from({ length: 2000 }, (_, ref) => ({ ref, event: validEvent(ref) })),
        { onOutcome: (ref, outcome) => outcomes.set(ref, outcome.status) },
      );
      await assert.rejects(sending, /hook blew up/);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      assert.ok(outcomes.size < 2000, "the events of the failed batches have no outcome");
      assert.ok([...outcomes.values()].every((status) => status === "pending" || status === "delivered"));
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await client.close();
    }
  });

  it("a hook that throws once fails that send only: the window's slot is freed for the client's next send", async () => {
    let thrown = false;
    const client = new GraphClient({
      accessToken: TOKEN,
      graphUrl: emulator.url,
      window: 1,
      onWindowChange: () => {
        if (thrown) return;
        thrown = true;
        throw new Error("metrics hook blew up");
      },
    });
    try {
      const sender = client.dataset<number>(DATASET);
      await assert.rejects(sender.send([{ ref: 1, event: validEvent(1) }]), /metrics hook blew up/);
      const next = sender.send([{ ref: 2, event: validEvent(2) }]);
      const hung = new Promise<"hung">((resolve) => setTimeout(resolve, 5000, "hung").unref());
      const summary = await Promise.race([next, hung]);
      assert.notEqual(summary, "hung", "the next send got a slot");
      assert.equal(summary === "hung" ? 0 : summary.delivered, 1);
    } finally {
      await client.close();
    }
  });
});

describe("appsecret_proof", () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator({ port: 0, appSecret: "the-app-secret" });
  });
  after(() => emulator.close());

  it("is accepted when the client knows the app secret", async () => {
    emulator.store.reset();
    const client = new GraphClient({
      accessToken: TOKEN,
      appSecret: "the-app-secret",
      graphUrl: emulator.url,
    });
    const summary = await client
      .dataset(DATASET)
      .send(Array.from({ length: 10 }, (_, ref) => ({ ref, event: validEvent(ref) })))
      .finally(() => client.close());
    assert.equal(summary.delivered, 10);
    assert.equal(emulator.store.stats()[DATASET]?.live.unique, 10);
  });

  it("missing or wrong, stops the run with a pointer to the app secret", async () => {
    for (const appSecret of [undefined, "a-wrong-secret"]) {
      const error = await sendExpectingStop(
        emulator,
        appSecret === undefined ? {} : { appSecret },
        DATASET,
        10,
      );
      assert.equal(error.kind, "config");
      assert.match(error.message, /appsecret_proof.*META_APP_SECRET/);
    }
  });
});
