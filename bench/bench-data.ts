// The bench's rows: a CSV of messy rows (all 11 customer fields) written once to bench/.data/
// (gitignored) and reused while its rows, seed and age fit, and the sources that read them.
import { once } from "node:events";
import { createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { openSource } from "../src/sources/index.ts";
import { MESSY_ROW_COLUMNS, type MessyRow, messyRows } from "./messy-rows.ts";
import { ensureTable, TABLE_KINDS, type TableKind } from "./source-tables.ts";

const HERE = new URL(".", import.meta.url).pathname;
/** Event times reach 6 days back; a file older than this would carry events Meta no longer takes. */
const MAX_DATA_AGE_MS = 12 * 3600_000;

/** The messy row's customer fields under the `columns` preset's column names. */
const CSV_NAMES: Partial<Record<keyof MessyRow, string>> = {
  em: "email",
  ph: "phone",
  fn: "first_name",
  ln: "last_name",
  ct: "city",
  st: "state",
  zp: "zip",
  db: "date_of_birth",
  ge: "gender",
};
export const CSV_HEADER = ["order_id", ...MESSY_ROW_COLUMNS.map((c) => CSV_NAMES[c] ?? c)];

/** The source that reads the bench's rows, by `--source`. */
export async function benchSource(kind: string, csv: string): Promise<Record<string, unknown>> {
  if (kind === "csv") return { kind, path: csv };
  if (kind === "duckdb") {
    return { kind, query: `SELECT * FROM read_csv('${csv}', header = true, all_varchar = true)` };
  }
  const { at } = JSON.parse(readFileSync(`${csv}.json`, "utf8")) as { at: number };
  if (kind === "ndjson") return { kind, path: await ensureNdjson(csv, at) };
  if (!TABLE_KINDS.includes(kind as TableKind)) throw new Error(`unknown --source ${kind}`);
  return (await ensureTable(kind as TableKind, csv, CSV_HEADER, at)).source;
}

/** The CSV's rows as JSON lines (empty fields left out), written once per CSV. */
async function ensureNdjson(csv: string, at: number): Promise<string> {
  const path = `${csv}.ndjson`;
  const stamp = `${path}.json`;
  if (existsSync(path) && existsSync(stamp) && JSON.parse(readFileSync(stamp, "utf8")).at === at) return path;
  const out = createWriteStream(path);
  for await (const row of openSource({ kind: "csv", path: csv }, { cwd: "/" }).rows()) {
    const line = JSON.stringify(row, (_key, value) => (value === "" || value === null ? undefined : value));
    if (!out.write(`${line}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  writeFileSync(stamp, JSON.stringify({ at }));
  return path;
}

/** Writes the CSV unless a file with the same rows and seed, recent enough, is already there. */
export async function ensureCsv(rows: number, seed: number): Promise<string> {
  const dir = join(HERE, ".data");
  await mkdir(dir, { recursive: true });
  const path = join(dir, `messy-${rows}-seed${seed}.csv`);
  const stamp = `${path}.json`;
  if (existsSync(path) && existsSync(stamp)) {
    const made = JSON.parse(readFileSync(stamp, "utf8")) as { rows: number; seed: number; at: number };
    if (made.rows === rows && made.seed === seed && Date.now() - made.at < MAX_DATA_AGE_MS) return path;
  }
  const at = Date.now();
  const out = createWriteStream(path);
  out.write(`${CSV_HEADER.join(",")}\n`);
  let index = 0;
  for (const row of messyRows(rows, { seed, now: Math.floor(at / 1000) })) {
    const fields = [`ORD-${index++}`, ...MESSY_ROW_COLUMNS.map((c) => csvField(row[c]))];
    if (!out.write(`${fields.join(",")}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  writeFileSync(stamp, JSON.stringify({ rows, seed, at }));
  return path;
}

function csvField(value: unknown): string {
  const text =
    typeof value === "string" ? value : typeof value === "number" ? String(value) : JSON.stringify(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
