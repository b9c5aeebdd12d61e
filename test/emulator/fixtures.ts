// Shared test material for the emulator tests: Meta's documented example values (spec §3.1, §3.3,
// §6.1) and small helpers around fastify.inject. Expected envelopes are written out in each test.
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { buildEmulator, type EmulatorOptions } from "../../src/emulator/index.ts";

/** 2026-09-15T12:00:00Z, inside the spec's research window; v20.0 is still usable then. */
export const NOW_MS = Date.parse("2026-09-15T12:00:00Z");
export const NOW_S = NOW_MS / 1000;
export const DAY_S = 86_400;

export const DATASET = "1234567890";
export const TOKEN = "test-token";
export const EDGE = `/v24.0/${DATASET}/events`;

/** Hashes from Meta's customer-information page (spec §3.1), re-computed there with sha256sum. */
export const HASHED = {
  em: "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
  ph: "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176",
  fn: "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec",
  db: "01acdbf6ec7b4f478a225f1a246e5d6767eeab1a7ffa17f025265b5b94f40f0c",
  country: "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621",
} as const;

export const FBC = "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890";
export const FBP = "fb.1.1596403881668.1116446470";

/** A website Purchase shaped like the examples on Meta's server-event page. */
export function purchase(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_name: "Purchase",
    event_time: NOW_S - 60,
    action_source: "website",
    event_source_url: "https://www.example.com/checkout",
    event_id: "order-1001",
    user_data: {
      em: [HASHED.em],
      ph: [HASHED.ph],
      client_ip_address: "203.0.113.7",
      client_user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
      fbc: FBC,
      fbp: FBP,
    },
    custom_data: { value: 142.52, currency: "usd" },
    ...overrides,
  };
}

export interface Clock {
  ms: number;
  now: () => number;
}

export function clock(start = NOW_MS): Clock {
  const c: Clock = { ms: start, now: () => c.ms };
  return c;
}

export function emulator(options: EmulatorOptions = {}): FastifyInstance {
  return buildEmulator({ now: () => NOW_MS, ...options });
}

export interface PostOptions {
  path?: string;
  token?: string | null;
  query?: Record<string, string>;
}

/** POST a JSON body with a Bearer token (Segment's style, accepted live per spec §1.2). */
export function postJson(app: FastifyInstance, body: unknown, options: PostOptions = {}) {
  const token = options.token === undefined ? TOKEN : options.token;
  return app.inject({
    method: "POST",
    url: options.path ?? EDGE,
    query: options.query,
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export function postEvents(app: FastifyInstance, events: unknown[], extra: Record<string, unknown> = {}) {
  return postJson(app, { data: events, ...extra });
}

// biome-ignore lint/suspicious/noExplicitAny: Graph bodies are inspected field by field in tests.
export function json(response: LightMyRequestResponse): any {
  return JSON.parse(response.body);
}

export function graphError(response: LightMyRequestResponse) {
  return json(response).error as Record<string, unknown>;
}
