// The part of a compiled connection the reading thread needs: the ledger key of a row, and the
// mapping compiled once so a bad expression stops the run before any row is read. Apart from
// prepare.ts so that thread loads the normalizers and validators (phone and country data) only
// once it evaluates a chunk itself (run-thread-evaluation.ts), which a small run never does.
import type { ConnectionConfig } from "../config/schema.ts";
import { type CompiledMapping, compileMapping, compileRowKey, type Row } from "../mapping/index.ts";

export interface MappingAndKey {
  readonly mapping: CompiledMapping;
  readonly rowKey: (row: Row) => string;
}

export function compileMappingAndKey(name: string, connection: ConnectionConfig): MappingAndKey {
  const keyColumns = Array.isArray(connection.key) ? connection.key : [connection.key];
  return {
    mapping: compileMapping(connection.mapping, { connection: name, key: keyColumns }),
    rowKey: compileRowKey(keyColumns),
  };
}
