// How every answer of POST /{version}/{dataset}/events is classified (spec §6.3, §6.4). The table is
// data: rules are tried in order, Meta's error code first, then the HTTP status, and the first match
// wins. "Error handling should be done using only the Error Codes" (Meta's error reference), so
// messages are matched only where Meta gives no distinct code (the appsecret_proof errors).

export const ERROR_CLASSES = [
  "success",
  /** The batch was rejected because of (at least) one event in it: bisect to find it. */
  "payload_invalid",
  /** The body is too big for the server (HTTP 413): split in halves, resend both. */
  "too_large",
  /** Wrong dataset, missing permission or capability, app secret, API version: stop the run. */
  "config",
  /** The access token is unusable: stop the run. */
  "auth",
  "throttle",
  "transient",
  /** Code 368, "temporarily blocked for policies violations": a long pause, then alert. */
  "policy",
  /** Any other 4xx: not retried, every event of the batch is rejected with Meta's error. */
  "permanent",
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** Meta's error envelope `{"error": {...}}` (spec §6.2); every field optional as received. */
export interface GraphErrorBody {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  is_transient?: boolean;
  error_user_title?: string;
  error_user_msg?: string;
  fbtrace_id?: string;
}

type Range = readonly [number, number];

export interface ErrorRule {
  readonly class: ErrorClass;
  /** Meta's `code`, one value or an inclusive range. */
  readonly code?: number | Range;
  readonly subcode?: number | Range;
  readonly messageIncludes?: string;
  readonly isTransient?: true;
  readonly httpStatus?: number | Range;
  /** Why this row exists, with its source in the spec. */
  readonly why: string;
}

/** Rules matched against a parsed error envelope, in order. */
export const META_ERROR_RULES: readonly ErrorRule[] = [
  {
    class: "too_large",
    httpStatus: 413,
    why: "body too large (HTTP 413), whatever the code: no event is at fault, so halve without inference",
  },
  { class: "auth", code: 190, why: "invalid, expired or revoked access token, any subcode (§6.3)" },
  { class: "auth", code: 102, why: "API session: re-authenticate (§6.3)" },
  { class: "config", code: 100, subcode: 33, why: "dataset does not exist or the token cannot access it" },
  {
    class: "config",
    code: 100,
    messageIncludes: "appsecret_proof",
    why: "app secret proof missing or wrong (§1.2); Meta gives these no distinct code",
  },
  {
    class: "payload_invalid",
    code: 100,
    subcode: [2804000, 2804999],
    why: "CAPI event validation; one invalid event rejects the batch (§1.5, §6.3)",
  },
  {
    class: "payload_invalid",
    code: 100,
    why: 'other parameter errors: "(#100) param …", "(#100) The parameter data is required" (§6.3)',
  },
  { class: "config", code: 10, why: "API permission denied" },
  { class: "config", code: [200, 299], why: "permission error (294: ads_management / allow-listed app)" },
  { class: "config", code: 3, why: "app capability missing" },
  { class: "config", code: 2500, why: "unknown path components: bad path or unknown API version (§1.7)" },
  { class: "throttle", code: 4, why: "application request limit reached (§7)" },
  { class: "throttle", code: 17, why: "user / ad-account request limit reached (§7)" },
  { class: "throttle", code: 32, why: "page request limit reached" },
  { class: "throttle", code: 613, why: "calls exceeded the rate limit (§7)" },
  { class: "throttle", code: [80000, 80014], why: "business use case rate limits (§7)" },
  { class: "transient", code: 1, why: "unknown error, retry (§6.3)" },
  { class: "transient", code: 2, why: "service temporarily unavailable (§6.3)" },
  { class: "transient", code: 341, why: "application limit reached, temporary (§6.3)" },
  { class: "transient", code: 21009, why: "data set upload temporarily not ready (§6.3)" },
  { class: "policy", code: 368, why: "temporarily blocked for policies violations (§6.4)" },
  // After the codes: Meta marks throttles is_transient too, and they must keep their own class.
  { class: "transient", isTransient: true, why: "Meta says so: is_transient true (§6.2)" },
];

/** Rules on the HTTP status alone, for envelopes no code rule matched and for non-JSON bodies. */
export const HTTP_STATUS_RULES: readonly ErrorRule[] = [
  { class: "auth", httpStatus: 401, why: "unauthorized (§6.4)" },
  { class: "throttle", httpStatus: 429, why: "too many requests" },
  { class: "transient", httpStatus: [500, 599], why: "server error: retry (§6.4)" },
  { class: "permanent", httpStatus: [400, 499], why: "unknown client error: do not retry (§6.4)" },
];

function inRange(value: number | undefined, want: number | Range | undefined): boolean {
  if (want === undefined) return true;
  if (value === undefined) return false;
  return typeof want === "number" ? value === want : value >= want[0] && value <= want[1];
}

function ruleMatches(rule: ErrorRule, error: GraphErrorBody | undefined, status: number): boolean {
  if (rule.httpStatus !== undefined) return inRange(status, rule.httpStatus);
  if (error === undefined) return false;
  if (rule.isTransient && error.is_transient !== true) return false;
  if (rule.code !== undefined && !inRange(error.code, rule.code)) return false;
  if (rule.subcode !== undefined && !inRange(error.error_subcode, rule.subcode)) return false;
  if (rule.messageIncludes !== undefined && !(error.message ?? "").includes(rule.messageIncludes))
    return false;
  return true;
}

/** What the client learned from one HTTP answer. */
export interface Classified {
  readonly class: ErrorClass;
  /** The envelope, when the body held one. */
  readonly error?: GraphErrorBody;
  /** `events_received` of a success body. */
  readonly eventsReceived?: number;
  readonly fbtraceId?: string;
  /** Why this class: the matching rule, or what was wrong with the body. */
  readonly why: string;
}

/**
 * Classifies an HTTP answer from its status and raw body text. A 2xx whose body is not a success
 * object (truncated, HTML from a proxy) is transient: Meta answers JSON when it processed a batch.
 */
export function classifyResponse(status: number, bodyText: string): Classified {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  const body =
    typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  const envelope = readEnvelope(body?.error);
  const fbtraceId =
    envelope?.fbtrace_id ?? (typeof body?.fbtrace_id === "string" ? body.fbtrace_id : undefined);
  if (status >= 200 && status < 300 && envelope === undefined) {
    if (typeof body?.events_received === "number") {
      return withTrace(
        { class: "success", eventsReceived: body.events_received, why: "2xx with events_received" },
        fbtraceId,
      );
    }
    return withTrace(
      { class: "transient", why: "2xx without a success body (truncated or not JSON)" },
      fbtraceId,
    );
  }
  for (const rule of META_ERROR_RULES) {
    if (ruleMatches(rule, envelope, status))
      return withTrace({ class: rule.class, error: envelope, why: rule.why }, fbtraceId);
  }
  for (const rule of HTTP_STATUS_RULES) {
    if (ruleMatches(rule, envelope, status)) {
      const why = body === undefined ? `${rule.why}; body is not JSON` : rule.why;
      return withTrace(
        envelope ? { class: rule.class, error: envelope, why } : { class: rule.class, why },
        fbtraceId,
      );
    }
  }
  // 1xx/3xx, or a 2xx carrying an error envelope with an unlisted code: nothing says it was processed.
  return withTrace(
    envelope
      ? { class: "transient", error: envelope, why: "unexpected status" }
      : { class: "transient", why: "unexpected status" },
    fbtraceId,
  );
}

function withTrace(result: Classified, fbtraceId: string | undefined): Classified {
  return fbtraceId === undefined ? result : { ...result, fbtraceId };
}

const STRING_FIELDS = ["message", "type", "error_user_title", "error_user_msg", "fbtrace_id"] as const;

function readEnvelope(value: unknown): GraphErrorBody | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const raw = value as Record<string, unknown>;
  const envelope: GraphErrorBody = {};
  for (const field of STRING_FIELDS) {
    const v = raw[field];
    if (typeof v === "string") envelope[field] = v;
  }
  const code = toInt(raw.code);
  if (code !== undefined) envelope.code = code;
  const subcode = toInt(raw.error_subcode);
  if (subcode !== undefined) envelope.error_subcode = subcode;
  if (typeof raw.is_transient === "boolean") envelope.is_transient = raw.is_transient;
  return envelope;
}

/** Graph sends codes as numbers; tolerate numeric strings. */
function toInt(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

/** Classes that end the run for every dataset of the client: nothing else can succeed. */
export const STOPPING_CLASSES: readonly ErrorClass[] = ["auth", "config"];

/** Classes retried with backoff. */
export const RETRIED_CLASSES: readonly ErrorClass[] = ["throttle", "transient", "policy"];
