// Rows in chunks: read a chunk and compute its ledger keys; later, for the rows the ledger found new,
// map, normalize, hash and validate. The only per-row awaits are the source's own and JSONata's.
import type { Outcome } from "../ledger/index.ts";
import { type Row, RowKeyError } from "../mapping/index.ts";
import type { ServerEvent } from "../meta/event.ts";
import { isUnreadable, type UnreadableRow } from "../sources/index.ts";
import { type CompiledConnection, type Evaluated, verdictOf } from "./prepare.ts";

export interface HeldRow {
  readonly row: Row;
  readonly rowNumber: number;
  readonly key: string;
}

export interface ReadChunk {
  /** Rows read, readable or not. */
  readonly rows: number;
  /** The rows that have a key, in order. */
  readonly held: HeldRow[];
  /** Rows decided here: unreadable records, rows without a usable key. */
  readonly outcomes: Outcome[];
}

export class ChunkReader {
  readonly #rows: AsyncIterator<Row | UnreadableRow>;
  readonly #rowKey: (row: Row) => string;
  readonly #chunkRows: number;
  #rowNumber = 0;
  #exhausted = false;

  constructor(rows: AsyncIterable<Row | UnreadableRow>, rowKey: (row: Row) => string, chunkRows: number) {
    this.#rows = rows[Symbol.asyncIterator]();
    this.#rowKey = rowKey;
    this.#chunkRows = chunkRows;
  }

  get exhausted(): boolean {
    return this.#exhausted;
  }

  /** The next chunk, or undefined at the end of the source. */
  async read(): Promise<ReadChunk | undefined> {
    const held: HeldRow[] = [];
    const outcomes: Outcome[] = [];
    let rows = 0;
    while (rows < this.#chunkRows) {
      const next = await this.#rows.next();
      if (next.done) {
        this.#exhausted = true;
        break;
      }
      rows++;
      const rowNumber = ++this.#rowNumber;
      const item = next.value;
      if (isUnreadable(item)) {
        outcomes.push({
          key: `unreadable:${item.file}:${item.line}`,
          state: "rejected",
          code: item.code,
          message: item.message,
        });
        continue;
      }
      try {
        held.push({ row: item, rowNumber, key: this.#rowKey(item) });
      } catch (error) {
        if (!(error instanceof RowKeyError)) throw error;
        outcomes.push({
          key: `row:${rowNumber}`,
          state: "rejected",
          code: "row.key",
          path: error.column ?? "",
          message: error.message,
        });
      }
    }
    return rows === 0 ? undefined : { rows, held, outcomes };
  }

  /** Lets the source release what it holds when reading stops early. */
  async close(): Promise<void> {
    this.#exhausted = true;
    await this.#rows.return?.();
  }
}

export interface Deliverable {
  readonly key: string;
  readonly eventId: string | undefined;
  readonly datasetId: string;
  readonly event: ServerEvent;
}

/** The chunk's rows marked in `deliver`, as events to send and verdicts that stay local. */
export async function evaluateChunk(
  held: readonly HeldRow[],
  deliver: Uint8Array,
  nowSeconds: number,
  compiled: CompiledConnection,
  fallbackDataset: string | undefined,
): Promise<{ events: Deliverable[]; outcomes: Outcome[] }> {
  const events: Deliverable[] = [];
  const outcomes: Outcome[] = [];
  for (let i = 0; i < held.length; i++) {
    if (deliver[i] !== 1) continue;
    const { row, rowNumber, key } = held[i] as HeldRow;
    const pending = compiled.evaluate(row, rowNumber, nowSeconds);
    // Only JSONata mappings are asynchronous; presets stay free of per-row promises.
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
