import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_CONFIG_FILE } from "../../config/load.ts";
import { parseCommandArgs } from "../args.ts";
import { type Command, EXIT } from "../command.ts";
import { samplePurchases, toCsv } from "../sample-data.ts";

const SAMPLE_CSV = "data/purchases.csv";

export const EXAMPLE_CONFIG = `# capi-sync configuration. Schema: schema/capi-sync.schema.json (editor completion).
# Secrets come from the environment with \${VAR}; \`capi-sync config show\` prints this file masked.

# Where capi-sync records every row's outcome (a SQLite file, relative to this file).
state: .capi-sync/state.db

defaults:
  # Region for national phone numbers when a row has no country column.
  default_country: US

connections:
  store_purchases:
    # Kinds: csv, ndjson, parquet (path, globs allowed), duckdb (query), postgres / mysql (url + query),
    # sqlite (path + query).
    source: { kind: csv, path: ${SAMPLE_CSV} }
    # Column(s) that identify a row across runs. Use an order or event ID, not an email.
    key: order_id
    mapping:
      # columns: flat warehouse columns (email, phone, first_name, value, currency, ...)
      # narrative: Narrative's meta_conversion_event schema; segment: Segment track/page events
      preset: columns
      # Meta field path -> column path or JSONata expression; null removes a preset field.
      fields:
        custom_data.value: "$number(value)"
    destination:
      dataset_id: "123456789012345"          # Events Manager -> Data Sources -> your dataset
      access_token: \${META_ACCESS_TOKEN}
      app_secret: \${META_APP_SECRET:-}       # optional: sends appsecret_proof
      api_version: v24.0
      # graph_url: http://127.0.0.1:4100     # point at \`capi-sync emulator\` to try without Meta
      # test_event_code: TEST12345           # route to Events Manager -> Test Events
    # true: deliver the rows already in the source; false: only rows that appear after the first run.
    deliver_existing: true
    # Used by \`capi-sync serve\`.
    schedule: "*/15 * * * *"
`;

export const initCommand: Command = {
  name: "init",
  usage: `Usage: capi-sync init [--dir DIR] [--force]

Writes ${DEFAULT_CONFIG_FILE} (commented, every option explained) and ${SAMPLE_CSV} (sample purchases
with realistic, messy customer data) into DIR (default: the current directory).

Options:
  --dir DIR   where to write (created if missing)
  --force     overwrite existing files`,

  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      dir: { type: "string" },
      force: { type: "boolean", default: false },
    });
    const dir = join(io.cwd, values.dir ?? ".");
    const files: Array<[string, string]> = [
      [DEFAULT_CONFIG_FILE, EXAMPLE_CONFIG],
      [SAMPLE_CSV, toCsv(samplePurchases(200, Math.floor(Date.now() / 1000)))],
    ];
    if (!values.force) {
      for (const [name] of files) {
        if (await exists(join(dir, name))) {
          io.stderr.write(`capi-sync init: ${join(dir, name)} exists; use --force to overwrite\n`);
          return EXIT.usage;
        }
      }
    }
    for (const [name, content] of files) {
      await mkdir(join(dir, name, ".."), { recursive: true });
      await writeFile(join(dir, name), content);
      io.stdout.write(`wrote ${join(dir, name)}\n`);
    }
    io.stdout.write(
      "\nNext: set META_ACCESS_TOKEN, edit dataset_id, then `capi-sync check` and `capi-sync preview`.\n",
    );
    return EXIT.ok;
  },
};

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
