import pg from "pg";
import Cursor from "pg-cursor";
import { rowsOfBlocks } from "./blocks.ts";
import { sourceLabel } from "./labels.ts";
import { openReads, whenAborted } from "./lifecycle.ts";
import { secretsOfUrl } from "./redact.ts";
import { type RowBuilder, rowBuilder } from "./row-builder.ts";
import {
  assertDistinctColumns,
  DEFAULT_BATCH_SIZE,
  driverError,
  probeQuery,
  withoutTrailingSemicolons,
} from "./sql.ts";
import type {
  BlockSource,
  OpenSourceOptions,
  PostgresSourceConfig,
  Row,
  RowsOptions,
  SourceErrorCode,
} from "./types.ts";
import { integerFromText } from "./values.ts";

const CONNECT_TIMEOUT_MS = 10_000;

const OID = { int8: 20, date: 1082, timestamp: 1114, timestamptz: 1184 } as const;
const defaultParser = (oid: number) => pg.types.getTypeParser(oid, "text") as (text: string) => unknown;
/** Text parsers that differ from pg's defaults; set per client so no other pg user is affected. */
const PARSERS: Readonly<Record<number, (text: string) => unknown>> = {
  [OID.int8]: integerFromText,
  // A date has no time zone; a JS Date would invent one (pg's default picks local midnight).
  [OID.date]: (text) => text,
  // pg's default reads a timestamp without time zone in the process's zone; we read it as UTC.
  [OID.timestamp]: (text) =>
    /infinity$/.test(text) ? defaultParser(OID.timestamp)(text) : defaultParser(OID.timestamptz)(asUtc(text)),
};
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    (format ?? "text") === "text" && PARSERS[oid]
      ? PARSERS[oid]
      : pg.types.getTypeParser(oid, format as "text")) as pg.CustomTypesConfig["getTypeParser"],
};

function asUtc(timestamp: string): string {
  return timestamp.replace(/^(\S+ \S+)/, "$1Z");
}

/** SQLSTATE classes (first two characters) and single codes, to what the user should fix. */
const SQLSTATES: Readonly<Record<string, SourceErrorCode>> = {
  "08": "unreachable",
  "28": "auth",
  "42501": "auth",
  "3D": "not_found",
  "3F": "not_found",
  "42P01": "not_found",
  "42": "query",
  "25": "query",
  "0A": "query",
  "22": "data",
  "23": "data",
  "57P": "unreachable",
};

function classify(code: string | undefined, message: string): SourceErrorCode {
  if (code) {
    const known = SQLSTATES[code] ?? SQLSTATES[code.slice(0, 3)] ?? SQLSTATES[code.slice(0, 2)];
    if (known) return known;
  }
  return /timeout|terminated unexpectedly/i.test(message) ? "unreachable" : "read";
}

export function openPostgres(config: PostgresSourceConfig, _options: OpenSourceOptions): BlockSource {
  const label = sourceLabel(config);
  const secrets = secretsOfUrl(config.url);
  const batchSize = config.batch_size ?? DEFAULT_BATCH_SIZE;
  const reads = openReads();
  const fail = (error: unknown) => driverError(label, error, classify, secrets);

  async function* batches(options?: RowsOptions): AsyncGenerator<Row[]> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const connection = newConnection(config.url);
    const untrack = reads.track(connection.stop);
    const stopOnAbort = whenAborted(signal, () => void connection.stop());
    try {
      await connection.begin();
      // Arrays, made into rows by our builder: pg's own objects are filled column by column.
      const cursor = connection.client.query(
        new Cursor<unknown[]>(config.query, undefined, { types: TYPES, rowMode: "array" }),
      );
      let build: RowBuilder | undefined;
      while (true) {
        // The server-side cursor hands over `batchSize` rows per round trip, only when asked.
        const { rows, fields } = await readBlock(cursor, batchSize);
        if (rows.length === 0) break;
        signal?.throwIfAborted();
        build ??= rowBuilder(fields.map((field) => field.name));
        const block: Row[] = new Array(rows.length);
        for (let i = 0; i < rows.length; i++) block[i] = build(rows[i] as unknown[], 0);
        yield block;
      }
      await cursor.close();
      await connection.client.query("COMMIT");
    } catch (error) {
      signal?.throwIfAborted();
      throw fail(error);
    } finally {
      stopOnAbort();
      untrack();
      await connection.end();
    }
  }

  return {
    kind: "postgres",
    describe: () => label,
    batches,
    rows: (options) => rowsOfBlocks(batches(options), options?.signal),
    async check() {
      const connection = newConnection(config.url);
      try {
        await connection.begin();
        // PREPARE parses and plans the query as written, so errors point into the user's own text;
        // the probe around it then reports the columns without producing a row.
        await connection.client.query(
          `PREPARE capi_sync_check AS ${withoutTrailingSemicolons(config.query)}`,
        );
        const result = await connection.client.query({ text: probeQuery(config.query), types: TYPES });
        const columns = result.fields.map((field) => field.name);
        assertDistinctColumns(columns, label);
        return { columns };
      } catch (error) {
        throw fail(error);
      } finally {
        await connection.end();
      }
    },
    close: () => reads.releaseAll(),
  };
}

/** The next rows of the cursor, with the result's columns (none once the cursor is done). */
function readBlock(
  cursor: Cursor<unknown[]>,
  size: number,
): Promise<{ rows: unknown[][]; fields: readonly pg.FieldDef[] }> {
  return new Promise((resolve, reject) => {
    // pg-cursor answers a read after the end without a result.
    cursor.read(size, (error, rows, result: pg.QueryResult | undefined) =>
      error ? reject(error) : resolve({ rows, fields: result?.fields ?? [] }),
    );
  });
}

interface Connection {
  readonly client: pg.Client;
  /** Connects and opens the read-only transaction the query runs in. */
  begin(): Promise<void>;
  /** Idempotent; resolves once the socket is closed (the server then rolls back and frees the cursor). */
  end(): Promise<void>;
  /**
   * Ends the connection and cancels whatever the server still runs for it: a backend busy with a
   * query does not notice its client is gone until the query ends.
   */
  stop(): Promise<void>;
}

function newConnection(url: string): Connection {
  const client = new pg.Client({
    connectionString: url,
    application_name: "capi-sync", // an `application_name` in the URL wins
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    types: TYPES,
  });
  // A dropped connection also fails the pending query, which reports it; without a listener the
  // 'error' event would crash the process.
  client.on("error", () => {});
  let backendPid: number | undefined;
  let ended: Promise<void> | undefined;
  const end = () => {
    ended ??= client.end().catch(() => {});
    return ended;
  };
  return {
    client,
    async begin() {
      await client.connect();
      // Read-only: a source query can never change the user's data, whatever it says.
      const [, pid] = (await client.query(
        "BEGIN TRANSACTION READ ONLY; SELECT pg_backend_pid() AS pid",
      )) as unknown as [pg.QueryResult, pg.QueryResult<{ pid: number }>];
      backendPid = pid.rows[0]?.pid;
    },
    end,
    async stop() {
      const pid = backendPid;
      backendPid = undefined;
      await Promise.all([end(), pid === undefined ? undefined : cancelBackend(url, pid)]);
    },
  };
}

async function cancelBackend(url: string, pid: number): Promise<void> {
  const canceller = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  canceller.on("error", () => {});
  try {
    await canceller.connect();
    await canceller.query("SELECT pg_cancel_backend($1)", [pid]);
  } catch {
    // Best effort: the backend also ends by itself once its query does.
  } finally {
    await canceller.end().catch(() => {});
  }
}
