// A lean HTTP/1.1 load generator for bench/collector.ts: keep-alive connections, one request in
// flight on each (no pipelining), each request written as one string, each answer read up to its
// Content-Length. undici spends ~45% of a core on 10k requests/s, which on a 2-core machine is
// taken from the server under test; this does the same exchanges for a fraction of it, as wrk
// would. Only what the collector answers is understood: a status line, headers, a body with a
// Content-Length. Anything else fails the request and closes its connection.
import { connect, type Socket } from "node:net";

const HEADER_END = Buffer.from("\r\n\r\n");
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;
const CONNECTION_CLOSE = /\r\nconnection:\s*close/i;

interface Pending {
  resolve(status: number): void;
  reject(error: Error): void;
}

class Connection {
  readonly #socket: Socket;
  #pending: Pending | undefined;
  #buffer: Buffer | undefined;
  #closed = false;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    const close = (): void => {
      if (this.#closed) return;
      this.#closed = true;
      this.#fail(new Error("connection closed"));
    };
    socket.on("error", close);
    socket.on("close", close);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Writes the request; resolves with the answer's status once its body has arrived. */
  exchange(request: string): Promise<number> {
    if (this.#closed) return Promise.reject(new Error("connection closed"));
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket.write(request);
    });
  }

  close(): void {
    this.#closed = true;
    this.#fail(new Error("connection closed"));
    this.#socket.destroy();
  }

  #read(chunk: Buffer): void {
    const data = this.#buffer === undefined ? chunk : Buffer.concat([this.#buffer, chunk]);
    const headerEnd = data.indexOf(HEADER_END);
    if (headerEnd < 0) {
      this.#buffer = data;
      return;
    }
    const head = data.toString("latin1", 0, headerEnd);
    const length = CONTENT_LENGTH.exec(head);
    if (!head.startsWith("HTTP/1.1 ") || length === null) {
      this.#fail(new Error("an answer without a Content-Length"));
      this.close();
      return;
    }
    const end = headerEnd + HEADER_END.length + Number(length[1]);
    if (data.length < end) {
      this.#buffer = data;
      return;
    }
    this.#buffer = undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve(Number(head.slice(9, 12)));
    if (CONNECTION_CLOSE.test(head)) this.close();
  }

  #fail(error: Error): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }
}

/** An exchange that takes longer fails (and closes its connection), so a stalled server cannot hang a phase. */
const EXCHANGE_TIMEOUT_MS = 30_000;

export class RawHttpClient {
  readonly #host: string;
  readonly #port: number;
  readonly #prefix: string;
  /** Open connections not in use. */
  readonly #idle: Connection[] = [];
  /** Requests waiting for one of the `connections` slots. */
  readonly #waiting: (() => void)[] = [];
  #freeSlots: number;

  /** `headers`: extra request header lines, e.g. `{ authorization: "Basic …" }`. */
  constructor(url: string, options: { connections: number; headers: Record<string, string> }) {
    const { hostname, port, host } = new URL(url);
    this.#host = hostname;
    this.#port = Number(port);
    this.#freeSlots = options.connections;
    this.#prefix = Object.entries({ host, ...options.headers })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
  }

  /** POSTs `body` to `path`; resolves with the answer's status, rejects when the exchange fails. */
  async post(path: string, body: string): Promise<number> {
    await this.#takeSlot();
    try {
      const connection = this.#takeIdle() ?? (await this.#connect());
      const request = `POST ${path} HTTP/1.1\r\n${this.#prefix}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const timer = setTimeout(() => connection.close(), EXCHANGE_TIMEOUT_MS);
      try {
        const status = await connection.exchange(request);
        if (!connection.closed) this.#idle.push(connection);
        return status;
      } finally {
        clearTimeout(timer);
      }
    } finally {
      this.#giveSlot();
    }
  }

  close(): void {
    for (const connection of this.#idle) connection.close();
    this.#idle.length = 0;
  }

  #takeIdle(): Connection | undefined {
    for (let idle = this.#idle.pop(); idle !== undefined; idle = this.#idle.pop()) {
      if (!idle.closed) return idle;
    }
    return undefined;
  }

  async #connect(): Promise<Connection> {
    const socket = connect(this.#port, this.#host);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new Connection(socket);
  }

  async #takeSlot(): Promise<void> {
    if (this.#freeSlots > 0) {
      this.#freeSlots--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** The slot goes to the next waiting request, or back to the pool. */
  #giveSlot(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#freeSlots++;
  }
}
