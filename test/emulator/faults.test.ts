import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { emulatorStore, type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import {
  clock,
  DATASET,
  EDGE,
  emulator,
  graphError,
  NOW_MS,
  postEvents,
  purchase,
  TOKEN,
} from "./fixtures.ts";

/** What a client sees for one request: an HTTP status and Graph code, or no answer at all. */
async function outcomes(app: FastifyInstance, count: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await postEvents(app, [purchase({ event_id: `f${i}` })]);
    seen.push(response.statusCode === 200 ? "ok" : `${response.statusCode}/${graphError(response).code}`);
  }
  return seen;
}

describe("seeded faults over inject (5xx, transient, throttle)", () => {
  const faults = { serverError: 0.2, transient: 0.2, throttle: 0.2 };

  it("repeats the same fault sequence for the same seed, and a different one for another seed", async () => {
    const first = await outcomes(emulator({ faults: { ...faults, seed: 7 } }), 40);
    const second = await outcomes(emulator({ faults: { ...faults, seed: 7 } }), 40);
    const other = await outcomes(emulator({ faults: { ...faults, seed: 8 } }), 40);
    assert.deepEqual(first, second);
    assert.notDeepEqual(first, other);
    const kinds = new Set(first);
    assert.ok(kinds.has("ok") && kinds.has("500/1") && kinds.has("500/2"), [...kinds].join(","));
    assert.ok(
      [...kinds].some((kind) => /^400\/(4|17|613|80004)$/.test(kind)),
      [...kinds].join(","),
    );
  });

  it("restarts the sequence from the seed on reset", async () => {
    const app = emulator({ faults: { ...faults, seed: 11 } });
    const before = await outcomes(app, 20);
    await app.inject({ method: "POST", url: "/_emulator/reset" });
    assert.deepEqual(await outcomes(app, 20), before);
  });

  it("answers a 5xx with code 1 and a transient with code 2, is_transient true, HTTP 500 (spec §6.3)", async () => {
    const unknown = await postEvents(emulator({ faults: { serverError: 1 } }), [purchase()]);
    assert.equal(unknown.statusCode, 500);
    assert.deepEqual(
      { ...graphError(unknown), fbtrace_id: "x" },
      {
        message: "An unknown error occurred.",
        type: "OAuthException",
        code: 1,
        is_transient: false,
        fbtrace_id: "x",
      },
    );
    const transient = await postEvents(emulator({ faults: { transient: 1 } }), [purchase()]);
    assert.equal(transient.statusCode, 500);
    assert.deepEqual(
      { ...graphError(transient), fbtrace_id: "x" },
      {
        message: "An unexpected error has occurred. Please retry your request later.",
        type: "OAuthException",
        code: 2,
        is_transient: true,
        fbtrace_id: "x",
      },
    );
  });

  it("answers a throttle with a rate-limit code and usage headers (spec §7)", async () => {
    const app = emulator({
      faults: { throttle: 1, seed: 3, throttleRegainMinutes: 5, retryAfterSeconds: 30 },
    });
    const codes = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const response = await postEvents(app, [purchase()]);
      const error = graphError(response);
      codes.add(Number(error.code));
      assert.equal(error.is_transient, true);
      const usage = JSON.parse(String(response.headers["x-business-use-case-usage"]));
      assert.equal(usage[DATASET][0].estimated_time_to_regain_access, 5);
      assert.equal(usage[DATASET][0].type, "ads_management");
      assert.equal(typeof JSON.parse(String(response.headers["x-app-usage"])).call_count, "number");
      assert.equal(response.headers["retry-after"], "30");
    }
    assert.deepEqual(
      [...codes].sort((a, b) => a - b),
      [4, 17, 613, 80004],
    );
  });

  it("records nothing for a faulted request and logs the fault", async () => {
    const app = emulator({ faults: { serverError: 1 } });
    await postEvents(app, [purchase()]);
    const store = emulatorStore(app);
    assert.equal(store.events().length, 0);
    assert.equal(store.requests()[0]?.fault, "serverError");
    assert.equal(store.requests()[0]?.status, 500);
  });

  it("does not spend draws on requests that fail auth", async () => {
    const reference = await outcomes(emulator({ faults: { ...faults, seed: 5 } }), 10);
    const app = emulator({ faults: { ...faults, seed: 5 } });
    const noAccess = await postEvents(app, [purchase()], { access_token: "unknown-token" });
    const unparseable = await app.inject({
      method: "POST",
      url: EDGE,
      headers: { authorization: "Bearer not valid" },
    });
    assert.equal(graphError(noAccess).error_subcode, 33);
    assert.equal(unparseable.statusCode, 401);
    assert.deepEqual(await outcomes(app, 10), reference);
  });

  it("refuses rates outside 0..1 or adding up past 1", () => {
    assert.throws(() => emulator({ faults: { drop: 1.5 } }), RangeError);
    assert.throws(() => emulator({ faults: { drop: 0.6, timeout: 0.6 } }), RangeError);
  });
});

describe("rate limit (token bucket per dataset, spec §7)", () => {
  it("throttles past the burst with 80004 and usage headers, and refills with time", async () => {
    const time = clock();
    const app = emulator({ now: time.now, rateLimit: { requestsPerSecond: 2, burst: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await postEvents(app, [purchase({ event_id: `r${i}` })])).statusCode);
    assert.deepEqual(statuses, [200, 200, 200, 400]);
    const limited = await postEvents(app, [purchase()]);
    const error = graphError(limited);
    assert.equal(error.code, 80004);
    assert.equal(error.is_transient, true);
    assert.equal(limited.headers["retry-after"], "1");
    const usage = JSON.parse(String(limited.headers["x-business-use-case-usage"]));
    assert.equal(usage[DATASET][0].estimated_time_to_regain_access, 1);
    assert.equal(emulatorStore(app).requests().at(-1)?.fault, "rateLimit");
    time.ms += 500; // one token back at 2 per second
    assert.equal((await postEvents(app, [purchase({ event_id: "r5" })])).statusCode, 200);
    assert.equal((await postEvents(app, [purchase({ event_id: "r6" })])).statusCode, 400);
    assert.equal(emulatorStore(app).stats()[DATASET]?.live.received, 4);
  });
});

describe("faults on a real socket (drop, timeout, lost response, latency)", () => {
  const running: RunningEmulator[] = [];
  after(async () => {
    for (const emu of running) await emu.close();
  });

  async function start(options: Parameters<typeof startEmulator>[0]) {
    const emu = await startEmulator({ port: 0, now: () => NOW_MS, ...options });
    running.push(emu);
    return emu;
  }

  function send(emu: RunningEmulator, signal?: AbortSignal) {
    return fetch(`${emu.url}${EDGE}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ data: [purchase()] }),
      signal,
    });
  }

  it("drop: the connection closes with no answer and nothing is recorded", async () => {
    const emu = await start({ faults: { drop: 1 } });
    await assert.rejects(send(emu));
    assert.equal(emu.store.events().length, 0);
    assert.equal(emu.store.requests()[0]?.fault, "drop");
  });

  it("timeout: the request hangs past the client's patience, then the socket is dropped", async () => {
    const emu = await start({ faults: { timeout: 1, timeoutHoldMs: 300 } });
    const started = performance.now();
    await assert.rejects(send(emu, AbortSignal.timeout(100)), { name: "TimeoutError" });
    await assert.rejects(send(emu));
    assert.ok(performance.now() - started >= 300);
    assert.equal(emu.store.events().length, 0);
  });

  it("lostResponse: the events are recorded but the client gets no answer", async () => {
    const emu = await start({ faults: { lostResponse: 1 } });
    await assert.rejects(send(emu));
    assert.equal(emu.store.events().length, 1);
    assert.equal(emu.store.requests()[0]?.fault, "lostResponse");
  });

  it("latencyMs delays every answer without blocking other requests", async () => {
    const emu = await start({ latencyMs: 150 });
    const started = performance.now();
    const responses = await Promise.all([send(emu), send(emu), send(emu)]);
    const elapsed = performance.now() - started;
    for (const response of responses) assert.equal(response.status, 200);
    assert.ok(elapsed >= 150, `answered after ${elapsed} ms`);
    assert.ok(elapsed < 450, `three concurrent requests took ${elapsed} ms: latency is serialised`);
  });

  it("closes promptly even while a timed-out request is held", async () => {
    const emu = await startEmulator({
      port: 0,
      now: () => NOW_MS,
      faults: { timeout: 1, timeoutHoldMs: 60_000 },
    });
    const pending = send(emu).catch(() => "closed");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await emu.close();
    assert.equal(await pending, "closed");
    assert.ok(performance.now() - started < 1000);
  });

  it("serves real HTTP with the JSON success body", async () => {
    const emu = await start({});
    const response = await send(emu);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json; charset=UTF-8");
    assert.equal(((await response.json()) as { events_received: number }).events_received, 1);
  });
});
