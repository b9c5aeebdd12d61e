// The collector's counters, as plain numbers and as events for whoever exports them (prom-client in
// `serve`). Labels are connection names, status codes, rejection codes and note names: never values.
import type { EnrichmentNote } from "./enrich.ts";
import type { RejectionCode } from "./rejections.ts";

export type CollectorMetric =
  /** One HTTP request answered; `bytes` is the body as received (compressed when it was). */
  | { readonly name: "request"; readonly route: string; readonly status: number; readonly bytes: number }
  | { readonly name: "accepted"; readonly connection: string; readonly count: number }
  | {
      readonly name: "rejected";
      /** Undefined when the request was refused before its write key was known. */
      readonly connection: string | undefined;
      readonly code: RejectionCode;
      readonly count: number;
    }
  | {
      readonly name: "enriched";
      readonly connection: string;
      readonly note: EnrichmentNote;
      readonly count: number;
    };

export interface CollectorCountersSnapshot {
  /** Requests by HTTP status. */
  readonly requests: Readonly<Record<string, number>>;
  readonly bodyBytes: number;
  /** Messages stored, by connection. */
  readonly accepted: Readonly<Record<string, number>>;
  /** Messages (or whole requests) refused, by rejection code. */
  readonly rejected: Readonly<Record<string, number>>;
  /** Enrichments, by note. */
  readonly enriched: Readonly<Record<string, number>>;
}

function bump(counts: Record<string, number>, key: string, by: number): void {
  counts[key] = (counts[key] ?? 0) + by;
}

export class CollectorCounters {
  readonly #onMetric: ((metric: CollectorMetric) => void) | undefined;
  readonly #requests: Record<string, number> = {};
  readonly #accepted: Record<string, number> = {};
  readonly #rejected: Record<string, number> = {};
  readonly #enriched: Record<string, number> = {};
  #bodyBytes = 0;

  constructor(onMetric?: (metric: CollectorMetric) => void) {
    this.#onMetric = onMetric;
  }

  record(metric: CollectorMetric): void {
    switch (metric.name) {
      case "request":
        bump(this.#requests, String(metric.status), 1);
        this.#bodyBytes += metric.bytes;
        break;
      case "accepted":
        bump(this.#accepted, metric.connection, metric.count);
        break;
      case "rejected":
        bump(this.#rejected, metric.code, metric.count);
        break;
      case "enriched":
        bump(this.#enriched, metric.note, metric.count);
        break;
    }
    this.#onMetric?.(metric);
  }

  snapshot(): CollectorCountersSnapshot {
    return {
      requests: { ...this.#requests },
      bodyBytes: this.#bodyBytes,
      accepted: { ...this.#accepted },
      rejected: { ...this.#rejected },
      enriched: { ...this.#enriched },
    };
  }
}
