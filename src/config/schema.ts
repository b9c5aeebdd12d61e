// The config file's schema: the single source of truth. Types, validation, `config show` masking and
// the committed JSON Schema (schema/capi-sync.schema.json) are all derived from it.
import { z } from "zod";
import { serviceConfigSchema } from "./service.ts";

/** Marks a string field as a secret: masked by `config show`, never logged. */
// JSON Schema's own `writeOnly` annotation says "never echo this back", which is what a secret is.
const secret = (description: string) =>
  z
    .string()
    .min(1)
    .meta({ writeOnly: true, description: `${description} (secret)` });

const sqlQuery = z.string().min(1).describe("SQL query whose result rows are the events to deliver");

const csvSource = z
  .object({
    kind: z.literal("csv"),
    path: z.string().min(1).describe("CSV file or glob, relative to the config file"),
    delimiter: z.string().length(1).optional().describe("Field delimiter (default ',')"),
    encoding: z.enum(["utf8", "utf16le", "latin1"]).optional().describe("File encoding (default utf8)"),
  })
  .strict();
const ndjsonSource = z
  .object({
    kind: z.literal("ndjson"),
    path: z.string().min(1).describe("NDJSON file or glob, relative to the config file"),
  })
  .strict();
const parquetSource = z
  .object({
    kind: z.literal("parquet"),
    path: z.string().min(1).describe("Parquet file or glob, relative to the config file"),
  })
  .strict();
const duckdbSource = z
  .object({
    kind: z.literal("duckdb"),
    query: sqlQuery.describe("DuckDB SQL, e.g. over read_csv/read_parquet/read_json of your files"),
    database: z.string().optional().describe("DuckDB database file (default: in-memory)"),
  })
  .strict();
const postgresSource = z
  .object({
    kind: z.literal("postgres"),
    url: secret("postgres:// connection URL"),
    query: sqlQuery,
    batch_size: z.number().int().positive().optional().describe("Rows fetched per cursor round trip"),
  })
  .strict();
const mysqlSource = z
  .object({
    kind: z.literal("mysql"),
    url: secret("mysql:// connection URL (MySQL or MariaDB)"),
    query: sqlQuery,
  })
  .strict();
const sqliteSource = z
  .object({
    kind: z.literal("sqlite"),
    path: z.string().min(1).describe("SQLite database file, opened read-only"),
    query: sqlQuery,
  })
  .strict();

const collectorSource = z
  .object({
    kind: z.literal("collector"),
    write_keys: z
      .array(secret("Segment-style write key that senders use as HTTP Basic user"))
      .min(1)
      .describe("Write keys accepted for this connection (several allow rotation)"),
    cors_origins: z
      .union([z.literal("*"), z.array(z.string().url())])
      .default("*")
      .describe("Origins allowed to post from a browser"),
    max_delay_ms: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe("Deliver a micro-batch at 1000 events or after this long, whichever comes first"),
  })
  .strict()
  .describe("Real-time events posted by analytics.js or Segment/RudderStack libraries to `capi-sync serve`");

export const sourceSchema = z
  .discriminatedUnion("kind", [
    collectorSource,
    csvSource,
    ndjsonSource,
    parquetSource,
    duckdbSource,
    postgresSource,
    mysqlSource,
    sqliteSource,
  ])
  .describe("Where the rows come from");

export const mappingSchema = z
  .object({
    preset: z
      .enum(["columns", "narrative", "segment"])
      .default("columns")
      .describe(
        "Starting point: flat warehouse columns, Narrative's meta_conversion_event, or Segment events",
      ),
    fields: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).nullable())
      .default({})
      .describe(
        "Meta field path → column path or JSONata expression (numbers and booleans are constants); null removes a preset field",
      ),
  })
  .strict();

export const destinationSchema = z
  .object({
    dataset_id: z
      .string()
      .regex(/^\d+$/, "a dataset (pixel) ID is numeric")
      .optional()
      .describe(
        "Meta dataset (pixel) ID; omit when the mapping routes each row (Narrative's meta_dataset_id)",
      ),
    access_token: secret("Conversions API access token"),
    app_secret: secret("App secret, to send appsecret_proof").optional(),
    graph_url: z
      .url({ protocol: /^https?$/, error: "must be an http or https URL" })
      .default("https://graph.facebook.com")
      .describe("Graph API base URL (the emulator in tests)"),
    api_version: z
      .string()
      .regex(/^v\d+\.0$/, "like v24.0")
      .optional()
      .describe("Graph API version (default: the newest capi-sync was tested with)"),
    test_event_code: z.string().optional().describe("Send as test events (Events Manager → Test Events)"),
    upload_tag: z.string().optional(),
    namespace_id: z.string().optional(),
    max_in_flight: z.number().int().positive().max(64).optional().describe("Requests in flight per dataset"),
    batch_size: z
      .number()
      .int()
      .positive()
      .max(1000)
      .optional()
      .describe("Events per request (Meta's limit and the default: 1000)"),
    timeout_ms: z.number().int().positive().optional().describe("Per-request timeout"),
  })
  .strict();

export const normalizationSchema = z
  .object({
    default_country: z
      .string()
      .regex(/^[A-Za-z]{2}$/, "an ISO 3166-1 alpha-2 code")
      .optional()
      .describe("Region for national phone numbers when a row has no country"),
    hashed_only: z
      .boolean()
      .optional()
      .describe("Accept only pre-hashed customer data; hash nothing locally"),
  })
  .strict();

export const connectionSchema = z
  .object({
    source: sourceSchema,
    key: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe("Column(s) that identify a row across runs (not PII: an order or event ID)"),
    mapping: mappingSchema.default({ preset: "columns", fields: {} }),
    destination: destinationSchema,
    deliver_existing: z
      .boolean()
      .default(true)
      .describe("Deliver the rows already present at the first run; false = only rows that appear later"),
    schedule: z.string().optional().describe("Cron expression used by `capi-sync serve`"),
    normalization: normalizationSchema.optional().describe("Overrides of `defaults` for this connection"),
  })
  .strict();

export const configSchema = z
  .object({
    state: z
      .string()
      .default(".capi-sync/state.db")
      .describe("Ledger location: a SQLite file path (relative to the config file)"),
    defaults: normalizationSchema.default({}),
    service: serviceConfigSchema.optional().describe("Settings of `capi-sync serve`"),
    connections: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, "letters, digits, _ and -"), connectionSchema)
      .refine((c) => Object.keys(c).length > 0, "at least one connection"),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ConnectionConfig = z.output<typeof connectionSchema>;
export type SourceSettings = z.output<typeof sourceSchema>;
export type CollectorSourceSettings = z.output<typeof collectorSource>;
export type DestinationConfig = z.output<typeof destinationSchema>;
export type MappingSettings = z.output<typeof mappingSchema>;

/** The JSON Schema committed as schema/capi-sync.schema.json for editor completion. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }),
    $id: "https://github.com/capi-sync/capi-sync/schema/capi-sync.schema.json",
    title: "capi-sync configuration",
  };
}
