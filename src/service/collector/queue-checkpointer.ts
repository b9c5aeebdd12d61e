// Moves committed WAL frames into the queue's database file from a thread of its own. SQLite's
// automatic checkpoint runs inside a commit and waits for an fsync (tens of ms on a busy disk), and
// every request waiting for that commit would wait with it; a PASSIVE checkpoint from another
// connection runs beside the commits instead. The writer keeps a high automatic threshold as a
// fallback should this thread stop.
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";
import type { CheckpointerConfig } from "./queue-protocol.ts";

function run(config: CheckpointerConfig): void {
  const port = parentPort;
  if (!port) throw new Error("queue-checkpointer.ts runs as a worker thread of CollectorQueue");
  const db = new DatabaseSync(config.path);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec(`PRAGMA synchronous = ${config.synchronous === "full" ? "FULL" : "NORMAL"}`);
  const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  const timer = setInterval(() => {
    try {
      checkpoint.get();
    } catch {
      // Busy or failing: the next tick tries again, and the writer's own threshold still holds.
    }
  }, config.intervalMs);
  port.on("message", (message) => {
    if (message !== "close") return;
    clearInterval(timer);
    db.close();
    port.close();
  });
}

run(workerData as CheckpointerConfig);
