// A signal that aborts when any of its sources does, without AbortSignal.any: a composite over a
// long-lived source (a client's stop signal, serve's shutdown signal) stays referenced by that
// source after the composite is done with, about 40 bytes each (nodejs/node#55328). One per send,
// ten sends a second in a collector, is a leak. Here the links are plain listeners, removed by
// `unlink` (and when the signal aborts).

export interface LinkedAbort {
  readonly signal: AbortSignal;
  /** Aborts the linked signal itself (a failure of its owner). */
  abort(reason?: unknown): void;
  /** Drops the listeners on the sources; call when the signal's work is over. */
  unlink(): void;
}

export function linkedAbort(sources: readonly (AbortSignal | undefined)[]): LinkedAbort {
  const controller = new AbortController();
  const links: [AbortSignal, () => void][] = [];
  const unlink = (): void => {
    for (const [source, listener] of links) source.removeEventListener("abort", listener);
    links.length = 0;
  };
  const abort = (reason?: unknown): void => {
    unlink();
    controller.abort(reason);
  };
  for (const source of sources) {
    if (source === undefined) continue;
    if (source.aborted) {
      abort(source.reason);
      break;
    }
    const listener = (): void => abort(source.reason);
    source.addEventListener("abort", listener, { once: true });
    links.push([source, listener]);
  }
  return { signal: controller.signal, abort, unlink };
}
