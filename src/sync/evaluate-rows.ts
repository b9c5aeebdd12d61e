// The rows the ledger found new, in slices: mapped, normalized, hashed and validated into events to
// send and verdicts that stay local. No per-row promise unless the mapping uses JSONata.
import type { Outcome } from "../ledger/index.ts";
import type { ServerEvent } from "../meta/event.ts";
import { type CompiledConnection, type Evaluated, verdictOf } from "./prepare.ts";
import { type ChunkRows, heldRowAt } from "./row-pack.ts";

export interface Deliverable {
  readonly key: string;
  readonly eventId: string | undefined;
  readonly datasetId: string;
  readonly event: ServerEvent;
}

/** Rows `from` to `to`: events to send, and verdicts that stay local. */
export async function evaluateRows(
  held: ChunkRows,
  from: number,
  to: number,
  nowSeconds: number,
  compiled: CompiledConnection,
  fallbackDataset: string | undefined,
): Promise<{ events: Deliverable[]; outcomes: Outcome[] }> {
  const events: Deliverable[] = [];
  const outcomes: Outcome[] = [];
  for (let i = from; i < to; i++) {
    const { row, rowNumber, key } = heldRowAt(held, i);
    const pending = compiled.evaluate(row, rowNumber, nowSeconds);
    const evaluated: Evaluated = pending instanceof Promise ? await pending : pending;
    if (evaluated.kind !== "event") {
      outcomes.push(localOutcome(key, evaluated));
      continue;
    }
    const datasetId = evaluated.datasetId ?? fallbackDataset;
    if (datasetId === undefined) {
      outcomes.push({
        key,
        state: "rejected",
        code: "destination.dataset_id",
        path: "meta_dataset_id",
        message: "no dataset: the row routes none and the destination sets no dataset_id",
      });
      continue;
    }
    const eventId = evaluated.event.event_id;
    events.push({
      key,
      eventId: typeof eventId === "string" ? eventId : undefined,
      datasetId,
      event: evaluated.event,
    });
  }
  return { events, outcomes };
}

function localOutcome(key: string, evaluated: Exclude<Evaluated, { kind: "event" }>): Outcome {
  if (evaluated.kind === "skipped") return { key, state: "skipped", reason: evaluated.reason };
  const { state, code, path, message } = verdictOf(evaluated.errors);
  const eventId = evaluated.event?.event_id;
  return state === "expired"
    ? { key, state, reason: message, ...(eventId && { eventId }) }
    : { key, state, code, path, message, ...(eventId && { eventId }) };
}
