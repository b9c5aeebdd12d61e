import { ConfigError } from "../config/load.ts";
import { type CommandIo, EXIT, UsageError } from "./command.ts";
import { COMMANDS, type CommandEntry } from "./commands/index.ts";

function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "capi-sync — deliver conversion events from your data to Meta's Conversions API",
    "",
    "Usage: capi-sync <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `capi-sync help <command>` for a command's options.",
    "",
  ].join("\n");
}

function findCommand(name: string | undefined): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export async function main(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const topic = findCommand(rest[0]);
    io.stdout.write(topic ? `${(await topic.load()).usage.trimEnd()}\n` : helpText());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version" || name === "-v") {
    const { default: pkg } = await import("../../package.json", { with: { type: "json" } });
    io.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  const entry = findCommand(name);
  if (!entry) {
    io.stderr.write(`capi-sync: unknown command '${name}'\n\n${helpText()}`);
    return EXIT.usage;
  }
  const command = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(`${command.usage.trimEnd()}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`capi-sync ${command.name}: ${error.message}\n\n${command.usage.trimEnd()}\n`);
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`capi-sync ${command.name}: ${error.message}\n`);
      return EXIT.stopped;
    }
    throw error;
  }
}

function processIo(): CommandIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  };
}
