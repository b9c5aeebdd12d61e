import { addAbortListener } from "node:events";

/**
 * The releases of the reads a source has under way, so `close()` can end a read whose consumer
 * stopped pulling without finishing or breaking (an async generator's `finally` never runs then).
 */
export interface OpenReads {
  track(release: () => Promise<void> | void): () => void;
  releaseAll(): Promise<void>;
}

export function openReads(): OpenReads {
  const releases = new Set<() => Promise<void> | void>();
  return {
    track(release) {
      releases.add(release);
      return () => releases.delete(release);
    },
    async releaseAll() {
      const pending = [...releases];
      releases.clear();
      await Promise.allSettled(pending.map(async (release) => release()));
    },
  };
}

/** Runs `onAbort` once when the signal aborts (at once if it already has); returns the unsubscribe. */
export function whenAborted(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    onAbort();
    return () => {};
  }
  const subscription = addAbortListener(signal, onAbort);
  return () => subscription[Symbol.dispose]();
}

/** Settles with the promise, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const unsubscribe = whenAborted(signal, () => reject(signal.reason));
    promise.then(
      (value) => {
        unsubscribe();
        resolve(value);
      },
      (error: unknown) => {
        unsubscribe();
        reject(error);
      },
    );
  });
}
