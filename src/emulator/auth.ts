// Step 2 of spec §11: the access token (query, body or Authorization header), appsecret_proof,
// and whether the token reaches the dataset. Tokens never leave this module in any answer.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { type Rejection, reject } from "./errors.ts";
import type { EmulatorDataset } from "./options.ts";

/** Tokens are opaque to the emulator, but whitespace or quotes mean it cannot be one (→ 190). */
const TOKEN_SYNTAX = /^[A-Za-z0-9_.|:%~+/=-]{1,4096}$/;
const AUTH_HEADER = /^(?:Bearer|OAuth)\s+(\S+)\s*$/i;

type Params = Record<string, unknown>;

function firstString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return undefined;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export interface AuthRequest {
  readonly datasetId: string;
  readonly query: Params;
  readonly params: Params;
  readonly headers: IncomingHttpHeaders;
}

export type Authorizer = (request: AuthRequest) => Rejection | undefined;

/**
 * Checks in Graph's order: a parseable token (190), not expired (190/463), the proof when an app
 * secret is set (100), then access to the dataset (100/33, also for a dataset that does not exist).
 */
export function createAuthorizer(
  datasets: readonly EmulatorDataset[],
  appSecret: string | undefined,
  now: () => number,
): Authorizer {
  const tokensByDataset = new Map(datasets.map((d) => [d.id, new Set(d.tokens)]));
  const expired = new Set(datasets.flatMap((d) => d.expiredTokens ?? []));
  return ({ datasetId, query, params, headers }) => {
    const token =
      firstString(query.access_token) ??
      firstString(params.access_token) ??
      AUTH_HEADER.exec(headers.authorization ?? "")?.[1];
    if (token === undefined || !TOKEN_SYNTAX.test(token)) return reject("cannotParseToken");
    if (expired.has(token)) return reject("tokenExpired", { now: new Date(now()).toUTCString() });
    if (appSecret !== undefined) {
      const proof = firstString(params.appsecret_proof);
      if (proof === undefined || proof === "") return reject("appsecretProofMissing");
      const expected = createHmac("sha256", appSecret).update(token).digest("hex");
      if (!safeEqual(proof.toLowerCase(), expected)) return reject("appsecretProofInvalid");
    }
    if (!tokensByDataset.get(datasetId)?.has(token)) return reject("unsupportedPost", { id: datasetId });
    return undefined;
  };
}
