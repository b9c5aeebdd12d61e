// A source's rows in chunks, each with its ledger key: what the run judges against the ledger.
import type { Outcome } from "../ledger/index.ts";
import { type Row, RowKeyError } from "../mapping/index.ts";
import { isUnreadable, type RowsOptions, type Source, type UnreadableRow } from "../sources/index.ts";
import type { HeldRow } from "./stage-protocol.ts";

export interface ReadChunk {
  /** Rows read, readable or not. */
  readonly rows: number;
  /** The rows that have a key, in order. */
  readonly held: HeldRow[];
  /** Rows decided here: unreadable records, rows without a usable key. */
  readonly outcomes: Outcome[];
}

type Item = Row | UnreadableRow;

export class ChunkReader {
  /** The source's blocks of rows, when it reads in blocks; otherwise its rows one by one. */
  readonly #batches: AsyncIterator<readonly Item[]> | undefined;
  readonly #rows: AsyncIterator<Item> | undefined;
  readonly #rowKey: (row: Row) => string;
  readonly #chunkRows: number;
  /** The block being read, and the next row of it. */
  #batch: readonly Item[] = [];
  #next = 0;
  #rowNumber = 0;

  constructor(source: Source, options: RowsOptions, rowKey: (row: Row) => string, chunkRows: number) {
    const batches = source.batches?.(options);
    this.#batches = batches?.[Symbol.asyncIterator]();
    this.#rows = batches === undefined ? source.rows(options)[Symbol.asyncIterator]() : undefined;
    this.#rowKey = rowKey;
    this.#chunkRows = chunkRows;
  }

  /** The next chunk, or undefined at the end of the source. */
  async read(): Promise<ReadChunk | undefined> {
    const held: HeldRow[] = [];
    const outcomes: Outcome[] = [];
    let rows = 0;
    while (rows < this.#chunkRows) {
      let item: Item;
      if (this.#next < this.#batch.length) item = this.#batch[this.#next++] as Item;
      else if (this.#batches !== undefined) {
        const next = await this.#batches.next();
        if (next.done) break;
        this.#batch = next.value;
        this.#next = 0;
        continue;
      } else {
        const next = await (this.#rows as AsyncIterator<Item>).next();
        if (next.done) break;
        item = next.value;
      }
      rows++;
      const rowNumber = ++this.#rowNumber;
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
