import { resolve } from "node:path";
import {
  type DuckDBConnection,
  DuckDBInstance,
  DuckDBTypeId,
  type DuckDBValue,
  type DuckDBValueConverter,
  type JS,
  JSDuckDBValueConverter,
} from "@duckdb/node-api";
import { rowsOfBlocks } from "./blocks.ts";
import { resolveFiles, type SourceFile } from "./files.ts";
import { sourceLabel } from "./labels.ts";
import { abortable, type OpenReads, openReads, whenAborted } from "./lifecycle.ts";
import { redactText, withoutQuotedValues } from "./redact.ts";
import { rowBuilder } from "./row-builder.ts";
import { assertDistinctColumns, withoutTrailingSemicolons } from "./sql.ts";
import {
  type BlockSource,
  type DuckdbSourceConfig,
  type OpenSourceOptions,
  type ParquetSourceConfig,
  type Row,
  SourceError,
  type SourceErrorCode,
} from "./types.ts";
import { integerFromBigInt } from "./values.ts";

/** Where DuckDB's value model differs from ours; every other type keeps DuckDB's own JS conversion. */
const CONVERSIONS: Partial<Record<DuckDBTypeId, (value: DuckDBValue) => unknown>> = {
  [DuckDBTypeId.BIGINT]: (value) => integerFromBigInt(value as bigint),
  [DuckDBTypeId.UBIGINT]: (value) => integerFromBigInt(value as bigint),
  [DuckDBTypeId.HUGEINT]: (value) => integerFromBigInt(value as bigint),
  [DuckDBTypeId.UHUGEINT]: (value) => integerFromBigInt(value as bigint),
  [DuckDBTypeId.BIGNUM]: (value) => integerFromBigInt(value as bigint),
  [DuckDBTypeId.DECIMAL]: String,
  [DuckDBTypeId.DATE]: String,
  [DuckDBTypeId.TIME]: String,
  [DuckDBTypeId.TIME_NS]: String,
  [DuckDBTypeId.TIME_TZ]: String,
  [DuckDBTypeId.INTERVAL]: String,
};
const TIMESTAMPS = new Set<DuckDBTypeId>([
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_S,
  DuckDBTypeId.TIMESTAMP_MS,
  DuckDBTypeId.TIMESTAMP_NS,
  DuckDBTypeId.TIMESTAMP_TZ,
]);

const toPlain: DuckDBValueConverter<unknown> = (value, type, converter) => {
  if (value === null) return null;
  const conversion = CONVERSIONS[type.typeId];
  if (conversion) return conversion(value);
  if (TIMESTAMPS.has(type.typeId)) {
    try {
      return JSDuckDBValueConverter(value, type, JSDuckDBValueConverter);
    } catch {
      return String(value); // beyond what a JS Date holds (year > 275760): keep DuckDB's text
    }
  }
  // Nested values (lists, structs) come back through `converter`, that is, through our rules.
  return JSDuckDBValueConverter(value, type, converter as DuckDBValueConverter<JS>);
};

/**
 * DuckDB's error classes (first words of its messages), checked in order, with whether the quoted
 * literals in such a message can be values from the data (then they are dropped).
 */
const ERROR_CLASSES: ReadonlyArray<{ pattern: RegExp; code: SourceErrorCode; quotesValues: boolean }> = [
  { pattern: /^IO Error: (No files found|Cannot open)/, code: "not_found", quotesValues: false },
  { pattern: /^Catalog Error/, code: "not_found", quotesValues: false },
  { pattern: /^(Parser|Binder|Not implemented) Error/, code: "query", quotesValues: false },
  { pattern: /read-only mode/, code: "query", quotesValues: false },
  { pattern: /^Permission Error/, code: "auth", quotesValues: false },
  { pattern: /^(Conversion|Out of Range) Error/, code: "data", quotesValues: true },
];
const OTHER_ERRORS = { code: "read", quotesValues: true } as const;

interface DuckdbPlan {
  readonly label: string;
  readonly kind: "parquet" | "duckdb";
  readonly database: string;
  readonly cwd: string;
  /** The SQL to run, and the files it reads when we know them (named in errors as the user wrote them). */
  prepare(): Promise<{ sql: string; files: readonly SourceFile[] }>;
}

export function openParquet(config: ParquetSourceConfig, { cwd }: OpenSourceOptions): BlockSource {
  const label = sourceLabel(config);
  return duckdbSource({
    label,
    kind: "parquet",
    database: ":memory:",
    cwd,
    async prepare() {
      const files = await resolveFiles(config.path, cwd, label);
      return {
        sql: `SELECT * FROM read_parquet([${files.map((file) => sqlString(file.absolute)).join(", ")}])`,
        files,
      };
    },
  });
}

export function openDuckdb(config: DuckdbSourceConfig, { cwd }: OpenSourceOptions): BlockSource {
  const database = config.database === undefined ? ":memory:" : resolve(cwd, config.database);
  return duckdbSource({
    label: sourceLabel(config),
    kind: "duckdb",
    database,
    cwd,
    prepare: async () => ({ sql: config.query, files: [] }),
  });
}

function duckdbSource(plan: DuckdbPlan): BlockSource {
  const reads = openReads();
  return {
    kind: plan.kind,
    describe: () => plan.label,
    batches: (options) => readBlocks(plan, reads, options?.signal),
    rows: (options) => rowsOfBlocks(readBlocks(plan, reads, options?.signal), options?.signal),
    async check() {
      const { sql, files } = await plan.prepare();
      const session = await connect(plan);
      try {
        // Preparing binds the query: files, tables and columns are resolved, no row is read.
        const prepared = await session.connection.prepare(sql);
        const columns = Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
        prepared.destroySync();
        assertDistinctColumns(columns, plan.label);
        return { columns };
      } catch (error) {
        throw duckdbError(plan.label, error, files);
      } finally {
        session.close();
      }
    },
    close: () => reads.releaseAll(),
  };
}

async function* readBlocks(
  plan: DuckdbPlan,
  reads: OpenReads,
  signal: AbortSignal | undefined,
): AsyncGenerator<Row[]> {
  const { sql, files } = await plan.prepare();
  signal?.throwIfAborted();
  const session = await connect(plan);
  const untrack = reads.track(session.close);
  const stopOnAbort = whenAborted(signal, () => session.connection.interrupt());
  try {
    const packed = await abortable(textPacked(session.connection, sql), signal);
    const result = await abortable(session.connection.stream(packed?.sql ?? sql), signal);
    const reading = packed ?? unpacked(result.columnNames());
    const chunks = result.yieldConvertedRows(toPlain)[Symbol.asyncIterator]();
    while (true) {
      // One chunk (≤ 2048 rows) is fetched only when the consumer has taken the previous one.
      const next = await abortable(chunks.next(), signal);
      if (next.done) break;
      signal?.throwIfAborted();
      const block: Row[] = new Array(next.value.length);
      for (let i = 0; i < block.length; i++) block[i] = reading.row(next.value[i] as unknown[]);
      yield block;
    }
  } catch (error) {
    signal?.throwIfAborted();
    throw duckdbError(plan.label, error, files);
  } finally {
    stopOnAbort();
    untrack();
    session.close();
  }
}

/** The query to stream, and how one of its result rows becomes a row of the user's query. */
interface Reading {
  readonly sql: string;
  row(values: unknown[]): Row;
}

/** Text columns travel packed when a query has at least this many. */
const MIN_PACKED_COLUMNS = 2;

/** The query as it is, its result rows made into rows by column name. */
function unpacked(columns: readonly string[]): Omit<Reading, "sql"> {
  const build = rowBuilder(columns);
  return { row: (values) => build(values, 0) };
}

/**
 * The user's query with its text columns packed into one JSON list per row, when it has enough of
 * them. The node API fetches each string longer than 12 bytes from DuckDB's memory with a call of
 * its own and decodes it apart: ~43 CPU-µs a row of the bench's 23 text columns (bench:read). One
 * string a row and one JSON.parse give the same values (JSON strings hold any text exactly, and
 * null stays null) for a third of that. Columns of other types go as they are, through our value
 * model. Undefined when the query is read as it is: few text columns, a repeated column name, or
 * several statements (the last one's rows are read, as DuckDB streams them).
 */
async function textPacked(connection: DuckDBConnection, sql: string): Promise<Reading | undefined> {
  let prepared: Awaited<ReturnType<DuckDBConnection["prepare"]>>;
  try {
    prepared = await connection.prepare(sql);
  } catch (error) {
    if (/multiple statements/i.test(String((error as Error)?.message))) return undefined;
    throw error;
  }
  const columns = Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
  const isText = columns.map((_, i) => prepared.columnTypeId(i) === DuckDBTypeId.VARCHAR);
  prepared.destroySync();
  const texts = columns.filter((_, i) => isText[i]);
  if (texts.length < MIN_PACKED_COLUMNS || new Set(columns).size !== columns.length) return undefined;
  const build = rowBuilder(columns);
  const others = columns.filter((_, i) => !isText[i]);
  const packedSql =
    `SELECT to_json([${texts.map(sqlName).join(", ")}])::VARCHAR${others.map((name) => `, ${sqlName(name)}`).join("")}` +
    // Newlines keep a trailing `-- comment` in the user's query from swallowing the parenthesis.
    ` FROM (\n${withoutTrailingSemicolons(sql)}\n) AS capi_sync_rows`;
  // Where each column's value is in a packed row: its place in the JSON list, or after it.
  const places = columns.map((_, i) => (isText[i] ? isText.slice(0, i).filter(Boolean).length : -1));
  const values: unknown[] = new Array(columns.length);
  return {
    sql: packedSql,
    row(packed) {
      const text = JSON.parse(packed[0] as string) as unknown[];
      let other = 1;
      for (let i = 0; i < values.length; i++) {
        const place = places[i] as number;
        values[i] = place >= 0 ? text[place] : packed[other++];
      }
      return build(values, 0);
    },
  };
}

function sqlName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

interface Session {
  readonly connection: DuckDBConnection;
  close(): void;
}

async function connect(plan: DuckdbPlan): Promise<Session> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(plan.database, {
      // Relative paths in the user's query resolve against the config's directory, not ours.
      file_search_path: plan.cwd,
      ...(plan.database === ":memory:" ? {} : { access_mode: "READ_ONLY" }),
    });
  } catch (error) {
    throw duckdbError(plan.label, error);
  }
  let connection: DuckDBConnection;
  try {
    connection = await instance.connect();
  } catch (error) {
    instance.closeSync();
    throw duckdbError(plan.label, error);
  }
  let open = true;
  return {
    connection,
    close() {
      if (!open) return;
      open = false;
      connection.closeSync();
      instance.closeSync();
    },
  };
}

function duckdbError(label: string, error: unknown, files: readonly SourceFile[] = []): SourceError {
  if (error instanceof SourceError) return error;
  // DuckDB's later lines echo the query and, for CSV errors, the offending line: keep the first.
  let message = redactText(String((error as Error)?.message ?? error).split("\n")[0] ?? "", []);
  const known = ERROR_CLASSES.find(({ pattern }) => pattern.test(message)) ?? OTHER_ERRORS;
  for (const file of files) message = message.replaceAll(`'${file.absolute}'`, file.display);
  return new SourceError(label, known.code, known.quotesValues ? withoutQuotedValues(message) : message);
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
