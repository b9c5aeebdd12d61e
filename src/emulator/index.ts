// A local stand-in for Meta's Conversions API endpoint: see server.ts for the processing order.
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { DEFAULTS, type EmulatorOptions } from "./options.ts";
import { createEmulator } from "./server.ts";
import type { EmulatorStore } from "./store.ts";

export type { ErrorTemplate, Evidence, GraphErrorBody, GraphErrorFields } from "./errors.ts";
export { REQUEST_ERRORS, THROTTLE_ERRORS } from "./errors.ts";
export type { FaultKind, FaultOptions } from "./faults.ts";
export type { EmulatorDataset, EmulatorOptions } from "./options.ts";
export { DEFAULT_DATASETS } from "./options.ts";
export type { EventRule, RuleError, RuleMode, RuleOverride } from "./rules.ts";
export { EVENT_RULES } from "./rules.ts";
export type {
  DatasetStats,
  DuplicateKind,
  EmulatorStore,
  EventQuery,
  LedgerStats,
  ReceivedEvent,
  RecordMode,
  RequestLogEntry,
} from "./store.ts";
export { GRAPH_VERSIONS, LATEST_VERSION } from "./versions.ts";

export interface RunningEmulator {
  /** Base URL, e.g. http://127.0.0.1:4100; the edge is `${url}/v24.0/{dataset}/events`. */
  url: string;
  port: number;
  close(): Promise<void>;
  store: EmulatorStore;
}

const stores = new WeakMap<FastifyInstance, EmulatorStore>();

/** The emulator as a fastify instance, not listening: for `inject` tests. */
export function buildEmulator(options: EmulatorOptions = {}): FastifyInstance {
  const { app, store } = createEmulator(options);
  stores.set(app, store);
  return app;
}

/** The store behind an instance made by `buildEmulator`. */
export function emulatorStore(app: FastifyInstance): EmulatorStore {
  const store = stores.get(app);
  if (store === undefined) throw new Error("not an emulator instance");
  return store;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const { app, store } = createEmulator(options);
  const host = options.host ?? DEFAULTS.host;
  await app.listen({ host, port: options.port ?? DEFAULTS.port });
  const { port } = app.server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return { url: `http://${urlHost}:${port}`, port, store, close: () => app.close() };
}
