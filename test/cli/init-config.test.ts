import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parse } from "csv-parse/sync";
import { runCli } from "../helpers/cli.ts";

const TOKEN = "EAAG-canary-init-9911";

describe("capi-sync init and config show", async () => {
  const dir = await mkdtemp(join(tmpdir(), "capi-sync-init-"));
  after(() => rm(dir, { recursive: true, force: true }));

  it("writes a config that loads and sample data with the preset's columns", async () => {
    const init = await runCli(["init"], { cwd: dir });
    assert.equal(init.code, 0, init.stderr);
    const rows = parse(await readFile(join(dir, "data/purchases.csv"), "utf8"), { columns: true }) as Array<
      Record<string, string>
    >;
    assert.equal(rows.length, 200);
    assert.ok(rows.every((r) => r.order_id && r.event_name && r.event_time));
    assert.equal(new Set(rows.map((r) => r.order_id)).size, 200, "keys are unique");

    const shown = await runCli(["config", "show", "--config", join(dir, "capi-sync.yaml")], {
      env: { META_ACCESS_TOKEN: TOKEN },
    });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /store_purchases/);
    assert.ok(!shown.stdout.includes(TOKEN), "token masked");
  });

  it("refuses to overwrite without --force", async () => {
    const again = await runCli(["init"], { cwd: dir });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /--force/);
    assert.equal((await runCli(["init", "--force"], { cwd: dir })).code, 0);
  });

  it("stops with exit 3 and names the variable when a secret is missing", async () => {
    const shown = await runCli(["config", "show", "--config", join(dir, "capi-sync.yaml")], { env: {} });
    assert.equal(shown.code, 3);
    assert.match(shown.stderr, /META_ACCESS_TOKEN/);
  });
});

describe("capi-sync demo", () => {
  it("runs the whole job against the in-process emulator and proves nothing is sent twice", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "capi-sync-demo-test-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { code, stdout, stderr } = await runCli(["demo", "--rows", "600", "--dir", dir]);
    assert.equal(code, 0, stderr);
    // 600 rows: one flawed row of each kind per 500 → one value-less Purchase, one too-old, one too-thin.
    assert.match(stdout, /rows 600 {2}delivered 597 {2}rejected 2 {2}expired 1 {2}skipped 0/);
    assert.match(stdout, /the emulator received 597 events \(597 unique\)/);
    assert.match(stdout, /rows 600 {2}delivered 0 {2}rejected 0 {2}expired 0 {2}skipped 600/);
  });
});
