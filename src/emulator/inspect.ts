// The inspection API under /_emulator/: the store's contents as JSON, for tests and dry runs.
import type { FastifyInstance } from "fastify";
import type { CompiledRule } from "./rules.ts";
import type { EmulatorStore, EventQuery } from "./store.ts";

type Query = Record<string, string | undefined>;

const DEFAULT_PAGE = 10_000;

function flag(value: string | undefined): boolean | undefined {
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  return undefined;
}

function count(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return value !== undefined && Number.isInteger(parsed) && parsed >= 0 ? parsed : fallback;
}

function eventQuery(query: Query): EventQuery {
  return { test: flag(query.test), offset: count(query.offset, 0), limit: count(query.limit, DEFAULT_PAGE) };
}

export function registerInspection(
  app: FastifyInstance,
  store: EmulatorStore,
  rules: { enforced: readonly CompiledRule[]; warnings: readonly CompiledRule[] },
  resetFaults: () => void,
): void {
  app.get("/_emulator/events", async (request) => {
    const query = request.query as Query;
    const events = store.events(query.dataset || undefined, eventQuery(query));
    return { count: events.length, events };
  });

  app.get("/_emulator/duplicates", async (request) => {
    const query = request.query as Query;
    const duplicates = store.duplicates(query.dataset || undefined, eventQuery(query));
    return { count: duplicates.length, duplicates };
  });

  app.get("/_emulator/stats", async () => {
    const requests = store.requests();
    const byStatus: Record<string, number> = {};
    for (const entry of requests) byStatus[entry.status] = (byStatus[entry.status] ?? 0) + 1;
    return { datasets: store.stats(), requests: { logged: requests.length, byStatus } };
  });

  app.get("/_emulator/requests", async (request) => {
    const limit = count((request.query as Query).limit, Number.POSITIVE_INFINITY);
    const requests = store.requests();
    return { requests: limit < requests.length ? requests.slice(requests.length - limit) : requests };
  });

  /** The per-event rules in force, in order, with their envelopes and evidence tags. */
  app.get("/_emulator/rules", async () => {
    const describe = (rule: CompiledRule) => {
      const { status, evidence, code, error_subcode, error_user_title } = rule.template;
      return { id: rule.id, status, code, error_subcode, error_user_title, evidence };
    };
    return { enforced: rules.enforced.map(describe), warnings: rules.warnings.map(describe) };
  });

  /** Forgets events, dedup keys and the request log; restarts the fault sequence and rate limits. */
  app.post("/_emulator/reset", async () => {
    store.reset();
    resetFaults();
    return { reset: true };
  });
}
