// The collector against the real tracking libraries, over HTTP on loopback.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, type TestContext, test } from "node:test";
import RudderAnalytics from "@rudderstack/rudder-sdk-node";
import { Analytics } from "@segment/analytics-node";
import { CollectorQueue, type QueuedRow, startCollectorServer } from "../../src/service/collector/index.ts";

const dir = mkdtempSync(join(tmpdir(), "collector-peers-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

async function start(t: TestContext) {
  const queue = await CollectorQueue.open({ path: join(dir, `q${++files}.db`) });
  const server = await startCollectorServer({
    queue,
    connections: [{ name: "web", writeKeys: ["peer-key"] }],
  });
  t.after(async () => {
    await server.close();
    await queue.close();
  });
  return { url: server.url, queue, counters: server.collector.counters };
}

function byType(rows: readonly QueuedRow[]): Record<string, Record<string, unknown>> {
  return Object.fromEntries(rows.map((row) => [String(row.message.type), row.message]));
}

const context = (message: Record<string, unknown> | undefined) => message?.context as Record<string, unknown>;

test("@segment/analytics-node: track, page and identify arrive durable, with their fields", async (t) => {
  const collector = await start(t);
  const analytics = new Analytics({
    writeKey: "peer-key",
    host: collector.url,
    path: "/v1/batch",
    flushAt: 3,
    flushInterval: 50,
    maxRetries: 0,
  });
  const failures: unknown[] = [];
  analytics.on("error", (error) => failures.push(error));
  analytics.track({
    userId: "user-1",
    event: "Order Completed",
    properties: { order_id: "o-1", revenue: 25.5, currency: "EUR" },
    context: { ip: "198.51.100.4", userAgent: "Mozilla/5.0 test", traits: { email: "jane@example.com" } },
    timestamp: new Date("2026-11-20T14:03:00Z"),
  });
  analytics.page({
    anonymousId: "anon-1",
    name: "Home",
    properties: { url: "https://shop.example/?fbclid=AbC1" },
  });
  analytics.identify({ userId: "user-1", traits: { email: "jane@example.com" } });
  await analytics.closeAndFlush({ timeout: 5000 });
  assert.deepEqual(failures, []);

  assert.equal(collector.queue.depth("web"), 3);
  const rows = byType(await collector.queue.claim("web", 10));
  assert.equal(rows.track?.event, "Order Completed");
  assert.equal(rows.track?.userId, "user-1");
  assert.deepEqual(rows.track?.properties, { order_id: "o-1", revenue: 25.5, currency: "EUR" });
  assert.equal(rows.track?.timestamp, "2026-11-20T14:03:00.000Z");
  assert.equal(context(rows.track).ip, "198.51.100.4");
  assert.deepEqual(context(rows.track).traits, { email: "jane@example.com" });
  assert.match(String(rows.track?.messageId), /.{8,}/, "the library's own messageId is kept");
  assert.equal(rows.page?.anonymousId, "anon-1");
  assert.equal(rows.identify?.userId, "user-1");
  // A server library's connection is the customer's server, not the visitor: no IP or UA taken from it.
  assert.equal(context(rows.page).ip, undefined);
  assert.equal(context(rows.page).userAgent, undefined);
  assert.match(String(context(rows.page).fbc), /^fb\.1\.\d{13}\.AbC1$/);
  assert.equal(collector.counters.snapshot().enriched.message_id_generated, undefined);
});

test("@rudderstack/rudder-sdk-node: gzip batches to /v1/batch arrive durable, with their fields", async (t) => {
  const collector = await start(t);
  const client = new RudderAnalytics("peer-key", {
    dataPlaneUrl: collector.url,
    flushAt: 3,
    flushInterval: 50,
    retryCount: 0,
    logLevel: "error",
  });
  client.track({
    userId: "user-2",
    event: "Product Added",
    properties: { product_id: "sku-1", price: 9.99, quantity: 2 },
    context: { ip: "198.51.100.5", traits: { email: "joe@example.com" } },
  });
  client.page({ anonymousId: "anon-2", name: "Cart" });
  client.identify({ userId: "user-2", traits: { email: "joe@example.com" } });
  await client.flush();

  assert.equal(collector.queue.depth("web"), 3);
  const rows = byType(await collector.queue.claim("web", 10));
  assert.equal(rows.track?.event, "Product Added");
  assert.deepEqual(rows.track?.properties, { product_id: "sku-1", price: 9.99, quantity: 2 });
  assert.equal(context(rows.track).ip, "198.51.100.5");
  assert.match(String(rows.track?.originalTimestamp), /^\d{4}-\d{2}-\d{2}T/);
  assert.match(String(rows.track?.messageId), /^[0-9a-f-]{36}$/);
  assert.equal(rows.page?.anonymousId, "anon-2");
  assert.deepEqual(context(rows.identify).traits, { email: "joe@example.com" });
  assert.equal(context(rows.page).ip, undefined, "channel: server means the request address is the server's");
  // It flushes the first message at once, the next two together: two requests, both accepted.
  assert.deepEqual(Object.keys(collector.counters.snapshot().requests), ["200"]);
});

test("@segment/analytics-node sees a refused write key as a failed delivery", async (t) => {
  const collector = await start(t);
  const analytics = new Analytics({
    writeKey: "wrong-key",
    host: collector.url,
    flushAt: 1,
    maxRetries: 0,
  });
  const failures: unknown[] = [];
  analytics.on("error", (error) => failures.push(error));
  analytics.track({ userId: "u", event: "Signed Up" });
  await analytics.closeAndFlush({ timeout: 5000 });
  assert.equal(failures.length, 1);
  assert.equal(collector.queue.depth(), 0);
  assert.equal(collector.counters.snapshot().rejected.write_key_invalid, 1);
});
