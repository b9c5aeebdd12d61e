import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Channel } from "../../src/sync/channel.ts";

describe("Channel", () => {
  it("hands items over in order and ends on close", async () => {
    const channel = new Channel<number>(4);
    for (let i = 0; i < 3; i++) assert.equal(channel.push(i), undefined);
    channel.close();
    const taken: number[] = [];
    for await (const item of channel) taken.push(item);
    assert.deepEqual(taken, [0, 1, 2]);
  });

  it("holds the producer at capacity until the consumer takes", async () => {
    const channel = new Channel<number>(2);
    assert.equal(channel.push(1), undefined);
    const held = channel.push(2);
    assert.ok(held instanceof Promise, "a full channel makes the producer wait");
    let released = false;
    void held.then(() => {
      released = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(released, false);
    const iterator = channel[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { value: 1, done: false });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(released, true);
    await iterator.return?.();
  });

  it("drops pushes once the consumer stopped early, and never blocks them", async () => {
    const channel = new Channel<number>(1);
    channel.push(1);
    for await (const _ of channel) break;
    assert.equal(channel.abandoned, true);
    assert.equal(channel.push(2), undefined);
  });

  it("hands over queued items without waiting, in order, and frees room for the producer", async () => {
    const channel = new Channel<number>(2);
    assert.equal(channel.takeReady(), undefined);
    channel.push(1);
    const held = channel.push(2);
    assert.ok(held instanceof Promise);
    assert.equal(channel.takeReady(), 1);
    await held;
    channel.push(3);
    assert.equal(channel.takeReady(), 2);
    const iterator = channel[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { value: 3, done: false });
    assert.equal(channel.takeReady(), undefined);
    channel.close();
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  it("is abandoned when the consumer stops after taking only ready items, and releases a held producer", async () => {
    const channel = new Channel<number>(2);
    channel.push(1);
    const held = channel.push(2);
    assert.ok(held instanceof Promise);
    const iterator = channel[Symbol.asyncIterator]();
    assert.equal(channel.takeReady(), 1);
    await iterator.return?.();
    assert.equal(channel.abandoned, true);
    await held;
    assert.equal(channel.push(3), undefined, "pushes are dropped once abandoned");
  });

  // A sync's events each hold a whole event graph (~3 KB). Kept until the array was compacted
  // (4,096 items later), they outlived the young generation and were promoted by the thousand.
  it("keeps no reference to an item once it is taken", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const channel = new Channel<object>(8);
    const iterator = channel[Symbol.asyncIterator]();
    let taken: WeakRef<object> | undefined;
    await (async () => {
      channel.push({ payload: "x".repeat(64) });
      const first = await iterator.next();
      taken = new WeakRef(first.value as object);
    })();
    channel.push({ payload: "next" });
    await iterator.next();
    // No deref() before the collections: it would keep the item alive for the rest of the job.
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(taken?.deref(), undefined, "the channel still holds an item it handed over");
    channel.close();
    await iterator.return?.();
  });
});
