import type { Command } from "../command.ts";

export interface CommandEntry {
  readonly name: string;
  /** One line for `capi-sync help`. */
  readonly summary: string;
  /** Loaded on use, so `normalize` does not pay for database drivers and servers at start-up. */
  readonly load: () => Promise<Command>;
}

/** Every command, in the order `capi-sync help` lists them. Each lives in its own file. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "demo",
    summary: "run the whole job locally: sample data → emulator of Meta's endpoint, with a report",
    load: async () => (await import("./demo.ts")).demoCommand,
  },
  {
    name: "init",
    summary: "write an example capi-sync.yaml and sample data to start from",
    load: async () => (await import("./init.ts")).initCommand,
  },
  {
    name: "config",
    summary: "show the effective configuration with secrets masked",
    load: async () => (await import("./config.ts")).configCommand,
  },
  {
    name: "check",
    summary: "check config, state, source and the token/dataset with Meta, sending no event",
    load: async () => (await import("./check.ts")).checkCommand,
  },
  {
    name: "sync",
    summary: "deliver new rows of each connection to Meta and record every row's outcome",
    load: async () => (await import("./sync.ts")).syncCommand,
  },
  {
    name: "preview",
    summary: "show the exact payload of the first rows and their validation verdict; nothing is sent",
    load: async () => (await import("./preview.ts")).previewCommand,
  },
  {
    name: "runs",
    summary: "list recent runs with their outcome counts",
    load: async () => (await import("./runs.ts")).runsCommand,
  },
  {
    name: "rejections",
    summary: "list rejected rows with Meta's code, the field and the reason",
    load: async () => (await import("./rejections.ts")).rejectionsCommand,
  },
  {
    name: "replay",
    summary: "send rejected or expired rows again after a fix",
    load: async () => (await import("./replay.ts")).replayCommand,
  },
  {
    name: "quality",
    summary: "match-key coverage per event name (em, ph, external_id, fbp, fbc, ip+ua, ...)",
    load: async () => (await import("./quality.ts")).qualityCommand,
  },
  {
    name: "serve",
    summary: "run schedules, the collector, health/readiness/metrics endpoints until SIGTERM",
    load: async () => (await import("./serve.ts")).serveCommand,
  },
  {
    name: "emulator",
    summary: "run a local emulator of Meta's Conversions API endpoint",
    load: async () => (await import("./emulator.ts")).emulatorCommand,
  },
  {
    name: "normalize",
    summary: "NDJSON of raw customer fields in, Meta-ready hashed user_data out",
    load: async () => (await import("./normalize.ts")).normalizeCommand,
  },
  {
    name: "validate",
    summary: "NDJSON of server events in, one verdict per event out",
    load: async () => (await import("./validate.ts")).validateCommand,
  },
];
