// Sources whose drivers are heavy (DuckDB's native library, pg, mysql2: ~65 MB of resident memory
// between them) load them on first use, so a CSV sync never pays for them.
import { sourceLabel } from "./labels.ts";
import type {
  BlockSource,
  OpenSourceOptions,
  Row,
  RowsOptions,
  SourceConfigOf,
  SourceKind,
  UnreadableRow,
} from "./types.ts";

export type Opener<K extends SourceKind> = (
  config: SourceConfigOf<K>,
  options: OpenSourceOptions,
) => BlockSource;

/** A source that imports its module when it is first read or checked. */
export function lazySource<K extends SourceKind>(
  config: SourceConfigOf<K>,
  options: OpenSourceOptions,
  load: () => Promise<Opener<K>>,
): BlockSource {
  let opened: Promise<BlockSource> | undefined;
  const source = (): Promise<BlockSource> => {
    opened ??= load().then((open) => open(config, options));
    return opened;
  };
  return {
    kind: config.kind,
    describe: () => sourceLabel(config),
    batches: (rowsOptions?: RowsOptions): AsyncIterable<readonly (Row | UnreadableRow)[]> => ({
      async *[Symbol.asyncIterator]() {
        yield* (await source()).batches(rowsOptions);
      },
    }),
    rows: (rowsOptions?: RowsOptions): AsyncIterable<Row | UnreadableRow> => ({
      async *[Symbol.asyncIterator]() {
        yield* (await source()).rows(rowsOptions);
      },
    }),
    check: async () => (await source()).check(),
    close: async () => {
      if (opened) await (await opened).close();
    },
  };
}
