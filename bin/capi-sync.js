#!/usr/bin/env -S node --max-semi-space-size=16
// The flag keeps the main thread's heap small (src/cli/heap-flags.ts).
// Runs the TypeScript sources directly (Node >= 22.18 strips types by default; 22.12+ needs
// --experimental-strip-types, which this file cannot set, so it re-executes itself once with it).
import { spawnSync } from "node:child_process";

const [major, minor] = process.versions.node.split(".").map(Number);
const stripsTypes = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
if (!stripsTypes && !process.execArgv.includes("--experimental-strip-types")) {
  const child = spawnSync(
    process.execPath,
    ["--experimental-strip-types", "--no-warnings", ...process.argv.slice(1)],
    { stdio: "inherit" },
  );
  process.exit(child.status ?? 1);
}
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
