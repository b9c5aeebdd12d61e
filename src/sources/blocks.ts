// Sources that read in blocks (a file's reads, a cursor's fetches, a query engine's chunks) hand
// each block over whole through `batches()`; `rows()` is built on the same blocks.
/** The rows of `blocks` one by one; an aborted signal stops the read before the next row. */
export async function* rowsOfBlocks<T>(
  blocks: AsyncIterable<readonly T[]>,
  signal: AbortSignal | undefined,
): AsyncGenerator<T> {
  for await (const block of blocks) {
    for (const row of block) {
      signal?.throwIfAborted();
      yield row;
    }
  }
}
