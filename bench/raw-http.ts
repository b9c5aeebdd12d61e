// A lean HTTP/1.1 load generator for bench/collector.ts: keep-alive connections, one request in
// flight on each (no pipelining), each request written as one string, each answer read up to its
// Content-Length. undici spends ~45% of a core on 10k requests/s, which on a 2-core machine is
// taken from the server under test; this does the same exchanges for a fraction of it, as wrk
// would. Only what the collector answers is understood: a status line, headers, a body with a
// Content-Length. Anything else fails the request and closes its connection.
import { connect, type Socket } from "node:net";

const HEADER_END = Buffer.from("\r\n\r\n");
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

interface Pending {
  resolve(status: number): void;
  reject(error: Error): void;
}

class Connection {
  readonly #socket: Socket;
  #pending: Pending | undefined;
  #buffer: Buffer | undefined;
  #closed = false;

  constructor(socket: Socket, onClose: (connection: Connection) => void) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    const close = (): void => {
      if (this.#closed) return;
      this.#closed = true;
      this.#fail(new Error("connection closed"));
      onClose(this);
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
  }

  #fail(error: Error): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }
}

export class RawHttpClient {
  readonly #host: string;
  readonly #port: number;
  readonly #prefix: string;
  readonly #maxConnections: number;
  readonly #idle: Connection[] = [];
  readonly #waiting: ((connection: Connection) => void)[] = [];
  #open = 0;

  /** `headers`: extra request header lines, e.g. `{ authorization: "Basic …" }`. */
  constructor(url: string, options: { connections: number; headers: Record<string, string> }) {
    const { hostname, port, host } = new URL(url);
    this.#host = hostname;
    this.#port = Number(port);
    this.#maxConnections = options.connections;
    this.#prefix = Object.entries({ host, ...options.headers })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
  }

  /** POSTs `body` to `path`; resolves with the answer's status. */
  async post(path: string, body: string): Promise<number> {
    const connection = await this.#connection();
    const request = `POST ${path} HTTP/1.1\r\n${this.#prefix}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    try {
      return await connection.exchange(request);
    } finally {
      this.#release(connection);
    }
  }

  close(): void {
    for (const connection of this.#idle) connection.close();
    this.#idle.length = 0;
  }

  async #connection(): Promise<Connection> {
    for (let idle = this.#idle.pop(); idle !== undefined; idle = this.#idle.pop()) {
      if (!idle.closed) return idle;
    }
    if (this.#open < this.#maxConnections) {
      this.#open++;
      const socket = connect(this.#port, this.#host);
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      });
      return new Connection(socket, () => {
        this.#open--;
      });
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(connection: Connection): void {
    if (connection.closed) return;
    const next = this.#waiting.shift();
    if (next !== undefined) next(connection);
    else this.#idle.push(connection);
  }
}
