import type { Command } from "../command.ts";

/** Every command, in the order `capi-sync help` lists them. Each lives in its own file. */
export const COMMANDS: readonly Command[] = [];
