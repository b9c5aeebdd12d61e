// The collector end to end: Segment's own Node library posts to a real `serve`, events land in the
// durable queue, the delivery loop sends them through the pipeline to the emulator, and a kill -9
// under load loses no acknowledged event.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Analytics } from "@segment/analytics-node";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { openLedger } from "../../src/ledger/index.ts";

const BIN = new URL("../../bin/capi-sync.js", import.meta.url).pathname;
const DATASET = "909090909";
const TOKEN = "collector-e2e-token";
const WRITE_KEY = "collector-e2e-write-key-123456";
const AUTH = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`;

function config(emulatorUrl: string): string {
  return `state: state/ledger.db
service: { port: 0, log_level: info }
connections:
  web:
    source: { kind: collector, write_keys: ["\${WRITE_KEY}"], max_delay_ms: 100 }
    key: messageId
    mapping: { preset: segment }
    destination: { dataset_id: "${DATASET}", access_token: "\${META_TOKEN}", graph_url: "${emulatorUrl}" }
`;
}

interface Serving {
  readonly child: ChildProcess;
  readonly url: Promise<string>;
  readonly exited: Promise<unknown>;
  /** What serve wrote (JSON logs, and anything on stderr): shown when a wait times out. */
  output(): string;
}

function serve(dir: string): Serving {
  const child = spawn(process.execPath, [BIN, "serve", "--config", join(dir, "capi-sync.yaml")], {
    env: { ...process.env, META_TOKEN: TOKEN, WRITE_KEY },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  const url = new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const listening = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (listening?.[1]) resolve(listening[1]);
    });
    child.on("exit", (code) => reject(new Error(`serve exited (${code}) before listening: ${out}`)));
  });
  url.catch(() => {});
  const exited = new Promise((resolve) => child.on("exit", resolve));
  return { child, url, exited, output: () => out };
}

function purchase(messageId: string) {
  return {
    type: "track",
    event: "Order Completed",
    messageId,
    userId: `user-${messageId}`,
    timestamp: new Date().toISOString(),
    context: { ip: "203.0.113.10", userAgent: "Mozilla/5.0", page: { url: "https://shop.example/thanks" } },
    properties: { order_id: messageId, revenue: 42.5, currency: "eur", email: `${messageId}@example.com` },
  };
}

async function until(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
  serving?: Serving,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${serving ? `; serve wrote:\n${serving.output()}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("collector → pipeline → Meta", () => {
  let emulator: RunningEmulator;
  let dir: string;
  before(async () => {
    emulator = await startEmulator({ port: 0, datasets: [{ id: DATASET, tokens: [TOKEN] }] });
    dir = await mkdtemp(join(tmpdir(), "capi-sync-collector-"));
    await writeFile(join(dir, "capi-sync.yaml"), config(emulator.url));
  });
  after(async () => {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("delivers what Segment's Node library sends, once, as Purchase events with the messageId as event_id", async () => {
    emulator.store.reset();
    const serving = serve(dir);
    try {
      const url = await serving.url;
      const analytics = new Analytics({ writeKey: WRITE_KEY, host: url, flushAt: 10, flushInterval: 50 });
      const ids = Array.from({ length: 25 }, (_, i) => `seg-${i}`);
      for (const id of ids) {
        const { type: _type, ...message } = purchase(id);
        analytics.track(message as Parameters<Analytics["track"]>[0]);
      }
      await analytics.closeAndFlush();
      await until(
        () => (emulator.store.stats()[DATASET]?.live.unique ?? 0) >= ids.length,
        15_000,
        "delivery",
      );
      const events = emulator.store
        .events(DATASET, { test: false })
        .map((e) => e.event as Record<string, unknown>);
      assert.deepEqual(events.map((e) => e.event_id).sort(), [...ids].sort());
      assert.ok(events.every((e) => e.event_name === "Purchase"));
      assert.equal(emulator.store.stats()[DATASET]?.live.duplicates, 0);
    } finally {
      serving.child.kill("SIGTERM");
      await serving.exited;
    }
    const ledger = await openLedger(join(dir, "state/ledger.db"));
    try {
      assert.equal((await ledger.countsByState("web")).delivered, 25);
    } finally {
      await ledger.close();
    }
  });

  it("loses no acknowledged event when killed with -9 under load, and delivers it after restart", async () => {
    emulator.store.reset();
    const acknowledged = new Set<string>();
    const first = serve(dir);
    const url = await first.url;
    let next = 0;
    let stopped = false;
    const sender = async () => {
      while (!stopped) {
        const ids = [0, 1, 2, 3].map((i) => `kill-${next}-${i}`);
        next++;
        try {
          const response = await fetch(`${url}/v1/batch`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: AUTH },
            body: JSON.stringify({ batch: ids.map(purchase) }),
          });
          await response.arrayBuffer();
          if (response.status === 200) for (const id of ids) acknowledged.add(id);
        } catch {
          return; // the server is gone
        }
      }
    };
    const senders = Array.from({ length: 8 }, sender);
    await new Promise((resolve) => setTimeout(resolve, 400 + Math.floor(Math.random() * 600)));
    first.child.kill("SIGKILL");
    await first.exited;
    stopped = true;
    await Promise.all(senders);
    assert.ok(acknowledged.size > 0, "some events were acknowledged before the kill");

    const second = serve(dir);
    try {
      await second.url;
      const deliveredIds = () =>
        new Set(
          emulator.store
            .events(DATASET, { test: false })
            .map((e) => (e.event as { event_id?: string }).event_id),
        );
      await until(
        () => {
          // Once per poll: the emulator answers from this process, so the check must stay cheap.
          const delivered = deliveredIds();
          return [...acknowledged].every((id) => delivered.has(id));
        },
        20_000,
        "every acknowledged event",
        second,
      );
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });
});
