// One collector as a process of its own: `node src/service/collector/standalone.ts '<json>'`.
// The kill -9 test and the bench run it in a child process; it reports `{ "url": … }` over the IPC
// channel when forked, else as one line on stdout. SIGTERM/SIGINT close it cleanly. Over IPC it
// answers "stats" with the queue's counters and the process' CPU time.
import { setImmediate } from "node:timers/promises";
import type { CollectorConnection } from "./access.ts";
import { CollectorQueue, type Synchronous } from "./queue.ts";
import { startCollectorServer } from "./server.ts";

export interface StandaloneConfig {
  readonly queuePath: string;
  readonly synchronous?: Synchronous;
  readonly connections: readonly CollectorConnection[];
  readonly host?: string;
  readonly port?: number;
  readonly trustProxy?: boolean | readonly string[];
  /**
   * Acknowledge rows as the pipeline would once delivered (1000 at a time or after 1 s): the
   * queue's read and delete load without a pipeline. For the bench only: it discards the messages.
   */
  readonly drain?: boolean;
}

export interface StandaloneStats {
  readonly queue: ReturnType<CollectorQueue["stats"]>;
  readonly depth: number;
  readonly cpu: NodeJS.CpuUsage;
}

/** Reads every message (as the pipeline will, 100 at a time between turns of the event loop) and acks. */
async function drain(queue: CollectorQueue, connection: string, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const rows = await queue.waitForRows(connection, { signal });
    const messages: Record<string, unknown>[] = [];
    for (let start = 0; start < rows.length; start += 100) {
      // Reading `message` parses the stored JSON: the pipeline's first step.
      for (const row of rows.slice(start, start + 100)) messages.push(row.message);
      await setImmediate();
    }
    await queue.ack(rows.map((row) => row.id));
  }
}

async function main(): Promise<void> {
  const text = process.argv[2];
  if (!text) throw new Error("usage: standalone.ts '<json config>'");
  const config = JSON.parse(text) as StandaloneConfig;
  const queue = await CollectorQueue.open({
    path: config.queuePath,
    synchronous: config.synchronous ?? "normal",
  });
  const server = await startCollectorServer({ ...config, queue });
  const draining = new AbortController();
  if (config.drain) {
    for (const { name } of config.connections) drain(queue, name, draining.signal).catch(() => {});
  }
  const stop = async () => {
    draining.abort();
    await server.close();
    await queue.close();
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.on("disconnect", stop);
  process.on("message", (request) => {
    if (request !== "stats" || !process.send) return;
    const stats: StandaloneStats = { queue: queue.stats(), depth: queue.depth(), cpu: process.cpuUsage() };
    process.send({ stats });
  });
  if (process.send) process.send({ url: server.url });
  else process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`collector: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
