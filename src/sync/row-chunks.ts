// A source's rows in chunks, each with its ledger key: what the run judges against the ledger.
import type { Outcome } from "../ledger/index.ts";
import { type Row, RowKeyError } from "../mapping/index.ts";
import { isUnreadable, type UnreadableRow } from "../sources/index.ts";
import type { HeldRow } from "./stage-protocol.ts";

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

  constructor(rows: AsyncIterable<Row | UnreadableRow>, rowKey: (row: Row) => string, chunkRows: number) {
    this.#rows = rows[Symbol.asyncIterator]();
    this.#rowKey = rowKey;
    this.#chunkRows = chunkRows;
  }

  /** The next chunk, or undefined at the end of the source. */
  async read(): Promise<ReadChunk | undefined> {
    const held: HeldRow[] = [];
    const outcomes: Outcome[] = [];
    let rows = 0;
    while (rows < this.#chunkRows) {
      const next = await this.#rows.next();
      if (next.done) break;
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
}
