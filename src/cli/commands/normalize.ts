import { normalizeUserData } from "../../meta/normalize.ts";
import { parseCommandArgs, parseCountryCode } from "../args.ts";
import { type Command, EXIT } from "../command.ts";
import { isPlainObject, transformNdjson } from "../ndjson-lines.ts";

export const normalizeCommand: Command = {
  name: "normalize",
  usage: `Usage: capi-sync normalize [--default-country CC] [--hashed-only] < in.ndjson > out.ndjson

Each input line is an object of raw customer fields under Meta's keys (em, ph, fn, ln, db, ge, ct,
st, zp, country, external_id, client_ip_address, fbp, ...), values a string or a list of strings.
Each output line is the user_data object exactly as capi-sync would send it. Values that cannot be
normalized are dropped with a warning on stderr (JSON lines naming the input line and the key).

Options:
  --default-country CC  region for national phone numbers when a line has no country (e.g. US)
  --hashed-only         accept only values already SHA-256 hashed; hash nothing locally

Exit: 0 all lines processed, 1 some line was malformed, 2 usage error.`,

  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      "default-country": { type: "string" },
      "hashed-only": { type: "boolean", default: false },
    });
    const options = {
      defaultCountry: parseCountryCode(values["default-country"], "--default-country"),
      hashedOnly: values["hashed-only"],
    };
    let malformed = 0;
    await transformNdjson(io.stdin, io.stdout, (line, lineNumber) => {
      if (!line.ok || !isPlainObject(line.value)) {
        malformed++;
        const message = line.ok ? "expected a JSON object of customer fields" : line.reason;
        return { error: { line: lineNumber, code: "input.malformed", message } };
      }
      const { user_data, warnings } = normalizeUserData(line.value, options);
      for (const warning of warnings)
        io.stderr.write(`${JSON.stringify({ line: lineNumber, ...warning })}\n`);
      return user_data;
    });
    return malformed > 0 ? EXIT.invalidInput : EXIT.ok;
  },
};
