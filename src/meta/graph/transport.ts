// The only place that touches the network: one keep-alive undici Pool per Graph origin. It returns
// answers and failures as plain data; the raw error (which could quote a URL or header) stays here.
import { Pool } from "undici";

export type WireResult =
  | {
      readonly kind: "response";
      readonly status: number;
      readonly headers: Record<string, string | string[] | undefined>;
      readonly body: string;
    }
  | {
      readonly kind: "failure";
      /** `timeout`: no full answer within the timeout; `network`: connect/reset/closed socket. */
      readonly reason: "timeout" | "network";
      /** A system or undici error code such as ECONNREFUSED or UND_ERR_SOCKET — never a message. */
      readonly code: string;
    };

export interface TransportOptions {
  readonly graphUrl: string;
  readonly timeoutMs: number;
  readonly keepAliveTimeoutMs?: number;
}

export class GraphTransport {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #timeoutMs: number;

  constructor(options: TransportOptions) {
    const url = new URL(options.graphUrl);
    this.#basePath = url.pathname.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs;
    this.#pool = new Pool(url.origin, {
      // No cap on sockets: the dataset windows bound concurrency, and a request queued here
      // would spend its timeout waiting for a socket.
      connections: null,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
      // Our own timeout (an AbortSignal) bounds the whole exchange; these only must not fire first.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /** POSTs `body` to `{graphUrl}{path}`; never throws. */
  async post(path: string, headers: Record<string, string>, body: Uint8Array): Promise<WireResult> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      const response = await this.#pool.request({
        method: "POST",
        path: this.#basePath + path,
        headers,
        body,
        signal,
      });
      const text = await response.body.text();
      return { kind: "response", status: response.statusCode, headers: response.headers, body: text };
    } catch (error) {
      if (signal.aborted) return { kind: "failure", reason: "timeout", code: "TIMEOUT" };
      return { kind: "failure", reason: "network", code: errorCode(error) };
    }
  }

  /** Waits for requests on the wire, then closes the sockets. */
  async close(): Promise<void> {
    await this.#pool.close();
  }
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? code : "NETWORK_ERROR";
}
