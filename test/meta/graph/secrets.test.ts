// A canary token and app secret go through every failure path; they must never appear in a log line
// (pino, every level), a thrown error, an outcome or a request report.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:net";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import pino from "pino";
import { type EmulatorOptions, startEmulator } from "../../../src/emulator/index.ts";
import type { ServerEvent } from "../../../src/meta/event.ts";
import { GraphClient, type GraphClientOptions } from "../../../src/meta/graph/index.ts";
import { captureLogger, DATASET, purchaseWithoutValue, validEvent } from "./helpers.ts";

const CANARY_TOKEN = "CANARYtok3n7f1d9c2aEAAB";
const CANARY_SECRET = "CANARYs3cr3tb84e0c5d";
const CANARY_PROOF = createHmac("sha256", CANARY_SECRET).update(CANARY_TOKEN).digest("hex");
const CANARIES = [CANARY_TOKEN, CANARY_SECRET, CANARY_PROOF];

/** Everything the client said, as text. */
const transcript: string[] = [];
const pinoLines = new Writable({
  write(chunk, _encoding, done) {
    transcript.push(String(chunk));
    done();
  },
});
const pinoLogger = pino({ level: "trace" }, pinoLines);
const captured = captureLogger();

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function exercise(
  graphUrl: string,
  events: ServerEvent[],
  options: Partial<GraphClientOptions> = {},
  datasetId = DATASET,
): Promise<void> {
  for (const logger of [pinoLogger, captured.logger]) {
    const client = new GraphClient({
      accessToken: CANARY_TOKEN,
      appSecret: CANARY_SECRET,
      graphUrl,
      logger,
      backoff: { baseMs: 1, capMs: 5 },
      maxAttempts: 4,
      timeoutMs: 150,
      maxBatchEvents: 20,
      onRequest: (report) => transcript.push(JSON.stringify(report)),
      ...options,
    });
    try {
      const summary = await client.dataset<number>(datasetId).send(
        events.map((event, ref) => ({ ref, event })),
        { onOutcome: (ref, outcome) => transcript.push(JSON.stringify({ ref, outcome })) },
      );
      transcript.push(JSON.stringify(summary));
    } catch (error) {
      transcript.push(String(error), inspect(error, { depth: 5 }), JSON.stringify(error));
      if (error instanceof Error && error.stack) transcript.push(error.stack);
    } finally {
      await client.close();
    }
  }
}

async function withEmulator(options: EmulatorOptions, body: (url: string) => Promise<void>): Promise<void> {
  const emulator = await startEmulator({
    port: 0,
    appSecret: CANARY_SECRET,
    datasets: [{ id: DATASET, tokens: [CANARY_TOKEN] }],
    ...options,
  });
  try {
    await body(emulator.url);
  } finally {
    await emulator.close();
  }
}

const batch = (n: number) => Array.from({ length: n }, (_, i) => validEvent(i));

describe("no secret in any output", () => {
  it("auth failure (expired token)", () =>
    withEmulator(
      { datasets: [{ id: DATASET, tokens: [CANARY_TOKEN], expiredTokens: [CANARY_TOKEN] }] },
      (url) => exercise(url, batch(30)),
    ));

  it("config failures: unknown dataset, unknown version, wrong app secret", () =>
    withEmulator({}, async (url) => {
      await exercise(url, batch(30), {}, "9999999999");
      await exercise(url, batch(30), { apiVersion: "v99.0" });
    }).then(() => withEmulator({ appSecret: "another-secret" }, (url) => exercise(url, batch(30)))));

  it("throttle, transient, server errors, timeouts, drops and lost responses", () =>
    withEmulator(
      {
        faults: {
          seed: 9,
          throttle: 0.15,
          transient: 0.15,
          serverError: 0.15,
          timeout: 0.1,
          drop: 0.15,
          lostResponse: 0.1,
          timeoutHoldMs: 300,
          retryAfterSeconds: 0,
        },
      },
      (url) => exercise(url, batch(600)),
    ));

  it("payload-invalid batches and retries exhausted", () =>
    withEmulator({}, async (url) => {
      await exercise(url, [...batch(30), purchaseWithoutValue(31)]);
    }).then(() => withEmulator({ faults: { seed: 2, serverError: 1 } }, (url) => exercise(url, batch(5)))));

  it("connection refused", async () => {
    const port = await closedPort();
    await exercise(`http://127.0.0.1:${port}`, batch(5));
  });

  it("found none of the canaries in what was captured", () => {
    for (const line of captured.lines) transcript.push(JSON.stringify(line));
    const levels = new Set(captured.lines.map((l) => l.level));
    for (const level of ["debug", "info", "warn", "error"]) assert.ok(levels.has(level), `no ${level} line`);
    assert.ok(transcript.length > 500, `only ${transcript.length} lines captured`);
    const text = transcript.join("\n");
    // The paths above really ran: their stop messages, errors and outcomes are in the transcript.
    const markers = [
      "Meta rejected the access token",
      "does not exist or the access token cannot use it",
      "appsecret_proof",
      "network error ECONNREFUSED",
      '"outcome":"timeout"',
      '"outcome":"network"',
      '"outcome":"throttle"',
      '"outcome":"transient"',
      '"outcome":"payload_invalid"',
      '"reason":"retries_exhausted"',
      '"status":"rejected"',
    ];
    for (const marker of markers) assert.ok(text.includes(marker), `path not exercised: ${marker}`);
    for (const canary of CANARIES) assert.equal(text.includes(canary), false, "a secret leaked");
  });
});
