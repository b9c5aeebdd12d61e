import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

export type ParsedLine = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * Reads NDJSON from `input` and writes exactly one output line per input line, in order, honouring
 * back-pressure on `output`. Blank lines are passed over (they carry no record).
 */
export async function transformNdjson(
  input: Readable,
  output: Writable,
  handle: (line: ParsedLine, lineNumber: number) => unknown,
): Promise<void> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  let pending = "";
  for await (const text of lines) {
    lineNumber++;
    if (text.trim() === "") continue;
    pending += `${JSON.stringify(handle(parseLine(text), lineNumber))}\n`;
    if (pending.length >= 64 * 1024) {
      await write(output, pending);
      pending = "";
    }
  }
  if (pending) await write(output, pending);
}

function parseLine(text: string): ParsedLine {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    // The parser's message quotes the offending text, which may be PII: keep only the fact.
    return { ok: false, reason: "not valid JSON" };
  }
}

function write(output: Writable, chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = output.write(chunk, (error) => (error ? reject(error) : undefined));
    if (ok) resolve();
    else output.once("drain", resolve);
  });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
