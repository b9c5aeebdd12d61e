// Who may write: write keys (one connection each) and, for browsers, allowed origins (CORS).

export interface CollectorConnection {
  /** The connection (a config entry of `capi-sync`) whose queue the messages join. */
  readonly name: string;
  /** Several keys let a key be rotated without downtime. */
  readonly writeKeys: readonly string[];
}

export interface CollectorCors {
  /** Origins allowed to post from a browser (`https://shop.example`), or "*" (default) for any. */
  readonly origins: readonly string[] | "*";
  /**
   * Allow credentialed requests (cookies: `_fbp`/`_fbc` reach the collector only with
   * `credentials: "include"`). Needs an explicit origin list: browsers refuse "*" with credentials.
   */
  readonly credentials?: boolean;
  /** How long a browser may cache a preflight answer (default 86400 s). */
  readonly maxAgeSeconds?: number;
}

/** A configuration the collector cannot run with; names the entry, never a key. */
export class CollectorConfigError extends Error {
  override readonly name = "CollectorConfigError";
}

/** write key → connection name; rejects empty keys and keys shared by two connections. */
export function writeKeyIndex(connections: readonly CollectorConnection[]): ReadonlyMap<string, string> {
  const index = new Map<string, string>();
  for (const connection of connections) {
    if (connection.writeKeys.length === 0) {
      throw new CollectorConfigError(`collector connection ${connection.name} has no write key`);
    }
    for (const [position, key] of connection.writeKeys.entries()) {
      if (key === "")
        throw new CollectorConfigError(
          `collector connection ${connection.name}: write key ${position + 1} is empty`,
        );
      const owner = index.get(key);
      if (owner !== undefined && owner !== connection.name) {
        throw new CollectorConfigError(
          `collector connections ${owner} and ${connection.name} share a write key: each key must name one connection`,
        );
      }
      index.set(key, connection.name);
    }
  }
  return index;
}

const BASIC = /^Basic\s+([A-Za-z0-9+/_-]+=*)\s*$/i;

/**
 * The write key of an `Authorization: Basic` header: the user name (Segment's libraries send
 * "key:"); a value without a colon is taken whole, as Segment still accepts it. Other schemes
 * (Segment's OAuth Bearer) carry the write key in the body instead.
 */
export function basicAuthUser(header: string | undefined): string | undefined {
  const match = header === undefined ? null : BASIC.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  return user === "" ? undefined : user;
}

export interface CorsPolicy {
  /** Headers for a request from `origin`, or undefined when the origin is not allowed. */
  headers(origin: string | undefined): Record<string, string> | undefined;
  /** The extra headers of a preflight answer. */
  preflight(requestedHeaders: string | undefined): Record<string, string>;
}

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, "").toLowerCase();
}

export function corsPolicy(options: CollectorCors): CorsPolicy {
  const anyOrigin = options.origins === "*";
  if (anyOrigin && options.credentials) {
    throw new CollectorConfigError(
      'collector cors: credentials need an explicit list of origins (browsers refuse "*" with credentials)',
    );
  }
  const allowed = new Set(anyOrigin ? [] : (options.origins as readonly string[]).map(normalizeOrigin));
  const maxAge = String(options.maxAgeSeconds ?? 86400);
  return {
    headers(origin): Record<string, string> | undefined {
      // Server-side senders send no Origin: CORS is a browser matter.
      if (origin === undefined) return {};
      if (anyOrigin)
        return { "access-control-allow-origin": "*", "access-control-expose-headers": "Retry-After" };
      if (!allowed.has(normalizeOrigin(origin))) return undefined;
      return {
        "access-control-allow-origin": origin,
        "access-control-expose-headers": "Retry-After",
        vary: "Origin",
        ...(options.credentials ? { "access-control-allow-credentials": "true" } : {}),
      };
    },
    preflight(requestedHeaders) {
      return {
        "access-control-allow-methods": "POST, OPTIONS",
        "access-control-allow-headers": requestedHeaders ?? "Content-Type, Authorization, Content-Encoding",
        "access-control-max-age": maxAge,
      };
    },
  };
}
