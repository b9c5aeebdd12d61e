// Request bodies as text, read into reused buffers. Fastify's own reader concatenates each body into
// a fresh buffer: at ~1 MB a batch that is new memory, page-faulted in, for every request, and it was
// the emulator's second-largest cost after JSON.parse (bench/sync.ts profile). The limits and the
// errors are Fastify's own, so the error handler answers them as before.
import type { Readable } from "node:stream";
import { errorCodes, type FastifyRequest } from "fastify";

/** Buffers kept for reuse, and the largest size kept (bigger bodies get a buffer of their own). */
const POOLED = 8;
const MAX_POOLED_BYTES = 4 * 1024 * 1024;
const MIN_BUFFER_BYTES = 64 * 1024;

const pool: Buffer[] = [];

/** The smallest pooled buffer of at least `bytes`, or a new one. */
function take(bytes: number): Buffer {
  let best = -1;
  for (let i = 0; i < pool.length; i++) {
    const length = (pool[i] as Buffer).length;
    if (length >= bytes && (best < 0 || length < (pool[best] as Buffer).length)) best = i;
  }
  if (best >= 0) return pool.splice(best, 1)[0] as Buffer;
  let size = MIN_BUFFER_BYTES;
  while (size < bytes) size *= 2;
  return Buffer.allocUnsafeSlow(size);
}

function give(buffer: Buffer): void {
  if (buffer.length <= MAX_POOLED_BYTES && pool.length < POOLED) pool.push(buffer);
}

/**
 * A content-type parser body: the whole payload, decoded as UTF-8 once at the end (a character split
 * across chunks stays intact), then handed to `into`.
 */
export function textBody<T>(bodyLimit: number, into: (text: string) => T) {
  return (request: FastifyRequest, payload: Readable, done: (error: Error | null, body?: T) => void) => {
    const declared = Number(request.headers["content-length"]);
    if (declared > bodyLimit) {
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    // Sized by the declared length up to the pooled size; beyond it, grown as the bytes arrive, so
    // a client that declares much and sends little does not hold much.
    const expected = Number.isFinite(declared) && declared > 0 ? declared : MIN_BUFFER_BYTES;
    let buffer = take(Math.min(expected, MAX_POOLED_BYTES));
    let received = 0;
    const finish = (): void => {
      payload.removeListener("data", onData);
      payload.removeListener("end", onEnd);
      payload.removeListener("error", onError);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (received + bytes.length > bodyLimit) {
        finish();
        give(buffer);
        done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        return;
      }
      if (received + bytes.length > buffer.length) {
        const larger = take(received + bytes.length);
        buffer.copy(larger, 0, 0, received);
        give(buffer);
        buffer = larger;
      }
      received += bytes.copy(buffer, received);
    };
    const onEnd = (): void => {
      finish();
      if (!Number.isNaN(declared) && received !== declared) {
        give(buffer);
        done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        return;
      }
      const text = buffer.toString("utf8", 0, received);
      give(buffer);
      done(null, into(text));
    };
    const onError = (error: Error & { statusCode?: number }): void => {
      finish();
      give(buffer);
      if (!(typeof error.statusCode === "number" && error.statusCode >= 400)) error.statusCode = 400;
      done(error);
    };
    payload.on("data", onData);
    payload.on("end", onEnd);
    payload.on("error", onError);
    payload.resume();
  };
}
