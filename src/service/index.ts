// The long-running service behind `capi-sync serve`: scheduler, HTTP (health, readiness, metrics),
// structured logs. The real-time collector lives in ./collector and attaches through AttachCollector.

export {
  assertSafeExposure,
  isLoopback,
  LOG_LEVELS,
  type LogLevel,
  readServiceConfig,
  type ServiceConfig,
  ServiceConfigError,
  type ServiceConfigInput,
  serviceConfigSchema,
} from "../config/service.ts";
export { type Clock, FakeClock, settle, systemClock } from "./clock.ts";
export { configSecrets, createServiceLogger, lineScrubber, REDACTED } from "./logger.ts";
export { MAX_CODES_PER_CONNECTION, ServiceMetrics } from "./metrics.ts";
export type { Halt } from "./runner.ts";
export {
  type RunTrigger,
  type RunVerdict,
  type ScheduledConnection,
  ScheduleError,
  Scheduler,
  type SchedulerOptions,
} from "./scheduler.ts";
export {
  type AttachCollector,
  type CollectorAttachment,
  type CollectorContext,
  type RunningService,
  type ServiceOptions,
  type ShutdownResult,
  startService,
} from "./service.ts";
