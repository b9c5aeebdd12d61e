// Meta rejects a whole batch when one event in it is invalid and does not say which (spec §1.5, §8).
// Bisection finds the bad events and still delivers the good ones:
//
//   K is a set known to hold a bad event (its last request failed). Send its left half alone.
//   - Left accepted: the bad event is in the right half, which is now K (no request needed to know).
//   - Left rejected: left is the new K; the right half is unknown and set aside.
//   When K is one event, it is the bad one and takes the error of K's last failing request.
//   The set-aside halves are then delivered like any batch (merged, bisected again if they fail).
//
// One bad event among n costs at most ⌈log2 n⌉ probes plus one request for the set-aside events.
// The inference "left accepted ⇒ bad is on the right" holds only if the whole left half was sent and
// accepted; when some of it expired or its fate is otherwise unknown, the right half is set aside.

import type { DeliveryError } from "./types.ts";

export type AttemptResult<E> =
  /** Every event given was sent in one request and accepted. */
  | { readonly kind: "accepted_all" }
  /** Each event reached an outcome (some may be delivered, expired, rejected or pending). */
  | { readonly kind: "settled" }
  /** The request carrying exactly `sent` was rejected as payload-invalid. */
  | { readonly kind: "invalid"; readonly sent: E[]; readonly error: DeliveryError }
  /** The request carrying `sent` was too large for the server. */
  | { readonly kind: "too_large"; readonly sent: E[] };

export interface BisectionHooks<E> {
  /** Sends `events` (retrying transient failures) until they settle or the answer is one of the above. */
  attempt(events: E[], probe: boolean): Promise<AttemptResult<E>>;
  /** Records the isolated bad event. */
  reject(event: E, error: DeliveryError): void;
  /** Records an event that cannot be sent even alone (too large for the server). */
  rejectTooLarge(event: E): void;
  /** Cuts set-aside events into batches within the limits. */
  rebatch(events: E[]): E[][];
}

/** Delivers `events`, bisecting on payload-invalid answers and halving on too-large ones. */
export async function deliverWithBisection<E>(
  events: E[],
  hooks: BisectionHooks<E>,
  probe = false,
): Promise<void> {
  const result = await hooks.attempt(events, probe);
  if (result.kind === "invalid") await isolate(result.sent, result.error, hooks);
  else if (result.kind === "too_large") await halve(result.sent, hooks);
}

async function isolate<E>(failed: E[], failure: DeliveryError, hooks: BisectionHooks<E>): Promise<void> {
  let known = failed;
  let error = failure;
  const setAside: E[] = [];
  while (known.length > 1) {
    const middle = Math.ceil(known.length / 2);
    const left = known.slice(0, middle);
    const right = known.slice(middle);
    const result = await hooks.attempt(left, true);
    if (result.kind === "accepted_all") {
      known = right;
    } else if (result.kind === "invalid") {
      setAside.push(...right);
      known = result.sent;
      error = result.error;
    } else {
      if (result.kind === "too_large") setAside.push(...result.sent);
      setAside.push(...right);
      known = [];
    }
  }
  const [bad] = known;
  if (bad !== undefined) hooks.reject(bad, error);
  if (setAside.length === 0) return;
  for (const batch of hooks.rebatch(setAside)) await deliverWithBisection(batch, hooks, true);
}

async function halve<E>(sent: E[], hooks: BisectionHooks<E>): Promise<void> {
  const [only] = sent;
  if (sent.length === 1 && only !== undefined) {
    hooks.rejectTooLarge(only);
    return;
  }
  const middle = Math.ceil(sent.length / 2);
  await deliverWithBisection(sent.slice(0, middle), hooks, true);
  await deliverWithBisection(sent.slice(middle), hooks, true);
}
