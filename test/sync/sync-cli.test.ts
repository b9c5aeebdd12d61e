// End to end through the CLI: a CSV source, the real emulator, the SQLite ledger.
import assert from "node:assert/strict";
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { samplePurchases, toCsv } from "../../src/cli/sample-data.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { jsonLines, runCli } from "../helpers/cli.ts";

const DATASET = "424242424242";
const TOKEN = "EAAC-canary-token-5b1f0c7d";
const CANARY_EMAIL = "Zelda.Canary+e2e@Example.net";
const NOW = Math.floor(Date.now() / 1000);

interface JsonReport {
  connection: string;
  rows: number;
  delivered: number;
  rejected: number;
  expired: number;
  skipped: number;
  pending: number;
  status: string;
  run_id: number;
}

function config(
  emulatorUrl: string,
  extra: { deliverExisting?: boolean; testEventCode?: string; token?: string } = {},
) {
  return `
state: state/ledger.db
defaults: { default_country: US }
connections:
  purchases:
    source: { kind: csv, path: data/*.csv }
    key: order_id
    mapping: { preset: columns }
    destination:
      dataset_id: "${DATASET}"
      access_token: \${META_TOKEN}
      graph_url: ${emulatorUrl}
${extra.testEventCode ? `      test_event_code: ${extra.testEventCode}\n` : ""}    deliver_existing: ${extra.deliverExisting ?? true}
`;
}

async function workspace(emulator: RunningEmulator, rows: number, extra = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "capi-sync-e2e-"));
  const data = [...samplePurchases(rows, NOW)];
  // Row 3 carries the canary email; row 5 is a Purchase with no value (rejected by the validator).
  data[2] = { ...(data[2] as (typeof data)[number]), email: CANARY_EMAIL };
  data[4] = { ...(data[4] as (typeof data)[number]), event_name: "Purchase", value: "" };
  await writeFile(join(dir, "capi-sync.yaml"), config(emulator.url, extra));
  await mkdir(join(dir, "data"));
  await writeFile(join(dir, "data/a.csv"), toCsv(data));
  return dir;
}

async function sync(dir: string, token = TOKEN, args: string[] = []) {
  const result = await runCli(["sync", "--config", join(dir, "capi-sync.yaml"), "--json", ...args], {
    env: { META_TOKEN: token },
  });
  return { ...result, reports: jsonLines(result.stdout) as JsonReport[] };
}

describe("capi-sync sync (CSV → emulator)", () => {
  let emulator: RunningEmulator;
  const dirs: string[] = [];
  before(async () => {
    emulator = await startEmulator({ port: 0, datasets: [{ id: DATASET, tokens: [TOKEN] }] });
  });
  after(async () => {
    await emulator.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("delivers every valid row exactly once, rejects the bad one with its reason, and never resends", async () => {
    emulator.store.reset();
    const dir = await workspace(emulator, 300);
    dirs.push(dir);
    const first = await sync(dir);
    assert.equal(first.code, 0, first.stderr);
    const [report] = first.reports;
    assert.ok(report);
    assert.equal(report.rows, 300);
    assert.equal(report.rejected, 1);
    assert.equal(report.delivered, 299);
    assert.equal(report.pending, 0);
    const stats = emulator.store.stats()[DATASET]?.live;
    assert.equal(stats?.unique, 299);
    assert.equal(stats?.duplicates, 0);

    const second = await sync(dir);
    assert.equal(second.reports[0]?.delivered, 0);
    assert.equal(second.reports[0]?.skipped, 300);
    assert.equal(emulator.store.stats()[DATASET]?.live.received, 299, "nothing sent on the second run");

    const rejections = await runCli(["rejections", "--json", "--config", join(dir, "capi-sync.yaml")], {
      env: { META_TOKEN: TOKEN },
    });
    const [rejection] = jsonLines(rejections.stdout) as Array<{ key: string; path: string; code: string }>;
    assert.equal(rejection?.key, '["ORD-100004"]');
    assert.equal(rejection?.path, "custom_data.value");

    const runs = await runCli(["runs", "--json", "--config", join(dir, "capi-sync.yaml")], {
      env: { META_TOKEN: TOKEN },
    });
    const listed = jsonLines(runs.stdout) as Array<{ status: string; counts: { delivered: number } }>;
    assert.deepEqual(
      listed.map((r) => [r.status, r.counts.delivered]),
      [
        ["completed", 0],
        ["completed", 299],
      ],
    );
  });

  it("opens the state the config names: a path or sqlite: URL beside the config, :memory: in memory", async () => {
    for (const [state, file] of [
      [":memory:", undefined],
      ["sqlite:kept/state.db", "kept/state.db"],
    ] as const) {
      emulator.store.reset();
      const dir = await workspace(emulator, 20);
      dirs.push(dir);
      const yaml = await readFile(join(dir, "capi-sync.yaml"), "utf8");
      await writeFile(
        join(dir, "capi-sync.yaml"),
        yaml.replace("state: state/ledger.db", `state: "${state}"`),
      );
      const { code, reports } = await sync(dir);
      assert.equal(code, 0, state);
      assert.equal(reports[0]?.delivered, 19, state);
      const entries = await readdir(dir, { recursive: true });
      assert.equal(entries.includes(":memory:"), false, `${state}: no file named :memory:`);
      assert.equal(entries.includes("sqlite:kept"), false, `${state}: no directory named after the URL`);
      if (file) assert.ok(entries.includes(file), `${state} → ${file}`);
    }
  });

  it("picks up new rows and, after a fix, replays rejected ones", async () => {
    emulator.store.reset();
    const dir = await workspace(emulator, 50);
    dirs.push(dir);
    await sync(dir);
    await appendFile(
      join(dir, "data/a.csv"),
      toCsv([...samplePurchases(60, NOW)].slice(50))
        .split("\n")
        .slice(1)
        .join("\n"),
    );
    const more = await sync(dir);
    assert.equal(more.reports[0]?.delivered, 10);
    assert.equal(more.reports[0]?.skipped, 50);

    // Fix the rejected row in the source, then replay only rejected rows.
    const csv = await readFile(join(dir, "data/a.csv"), "utf8");
    const fixed = csv
      .split("\n")
      .map((line) => (line.startsWith("ORD-100004,") ? line.replace(/,,(USD|eur),/, ",19.99,$1,") : line))
      .join("\n");
    await writeFile(join(dir, "data/a.csv"), fixed);
    const replay = await runCli(["replay", "--rejected", "--json", "--config", join(dir, "capi-sync.yaml")], {
      env: { META_TOKEN: TOKEN },
    });
    assert.equal(replay.code, 0, replay.stderr);
    const [report] = jsonLines(replay.stdout) as JsonReport[];
    assert.equal(report?.delivered, 1);
    assert.equal(emulator.store.stats()[DATASET]?.live.unique, 60);
  });

  it("with deliver_existing: false, baselines the first run and delivers only later rows", async () => {
    emulator.store.reset();
    const dir = await workspace(emulator, 40, { deliverExisting: false });
    dirs.push(dir);
    const baseline = await sync(dir);
    assert.equal(baseline.reports[0]?.delivered, 0);
    assert.equal(baseline.reports[0]?.skipped, 40);
    assert.equal(emulator.store.stats()[DATASET]?.live.received ?? 0, 0);
    await appendFile(
      join(dir, "data/a.csv"),
      toCsv([...samplePurchases(45, NOW)].slice(40))
        .split("\n")
        .slice(1)
        .join("\n"),
    );
    const next = await sync(dir);
    assert.equal(next.reports[0]?.delivered, 5);
  });

  it("keeps test events apart: a test run never marks rows delivered for production", async () => {
    emulator.store.reset();
    const dir = await workspace(emulator, 20, { testEventCode: "TEST4242" });
    dirs.push(dir);
    const testRun = await sync(dir);
    assert.equal(testRun.reports[0]?.delivered, 19);
    assert.equal(emulator.store.stats()[DATASET]?.test.unique, 19);
    assert.equal(emulator.store.stats()[DATASET]?.live.unique ?? 0, 0);
    await writeFile(join(dir, "capi-sync.yaml"), config(emulator.url));
    const liveRun = await sync(dir);
    assert.equal(liveRun.reports[0]?.delivered, 19);
    assert.equal(emulator.store.stats()[DATASET]?.live.unique, 19);
  });

  it("stops at once on a bad token (exit 3), records nothing, then delivers everything once fixed", async () => {
    emulator.store.reset();
    const dir = await workspace(emulator, 120);
    dirs.push(dir);
    const wrongToken = "EAAC-wrong-canary-0000";
    const stopped = await sync(dir, wrongToken);
    assert.equal(stopped.code, 3);
    const [report] = stopped.reports;
    assert.equal(report?.status, "stopped");
    assert.equal(report?.delivered, 0);
    assert.ok((report?.pending ?? 0) > 0);
    const requests = emulator.store.requests().filter((r) => r.datasetId === DATASET);
    assert.ok(requests.length <= 2, `stopped within the window's first requests (${requests.length})`);
    assert.ok(!stopped.stdout.includes(wrongToken) && !stopped.stderr.includes(wrongToken));

    const fixed = await sync(dir);
    assert.equal(fixed.code, 0);
    assert.equal(fixed.reports[0]?.delivered, 119);
    assert.equal(emulator.store.stats()[DATASET]?.live.unique, 119);
  });

  it("check proves source, token and dataset without recording an event", async () => {
    emulator.store.reset();
    const dir = await workspace(emulator, 10);
    dirs.push(dir);
    const configPath = join(dir, "capi-sync.yaml");
    const good = await runCli(["check", "--config", configPath], { env: { META_TOKEN: TOKEN } });
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /token accepted for dataset 424242424242/);
    assert.match(good.stdout, /ok +purchases: source/);
    assert.equal(emulator.store.stats()[DATASET]?.live.received ?? 0, 0, "the probe records no event");

    const badToken = await runCli(["check", "--config", configPath], {
      env: { META_TOKEN: "EAAC-not-known" },
    });
    assert.equal(badToken.code, 3);
    assert.match(badToken.stdout, /FAIL purchases: meta/);
    assert.ok(!badToken.stdout.includes("EAAC-not-known"));

    await rm(join(dir, "data"), { recursive: true });
    const noSource = await runCli(["check", "--config", configPath], { env: { META_TOKEN: TOKEN } });
    assert.equal(noSource.code, 1);
    assert.match(noSource.stdout, /FAIL purchases: source/);
  });

  it("never lets the token or a raw email reach output, reports or the state files", async () => {
    emulator.store.reset();
    const dir = await workspace(emulator, 30);
    dirs.push(dir);
    const outputs = [
      await sync(dir),
      await runCli(["runs", "--config", join(dir, "capi-sync.yaml")], { env: { META_TOKEN: TOKEN } }),
      await runCli(["rejections", "--config", join(dir, "capi-sync.yaml")], { env: { META_TOKEN: TOKEN } }),
      await runCli(["config", "show", "--config", join(dir, "capi-sync.yaml")], {
        env: { META_TOKEN: TOKEN },
      }),
      await runCli(["preview", "--limit", "5", "--config", join(dir, "capi-sync.yaml")], {
        env: { META_TOKEN: TOKEN },
      }),
    ];
    const canaries = [TOKEN, CANARY_EMAIL, CANARY_EMAIL.toLowerCase()];
    for (const { stdout, stderr } of outputs) {
      for (const canary of canaries) {
        assert.ok(!stdout.includes(canary) && !stderr.includes(canary), "canary in command output");
      }
    }
    for (const file of await readdir(join(dir, "state"))) {
      const bytes = await readFile(join(dir, "state", file));
      for (const canary of canaries) assert.equal(bytes.indexOf(canary), -1, `canary in ${file}`);
    }
  });
});
