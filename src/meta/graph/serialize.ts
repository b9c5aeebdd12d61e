// An event's JSON as it goes into a request body. One function, so that an event serialized ahead
// (on another thread) and one the client serializes itself are the same bytes and the same verdict.
import type { ServerEvent } from "../event.ts";
import type { SerializedEvent } from "./types.ts";

/** What the client says of an event that is not a JSON object (a BigInt, a cycle, a bare value). */
export const NOT_A_JSON_OBJECT = "the event is not a JSON object (unserializable value or not an object)";

/** The event's JSON, or undefined when it does not serialize to a JSON object. */
export function eventJson(event: ServerEvent): string | undefined {
  let json: string | undefined;
  try {
    json = JSON.stringify(event);
  } catch {
    return undefined;
  }
  return json !== undefined && json[0] === "{" ? json : undefined;
}

/** The event ready for `DatasetSender.send`, or undefined as in `eventJson`. */
export function serializeEvent(event: ServerEvent): SerializedEvent | undefined {
  const json = eventJson(event);
  return json === undefined
    ? undefined
    : { json, event_time: event.event_time, action_source: event.action_source };
}
