// Plain column paths (`email`, `context.page.url`, `` `order total` ``) are JSONata expressions too,
// but they sit on the hot path of every row, so they are read here directly. The getter reproduces
// JSONata's path semantics (arrays map and flatten, singleton sequences unwrap) so that a field
// means the same whether it goes through this getter or through jsonata; a property test holds the
// two together.
import type jsonata from "jsonata";

export type Getter = (row: unknown) => unknown;

const hasOwn = Object.prototype.hasOwnProperty;
const PLAIN_STEP_KEYS = new Set(["type", "value", "position"]);

/** The step names when a parsed JSONata expression is nothing but a path of names; else undefined. */
export function plainPathSteps(ast: jsonata.ExprNode): string[] | undefined {
  if (ast.type !== ("path" as jsonata.ExprNode["type"]) || !ast.steps) return undefined;
  if (Object.keys(ast).some((key) => key !== "type" && key !== "steps")) return undefined;
  const names: string[] = [];
  for (const step of ast.steps) {
    if (step.type !== "name" || typeof step.value !== "string") return undefined;
    if (Object.keys(step).some((key) => !PLAIN_STEP_KEYS.has(key))) return undefined;
    names.push(step.value);
  }
  return names;
}

/** A getter equivalent to evaluating the path `steps` with JSONata, without its cost. */
export function compilePath(steps: readonly string[]): Getter {
  if (steps.length === 0) throw new Error("a path needs at least one step");
  if (steps.length === 1) {
    const [key] = steps as [string];
    return (row) => (isPlainObject(row) && hasOwn.call(row, key) ? row[key] : undefined);
  }
  return (row) => {
    let current: unknown = row;
    for (let i = 0; i < steps.length; i++) {
      if (current === null || typeof current !== "object") return undefined;
      if (Array.isArray(current)) return stepsOverSequence(current, steps, i);
      current = hasOwn.call(current, steps[i] as string)
        ? (current as Record<string, unknown>)[steps[i] as string]
        : undefined;
    }
    return current;
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

// JSONata tells its own sequences from arrays found in the data: only the latter survive as a
// single result. Sequences only arise on the slow path, so a WeakSet marks them.
const sequences = new WeakSet<unknown[]>();

function sequence(values: unknown[]): unknown[] {
  sequences.add(values);
  return values;
}

/** JSONata's `evaluateStep` for the steps from `from` on, when the value met there is an array. */
function stepsOverSequence(items: unknown[], steps: readonly string[], from: number): unknown {
  let input = items;
  for (let i = from; i < steps.length; i++) {
    const key = steps[i] as string;
    const results: unknown[] = [];
    for (const item of input) {
      const result = lookupUnwrapped(item, key);
      if (result !== undefined) results.push(result);
    }
    const only = results[0];
    if (i === steps.length - 1 && results.length === 1 && Array.isArray(only) && !sequences.has(only)) {
      return only;
    }
    const flattened: unknown[] = [];
    for (const result of results) {
      if (Array.isArray(result)) for (const value of result) flattened.push(value);
      else flattened.push(result);
    }
    if (flattened.length === 0) return undefined;
    input = flattened;
  }
  return input.length === 1 ? input[0] : input;
}

/** A name step on one item, with the singleton unwrapping JSONata applies to each evaluation. */
function lookupUnwrapped(item: unknown, key: string): unknown {
  if (Array.isArray(item)) {
    const found = lookup(item, key) as unknown[];
    if (found.length === 0) return undefined;
    return found.length === 1 ? found[0] : found;
  }
  return lookup(item, key);
}

function lookup(input: unknown, key: string): unknown {
  if (Array.isArray(input)) {
    const found = sequence([]);
    for (const element of input) {
      const result = lookup(element, key);
      if (result === undefined) continue;
      if (Array.isArray(result)) for (const value of result) found.push(value);
      else found.push(result);
    }
    return found;
  }
  if (input !== null && typeof input === "object" && hasOwn.call(input, key)) {
    return (input as Record<string, unknown>)[key];
  }
  return undefined;
}
