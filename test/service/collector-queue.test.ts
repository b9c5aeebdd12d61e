import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import { CollectorQueue, CollectorQueueError } from "../../src/service/collector/index.ts";
import { QueueReader } from "../../src/service/collector/queue-reader.ts";

const dir = mkdtempSync(join(tmpdir(), "collector-queue-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `queue-${++files}.db`);

const track = (id: string) => ({
  message: { type: "track", event: "Order Completed", userId: "u", messageId: id },
});

test("append resolves after commit; claim hands rows out oldest first with their notes", async () => {
  const queue = await CollectorQueue.open({ path: freshPath() });
  try {
    await queue.append("web", [track("m1"), { ...track("m2"), notes: ["fbc_from_fbclid"] }]);
    await queue.append("app", [track("a1")]);
    assert.equal(queue.depth("web"), 2);
    assert.equal(queue.depth(), 3);
    const rows = await queue.claim("web", 10);
    assert.deepEqual(
      rows.map((row) => [row.connection, row.message.messageId, row.notes]),
      [
        ["web", "m1", []],
        ["web", "m2", ["fbc_from_fbclid"]],
      ],
    );
    assert.ok(rows[0] && rows[1] && rows[0].id < rows[1].id);
    assert.ok(rows[0]?.receivedAt instanceof Date);
    const copy = { ...rows[1] };
    assert.equal(copy.message?.messageId, "m2", "a spread row keeps its message");
    assert.deepEqual(copy.notes, ["fbc_from_fbclid"]);
    assert.deepEqual(
      JSON.parse(JSON.stringify(rows[0])).message,
      track("m1").message,
      "rows serialize whole",
    );
    assert.deepEqual(await queue.claim("web", 10), [], "claimed rows are not handed out twice");
    assert.equal(queue.claimed("web"), 2);
  } finally {
    await queue.close();
  }
});

test("ack deletes rows, release gives them back first, depth follows", async () => {
  const queue = await CollectorQueue.open({ path: freshPath() });
  try {
    await queue.append("web", ["m1", "m2", "m3", "m4"].map(track));
    const first = await queue.claim("web", 2);
    const second = await queue.claim("web", 2);
    queue.release(first.map((row) => row.id));
    await queue.ack(second.map((row) => row.id));
    assert.equal(queue.depth("web"), 2);
    assert.equal(queue.claimed("web"), 0);
    const again = await queue.claim("web", 10);
    assert.deepEqual(
      again.map((row) => row.message.messageId),
      ["m1", "m2"],
    );
    await queue.ack(again.map((row) => row.id));
    assert.equal(queue.depth("web"), 0);
    assert.equal(queue.stats().rowsAcked, 4);
  } finally {
    await queue.close();
  }
});

test("rows not acknowledged survive a reopen, claimed ones included; ids are never reused", async () => {
  const path = freshPath();
  let queue = await CollectorQueue.open({ path });
  await queue.append("web", ["m1", "m2", "m3"].map(track));
  const claimed = await queue.claim("web", 2);
  await queue.ack([claimed[0]?.id ?? -1]);
  await queue.close();

  queue = await CollectorQueue.open({ path });
  try {
    assert.equal(queue.depth("web"), 2);
    const rows = await queue.claim("web", 10);
    assert.deepEqual(
      rows.map((row) => row.message.messageId),
      ["m2", "m3"],
    );
    await queue.ack(rows.map((row) => row.id));
    await queue.append("web", [track("m4")]);
    const [fresh] = await queue.claim("web", 10);
    assert.equal(fresh?.message.messageId, "m4", "a row appended after the queue emptied is still claimable");
    assert.ok((fresh?.id ?? 0) > (rows.at(-1)?.id ?? Infinity));
  } finally {
    await queue.close();
  }
});

test("concurrent appends share transactions (group commit)", async () => {
  const queue = await CollectorQueue.open({ path: freshPath() });
  try {
    const appends = Array.from({ length: 300 }, (_, i) => queue.append("web", [track(`m${i}`)]));
    await Promise.all(appends);
    const stats = queue.stats();
    assert.equal(stats.appendCalls, 300);
    assert.equal(stats.rowsAppended, 300);
    assert.ok(stats.commits < 30, `300 concurrent appends took ${stats.commits} commits`);
    assert.equal(queue.depth("web"), 300);
  } finally {
    await queue.close();
  }
});

test("waitForRows resolves at `max` waiting rows without waiting for the delay", async () => {
  const queue = await CollectorQueue.open({ path: freshPath() });
  try {
    const started = performance.now();
    const waiting = queue.waitForRows("web", { max: 5, maxDelayMs: 10_000 });
    await queue.append("web", ["m1", "m2", "m3"].map(track));
    await queue.append("web", ["m4", "m5", "m6"].map(track));
    const rows = await waiting;
    assert.equal(rows.length, 5);
    assert.ok(performance.now() - started < 5000);
    assert.equal(queue.claimed("web"), 5);
  } finally {
    await queue.close();
  }
});

test("waitForRows resolves with fewer rows once the oldest has waited maxDelayMs", async () => {
  const queue = await CollectorQueue.open({ path: freshPath() });
  try {
    await queue.append("web", ["m1", "m2"].map(track));
    const started = performance.now();
    const rows = await queue.waitForRows("web", { max: 1000, maxDelayMs: 80 });
    const waited = performance.now() - started;
    assert.equal(rows.length, 2);
    assert.ok(waited >= 60, `resolved after ${waited.toFixed(1)} ms, before the delay`);
  } finally {
    await queue.close();
  }
});

test("waitForRows hands out rows left by an earlier process at once: their delay has passed", async () => {
  const path = freshPath();
  let clock = 1_000_000;
  const first = await CollectorQueue.open({ path, now: () => clock });
  await first.append("web", [track("old")]);
  await first.close();
  clock += 5000;
  const queue = await CollectorQueue.open({ path, now: () => clock });
  try {
    const rows = await queue.waitForRows("web", { max: 1000, maxDelayMs: 1000 });
    assert.deepEqual(
      rows.map((row) => row.message.messageId),
      ["old"],
    );
  } finally {
    await queue.close();
  }
});

test("waitForRows rejects when its signal aborts, and when the queue closes", async () => {
  const queue = await CollectorQueue.open({ path: freshPath() });
  const controller = new AbortController();
  const aborted = queue.waitForRows("web", { signal: controller.signal });
  controller.abort(new Error("stop"));
  await assert.rejects(aborted, /stop/);
  const closing = assert.rejects(
    queue.waitForRows("web"),
    (error: unknown) => error instanceof CollectorQueueError && error.code === "queue_closed",
  );
  await queue.close();
  await closing;
  await assert.rejects(queue.append("web", [track("late")]), /closed/);
});

test("the queue file is private to its owner and refuses a SQLite file of another kind", async () => {
  const path = freshPath();
  const queue = await CollectorQueue.open({ path });
  await queue.append("web", [track("m1")]);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  await queue.close();

  const other = freshPath();
  const db = new DatabaseSync(other);
  db.exec("CREATE TABLE something (x)");
  db.close();
  await assert.rejects(
    CollectorQueue.open({ path: other }),
    (error: unknown) => error instanceof CollectorQueueError && error.code === "not_a_queue",
  );
});

test("synchronous: full stores and reads back the same way", async () => {
  const path = freshPath();
  const queue = await CollectorQueue.open({ path, synchronous: "full" });
  await queue.append("web", [track("m1")]);
  await queue.close();
  const reopened = await CollectorQueue.open({ path });
  try {
    assert.equal(reopened.depth("web"), 1);
  } finally {
    await reopened.close();
  }
});

test("a large ack is deleted in slices that appends can join, and resolves once all are gone", async () => {
  const queue = await CollectorQueue.open({ path: freshPath() });
  try {
    await queue.append(
      "web",
      Array.from({ length: 1000 }, (_, i) => track(`m${i}`)),
    );
    const rows = await queue.claim("web", 1000);
    const before = queue.stats().commits;
    const acked = queue.ack(rows.map((row) => row.id));
    // An append issued meanwhile does not wait for all thousand deletions.
    let appendedFirst = false;
    await Promise.all([
      queue.append("web", [track("late")]).then(() => {
        appendedFirst = true;
      }),
      acked.then(() => assert.equal(appendedFirst, true, "the append committed before the ack finished")),
    ]);
    assert.equal(queue.depth("web"), 1);
    assert.equal(queue.stats().rowsAcked, 1000);
    assert.ok(queue.stats().commits - before >= 5, "the deletions took several transactions");
  } finally {
    await queue.close();
  }
});

test("onAppended hears of each commit that stored messages, with their connections", async () => {
  const queue = await CollectorQueue.open({ path: freshPath() });
  try {
    const heard: string[][] = [];
    const stop = queue.onAppended((connections) => heard.push([...connections].sort()));
    await Promise.all([queue.append("web", [track("w1")]), queue.append("app", [track("a1")])]);
    const [row] = await queue.claim("web", 1);
    await queue.ack([row?.id ?? -1]);
    assert.deepEqual(heard, [["app", "web"]], "one commit, both connections; an ack alone is not heard");
    stop();
    await queue.append("web", [track("w2")]);
    assert.equal(heard.length, 1, "not after unsubscribing");
  } finally {
    await queue.close();
  }
});

test("a reader in another process's place claims from its own connection; acks go through the writer", async () => {
  const path = freshPath();
  const queue = await CollectorQueue.open({ path });
  const reader = QueueReader.open({ path });
  try {
    await queue.append("web", ["m1", "m2", "m3"].map(track));
    await queue.append("app", [track("a1")]);
    const first = await reader.waitForRows("web", { max: 2, maxDelayMs: 10_000 });
    assert.deepEqual(
      first.map((row) => row.message.messageId),
      ["m1", "m2"],
    );
    assert.equal(reader.claimed("web"), 2);
    // The oldest has waited long enough: the rest comes out without reaching `max`.
    const second = await reader.waitForRows("web", { max: 1000, maxDelayMs: 0 });
    assert.deepEqual(
      second.map((row) => row.message.messageId),
      ["m3"],
    );
    reader.release(first.map((row) => row.id));
    const again = await reader.waitForRows("web", { max: 1000, maxDelayMs: 0 });
    assert.deepEqual(
      again.map((row) => row.message.messageId),
      ["m1", "m2"],
      "released rows come back first",
    );
    const ids = [...again, ...second].map((row) => row.id);
    await queue.ack(ids);
    reader.settled(ids);
    assert.equal(reader.claimed("web"), 0);
    assert.equal(queue.depth("web"), 0);
    assert.equal(queue.depth("app"), 1, "other connections untouched");
  } finally {
    reader.close();
    await queue.close();
  }
});

test("a reader's wait resolves when woken after rows arrive, or when due; closing rejects it", async () => {
  const path = freshPath();
  const queue = await CollectorQueue.open({ path });
  const reader = QueueReader.open({ path });
  try {
    const waiting = reader.waitForRows("web", { max: 3, maxDelayMs: 60_000 });
    await queue.append("web", ["m1", "m2", "m3"].map(track));
    reader.wake(["web"]);
    assert.equal((await waiting).length, 3);

    await queue.append("web", [track("m4")]);
    const started = performance.now();
    const due = await reader.waitForRows("web", { max: 1000, maxDelayMs: 80 });
    assert.equal(due.length, 1);
    assert.ok(performance.now() - started < 5000);

    const controller = new AbortController();
    const aborted = reader.waitForRows("web", { signal: controller.signal });
    controller.abort(new Error("stop"));
    await assert.rejects(aborted, /stop/);
    const closing = assert.rejects(
      reader.waitForRows("web"),
      (error: unknown) => error instanceof CollectorQueueError && error.code === "queue_closed",
    );
    reader.close();
    await closing;
  } finally {
    reader.close();
    await queue.close();
  }
});
