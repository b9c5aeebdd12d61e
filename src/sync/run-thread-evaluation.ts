// The run's thread evaluates a chunk itself when the delivery worker is busy. The worker's share
// of a row (mapping, normalization, hashing, validation, JSON) is about twice the run's (reading,
// the ledger), so on two cores the worker was the bottleneck while the run's thread idled (~60% of
// a bench:sync run). Chunks evaluated here reach the worker as JSON, which it only hands to the
// client. Loaded the first time the worker is found busy: runs that never are (small ones, inline
// stages) do not load the normalizers on this thread.
import type { ConnectionConfig } from "../config/schema.ts";
import type { Outcome } from "../ledger/index.ts";
// Directly, not through the graph index, which would load the Graph client on this thread.
import { NOT_A_JSON_OBJECT, serializeEvent } from "../meta/graph/serialize.ts";
import { evaluateRows } from "./evaluate-rows.ts";
import type { MappingAndKey } from "./mapping-and-key.ts";
import { type CompiledConnection, type ConnectionDefaults, compileConnection } from "./prepare.ts";
import type { HeldRow, SerializedEvents } from "./stage-protocol.ts";

export interface EvaluatedChunk {
  readonly events: SerializedEvents;
  /** Verdicts that stay local: skipped, invalid, expired, without a dataset, not serializable. */
  readonly local: Outcome[];
}

export type RunThreadEvaluator = (rows: readonly HeldRow[], nowSeconds: number) => Promise<EvaluatedChunk>;

/** Compiles the connection's normalization on this thread, with the mapping the run compiled. */
export function runThreadEvaluator(
  name: string,
  connection: ConnectionConfig,
  defaults: ConnectionDefaults | undefined,
  mappingAndKey: MappingAndKey,
): RunThreadEvaluator {
  const compiled = compileConnection(name, connection, defaults, mappingAndKey);
  const fallbackDataset = connection.destination.dataset_id;
  return (rows, nowSeconds) => evaluateChunk(rows, nowSeconds, compiled, fallbackDataset);
}

async function evaluateChunk(
  rows: readonly HeldRow[],
  nowSeconds: number,
  compiled: CompiledConnection,
  fallbackDataset: string | undefined,
): Promise<EvaluatedChunk> {
  const { events, outcomes } = await evaluateRows(
    rows,
    0,
    rows.length,
    nowSeconds,
    compiled,
    fallbackDataset,
  );
  const serialized: SerializedEvents = {
    keys: [],
    eventIds: [],
    datasetIds: [],
    jsons: [],
    eventTimes: [],
    actionSources: [],
  };
  for (const { key, eventId, datasetId, event } of events) {
    const ready = serializeEvent(event);
    if (ready === undefined) {
      // What the client would have said of it, as a verdict of this thread's.
      outcomes.push({ key, state: "rejected", message: NOT_A_JSON_OBJECT, ...(eventId && { eventId }) });
      continue;
    }
    serialized.keys.push(key);
    serialized.eventIds.push(eventId);
    serialized.datasetIds.push(datasetId);
    serialized.jsons.push(ready.json);
    serialized.eventTimes.push(ready.event_time);
    serialized.actionSources.push(ready.action_source);
  }
  return { events: serialized, local: outcomes };
}
