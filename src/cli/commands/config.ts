import { stringify } from "yaml";
import { DEFAULT_CONFIG_FILE, loadConfig } from "../../config/load.ts";
import { maskSecrets } from "../../config/mask.ts";
import { parseCommandArgs } from "../args.ts";
import { type Command, EXIT, UsageError } from "../command.ts";

export const configCommand: Command = {
  name: "config",
  usage: `Usage: capi-sync config show [--config FILE] [--json]

Loads the config (with \${VAR} interpolated and defaults applied) and prints it with every secret
masked: access tokens, app secrets, and passwords inside database URLs.`,

  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { config: { type: "string", short: "c" }, json: { type: "boolean", default: false } },
      true,
    );
    if (positionals[0] !== "show" || positionals.length > 1) throw new UsageError("expected `config show`");
    const { config } = await loadConfig(values.config ?? DEFAULT_CONFIG_FILE, io.env);
    const masked = maskSecrets(config);
    io.stdout.write(values.json ? `${JSON.stringify(masked, null, 2)}\n` : stringify(masked));
    return EXIT.ok;
  },
};
