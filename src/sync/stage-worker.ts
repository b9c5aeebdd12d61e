// Worker-thread entry of the delivery stage (delivery-stage.ts). Started by stage-link.ts.
import { parentPort, workerData } from "node:worker_threads";
import type { Logger } from "../meta/graph/index.ts";
import { DeliveryStage } from "./delivery-stage.ts";
import type { LogMessage, StageInbound, StageOutbound, StageSetup } from "./stage-protocol.ts";

const port = parentPort;
if (port === null) throw new Error("stage-worker.ts runs as a worker thread");
const setup = workerData as StageSetup;
const post = (message: StageOutbound): void => port.postMessage(message);

/** The client's log records (already scrubbed of secrets) go to the run's logger. */
const log =
  (level: LogMessage["level"]) =>
  (fields: object, message?: string): void =>
    post({ type: "log", level, fields, message });
const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };

const stage = new DeliveryStage(setup, post, setup.logs ? { logger } : {});
port.on("message", (message: StageInbound) => stage.receive(message));
await stage.run();
port.close();
