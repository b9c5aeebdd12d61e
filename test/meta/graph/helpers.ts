// Shared by the delivery client's tests: valid and invalid events, a fake clock, a capturing logger.
import { createHash } from "node:crypto";
import type { ServerEvent } from "../../../src/meta/event.ts";
import type { Logger } from "../../../src/meta/graph/index.ts";

export const DATASET = "1234567890";
export const TOKEN = "test-token";

function fakeHash(seed: string): string {
  return createHash("sha256").update(seed).digest("hex");
}

/** A website Purchase Meta accepts: hashed email and phone, value and currency, a unique event_id. */
export function validEvent(i: number, nowSeconds = Math.floor(Date.now() / 1000)): ServerEvent {
  return {
    event_name: "Purchase",
    event_time: nowSeconds - 60,
    event_id: `evt-${i}`,
    action_source: "website",
    event_source_url: "https://shop.example/checkout",
    user_data: {
      em: [fakeHash(`user${i}@example.com`)],
      ph: [fakeHash(`1555000${i}`)],
      client_ip_address: "203.0.113.7",
      client_user_agent: "Mozilla/5.0",
    },
    custom_data: { value: 10 + (i % 90), currency: "USD" },
  };
}

/** A Purchase without `value`: Meta answers 100/2804009 for the whole batch. */
export function purchaseWithoutValue(i: number, nowSeconds?: number): ServerEvent {
  const event = validEvent(i, nowSeconds);
  event.custom_data = { currency: "USD" };
  return event;
}

/** An unhashed email: Meta answers 100/2804016. */
export function unhashedEmail(i: number, nowSeconds?: number): ServerEvent {
  const event = validEvent(i, nowSeconds);
  event.user_data = { ...event.user_data, em: [`user${i}@example.com`] };
  return event;
}

export interface LogLine {
  readonly level: string;
  readonly fields: object;
  readonly message: string | undefined;
}

/** A pino-shaped logger that keeps every line. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (fields: object, message?: string): void => {
      lines.push({ level, fields, message });
    };
  return { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

/** A clock that only moves when the client sleeps: retries and deadlines without waiting. */
export function fakeClock(startMs: number): {
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  sleeps: number[];
} {
  let current = startMs;
  const sleeps: number[] = [];
  return {
    now: () => current,
    sleeps,
    sleep: async (ms, signal) => {
      signal.throwIfAborted();
      sleeps.push(ms);
      current += ms;
      // Let other tasks run, as a real sleep would.
      await new Promise<void>((resolve) => setImmediate(resolve));
      signal.throwIfAborted();
    },
  };
}
