// Graph error envelopes the emulator answers with (spec §6.2, §6.3), as one table. Every entry
// carries its evidence tag; [UNVERIFIED] ones are the emulator's best guess and can be overridden.

export type Evidence = "DOC" | "OBS" | "3P" | "UNVERIFIED";
export type GraphErrorType = "OAuthException" | "GraphMethodException";

/** The `error` object of a Graph error response, minus `fbtrace_id` (added per response). */
export interface GraphErrorFields {
  message: string;
  type: GraphErrorType;
  code: number;
  error_subcode?: number;
  is_transient?: boolean;
  error_user_title?: string;
  error_user_msg?: string;
}

export interface GraphErrorBody extends GraphErrorFields {
  fbtrace_id: string;
}

/** A response the emulator decided to give instead of success. */
export interface Rejection {
  readonly status: number;
  readonly error: GraphErrorFields;
  readonly headers?: Readonly<Record<string, string>>;
  /** Index of the first invalid event, for the non-standard `x-emulator-failed-index` header. */
  readonly failedIndex?: number;
}

export interface ErrorTemplate extends GraphErrorFields {
  readonly status: number;
  readonly evidence: Evidence;
}

const NODE_MISSING =
  "Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api";

/** Request-level errors; per-event rules live in rules.ts. `{name}` placeholders are filled per request. */
export const REQUEST_ERRORS = {
  unknownPath: {
    status: 400,
    type: "OAuthException",
    code: 2500,
    message: "Unknown path components: {path}",
    evidence: "OBS",
  },
  unsupportedPost: {
    status: 400,
    type: "GraphMethodException",
    code: 100,
    error_subcode: 33,
    message: `Unsupported post request. ${NODE_MISSING}`,
    evidence: "3P",
  },
  unsupportedGet: {
    status: 400,
    type: "GraphMethodException",
    code: 100,
    error_subcode: 33,
    message: `Unsupported get request. ${NODE_MISSING}`,
    evidence: "UNVERIFIED",
  },
  unsupportedDelete: {
    status: 400,
    type: "GraphMethodException",
    code: 100,
    error_subcode: 33,
    message: `Unsupported delete request. ${NODE_MISSING}`,
    evidence: "UNVERIFIED",
  },
  cannotParseToken: {
    status: 401,
    type: "OAuthException",
    code: 190,
    message: "Invalid OAuth access token - Cannot parse access token",
    evidence: "OBS",
  },
  tokenExpired: {
    status: 401,
    type: "OAuthException",
    code: 190,
    error_subcode: 463,
    message: "Error validating access token: Session has expired. The current time is {now}.",
    evidence: "DOC",
  },
  appsecretProofMissing: {
    status: 400,
    type: "GraphMethodException",
    code: 100,
    message: "API calls from the server require an appsecret_proof argument",
    evidence: "OBS",
  },
  appsecretProofInvalid: {
    status: 400,
    type: "GraphMethodException",
    code: 100,
    message: "Invalid appsecret_proof provided in the API argument",
    evidence: "3P",
  },
  dataRequired: {
    status: 400,
    type: "OAuthException",
    code: 100,
    message: "(#100) The parameter data is required",
    evidence: "OBS",
  },
  dataEmpty: {
    status: 400,
    type: "OAuthException",
    code: 100,
    message: "(#100) param data must be non-empty",
    evidence: "OBS",
  },
  dataTooMany: {
    status: 400,
    type: "OAuthException",
    code: 100,
    message: "(#100) param data must have at most 1000 elements",
    evidence: "UNVERIFIED",
  },
  dataMalformed: {
    status: 400,
    type: "OAuthException",
    code: 100,
    message: "(#100) param data must be an array of JSON objects",
    evidence: "UNVERIFIED",
  },
  bodyMalformed: {
    status: 400,
    type: "OAuthException",
    code: 100,
    message: "(#100) Invalid JSON in the request body",
    evidence: "UNVERIFIED",
  },
  bodyTooLarge: {
    status: 413,
    type: "OAuthException",
    code: 100,
    message: "(#100) The request body is too large",
    evidence: "UNVERIFIED",
  },
  unknownError: {
    status: 500,
    type: "OAuthException",
    code: 1,
    message: "An unknown error occurred.",
    is_transient: false,
    evidence: "DOC",
  },
  transient: {
    status: 500,
    type: "OAuthException",
    code: 2,
    message: "An unexpected error has occurred. Please retry your request later.",
    is_transient: true,
    evidence: "OBS",
  },
} as const satisfies Record<string, ErrorTemplate>;

export type RequestErrorName = keyof typeof REQUEST_ERRORS;

/** Throttle envelopes (spec §6.3, §7). HTTP status for throttles on /events is [UNVERIFIED]. */
export const THROTTLE_ERRORS: readonly ErrorTemplate[] = [
  {
    status: 400,
    type: "OAuthException",
    code: 4,
    message: "(#4) Application request limit reached",
    is_transient: true,
    evidence: "DOC",
  },
  {
    status: 400,
    type: "OAuthException",
    code: 17,
    error_subcode: 2446079,
    message: "(#17) User request limit reached",
    is_transient: true,
    evidence: "DOC",
  },
  {
    status: 400,
    type: "OAuthException",
    code: 613,
    message: "(#613) Calls to this api have exceeded the rate limit.",
    is_transient: true,
    evidence: "DOC",
  },
  {
    status: 400,
    type: "OAuthException",
    code: 80004,
    message:
      "(#80004) There have been too many calls to this ad-account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting#ads-management.",
    is_transient: true,
    evidence: "DOC",
  },
];

const PLACEHOLDER = /\{(\w+)\}/g;

function fill(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => vars[name] ?? whole);
}

/** A rejection from a template, placeholders filled; the evidence tag stays out of the envelope. */
export function rejectWith(
  template: ErrorTemplate,
  vars: Readonly<Record<string, string>> = {},
  extra: { headers?: Record<string, string>; failedIndex?: number } = {},
): Rejection {
  const { status, evidence: _evidence, ...fields } = template;
  const error: GraphErrorFields = { ...fields, message: fill(fields.message, vars) };
  if (error.error_user_msg !== undefined) error.error_user_msg = fill(error.error_user_msg, vars);
  if (error.error_user_title !== undefined) error.error_user_title = fill(error.error_user_title, vars);
  return { status, error, ...extra };
}

export function reject(name: RequestErrorName, vars: Readonly<Record<string, string>> = {}): Rejection {
  return rejectWith(REQUEST_ERRORS[name], vars);
}

/** Graph's envelope key order: message, type, code, error_subcode, is_transient, user title/msg, fbtrace_id. */
export function errorBody(error: GraphErrorFields, fbtraceId: string): { error: GraphErrorBody } {
  const body: GraphErrorBody = {
    message: error.message,
    type: error.type,
    code: error.code,
  } as GraphErrorBody;
  if (error.error_subcode !== undefined) body.error_subcode = error.error_subcode;
  if (error.is_transient !== undefined) body.is_transient = error.is_transient;
  if (error.error_user_title !== undefined) body.error_user_title = error.error_user_title;
  if (error.error_user_msg !== undefined) body.error_user_msg = error.error_user_msg;
  body.fbtrace_id = fbtraceId;
  return { error: body };
}
