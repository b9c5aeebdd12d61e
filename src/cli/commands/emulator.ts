// `capi-sync emulator`: runs the local stand-in for Meta's Conversions API endpoint.
import { parseArgs } from "node:util";
import { type EmulatorDataset, type EmulatorOptions, startEmulator } from "../../emulator/index.ts";
import { DEFAULT_DATASETS } from "../../emulator/options.ts";
import type { RecordMode } from "../../emulator/store.ts";
import { LATEST_VERSION } from "../../emulator/versions.ts";
import { type Command, type CommandIo, EXIT, UsageError } from "../command.ts";
import { useEmulatorHeap } from "../heap-flags.ts";

const USAGE = `Usage: capi-sync emulator [options]

Runs a local emulator of Meta's Conversions API endpoint (POST /{version}/{dataset}/events)
until interrupted (Ctrl-C / SIGTERM).

Options:
  --port N                 Port to listen on (default 4100; 0 = any free port)
  --host HOST              Address to bind (default 127.0.0.1)
  --dataset ID             A dataset (pixel) id; repeatable. Follow it with its tokens.
  --token T                An access token for the preceding --dataset; repeatable.
                           Without --dataset: dataset 1234567890 with token test-token.
  --app-secret S           Require appsecret_proof = HMAC-SHA256(S, token)
  --strict                 Also reject what Meta only flags (missing UA/URL, bad fbc/fbp, …)
  --latency-ms N           Delay every answer by N ms
  --fault-5xx R            Rate 0..1 of HTTP 500, code 1
  --fault-transient R      Rate 0..1 of HTTP 500, code 2 (is_transient)
  --fault-throttle R       Rate 0..1 of throttles (codes 4, 17, 613, 80004)
  --fault-timeout R        Rate 0..1 of requests held, then dropped unanswered
  --fault-drop R           Rate 0..1 of connections dropped before processing
  --fault-lost-response R  Rate 0..1 of requests processed but answered with a dropped connection
  --seed N                 Seed of the fault sequence (default 1)
  --record-events MODE     all (default) | count | none
  --log                    Log requests (paths only, never tokens)

Inspect what arrived at /_emulator/events, /_emulator/stats, /_emulator/requests;
POST /_emulator/reset to start over.
`;

const OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  dataset: { type: "string", multiple: true },
  token: { type: "string", multiple: true },
  "app-secret": { type: "string" },
  strict: { type: "boolean" },
  "latency-ms": { type: "string" },
  "fault-5xx": { type: "string" },
  "fault-transient": { type: "string" },
  "fault-throttle": { type: "string" },
  "fault-timeout": { type: "string" },
  "fault-drop": { type: "string" },
  "fault-lost-response": { type: "string" },
  seed: { type: "string" },
  "record-events": { type: "string" },
  log: { type: "boolean" },
} as const;

const RECORD_MODES: Readonly<Record<string, RecordMode>> = { all: true, count: "count", none: false };

function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  }
  return parsed;
}

function rate(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === "" || !(parsed >= 0 && parsed <= 1))
    throw new UsageError(`--${name} must be a rate from 0 to 1`);
  return parsed;
}

/** Pairs each --token with the --dataset before it, in command-line order. */
function datasetsFrom(
  tokens: ReadonlyArray<{ kind: string; name?: string; value?: string }>,
): EmulatorDataset[] {
  const datasets: EmulatorDataset[] = [];
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    if (token.name === "dataset") {
      const id = token.value ?? "";
      if (!/^\d+$/.test(id)) throw new UsageError("--dataset must be a numeric dataset id");
      if (datasets.some((d) => d.id === id)) throw new UsageError(`dataset ${id} is given twice`);
      datasets.push({ id, tokens: [] });
    } else if (token.name === "token") {
      const current = datasets.at(-1);
      if (current === undefined) throw new UsageError("--token must follow the --dataset it belongs to");
      if (!token.value) throw new UsageError("--token must not be empty");
      current.tokens.push(token.value);
    }
  }
  const tokenless = datasets.find((d) => d.tokens.length === 0);
  if (tokenless) throw new UsageError(`dataset ${tokenless.id} needs at least one --token`);
  return datasets.length > 0 ? datasets : DEFAULT_DATASETS.map((d) => ({ ...d, tokens: [...d.tokens] }));
}

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false, tokens: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The emulator's options from the command line; throws UsageError on anything malformed. */
export function emulatorOptionsFrom(argv: string[]): EmulatorOptions {
  const parsed = parse(argv);
  const { values } = parsed;
  const record = values["record-events"];
  if (record !== undefined && !(record in RECORD_MODES)) {
    throw new UsageError("--record-events must be one of: all, count, none");
  }
  if (values["app-secret"] === "") throw new UsageError("--app-secret must not be empty");
  return {
    host: values.host,
    port: integer("port", values.port, 0, 65_535) ?? 4100,
    datasets: datasetsFrom(parsed.tokens),
    appSecret: values["app-secret"],
    strict: values.strict ?? false,
    latencyMs: integer("latency-ms", values["latency-ms"], 0, 600_000),
    faults: {
      seed: integer("seed", values.seed, 0, 2 ** 32 - 1),
      serverError: rate("fault-5xx", values["fault-5xx"]),
      transient: rate("fault-transient", values["fault-transient"]),
      throttle: rate("fault-throttle", values["fault-throttle"]),
      timeout: rate("fault-timeout", values["fault-timeout"]),
      drop: rate("fault-drop", values["fault-drop"]),
      lostResponse: rate("fault-lost-response", values["fault-lost-response"]),
    },
    recordEvents: record === undefined ? true : RECORD_MODES[record],
    logger: values.log ?? false,
  };
}

/** Starts the emulator, reports where it listens (datasets, never tokens), and runs until `stop`. */
export async function runEmulator(argv: string[], io: CommandIo, stop: AbortSignal): Promise<number> {
  const options = emulatorOptionsFrom(argv);
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator(options);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  const datasets = options.datasets ?? [];
  const lines = [
    `capi-sync emulator listening on ${emulator.url}`,
    `  edge: POST ${emulator.url}/${LATEST_VERSION}/{dataset}/events`,
    ...datasets.map((d) => `  dataset ${d.id} (${d.tokens.length} token${d.tokens.length === 1 ? "" : "s"})`),
    `  mode: ${options.strict ? "strict" : "faithful"}${options.appSecret ? ", appsecret_proof required" : ""}`,
    `  inspect: ${emulator.url}/_emulator/stats`,
  ];
  io.stdout.write(`${lines.join("\n")}\n`);
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener("abort", resolve, { once: true }));
  await emulator.close();
  io.stdout.write("capi-sync emulator stopped\n");
  return EXIT.ok;
}

export const emulatorCommand: Command = {
  name: "emulator",
  usage: USAGE,
  async run(argv, io) {
    // This process serves the emulator and nothing else (demo and tests start it in-process).
    useEmulatorHeap();
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      return await runEmulator(argv, io, controller.signal);
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  },
};
