// Durability under kill -9: a child process runs the collector; every message it answered 2xx for
// must be in the queue file after SIGKILL at a random moment.
import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CollectorQueue, type Synchronous } from "../../src/service/collector/index.ts";
import type { StandaloneConfig } from "../../src/service/collector/standalone.ts";

const STANDALONE = new URL("../../src/service/collector/standalone.ts", import.meta.url);
const dir = mkdtempSync(join(tmpdir(), "collector-kill-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const WRITE_KEY = "kill-key";
const AUTH = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`;
const CONCURRENCY = 24;

async function startChild(config: StandaloneConfig): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(STANDALONE, [JSON.stringify(config)], { stdio: ["ignore", "ignore", "pipe", "ipc"] });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const [message] = (await Promise.race([
    once(child, "message"),
    once(child, "exit").then(() => {
      throw new Error(`collector child exited before listening: ${stderr}`);
    }),
  ])) as [{ url: string }];
  return { child, url: message.url };
}

/** Sends requests from CONCURRENCY loops until the server stops answering; returns the acknowledged ids. */
async function load(url: string, prefix: string): Promise<{ acknowledged: string[]; failed: number }> {
  const acknowledged: string[] = [];
  let failed = 0;
  let next = 0;
  const loop = async () => {
    for (;;) {
      const n = next++;
      const asBatch = n % 3 === 0;
      const ids = asBatch ? [0, 1, 2, 3, 4].map((i) => `${prefix}-${n}-${i}`) : [`${prefix}-${n}`];
      const message = (id: string) => ({ userId: `u${n}`, event: "Order Completed", messageId: id });
      const body = asBatch
        ? { batch: ids.map((id) => ({ type: "track", ...message(id) })) }
        : message(ids[0] as string);
      try {
        const response = await fetch(`${url}${asBatch ? "/v1/batch" : "/v1/track"}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: AUTH },
          body: JSON.stringify(body),
        });
        await response.arrayBuffer();
        if (response.status === 200) acknowledged.push(...ids);
        else failed++;
      } catch {
        failed++;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  return { acknowledged, failed };
}

const ROUNDS: Synchronous[] = ["normal", "normal", "full"];

for (const [round, synchronous] of ROUNDS.entries()) {
  test(`kill -9 loses no acknowledged message (round ${round + 1}, synchronous=${synchronous})`, async () => {
    const queuePath = join(dir, `kill-${round}.db`);
    const { child, url } = await startChild({
      queuePath,
      synchronous,
      connections: [{ name: "web", writeKeys: [WRITE_KEY] }],
    });
    const exited = once(child, "exit");
    const loading = load(url, `r${round}`);
    await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 350));
    child.kill("SIGKILL");
    const [, signal] = await exited;
    assert.equal(signal, "SIGKILL");
    const { acknowledged, failed } = await loading;
    assert.ok(acknowledged.length > 0, "the child acknowledged nothing before the kill");
    assert.ok(failed > 0, "the kill interrupted no request");

    const queue = await CollectorQueue.open({ path: queuePath });
    try {
      const stored = new Set<unknown>();
      for (;;) {
        const rows = await queue.claim("web", 5000);
        if (rows.length === 0) break;
        for (const row of rows) stored.add(row.message.messageId);
      }
      const lost = acknowledged.filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged messages lost`);
      assert.ok(stored.size >= acknowledged.length);
    } finally {
      await queue.close();
    }
  });
}
