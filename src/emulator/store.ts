// What the emulator received, per dataset and live vs test, with Meta's dedup windows (spec §8) and
// a bounded request log. The hot path stores whole batches by reference; per-event views are
// built only when someone inspects them.
import { FirstSeenIndex } from "./first-seen.ts";
import { eventTimeSeconds } from "./rules.ts";

/** true: keep events; "count": keep counters and dedup keys only; false: counters only, no dedup. */
export type RecordMode = boolean | "count";

export type DuplicateKind = "event_id" | "offline";

export interface ReceivedEvent {
  readonly datasetId: string;
  readonly test: boolean;
  readonly testEventCode: string | undefined;
  /** Unix ms of receipt. */
  readonly receivedAt: number;
  readonly fbtraceId: string;
  readonly event: unknown;
  /** Set when Meta would discard this event as a duplicate of an earlier one. */
  readonly duplicateOf: DuplicateKind | undefined;
  /** Diagnostics Meta would report for this accepted event (rule ids); empty in strict mode. */
  readonly warnings: readonly string[];
}

export interface LedgerStats {
  /** Accepted requests (batches). */
  readonly batches: number;
  readonly received: number;
  readonly unique: number;
  readonly duplicates: number;
}

export interface DatasetStats {
  readonly live: LedgerStats;
  readonly test: LedgerStats;
}

export interface RequestLogEntry {
  /** Unix ms when the request arrived. */
  readonly at: number;
  readonly method: string;
  /** The path without its query string, so no token can appear. */
  readonly path: string;
  readonly datasetId: string | undefined;
  readonly version: string | undefined;
  readonly status: number;
  readonly eventsReceived: number | undefined;
  readonly errorCode: number | undefined;
  readonly errorSubcode: number | undefined;
  readonly failedIndex: number | undefined;
  readonly fault: string | undefined;
  readonly test: boolean;
  readonly fbtraceId: string;
  readonly durationMs: number;
}

export interface EventQuery {
  /** true: test events only; false: live only; undefined: both. */
  readonly test?: boolean;
  readonly offset?: number;
  readonly limit?: number;
}

interface StoredBatch {
  readonly receivedAt: number;
  readonly fbtraceId: string;
  readonly testEventCode: string | undefined;
  /** The events as received, or undefined when `text` holds them. */
  readonly events: readonly unknown[] | undefined;
  /** The JSON body the events came from, decoded again on inspection. */
  readonly text: string | undefined;
  /** Parallel to `events` when the batch held duplicates, else undefined. */
  readonly duplicates: ReadonlyArray<DuplicateKind | undefined> | undefined;
}

class Ledger {
  batches = 0;
  received = 0;
  duplicates = 0;
  readonly stored: StoredBatch[] = [];
  /** Per event_name, the event_ids received: two levels, so no key string is built per event. */
  readonly eventIds = new Map<string, FirstSeenIndex>();
  /** Offline events' dedup keys (see `offlineKey`). */
  readonly offline = new FirstSeenIndex();

  stats(): LedgerStats {
    return {
      batches: this.batches,
      received: this.received,
      unique: this.received - this.duplicates,
      duplicates: this.duplicates,
    };
  }
}

interface DatasetLedgers {
  readonly live: Ledger;
  readonly test: Ledger;
}

export interface StoreOptions {
  readonly now: () => number;
  readonly dedupWindowMs: number;
  readonly offlineDedupWindowMs: number;
  readonly record: RecordMode;
  readonly requestLogLimit: number;
  readonly datasetIds: readonly string[];
  /** Rule ids an accepted event would be warned about; used when events are inspected. */
  readonly warningsFor: (event: unknown) => string[];
  /** Decodes a kept JSON body back into its events. */
  readonly decode: (jsonText: string) => unknown[];
}

const SEP = "\u0000";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

/** Offline events without order_id dedup on "the same set of customer-information fields" (§8). */
function customerFields(userData: unknown): string {
  if (!isObject(userData)) return "";
  return JSON.stringify(
    Object.keys(userData)
      .sort()
      .map((key) => [key, userData[key]]),
  );
}

/** physical_store events dedup on time, name, item and the order id or else the customer (spec §8). */
function offlineKey(event: Record<string, unknown>): string {
  const custom = isObject(event.custom_data) ? event.custom_data : undefined;
  const orderId = custom?.order_id;
  const identity = present(orderId) ? `o${String(orderId)}` : `u${customerFields(event.user_data)}`;
  const item = present(custom?.item_number) ? String(custom?.item_number) : "";
  const time = eventTimeSeconds(event.event_time) ?? "";
  return `${time}${SEP}${String(event.event_name)}${SEP}${item}${SEP}${identity}`;
}

export class EmulatorStore {
  readonly #options: StoreOptions;
  #datasets = new Map<string, DatasetLedgers>();
  #log: RequestLogEntry[] = [];

  constructor(options: StoreOptions) {
    this.#options = options;
    this.reset();
  }

  #ledgers(datasetId: string): DatasetLedgers {
    let ledgers = this.#datasets.get(datasetId);
    if (ledgers === undefined) {
      ledgers = { live: new Ledger(), test: new Ledger() };
      this.#datasets.set(datasetId, ledgers);
    }
    return ledgers;
  }

  /** Records an accepted batch; duplicates are recorded too, since Meta counts them as received. */
  accept(
    datasetId: string,
    testEventCode: string | undefined,
    events: readonly unknown[],
    fbtraceId: string,
    jsonText?: string,
  ): void {
    const ledger =
      testEventCode === undefined ? this.#ledgers(datasetId).live : this.#ledgers(datasetId).test;
    const { record, now } = this.#options;
    const receivedAt = now();
    ledger.batches++;
    ledger.received += events.length;
    let duplicates: Array<DuplicateKind | undefined> | undefined;
    if (record !== false) {
      for (let i = 0; i < events.length; i++) {
        const kind = this.#dedup(ledger, events[i], receivedAt);
        if (kind === undefined) continue;
        ledger.duplicates++;
        duplicates ??= new Array(events.length);
        duplicates[i] = kind;
      }
    }
    if (record === true) {
      ledger.stored.push({
        receivedAt,
        fbtraceId,
        testEventCode,
        events: jsonText === undefined ? events : undefined,
        text: jsonText,
        duplicates,
      });
    }
  }

  /**
   * Meta's dedup (spec §8): physical_store → the offline key, 7-day window; business_messaging →
   * none; otherwise (event_name, event_id), 48 h from first receipt.
   */
  #dedup(ledger: Ledger, event: unknown, nowMs: number): DuplicateKind | undefined {
    if (!isObject(event)) return undefined;
    const source = event.action_source;
    if (source === "physical_store") {
      const window = this.#options.offlineDedupWindowMs;
      return ledger.offline.seenWithin(offlineKey(event), nowMs, window) ? "offline" : undefined;
    }
    if (source === "business_messaging") return undefined;
    const id = event.event_id;
    if (!present(id)) return undefined;
    const name = String(event.event_name);
    let ids = ledger.eventIds.get(name);
    if (ids === undefined) {
      ids = new FirstSeenIndex();
      ledger.eventIds.set(name, ids);
    }
    return ids.seenWithin(String(id), nowMs, this.#options.dedupWindowMs) ? "event_id" : undefined;
  }

  logRequest(entry: RequestLogEntry): void {
    const limit = this.#options.requestLogLimit;
    if (limit <= 0) return;
    this.#log.push(entry);
    if (this.#log.length >= limit * 2) this.#log.splice(0, this.#log.length - limit);
  }

  /** Received events (duplicates included, flagged), oldest first. */
  events(datasetId?: string, query: EventQuery = {}): ReceivedEvent[] {
    const offset = query.offset ?? 0;
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    const out: ReceivedEvent[] = [];
    let skipped = 0;
    for (const [id, ledgers] of this.#datasets) {
      if (datasetId !== undefined && id !== datasetId) continue;
      for (const test of [false, true]) {
        if (query.test !== undefined && query.test !== test) continue;
        for (const batch of (test ? ledgers.test : ledgers.live).stored) {
          const events = batch.events ?? this.#options.decode(batch.text as string);
          for (let i = 0; i < events.length; i++) {
            if (skipped < offset) {
              skipped++;
              continue;
            }
            if (out.length >= limit) return out;
            out.push(this.#view(id, test, batch, events[i], i));
          }
        }
      }
    }
    return out;
  }

  /** The received events Meta would discard as duplicates. */
  duplicates(datasetId?: string, query: EventQuery = {}): ReceivedEvent[] {
    return this.events(datasetId, { test: query.test }).filter(
      (received) => received.duplicateOf !== undefined,
    );
  }

  #view(datasetId: string, test: boolean, batch: StoredBatch, event: unknown, index: number): ReceivedEvent {
    return {
      datasetId,
      test,
      testEventCode: batch.testEventCode,
      receivedAt: batch.receivedAt,
      fbtraceId: batch.fbtraceId,
      event,
      duplicateOf: batch.duplicates?.[index],
      warnings: this.#options.warningsFor(event),
    };
  }

  /** Per dataset, live and test: accepted batches, events received, unique and duplicates. */
  stats(): Record<string, DatasetStats> {
    const out: Record<string, DatasetStats> = {};
    for (const [id, ledgers] of this.#datasets)
      out[id] = { live: ledgers.live.stats(), test: ledgers.test.stats() };
    return out;
  }

  /** The most recent requests to the events edge, oldest first. */
  requests(): RequestLogEntry[] {
    const limit = this.#options.requestLogLimit;
    return this.#log.slice(Math.max(0, this.#log.length - limit));
  }

  /** Forgets every event, dedup key and logged request. */
  reset(): void {
    this.#datasets = new Map();
    for (const id of this.#options.datasetIds) this.#ledgers(id);
    this.#log = [];
  }
}
