import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

test("database drivers load on a source's first read or check, not with the sources module", () => {
  const index = new URL("../../src/sources/index.ts", import.meta.url).href;
  const script = `
    import { createRequire } from "node:module";
    const { openSource } = await import(${JSON.stringify(index)});
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((path) =>
      /node_modules[\\\\/](pg|pg-cursor|mysql2|@duckdb)[\\\\/]/.test(path));
    const source = openSource({ kind: "postgres", url: "postgres://u:secret@127.0.0.1:1/db", query: "SELECT 1" }, { cwd: "." });
    const before = loaded();
    const label = source.describe();
    await source.check().catch(() => undefined);
    console.log(JSON.stringify({ before, label, after: loaded().length > 0 }));
  `;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout) as { before: string[]; label: string; after: boolean };
  assert.deepEqual(result.before, []);
  assert.doesNotMatch(result.label, /secret/);
  assert.match(result.label, /^postgres /);
  assert.equal(result.after, true, "pg is loaded once the source is checked");
});
