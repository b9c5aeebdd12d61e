// The Segment calls the collector accepts and the checks each message passes, as tables: the same
// rules Segment's and RudderStack's libraries apply before sending (loosely-validate-event), plus
// the timestamp and messageId rules of Segment's HTTP API.
import { toUnixSeconds } from "../../mapping/timestamps.ts";
import type { Rejection, RejectionCode } from "./rejections.ts";

export const CALL_TYPES = ["track", "page", "screen", "identify", "group", "alias"] as const;
export type CallType = (typeof CALL_TYPES)[number];

/** A Segment message as the libraries send it; unknown keys are kept as they are. */
export type SegmentMessage = Record<string, unknown>;

type FieldKind = "string" | "id" | "object" | "timestamp" | "messageId";

/** Top-level fields with a required shape when present (null counts as absent). */
const FIELD_KINDS: Readonly<Record<string, FieldKind>> = {
  userId: "id",
  anonymousId: "id",
  groupId: "id",
  previousId: "id",
  event: "string",
  name: "string",
  category: "string",
  messageId: "messageId",
  context: "object",
  properties: "object",
  traits: "object",
  integrations: "object",
  timestamp: "timestamp",
  originalTimestamp: "timestamp",
  sentAt: "timestamp",
};

const KIND_REJECTIONS: Readonly<Record<FieldKind, RejectionCode>> = {
  string: "field_not_string",
  id: "field_not_id",
  object: "field_not_object",
  timestamp: "timestamp_invalid",
  messageId: "message_id_invalid",
};

/** Segment's limit: "unique messageId values with fewer than 100 characters". */
export const MAX_MESSAGE_ID_LENGTH = 100;

/** `identity` means a userId or an anonymousId; a field name means that field must be filled. */
type Requirement = { readonly field: "identity" | string; readonly code: RejectionCode };

const IDENTITY: Requirement = { field: "identity", code: "identity_missing" };

export const CALL_REQUIREMENTS: Readonly<Record<CallType, readonly Requirement[]>> = {
  track: [IDENTITY, { field: "event", code: "event_missing" }],
  page: [IDENTITY],
  screen: [IDENTITY],
  identify: [IDENTITY],
  group: [IDENTITY, { field: "groupId", code: "group_id_missing" }],
  alias: [
    { field: "userId", code: "user_id_missing" },
    { field: "previousId", code: "previous_id_missing" },
  ],
};

export function isCallType(value: unknown): value is CallType {
  return typeof value === "string" && (CALL_TYPES as readonly string[]).includes(value);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Filled the way the libraries' validators see it: a non-empty string or a finite number. */
export function isFilled(value: unknown): boolean {
  return (typeof value === "string" && value !== "") || (typeof value === "number" && Number.isFinite(value));
}

function fitsKind(kind: FieldKind, value: unknown): boolean {
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "id":
      return typeof value === "string" || (typeof value === "number" && Number.isFinite(value));
    case "object":
      return isObject(value);
    case "timestamp":
      return toUnixSeconds(value) !== undefined;
    case "messageId":
      return typeof value === "string" && value.length <= MAX_MESSAGE_ID_LENGTH;
  }
}

/** The first rule a message of this call breaks, or undefined when it may be stored. */
export function checkMessage(type: CallType, message: SegmentMessage): Rejection | undefined {
  for (const field in FIELD_KINDS) {
    const value = message[field];
    if (value === undefined || value === null) continue;
    const kind = FIELD_KINDS[field] as FieldKind;
    if (!fitsKind(kind, value)) return { code: KIND_REJECTIONS[kind], path: field };
  }
  for (const requirement of CALL_REQUIREMENTS[type]) {
    const met =
      requirement.field === "identity"
        ? isFilled(message.userId) || isFilled(message.anonymousId)
        : isFilled(message[requirement.field]);
    if (!met) return { code: requirement.code };
  }
  return undefined;
}
