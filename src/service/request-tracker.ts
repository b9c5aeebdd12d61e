// Requests on the wire, per run. The Graph client reports each request when it ENDS (onRequest), so
// the start comes from its transport's diagnostics channels: a request that starts inside a run's
// async context (AsyncLocalStorage) counts for that run until its exchange is over.
import { AsyncLocalStorage } from "node:async_hooks";
import { subscribe } from "node:diagnostics_channel";
import { REQUEST_END_CHANNEL, REQUEST_START_CHANNEL } from "../meta/graph/index.ts";

export interface RequestScope {
  started(): void;
  ended(): void;
}

const scopes = new AsyncLocalStorage<RequestScope>();
/** Request objects counted as started, so each ends once and only counted ones end. */
const open = new WeakMap<object, RequestScope>();
let subscribed = false;

interface RequestMessage {
  readonly request: object;
}

function onCreate(message: unknown): void {
  const scope = scopes.getStore();
  const request = (message as RequestMessage).request;
  if (scope === undefined || request === undefined) return;
  open.set(request, scope);
  scope.started();
}

function onEnd(message: unknown): void {
  const request = (message as RequestMessage).request;
  const scope = request === undefined ? undefined : open.get(request);
  if (scope === undefined) return;
  open.delete(request);
  scope.ended();
}

/** Runs `fn` with every Graph request it starts (directly or in callbacks) reported to `scope`. */
export function trackRequests<T>(scope: RequestScope, fn: () => Promise<T>): Promise<T> {
  if (!subscribed) {
    subscribed = true;
    subscribe(REQUEST_START_CHANNEL, onCreate);
    subscribe(REQUEST_END_CHANNEL, onEnd);
  }
  return scopes.run(scope, fn);
}
