import type { Readable, Writable } from "node:stream";

/** Where a command reads and writes; tests pass their own streams. */
export interface CommandIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** Exit codes shared by every command. */
export const EXIT = {
  ok: 0,
  /** Some input was malformed or invalid; the rest was processed. */
  invalidInput: 1,
  usage: 2,
  /** A run stopped on an auth or config error. */
  stopped: 3,
} as const;

export interface Command {
  readonly name: string;
  /** Full usage text for `capi-sync help NAME` and usage errors. */
  readonly usage: string;
  run(argv: string[], io: CommandIo): Promise<number>;
}

/** Thrown by argument parsing; main prints the message and the usage, then exits 2. */
export class UsageError extends Error {}
