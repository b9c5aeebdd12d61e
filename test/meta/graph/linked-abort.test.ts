// Signals linked to long-lived ones (a client's stop signal, serve's shutdown signal) must let go
// of them when their work is over: one send or one run leaves no listener behind.
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { after, before, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type RunningEmulator, startEmulator } from "../../../src/emulator/index.ts";
import { GraphClient, linkedAbort } from "../../../src/meta/graph/index.ts";
import { DATASET, TOKEN, validEvent } from "./helpers.ts";

describe("linkedAbort", () => {
  it("aborts with the reason of whichever source aborts first, and then lets go of the others", () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkedAbort([a.signal, undefined, b.signal]);
    assert.equal(linked.signal.aborted, false);
    assert.equal(getEventListeners(a.signal, "abort").length, 1);
    b.abort("shutdown");
    assert.equal(linked.signal.aborted, true);
    assert.equal(linked.signal.reason, "shutdown");
    assert.equal(getEventListeners(a.signal, "abort").length, 0);
  });

  it("starts aborted when a source already is, and listens to none", () => {
    const a = new AbortController();
    const b = new AbortController();
    b.abort("early");
    const linked = linkedAbort([a.signal, b.signal]);
    assert.equal(linked.signal.reason, "early");
    assert.equal(getEventListeners(a.signal, "abort").length, 0);
  });

  it("aborts by itself, and after unlink no longer follows its sources", () => {
    const a = new AbortController();
    const own = linkedAbort([a.signal]);
    own.abort("failed");
    assert.equal(own.signal.reason, "failed");
    assert.equal(getEventListeners(a.signal, "abort").length, 0);
    const done = linkedAbort([a.signal]);
    done.unlink();
    assert.equal(getEventListeners(a.signal, "abort").length, 0);
    a.abort();
    assert.equal(done.signal.aborted, false);
  });
});

describe("linkedAbort on a signal that lives for the whole process", () => {
  it("retains nothing once unlinked (AbortSignal.any kept ~40 bytes a link: 2 MB per 50k)", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 4; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const shutdown = new AbortController();
    await settle();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 50_000; i++) {
      const linked = linkedAbort([shutdown.signal, new AbortController().signal]);
      linked.signal.addEventListener("abort", () => {});
      linked.unlink();
      if (i % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await settle();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 1_000_000, `the heap grew by ${grown} bytes over 50k links`);
  });
});

describe("a client that outlives its sends", () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator({ port: 0, recordEvents: "count" });
  });
  after(() => emulator.close());

  it("keeps no listener on the caller's signal once each send is over", async () => {
    const client = new GraphClient({ accessToken: TOKEN, graphUrl: emulator.url, timeoutMs: 2000 });
    const shutdown = new AbortController();
    try {
      for (let send = 0; send < 5; send++) {
        const events = [0, 1, 2].map((i) => ({ ref: i, event: validEvent(send * 10 + i) }));
        const summary = await client.dataset(DATASET).send(events, { signal: shutdown.signal });
        assert.equal(summary.delivered, 3);
        assert.equal(getEventListeners(shutdown.signal, "abort").length, 0, `after send ${send}`);
      }
    } finally {
      await client.close();
    }
  });
});
