// A server with the collector alone, for tests, the bench and the standalone process; `serve`
// registers `createCollector(...).plugin` on its own server instead.
import Fastify, { type FastifyInstance } from "fastify";
import { type Collector, type CollectorOptions, createCollector } from "./plugin.ts";

export interface CollectorServerOptions extends CollectorOptions {
  /** Default 127.0.0.1: exposing the collector is a decision, not a default. */
  readonly host?: string;
  /** Default 0 (an ephemeral port; read it from `url`). */
  readonly port?: number;
  /**
   * Which proxies' X-Forwarded-For to believe, as Fastify's `trustProxy`: addresses or CIDRs (a
   * list, or one comma-separated string), or true for any. Default false: the client is the socket's peer. A server-wide setting:
   * `serve` passes the same value to its own Fastify constructor.
   */
  readonly trustProxy?: boolean | string | readonly string[];
}

export interface CollectorServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly collector: Collector;
  /** Stops accepting, answers the requests in progress (after their commit), then closes. The queue stays open. */
  close(): Promise<void>;
}

export async function startCollectorServer(options: CollectorServerOptions): Promise<CollectorServer> {
  const trustProxy = options.trustProxy ?? false;
  const app = Fastify({
    trustProxy: typeof trustProxy === "object" ? [...trustProxy] : trustProxy,
    logger: false,
  });
  const collector = createCollector(options);
  await app.register(collector.plugin);
  await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("collector server has no TCP address");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, app, collector, close: () => app.close() };
}
