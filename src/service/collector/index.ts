// The real-time collector: Segment-compatible HTTP ingestion (a Fastify plugin) in front of a
// durable SQLite queue that the pipeline drains. See README.md in this folder.
export {
  CollectorConfigError,
  type CollectorConnection,
  type CollectorCors,
} from "./access.ts";
export { ENRICHMENT_NOTES, type EnrichmentNote, SERVER_LIBRARIES } from "./enrich.ts";
export { CALL_TYPES, type CallType, type SegmentMessage } from "./messages.ts";
export { CollectorCounters, type CollectorCountersSnapshot, type CollectorMetric } from "./metrics.ts";
export {
  COLLECTOR_ROUTES,
  type Collector,
  type CollectorLimits,
  type CollectorLogger,
  type CollectorOptions,
  createCollector,
  DEFAULT_LIMITS,
} from "./plugin.ts";
export {
  CollectorQueue,
  CollectorQueueError,
  type CollectorQueueOptions,
  type CollectorQueueStats,
  type QueuedRow,
  type QueueEntry,
  type Synchronous,
  type WaitForRowsOptions,
} from "./queue.ts";
export { REJECTIONS, type RejectionCode } from "./rejections.ts";
export { type CollectorServer, type CollectorServerOptions, startCollectorServer } from "./server.ts";
