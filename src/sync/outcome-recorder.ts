import type { Ledger, Outcome, RunId } from "../ledger/index.ts";

/** Outcomes are written in transactions of about this many. */
const FLUSH_AT = 1000;

interface Group {
  readonly datasetId: string | undefined;
  readonly fbtraceId: string | undefined;
  readonly outcomes: Outcome[];
}

/**
 * Buffers outcomes and writes them to the ledger in batched transactions, one at a time and in
 * order. Outcomes of one Meta answer share a dataset and fbtrace_id, which the ledger keeps with
 * them (one ledger batch per answer), so `rejections` can show where each came from.
 */
export class OutcomeRecorder {
  readonly #ledger: Ledger;
  readonly #runId: RunId;
  readonly #onWritten: ((outcomes: readonly Outcome[]) => void) | undefined;
  #groups = new Map<string, Group>();
  /** The group the last outcome went to. */
  #last: Group | undefined;
  #buffered = 0;
  #writing: Promise<void> = Promise.resolve();

  /** `onWritten` hears of each set of outcomes once it is in the ledger. */
  constructor(ledger: Ledger, runId: RunId, onWritten?: (outcomes: readonly Outcome[]) => void) {
    this.#ledger = ledger;
    this.#runId = runId;
    this.#onWritten = onWritten;
  }

  add(outcome: Outcome, datasetId?: string, fbtraceId?: string): void {
    // An answer's thousand outcomes come one after another: the group is looked up once for them.
    let group = this.#last;
    if (group === undefined || group.datasetId !== datasetId || group.fbtraceId !== fbtraceId) {
      const id = `${datasetId ?? ""}\u0000${fbtraceId ?? ""}`;
      group = this.#groups.get(id);
      if (group === undefined) {
        group = { datasetId, fbtraceId, outcomes: [] };
        this.#groups.set(id, group);
      }
      this.#last = group;
    }
    group.outcomes.push(outcome);
    this.#buffered++;
  }

  /** Starts a write when enough is buffered; waits only if the previous write is still running. */
  async flushIfFull(): Promise<void> {
    if (this.#buffered >= FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    const groups = [...this.#groups.values()];
    this.#groups = new Map();
    this.#last = undefined;
    this.#buffered = 0;
    const previous = this.#writing;
    this.#writing = previous.then(() => this.#write(groups));
    await this.#writing;
  }

  async #write(groups: readonly Group[]): Promise<void> {
    for (const { datasetId, fbtraceId, outcomes } of groups) {
      if (datasetId === undefined) await this.#ledger.recordOutcomes(this.#runId, outcomes);
      else {
        const batchId = await this.#ledger.openBatch(this.#runId, { datasetId, events: outcomes.length });
        await this.#ledger.recordOutcomes(this.#runId, outcomes, {
          batchId,
          ...(fbtraceId && { fbtraceId }),
        });
      }
      this.#onWritten?.(outcomes);
    }
  }
}
