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
  #closed = false;

  constructor(options: TransportOptions) {
    this.#url = new URL(options.graphUrl);
    if (this.#url.protocol !== "https:" && this.#url.protocol !== "http:") {
      throw new TypeError("the Graph URL must be an http or https URL");
    }
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
    if (this.#closed) return Promise.resolve({ kind: "failure", reason: "network", code: "CLIENT_CLOSED" });
    const exchange = this.#exchange(path, headers, body);
    this.#exchanges.add(exchange);
    const forget = (): void => {
      this.#exchanges.delete(exchange);
    };
    exchange.then(forget, forget);
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
      // Node checks headers and path as it builds the request: a token with a line break in it
      // throws here, and that is an answer like any other failure (the error names the header only).
      try {
        this.#send(path, headers, body, signal, settle, fail);
      } catch (error) {
        fail(error);
      }
    });
  }

  #send(
    path: string,
    headers: Record<string, string>,
    body: Uint8Array,
    signal: AbortSignal,
    settle: (result: WireResult) => void,
    fail: (error: unknown) => void,
  ): void {
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
      // A connection lost mid-answer closes the response without its end (`aborted` is deprecated).
      response.on("close", () => {
        if (!response.complete) fail(Object.assign(new Error("incomplete answer"), { code: "ECONNRESET" }));
      });
      response.on("end", () => {
        settle({
          kind: "response",
          status: response.statusCode ?? 0,
          headers: headerValues(response),
          body: utf8.decode(Buffer.concat(chunks)),
        });
      });
    });
    request.end(body);
  }

  /** Refuses new requests, waits for those on the wire, then closes the sockets. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#exchanges.size > 0) await Promise.allSettled([...this.#exchanges]);
    this.#agent.destroy();
  }
}

const utf8 = new TextDecoder();

/** A repeated header as a list, any other as its one value: Node would join repeats with commas. */
function headerValues(response: IncomingMessage): Record<string, string | string[]> {
  const values: Record<string, string | string[]> = {};
  for (const [name, list] of Object.entries(response.headersDistinct)) {
    if (list !== undefined) values[name] = list.length === 1 ? (list[0] as string) : list;
  }
  return values;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? code : "NETWORK_ERROR";
}
