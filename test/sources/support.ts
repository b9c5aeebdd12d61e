// Small helpers shared by the source tests (not a test file itself).
import { execFileSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isUnreadable, type Row, type Source, type UnreadableRow } from "../../src/sources/index.ts";

/** A fresh directory removed when the test ends. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "capi-sync-sources-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function readAll(source: Source): Promise<{ rows: Row[]; unreadable: UnreadableRow[] }> {
  const rows: Row[] = [];
  const unreadable: UnreadableRow[] = [];
  for await (const item of source.rows()) {
    if (isUnreadable(item)) unreadable.push(item);
    else rows.push(item);
  }
  return { rows, unreadable };
}

export async function openFileDescriptors(): Promise<number> {
  return (await readdir("/proc/self/fd")).length;
}

/** Polls `probe` until it returns true or the time is up; returns the last answer. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return probe();
}

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** Live heap after a full collection: what the process actually holds, not garbage awaiting GC. */
export function liveHeap(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

export const MB = 1024 * 1024;

/**
 * Writes `block` into a FIFO over and over (up to `limit` bytes) as fast as the reader takes it, so
 * a test can see how far a source reads ahead of its consumer.
 */
export function fifoFeeder(
  fifo: string,
  header: string,
  block: string,
  limit = 64 * MB,
): { accepted(): number; stop(): Promise<void> } {
  execFileSync("mkfifo", [fifo]);
  const writer = createWriteStream(fifo);
  writer.on("error", () => {}); // EPIPE once the reader is gone
  let accepted = 0;
  let stopped = false;
  const writing = (async () => {
    writer.write(header);
    while (accepted < limit && !stopped) {
      if (!writer.write(block)) {
        await new Promise<void>((resolve) =>
          writer.once("drain", () => resolve()).once("close", () => resolve()),
        );
      }
      accepted += block.length;
    }
    writer.destroy();
  })();
  return {
    accepted: () => accepted,
    async stop() {
      stopped = true;
      await writing;
    },
  };
}
