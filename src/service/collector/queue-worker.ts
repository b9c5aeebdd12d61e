// The collector queue's SQLite writer, on its own thread: a commit (and the fsync or checkpoint it may
// wait for) blocks this thread only, so the HTTP thread keeps reading requests, and what arrives
// meanwhile becomes the next transaction (group commit without a timer).
import { parentPort, workerData } from "node:worker_threads";
import { describe, openQueueFile, QueueFile } from "./queue-file.ts";
import type { WorkerConfig, WorkerReply, WorkerRequest } from "./queue-protocol.ts";

function run(config: WorkerConfig): void {
  const port = parentPort;
  if (!port) throw new Error("queue-worker.ts runs as a worker thread of CollectorQueue");
  const post = (reply: WorkerReply) => port.postMessage(reply);
  let file: QueueFile;
  try {
    file = new QueueFile(openQueueFile(config));
    post({ op: "ready", counts: file.counts() });
  } catch (error) {
    post({ op: "failed", ...describe(error) });
    port.close();
    return;
  }
  port.on("message", (request: WorkerRequest) => {
    try {
      switch (request.op) {
        case "write": {
          const started = performance.now();
          const deleted = [...file.write(request)];
          post({ op: "written", seq: request.seq, ms: performance.now() - started, deleted });
          break;
        }
        case "read":
          post({
            op: "rows",
            seq: request.seq,
            ...file.read(request.connection, request.afterId, request.limit),
          });
          break;
        case "close":
          file.close();
          post({ op: "closed", seq: request.seq });
          port.close();
          break;
      }
    } catch (error) {
      post({ op: "error", seq: request.seq, ...describe(error) });
    }
  });
}

run(workerData as WorkerConfig);
