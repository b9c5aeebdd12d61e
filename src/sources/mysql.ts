import type { Readable } from "node:stream";
import mysql, { type Connection, type FieldPacket } from "mysql2";
import { rowsOfBlocks } from "./blocks.ts";
import { sourceLabel } from "./labels.ts";
import { abortable, openReads, whenAborted } from "./lifecycle.ts";
import { secretsOfUrl } from "./redact.ts";
import { assertDistinctColumns, driverError } from "./sql.ts";
import type {
  BlockSource,
  MysqlSourceConfig,
  OpenSourceOptions,
  Row,
  RowsOptions,
  SourceErrorCode,
} from "./types.ts";

const CONNECT_TIMEOUT_MS = 10_000;
/** Rows mysql2 buffers before it pauses the socket (and so the server). */
const STREAM_HIGH_WATER_MARK = 256;

/** mysql2's error codes (MySQL's ER_* names and its own), to what the user should fix. */
const ERROR_CODES: Readonly<Record<string, SourceErrorCode>> = {
  ER_ACCESS_DENIED_ERROR: "auth",
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: "auth",
  ER_DBACCESS_DENIED_ERROR: "auth",
  ER_TABLEACCESS_DENIED_ERROR: "auth",
  ER_COLUMNACCESS_DENIED_ERROR: "auth",
  ER_SPECIFIC_ACCESS_DENIED_ERROR: "auth",
  ER_BAD_DB_ERROR: "not_found",
  ER_NO_SUCH_TABLE: "not_found",
  ER_PARSE_ERROR: "query",
  ER_BAD_FIELD_ERROR: "query",
  ER_DUP_FIELDNAME: "query",
  ER_NON_UNIQ_ERROR: "query",
  ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION: "query",
  ER_TRUNCATED_WRONG_VALUE: "data",
  ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: "data",
  ER_WARN_DATA_OUT_OF_RANGE: "data",
  ER_DATA_TOO_LONG: "data",
  ER_DIVISION_BY_ZERO: "data",
  PROTOCOL_CONNECTION_LOST: "unreachable",
  ER_CON_COUNT_ERROR: "unreachable",
  ER_SERVER_SHUTDOWN: "unreachable",
};

function classify(code: string | undefined): SourceErrorCode {
  return (code && ERROR_CODES[code]) || "read";
}

export function openMysql(config: MysqlSourceConfig, _options: OpenSourceOptions): BlockSource {
  const label = sourceLabel(config);
  const secrets = secretsOfUrl(config.url);
  const reads = openReads();
  const fail = (error: unknown) => driverError(label, error, classify, secrets);

  async function* batches(options?: RowsOptions): AsyncGenerator<Row[]> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const connection = newConnection(config.url);
    let stream: Readable | undefined;
    let finished = false;
    // A server keeps running a query whose client has gone until the query ends by itself:
    // stopping early kills the query from a second connection, then cuts this one.
    let stopping: Promise<void> | undefined;
    const stop = (reason?: unknown) => {
      stopping ??= (async () => {
        const running = stream !== undefined && !finished;
        stream?.destroy(reason as Error | undefined);
        connection.destroy();
        if (running && connection.threadId !== null) await killQuery(config.url, connection.threadId);
      })();
      return stopping;
    };
    const untrack = reads.track(stop);
    const stopOnAbort = whenAborted(signal, () => void stop(signal?.reason));
    try {
      await abortable(prepareSession(connection), signal);
      // mysql2 pauses the socket when this stream's buffer is full: the server waits with us.
      stream = connection.query(config.query).stream({ highWaterMark: STREAM_HIGH_WATER_MARK });
      for await (const block of blocksOf(stream, STREAM_HIGH_WATER_MARK)) {
        signal?.throwIfAborted();
        yield block;
      }
      await abortable(run(connection, "COMMIT"), signal);
      finished = true;
    } catch (error) {
      signal?.throwIfAborted();
      throw fail(error);
    } finally {
      stopOnAbort();
      untrack();
      if (finished) connection.end(() => {});
      else await stop();
    }
  }

  return {
    kind: "mysql",
    describe: () => label,
    batches,
    rows: (options) => rowsOfBlocks(batches(options), options?.signal),
    async check() {
      const connection = newConnection(config.url);
      try {
        await prepareSession(connection);
        const columns = await describe(connection, config.query);
        assertDistinctColumns(columns, label);
        return { columns };
      } catch (error) {
        throw fail(error);
      } finally {
        connection.destroy();
      }
    },
    close: () => reads.releaseAll(),
  };
}

/**
 * The rows the stream holds, as blocks of up to `size`: each waits for one row, then takes what is
 * already buffered without waiting again.
 */
async function* blocksOf(stream: Readable, size: number): AsyncGenerator<Row[]> {
  const rows = stream[Symbol.asyncIterator]();
  while (true) {
    const first = await rows.next();
    if (first.done) return;
    const block: Row[] = [first.value as Row];
    while (block.length < size) {
      // read() gives the buffered rows, then null; it resumes the paused socket once the buffer is low.
      const row = stream.read() as Row | null;
      if (row === null) break;
      block.push(row);
    }
    yield block;
  }
}

function newConnection(url: string): Connection {
  const connection = mysql.createConnection({
    uri: url,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Our value model: BIGINT a number while exact, else a string; DECIMAL an exact string;
    // DATE a YYYY-MM-DD string; DATETIME and TIMESTAMP a Date read as UTC (see prepareSession).
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: false,
    dateStrings: ["DATE"],
    timezone: "Z",
  });
  // Failures reach the pending command's callback or the stream; without a listener a late
  // 'error' event would crash the process.
  connection.on("error", () => {});
  return connection;
}

async function killQuery(url: string, threadId: number): Promise<void> {
  const killer = newConnection(url);
  try {
    await run(killer, `KILL QUERY ${Number(threadId)}`);
  } catch {
    // Best effort: the query also ends by itself.
  } finally {
    killer.destroy();
  }
}

async function prepareSession(connection: Connection): Promise<void> {
  // TIMESTAMP columns are sent in the session's zone: make it UTC to match `timezone: "Z"`.
  await run(connection, "SET time_zone = '+00:00'");
  // Read-only: a source query can never change the user's data, whatever it says.
  await run(connection, "START TRANSACTION READ ONLY");
}

/** The server prepares the statement as written (errors point into it) and describes its columns; nothing runs. */
function describe(connection: Connection, sql: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    connection.prepare(sql, (error, statement) => {
      if (error) return reject(error);
      // mysql2 keeps the described columns on the statement; its typings do not declare them.
      const columns = (statement as unknown as { columns?: FieldPacket[] }).columns ?? [];
      statement.close();
      resolve(columns.map((column) => column.name));
    });
  });
}

function run(connection: Connection, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    connection.query(sql, (error) => (error ? reject(error) : resolve()));
  });
}
