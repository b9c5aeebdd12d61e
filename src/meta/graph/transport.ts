// The only place that touches the network: one keep-alive agent of Node's own HTTP client per Graph
// origin. It returns answers and failures as plain data; the raw error (which could quote a URL or
// header) stays here. Node's client rather than undici: undici parses HTTP in WebAssembly, which
// cost ~20 MB of RSS in every thread that loaded it (the sync's worker included); node:http parses
// natively and is already part of the process.
import { channel } from "node:diagnostics_channel";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

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
      /** A system or Node error code such as ECONNREFUSED or ECONNRESET — never a message. */
      readonly code: string;
    };

export interface TransportOptions {
  readonly graphUrl: string;
  readonly timeoutMs: number;
  readonly keepAliveTimeoutMs?: number;
}

/**
 * Published when a request goes out and when its exchange is over, with the same `{ request }`
 * object, in the caller's async context: a service counts the requests of each run on the wire.
 */
export const REQUEST_START_CHANNEL = "capi-sync:graph:request:start";
export const REQUEST_END_CHANNEL = "capi-sync:graph:request:end";
const started = channel(REQUEST_START_CHANNEL);
const ended = channel(REQUEST_END_CHANNEL);

export class GraphTransport {
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;
  readonly #url: URL;
  readonly #basePath: string;
  readonly #timeoutMs: number;
  readonly #exchanges = new Set<Promise<WireResult>>();

  constructor(options: TransportOptions) {
    this.#url = new URL(options.graphUrl);
    this.#basePath = this.#url.pathname.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs;
    const secure = this.#url.protocol === "https:";
    // No cap on sockets: the dataset windows bound concurrency, and a request queued here would
    // spend its timeout waiting for a socket. `timeout` only ends idle sockets: the agent destroys
    // a socket that times out while free, and our own timeout bounds each exchange.
    const agentOptions = {
      keepAlive: true,
      maxSockets: Number.POSITIVE_INFINITY,
      timeout: options.keepAliveTimeoutMs ?? 30_000,
      scheduling: "lifo" as const,
    };
    this.#agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.#request = secure ? httpsRequest : httpRequest;
  }

  /** POSTs `body` to `{graphUrl}{path}`; never throws. */
  post(path: string, headers: Record<string, string>, body: Uint8Array): Promise<WireResult> {
    const exchange = this.#exchange(path, headers, body);
    this.#exchanges.add(exchange);
    void exchange.finally(() => this.#exchanges.delete(exchange));
    return exchange;
  }

  #exchange(path: string, headers: Record<string, string>, body: Uint8Array): Promise<WireResult> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const token = {};
    if (started.hasSubscribers) started.publish({ request: token });
    return new Promise<WireResult>((resolve) => {
      let settled = false;
      const settle = (result: WireResult): void => {
        if (settled) return;
        settled = true;
        if (ended.hasSubscribers) ended.publish({ request: token });
        resolve(result);
      };
      const fail = (error: unknown): void => {
        settle(
          signal.aborted
            ? { kind: "failure", reason: "timeout", code: "TIMEOUT" }
            : { kind: "failure", reason: "network", code: errorCode(error) },
        );
      };
      const request = this.#request({
        protocol: this.#url.protocol,
        // An IPv6 literal is bracketed in a URL, not in a host name.
        hostname: this.#url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: this.#url.port,
        method: "POST",
        path: this.#basePath + path,
        headers: { ...headers, "content-length": body.byteLength },
        agent: this.#agent,
        signal,
      });
      request.on("error", fail);
      request.on("response", (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", fail);
        response.on("aborted", () => fail(Object.assign(new Error("aborted"), { code: "ECONNRESET" })));
        response.on("end", () => {
          settle({
            kind: "response",
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
      });
      request.end(body);
    });
  }

  /** Waits for requests on the wire, then closes the sockets. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#exchanges]);
    this.#agent.destroy();
  }
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? code : "NETWORK_ERROR";
}
