// Rows of a known set of columns, each made by one object literal. Storing 23 columns one by one
// under computed names into `{}` took ~1.2 µs a row (V8 grows the object's property store as it
// goes); a literal with the names written in makes the object at its final size from a template,
// ~0.04 µs (measured on the bench's 23 CSV columns). The function is generated per column set and
// cached; names are JSON-quoted into it, so no column name can change its code.
import type { Row } from "./types.ts";

/** A row of the builder's columns from `values[offset]` onwards, in column order. */
export type RowBuilder = (values: readonly unknown[], offset: number) => Row;

const builders = new Map<string, RowBuilder>();
/** Column sets are few (a source's header, a query's columns): a bound against pathological input. */
const MAX_BUILDERS = 64;

export function rowBuilder(columns: readonly string[]): RowBuilder {
  // `__proto__: v` in a literal sets the prototype; such a column is defined as an own property.
  if (columns.includes("__proto__")) return definingBuilder(columns);
  const signature = JSON.stringify(columns);
  let build = builders.get(signature);
  if (build === undefined) {
    build = literalBuilder(columns) ?? definingBuilder(columns);
    if (builders.size >= MAX_BUILDERS) builders.clear();
    builders.set(signature, build);
  }
  return build;
}

/** Undefined where code cannot be generated (--disallow-code-generation-from-strings). */
function literalBuilder(columns: readonly string[]): RowBuilder | undefined {
  const fields = columns.map((column, c) => `${JSON.stringify(column)}: v[o + ${c}]`).join(", ");
  try {
    return new Function("v", "o", `return { ${fields} };`) as RowBuilder;
  } catch {
    return undefined;
  }
}

function definingBuilder(columns: readonly string[]): RowBuilder {
  return (values, offset) => {
    const row: Row = {};
    for (let c = 0; c < columns.length; c++) {
      Object.defineProperty(row, columns[c] as string, {
        value: values[offset + c],
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
    return row;
  };
}
