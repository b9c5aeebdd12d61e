// Every reason the collector turns a request or a message away: stable code → HTTP status and a
// message that states the rule, never the value (the messages carry visitors' data).

export interface RejectionRule {
  readonly status: number;
  readonly message: string;
}

export const REJECTIONS = {
  // The request as a whole.
  body_invalid_json: { status: 400, message: "body is not valid JSON" },
  body_not_object: { status: 400, message: "body must be a JSON object" },
  body_empty: { status: 400, message: "body is empty" },
  body_too_large: { status: 413, message: "body is larger than this endpoint accepts" },
  body_bad_length: { status: 400, message: "body length differs from the Content-Length header" },
  request_invalid: { status: 400, message: "request cannot be read" },
  encoding_unsupported: { status: 415, message: "Content-Encoding must be gzip, deflate, br or identity" },
  encoding_corrupt: { status: 400, message: "body cannot be decompressed with its Content-Encoding" },
  batch_missing: { status: 400, message: "body needs a `batch` array" },
  batch_all_rejected: { status: 400, message: "no message of the batch was accepted" },
  write_key_missing: {
    status: 401,
    message:
      "missing write key: send HTTP Basic auth with the write key as user name, or `writeKey` in the body",
  },
  write_key_invalid: { status: 401, message: "write key is not one of this collector's" },
  origin_not_allowed: { status: 403, message: "Origin is not in the collector's allowed origins" },
  queue_full: { status: 429, message: "the collector's queue is full; retry later" },
  queue_unavailable: { status: 503, message: "the collector cannot store messages right now; retry later" },
  // One message.
  message_not_object: { status: 400, message: "message must be a JSON object" },
  message_too_large: { status: 400, message: "message is larger than 32 KB" },
  batch_too_many: { status: 400, message: "message is beyond the number of messages a batch may hold" },
  type_invalid: { status: 400, message: "`type` must be track, page, screen, identify, group or alias" },
  identity_missing: { status: 400, message: "message needs a `userId` or an `anonymousId`" },
  event_missing: { status: 400, message: "track call needs an `event` name" },
  group_id_missing: { status: 400, message: "group call needs a `groupId`" },
  user_id_missing: { status: 400, message: "alias call needs a `userId`" },
  previous_id_missing: { status: 400, message: "alias call needs a `previousId`" },
  field_not_string: { status: 400, message: "field must be a string" },
  field_not_id: { status: 400, message: "field must be a string or a number" },
  field_not_object: { status: 400, message: "field must be a JSON object" },
  timestamp_invalid: { status: 400, message: "field is not an ISO 8601 timestamp" },
  message_id_invalid: { status: 400, message: "`messageId` must be a string of at most 100 characters" },
} as const satisfies Record<string, RejectionRule>;

export type RejectionCode = keyof typeof REJECTIONS;

/** A refusal: its code, the field it is about (for message-level ones) and the rule's text. */
export interface Rejection {
  readonly code: RejectionCode;
  readonly path?: string;
}

/** A request-level refusal, thrown inside the plugin and turned into a Segment-style error body. */
export class CollectorRejection extends Error {
  override readonly name = "CollectorRejection";
  readonly code: RejectionCode;
  readonly statusCode: number;
  readonly path: string | undefined;
  constructor(code: RejectionCode, path?: string) {
    super(REJECTIONS[code].message);
    this.code = code;
    this.statusCode = REJECTIONS[code].status;
    this.path = path;
  }
}

export function rejectionText({ code, path }: Rejection): string {
  return path === undefined ? REJECTIONS[code].message : `${path}: ${REJECTIONS[code].message}`;
}
