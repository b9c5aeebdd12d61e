#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=50 --no-allocation-site-pretenuring
// The flags size the heaps and how they are collected (src/cli/heap-flags.ts).
// Runs the TypeScript sources directly (Node >= 22.18 strips types by default; 22.12+ needs
// --experimental-strip-types, which this file cannot set, so it re-executes itself once with it).
import { spawnSync } from "node:child_process";
import module from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";

// The rest of the flags (src/cli/heap-flags.ts, LATE_FLAGS), before anything of ours allocates.
v8.setFlagsFromString("--no-parallel-scavenge");

const [major, minor] = process.versions.node.split(".").map(Number);
const stripsTypes = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
if (!stripsTypes && !process.execArgv.includes("--experimental-strip-types")) {
  const child = spawnSync(
    process.execPath,
    // The shebang's heap flags are in execArgv; they size the new process too.
    [...process.execArgv, "--experimental-strip-types", "--no-warnings", ...process.argv.slice(1)],
    { stdio: "inherit" },
  );
  process.exit(child.status ?? 1);
}
// Stripping types loads a WebAssembly compiler into every thread that strips a file (~17 MB of RSS
// each, the sync's worker included). Node's compile cache keeps the stripped sources, so from the
// second run on neither thread loads it; the variable makes worker threads and child processes use
// the same cache. A user's own NODE_COMPILE_CACHE or NODE_DISABLE_COMPILE_CACHE is left to Node.
// The cache is the user's own folder, not Node's default under a shared /tmp, where another user
// could create it first and plant code for us to run. bench/sync.ts uses the same folder.
const cacheRoot = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
const cache = process.env.NODE_DISABLE_COMPILE_CACHE
  ? undefined
  : module.enableCompileCache?.(
      process.env.NODE_COMPILE_CACHE || join(cacheRoot, "capi-sync", "compile-cache"),
    );
if (cache?.directory !== undefined) process.env.NODE_COMPILE_CACHE ??= cache.directory;
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
