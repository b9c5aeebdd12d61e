// The Graph API delivery client and its error model (spec §1, §6, §7, §8).

export type { BackoffPolicy } from "./backoff.ts";
export { fullJitterDelay, regainAccessMs, retryAfterMs, serverWaitHintMs } from "./backoff.ts";
export { MAX_EVENTS_PER_REQUEST } from "./batch.ts";
export {
  type DatasetParams,
  DEFAULT_API_VERSION,
  DEFAULT_GRAPH_URL,
  GraphClient,
  type GraphClientOptions,
  type ProbeResult,
} from "./client.ts";
export { ageDeadlineMs, DEFAULT_DEADLINE_POLICY, type DeadlinePolicy, retryDeadlineMs } from "./deadline.ts";
export {
  type Classified,
  classifyResponse,
  ERROR_CLASSES,
  type ErrorClass,
  type ErrorRule,
  type GraphErrorBody,
  HTTP_STATUS_RULES,
  META_ERROR_RULES,
} from "./error-classes.ts";
export { type LinkedAbort, linkedAbort } from "./linked-abort.ts";
export type { Logger } from "./safe-log.ts";
export { DatasetSender, type SendHandlers } from "./sender.ts";
export { eventJson, NOT_A_JSON_OBJECT, serializeEvent } from "./serialize.ts";
export { describeStop, TOKEN_SUBCODES } from "./stop-messages.ts";
export { REQUEST_END_CHANNEL, REQUEST_START_CHANNEL } from "./transport.ts";
export {
  type DeliveryError,
  type EventOutcome,
  GraphStopError,
  type OutboundEvent,
  type PendingReason,
  type QueuedSource,
  type RequestReport,
  type SendSummary,
  type SerializedEvent,
} from "./types.ts";
export type { WindowStats } from "./window.ts";
