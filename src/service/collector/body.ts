// Request bodies as the trackers send them: JSON under any content type (analytics.js posts
// `text/plain` so that browsers skip the CORS preflight), gzip-compressed by RudderStack's libraries.
// The size limit applies to the body after decompression too, so a small bomb cannot grow past it.
import { promisify } from "node:util";
import zlib from "node:zlib";
import { CollectorRejection } from "./rejections.ts";

type Decoder = (input: Buffer, options: { maxOutputLength: number }) => Promise<Buffer>;

const DECODERS: Readonly<Record<string, Decoder>> = {
  identity: async (input) => input,
  gzip: promisify(zlib.gunzip),
  "x-gzip": promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};

/** The body's bytes after undoing its Content-Encoding, at most `limit` of them. */
export async function decodeBody(
  raw: Buffer,
  contentEncoding: string | undefined,
  limit: number,
): Promise<Buffer> {
  const encoding = (contentEncoding ?? "identity").trim().toLowerCase() || "identity";
  const decode = Object.hasOwn(DECODERS, encoding) ? DECODERS[encoding] : undefined;
  if (!decode) throw new CollectorRejection("encoding_unsupported");
  try {
    return await decode(raw, { maxOutputLength: limit });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new CollectorRejection(code === "ERR_BUFFER_TOO_LARGE" ? "body_too_large" : "encoding_corrupt");
  }
}
