// What the collector adds to a message from the request that carried it, so that Meta gets the
// match keys a browser pixel would have sent: the visitor's IP and user agent, the _fbp/_fbc
// cookies, an fbc built from an fbclid in the page URL (spec §3.3), and a messageId when the sender
// gave none. A value the message already has always wins.
import { randomUUID } from "node:crypto";
import { toUnixSeconds } from "../../mapping/timestamps.ts";
import { isFilled, isObject, type SegmentMessage } from "./messages.ts";

/** Value-free notes kept with each stored row and counted in the metrics. */
export const ENRICHMENT_NOTES = [
  "ip_from_request",
  "user_agent_from_request",
  "fbp_from_cookie",
  "fbc_from_cookie",
  "fbc_from_fbclid",
  "message_id_generated",
] as const;
export type EnrichmentNote = (typeof ENRICHMENT_NOTES)[number];

/** What the request itself says about the sender. */
export interface RequestFacts {
  /** The client address as fastify computed it (X-Forwarded-For only from trusted proxies). */
  readonly ip: string | undefined;
  readonly userAgent: string | undefined;
  readonly cookieHeader: string | undefined;
  /** Unix ms. */
  readonly receivedAt: number;
}

/**
 * Libraries that run on the customer's servers (context.library.name): the request's address and
 * User-Agent are that server's, not the visitor's, so they must not become client_ip_address or
 * client_user_agent. `context.direct: true` (Segment's HTTP API flag for calls sent straight from
 * the user's device) overrides this.
 */
export const SERVER_LIBRARIES: ReadonlySet<string> = new Set([
  "@segment/analytics-node",
  "analytics-node", // Segment's former Node library, and RudderStack's (which also sends channel: server)
  "analytics-python",
  "analytics-ruby",
  "analytics-go",
  "analytics-java",
  "analytics-php",
]);

/** Where an fbclid may be found, in order (the Segment preset reads the page URL from the first two). */
const FBCLID_SOURCES: readonly (readonly string[])[] = [
  ["context", "page", "url"],
  ["properties", "url"],
  ["context", "page", "search"],
];

/** "If you're generating this field on a server, and not saving an _fbc cookie, use the value 1." */
const FBC_SUBDOMAIN_INDEX = 1;

function at(message: SegmentMessage, path: readonly string[]): unknown {
  let value: unknown = message;
  for (const key of path) {
    if (!isObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

/** Whether the HTTP request came from the visitor's own device (browser or app), not a server. */
export function sentFromUserDevice(message: SegmentMessage): boolean {
  const context = message.context;
  if (!isObject(context)) return true;
  if (context.direct === true) return true;
  if (message.channel === "server") return false;
  const library = isObject(context.library) ? context.library.name : undefined;
  return !(typeof library === "string" && SERVER_LIBRARIES.has(library));
}

/** One cookie's value from a Cookie header, percent-decoded when it is valid percent-encoding. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not percent-encoding: keep the value as sent.
    }
    return value === "" ? undefined : value;
  }
  return undefined;
}

/** The fbclid query parameter of a URL (or a `?query` string), verbatim: Meta wants it unmodified. */
export function fbclidOf(url: unknown): string | undefined {
  if (typeof url !== "string") return undefined;
  const start = url.indexOf("?");
  if (start < 0) return undefined;
  const hash = url.indexOf("#", start);
  const query = url.slice(start + 1, hash < 0 ? undefined : hash);
  for (const pair of query.split("&")) {
    if (pair.startsWith("fbclid=") && pair.length > "fbclid=".length) return pair.slice("fbclid=".length);
  }
  return undefined;
}

/**
 * fbc per spec §3.3: fb.1.{creationTime ms}.{fbclid}. Without a cookie the creation time is when the
 * fbclid was first seen: the event's own time, unless that lies after the collector received it.
 */
export function fbcFromFbclid(fbclid: string, message: SegmentMessage, receivedAt: number): string {
  const seconds = toUnixSeconds(message.timestamp ?? message.originalTimestamp);
  const eventMs = seconds === undefined ? receivedAt : Math.min(seconds * 1000, receivedAt);
  return `fb.${FBC_SUBDOMAIN_INDEX}.${eventMs}.${fbclid}`;
}

function hasValue(message: SegmentMessage, key: "fbp" | "fbc"): boolean {
  return isFilled(at(message, ["context", key])) || isFilled(at(message, ["properties", key]));
}

function contextOf(message: SegmentMessage): Record<string, unknown> {
  if (!isObject(message.context)) message.context = {};
  return message.context as Record<string, unknown>;
}

/**
 * Fills what the message lacks from the request, in place, and returns what it did. Also sets
 * `receivedAt` (as Segment's API does) and removes `writeKey` (a credential, not event data).
 */
export function enrichMessage(message: SegmentMessage, facts: RequestFacts): EnrichmentNote[] {
  const notes: EnrichmentNote[] = [];
  delete message.writeKey;
  if (sentFromUserDevice(message)) {
    if (facts.ip && !isFilled(at(message, ["context", "ip"]))) {
      contextOf(message).ip = facts.ip;
      notes.push("ip_from_request");
    }
    if (facts.userAgent && !isFilled(at(message, ["context", "userAgent"]))) {
      contextOf(message).userAgent = facts.userAgent;
      notes.push("user_agent_from_request");
    }
  }
  if (!hasValue(message, "fbp")) {
    const fbp = cookieValue(facts.cookieHeader, "_fbp");
    if (fbp) {
      contextOf(message).fbp = fbp;
      notes.push("fbp_from_cookie");
    }
  }
  if (!hasValue(message, "fbc")) {
    const cookie = cookieValue(facts.cookieHeader, "_fbc");
    if (cookie) {
      contextOf(message).fbc = cookie;
      notes.push("fbc_from_cookie");
    } else {
      const fbclid = FBCLID_SOURCES.map((path) => fbclidOf(at(message, path))).find((id) => id !== undefined);
      if (fbclid) {
        contextOf(message).fbc = fbcFromFbclid(fbclid, message, facts.receivedAt);
        notes.push("fbc_from_fbclid");
      }
    }
  }
  if (!isFilled(message.messageId)) {
    // Segment's libraries always send one; without it a retried request cannot be told from a new
    // event, so Meta's deduplication no longer protects against double counting.
    message.messageId = randomUUID();
    notes.push("message_id_generated");
  }
  message.receivedAt = new Date(facts.receivedAt).toISOString();
  return notes;
}
