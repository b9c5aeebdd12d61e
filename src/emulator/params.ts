// Request parameters from any of the encodings Meta accepts (spec §1.3), and `data` as events.
import type { FastifyRequest } from "fastify";
import { type Rejection, reject } from "./errors.ts";

/** What the content-type parsers hand to the route: the raw text, parsed after auth (spec §11). */
export interface RawBody {
  readonly kind: "json" | "form" | "other";
  readonly text: string;
}

export type Params = Record<string, unknown>;

export interface ReadParams {
  readonly params: Params;
  /** The body could not be decoded; params then hold only the query string. */
  readonly malformed: boolean;
  /**
   * The JSON body text when `data` came from it: the store keeps this one string instead of
   * thousands of parsed objects, which the garbage collector would have to trace.
   */
  readonly jsonText?: string;
}

export const MAX_EVENTS_PER_REQUEST = 1000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function formParams(text: string): Params {
  return Object.fromEntries(new URLSearchParams(text));
}

async function multipartParams(request: FastifyRequest, fieldSize: number): Promise<Params> {
  const params: Params = {};
  for await (const part of request.parts({ limits: { fieldSize, fileSize: fieldSize } })) {
    // `-F data=@events.json` arrives as a file part; Meta reads it like the field.
    params[part.fieldname] =
      part.type === "field" ? String(part.value) : (await part.toBuffer()).toString("utf8");
  }
  return params;
}

/** Query parameters overlaid with body parameters (Graph reads both, the body wins). */
export async function readParams(request: FastifyRequest, fieldSize: number): Promise<ReadParams> {
  const query = (request.query ?? {}) as Params;
  try {
    let body: Params;
    let jsonText: string | undefined;
    if (request.isMultipart()) {
      body = await multipartParams(request, fieldSize);
    } else {
      const raw = request.body as RawBody | undefined;
      if (raw === undefined || raw.kind === "other" || raw.text.trim() === "") body = {};
      else if (raw.kind === "form") body = formParams(raw.text);
      else {
        const parsed: unknown = JSON.parse(raw.text);
        if (!isObject(parsed)) return { params: query, malformed: true };
        body = parsed;
        if (body.data !== undefined) jsonText = raw.text;
      }
    }
    const params = Object.keys(query).length === 0 ? body : { ...query, ...body };
    return { params, malformed: false, jsonText };
  } catch {
    return { params: query, malformed: true };
  }
}

/**
 * `data` as a list of events: a native array, or a JSON string of one, whose elements may each be
 * JSON-encoded strings (Python SDK, spec §1.3). Strings are decoded in place; nothing else is copied.
 */
export function readEvents(data: unknown): unknown[] | Rejection {
  if (data === undefined || data === null || data === "") return reject("dataRequired");
  let list = data;
  if (typeof list === "string") {
    try {
      list = JSON.parse(list);
    } catch {
      return reject("dataMalformed");
    }
  }
  if (!Array.isArray(list)) return reject("dataMalformed");
  if (list.length === 0) return reject("dataEmpty");
  if (list.length > MAX_EVENTS_PER_REQUEST) return reject("dataTooMany");
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    if (typeof item !== "string") continue;
    try {
      list[i] = JSON.parse(item);
    } catch {
      return reject("dataMalformed");
    }
  }
  return list;
}

/** The events of a JSON body kept by `readParams`, decoded again exactly as on receipt. */
export function eventsFromJsonText(text: string): unknown[] {
  const events = readEvents((JSON.parse(text) as Params).data);
  return isRejection(events) ? [] : events;
}

export function isRejection(value: unknown): value is Rejection {
  return isObject(value) && "status" in value && "error" in value;
}
