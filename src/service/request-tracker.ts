// Requests on the wire, per run. The Graph client reports each request when it ENDS (onRequest), so
// the start comes from undici's public diagnostics channels: a request created inside a run's async
// context (AsyncLocalStorage) counts for that run until its response completes or fails.
// (A client hook `onRequestStart` would make this module unnecessary.)
import { AsyncLocalStorage } from "node:async_hooks";
import { subscribe } from "node:diagnostics_channel";

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

/** Runs `fn` with every undici request it creates (directly or in callbacks) reported to `scope`. */
export function trackRequests<T>(scope: RequestScope, fn: () => Promise<T>): Promise<T> {
  if (!subscribed) {
    subscribed = true;
    subscribe("undici:request:create", onCreate);
    subscribe("undici:request:trailers", onEnd);
    subscribe("undici:request:error", onEnd);
  }
  return scopes.run(scope, fn);
}
