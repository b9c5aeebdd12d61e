import type { Diagnostic } from "../../meta/diagnostics.ts";
import { normalizeUserData } from "../../meta/normalize.ts";
import { validateEvent } from "../../meta/validate.ts";
import { parseCommandArgs, parseCountryCode, parseInteger } from "../args.ts";
import { type Command, EXIT } from "../command.ts";
import { isPlainObject, transformNdjson } from "../ndjson-lines.ts";

export const validateCommand: Command = {
  name: "validate",
  usage: `Usage: capi-sync validate [--now UNIX_SECONDS] [--as-is] [--strict] [--default-country CC] < events.ndjson

Each input line is a server event as in Meta's Conversions API. Its user_data may be raw or already
hashed: raw customer fields are normalized and hashed first, exactly as capi-sync does before sending
(use --as-is to judge the payload verbatim, as Meta would). Each output line is
{"valid": bool, "errors": [...], "warnings": [...]}, each item with a path, a stable code and a message.

Options:
  --now UNIX_SECONDS    judge event_time against this instant instead of the clock
  --as-is               do not normalize or hash user_data before validating
  --strict              treat what Meta only flags (missing user agent or URL on web events,
                        malformed fbc/fbp, missing event_id) as errors
  --default-country CC  region for national phone numbers when an event has no country

Exit: 0 all events valid, 1 some line was malformed or invalid, 2 usage error.`,

  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      now: { type: "string" },
      "as-is": { type: "boolean", default: false },
      strict: { type: "boolean", default: false },
      "default-country": { type: "string" },
    });
    const validateOptions = { now: parseInteger(values.now, "--now"), strict: values.strict };
    const normalizeOptions = {
      defaultCountry: parseCountryCode(values["default-country"], "--default-country"),
    };
    let failures = 0;
    await transformNdjson(io.stdin, io.stdout, (line) => {
      if (!line.ok || !isPlainObject(line.value)) {
        failures++;
        const message = line.ok ? "expected a JSON object (a server event)" : line.reason;
        return { valid: false, errors: [{ path: "", code: "input.malformed", message }], warnings: [] };
      }
      let event = line.value;
      let normalizeWarnings: Diagnostic[] = [];
      if (!values["as-is"] && isPlainObject(event.user_data)) {
        const normalized = normalizeUserData(event.user_data, normalizeOptions);
        event = { ...event, user_data: normalized.user_data };
        normalizeWarnings = normalized.warnings;
      }
      const { errors, warnings } = validateEvent(event, validateOptions);
      if (errors.length > 0) failures++;
      return { valid: errors.length === 0, errors, warnings: [...normalizeWarnings, ...warnings] };
    });
    return failures > 0 ? EXIT.invalidInput : EXIT.ok;
  },
};
