// The service in-process against the emulator: health, readiness (and its 503 after Meta refuses a
// token), metrics that match the run reports, admin-token auth, and logs that never carry a secret
// or a customer's email through a full run including an auth failure.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { serveCommand } from "../../src/cli/commands/serve.ts";
import { samplePurchases, toCsv } from "../../src/cli/sample-data.ts";
import { type LoadedConfig, loadConfig } from "../../src/config/load.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { type Ledger, openLedger } from "../../src/ledger/index.ts";
import type { RequestReport } from "../../src/meta/graph/index.ts";
import {
  configSecrets,
  createServiceLogger,
  FakeClock,
  type RunningService,
  readServiceConfig,
  ServiceConfigError,
  type ServiceConfigInput,
  startService,
} from "../../src/service/index.ts";
import type { RunReport } from "../../src/sync/run.ts";
import { runCli } from "../helpers/cli.ts";

const DATASET = "880011223344";
const TOKEN = "EAAC-canary-good-token-9d2e41f7";
const WRONG_TOKEN = "EAAC-canary-wrong-token-b7c3a015";
const APP_SECRET = "canary-app-secret-61c0d9e2";
const ADMIN_TOKEN = "canary-admin-token-3f9a2c7b1e";
const CANARY_EMAIL = "Zelda.Canary+serve@Example.net";
const ROWS = 240;
const NOW = Math.floor(Date.now() / 1000);

interface Workspace {
  readonly dir: string;
  readonly loaded: LoadedConfig;
}

/** Two connections on the same CSV: `shop` with the right token, `refused` with a wrong one. */
async function workspace(emulator: RunningEmulator, options: { refused?: boolean } = {}): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), "capi-sync-serve-"));
  const rows = [...samplePurchases(ROWS, NOW)];
  rows[2] = { ...(rows[2] as (typeof rows)[number]), email: CANARY_EMAIL };
  // A Purchase without a value: rejected by validation, so a rejection code shows in the metrics.
  rows[4] = { ...(rows[4] as (typeof rows)[number]), event_name: "Purchase", value: "" };
  await mkdir(join(dir, "data"));
  await writeFile(join(dir, "data/orders.csv"), toCsv(rows));
  const destination = (token: string) =>
    `{ dataset_id: "${DATASET}", access_token: "${token}", app_secret: "\${META_APP_SECRET}", graph_url: "${emulator.url}", batch_size: 40, max_in_flight: 3 }`;
  await writeFile(
    join(dir, "capi-sync.yaml"),
    `state: state.db
defaults: { default_country: US }
connections:
  shop:
    source: { kind: csv, path: data/orders.csv }
    key: order_id
    schedule: "0 3 * * *"
    destination: ${destination(TOKEN)}
${
  options.refused
    ? `  refused:
    source: { kind: csv, path: data/orders.csv }
    key: order_id
    schedule: "0 3 * * *"
    destination: ${destination(WRONG_TOKEN)}
`
    : ""
}`,
  );
  const loaded = await loadConfig(join(dir, "capi-sync.yaml"), { META_APP_SECRET: APP_SECRET });
  return { dir, loaded };
}

interface Started {
  readonly service: RunningService;
  readonly ledger: Ledger;
  readonly reports: RunReport[];
  readonly requests: RequestReport[];
  readonly logs: () => string;
}

async function start(ws: Workspace, settings: ServiceConfigInput = {}): Promise<Started> {
  const service = readServiceConfig({ service: { port: 0, log_level: "trace", ...settings } });
  const captured: Buffer[] = [];
  const destination = new PassThrough();
  destination.on("data", (chunk: Buffer) => captured.push(chunk));
  const logger = createServiceLogger({
    level: service.log_level,
    destination,
    secrets: [...configSecrets(ws.loaded.config), service.admin_token],
  });
  const ledger = await openLedger(join(ws.dir, "state.db"));
  const reports: RunReport[] = [];
  const requests: RequestReport[] = [];
  const running = await startService({
    loaded: ws.loaded,
    service,
    ledger,
    logger,
    // Frozen: the schedules' real timers never fire; runs come from the start-up catch-up only.
    clock: new FakeClock(Date.now()),
    processMetrics: false,
    client: { backoff: { baseMs: 1, capMs: 5 }, onRequest: (r) => requests.push(r) },
    onReport: (r) => reports.push(r),
  });
  return {
    service: running,
    ledger,
    reports,
    requests,
    logs: () => Buffer.concat(captured).toString("utf8"),
  };
}

async function stop(started: Started): Promise<void> {
  const result = await started.service.shutdown({ graceMs: 5000 });
  assert.equal(result.clean, true);
  await started.ledger.close();
}

/** Parses the Prometheus text format into samples. */
function samples(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key as string] = value as string;
    out.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return out;
}

function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  return samples(text).find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

async function get(url: string, token?: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: response.status, text: await response.text() };
}

describe("capi-sync serve: HTTP, metrics, readiness", () => {
  let emulator: RunningEmulator;
  const dirs: string[] = [];
  before(async () => {
    emulator = await startEmulator({
      port: 0,
      // The wrong token is one Meta answers with 190/463 (expired): a refusal of the token itself.
      datasets: [{ id: DATASET, tokens: [TOKEN], expiredTokens: [WRONG_TOKEN] }],
      appSecret: APP_SECRET,
      latencyMs: 40,
    });
  });
  after(async () => {
    await emulator.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("serves /healthz, /readyz and /metrics; the metrics match the run report", async () => {
    emulator.store.reset();
    const ws = await workspace(emulator);
    dirs.push(ws.dir);
    const startedAt = Math.floor(Date.now() / 1000);
    const s = await start(ws);
    try {
      // Sample in-flight requests while the catch-up run delivers.
      let maxInFlight = 0;
      const idle = s.service.scheduler.whenIdle();
      let done = false;
      void idle.then(() => {
        done = true;
      });
      while (!done) {
        const text = await s.service.metrics.render();
        maxInFlight = Math.max(
          maxInFlight,
          value(text, "capi_sync_requests_in_flight", { connection: "shop" }) ?? 0,
        );
        await new Promise((r) => setTimeout(r, 10));
      }
      const [report] = s.reports;
      assert.ok(report, "the never-run connection ran once at start-up");
      assert.equal(report.status, "completed");
      assert.equal(report.rows, ROWS);
      assert.equal(report.rejected, 1);
      assert.equal(report.delivered, ROWS - 1);

      assert.deepEqual(await get(`${s.service.url}/healthz`), { status: 200, text: '{"status":"ok"}' });
      const ready = await get(`${s.service.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(JSON.parse(ready.text), { status: "ready", ledger: "ok" });

      const metrics = await get(`${s.service.url}/metrics`);
      assert.equal(metrics.status, 200);
      const text = metrics.text;
      const shop = { connection: "shop" };
      assert.equal(value(text, "capi_sync_rows_read_total", shop), report.rows);
      for (const outcome of ["delivered", "rejected", "expired", "skipped", "pending"] as const) {
        assert.equal(value(text, "capi_sync_rows_total", { ...shop, outcome }), report[outcome], outcome);
      }
      // Rejections by code: exactly the ledger's rejections of this run, grouped by code.
      const rejections = await s.ledger.rejections({ runId: report.runId });
      const byCode = new Map<string, number>();
      for (const r of rejections) {
        const code = r.subcode === undefined ? String(r.code) : `${r.code}/${r.subcode}`;
        byCode.set(code, (byCode.get(code) ?? 0) + 1);
      }
      assert.equal(byCode.size, 1);
      for (const [code, count] of byCode)
        assert.equal(value(text, "capi_sync_rejections_total", { ...shop, code }), count, code);

      // Requests: one per client report; all successes here, none retried or throttled.
      const successes = s.requests.filter((r) => r.outcome === "success").length;
      assert.equal(successes, Math.ceil((ROWS - 1) / 40));
      assert.equal(value(text, "capi_sync_requests_total", { ...shop, outcome: "success" }), successes);
      assert.equal(
        value(text, "capi_sync_request_duration_seconds_count", { ...shop, outcome: "success" }),
        successes,
      );
      assert.equal(value(text, "capi_sync_request_retries_total", shop), undefined, "no retry series yet");
      assert.ok(maxInFlight >= 1 && maxInFlight <= 3, `in-flight requests seen mid-run: ${maxInFlight}`);
      assert.equal(value(text, "capi_sync_requests_in_flight", shop), 0, "none after the run");

      assert.equal(value(text, "capi_sync_runs_total", { ...shop, status: "completed" }), 1);
      assert.equal(value(text, "capi_sync_run_duration_seconds_count", shop), 1);
      assert.equal(value(text, "capi_sync_run_duration_seconds_sum", shop), report.duration_ms / 1000);
      assert.equal(value(text, "capi_sync_run_in_progress", shop), 0);
      const lastSuccess = value(text, "capi_sync_last_successful_run_timestamp_seconds", shop) ?? 0;
      assert.ok(lastSuccess >= startedAt && lastSuccess <= Date.now() / 1000, `last success ${lastSuccess}`);
      assert.equal(value(text, "capi_sync_connection_halted", shop), 0);

      // The ledger agrees with both.
      const [run] = await s.ledger.listRuns({ connection: "shop", limit: 1 });
      assert.equal(run?.status, "completed");
      assert.equal(run?.counts.delivered, report.delivered);
      assert.equal(emulator.store.stats()[DATASET]?.live.unique, report.delivered);
    } finally {
      await stop(s);
    }
  });

  it("answers 503 on /readyz after Meta refuses a token, names the connection, and logs it once", async () => {
    emulator.store.reset();
    const ws = await workspace(emulator, { refused: true });
    dirs.push(ws.dir);
    const s = await start(ws);
    try {
      await s.service.scheduler.whenIdle();
      const refused = s.reports.find((r) => r.connection === "refused");
      assert.equal(refused?.status, "stopped");
      assert.equal(refused?.stopKind, "auth");
      assert.equal(s.reports.find((r) => r.connection === "shop")?.status, "completed");

      const ready = await get(`${s.service.url}/readyz`);
      assert.equal(ready.status, 503);
      const body = JSON.parse(ready.text) as {
        status: string;
        ledger: string;
        halted: Array<Record<string, unknown>>;
      };
      assert.equal(body.status, "not ready");
      assert.equal(body.ledger, "ok");
      assert.deepEqual(
        body.halted.map((h) => [h.connection, h.kind]),
        [["refused", "auth"]],
      );
      assert.match(String(body.halted[0]?.message), /access token/);

      const text = (await get(`${s.service.url}/metrics`)).text;
      assert.equal(value(text, "capi_sync_connection_halted", { connection: "refused" }), 1);
      assert.equal(value(text, "capi_sync_runs_total", { connection: "refused", status: "stopped" }), 1);
      assert.ok(
        (value(text, "capi_sync_requests_total", { connection: "refused", outcome: "auth" }) ?? 0) >= 1,
      );

      // The halt is one loud line naming the connection and what to do; the scheduler drops it.
      const errors = s
        .logs()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown> & { level: string; msg: string })
        .filter((l) => l.level === "error" || l.level === "fatal");
      assert.equal(errors.length, 1, "one error line in all, for the refused connection");
      const [halt] = errors;
      assert.equal(halt?.connection, "refused");
      assert.equal(halt?.halted, true);
      // Meta's details for support (code, subcode, fbtrace_id) are on that one line.
      assert.equal(halt?.code, 190);
      assert.equal(halt?.error_subcode, 463);
      assert.equal(typeof halt?.fbtrace_id, "string");
      assert.match(halt?.msg ?? "", /access token.*halted.*restart/);
      assert.deepEqual(
        s.service.scheduler.status().map((j) => [j.name, j.halted]),
        [
          ["shop", false],
          ["refused", true],
        ],
      );
      // `capi-sync runs` shows the stop and why.
      const runs = await runCli(["runs", "--config", ws.loaded.path], {
        env: { META_APP_SECRET: APP_SECRET },
      });
      assert.match(runs.stdout, /refused sync\/live stopped[^\n]*\n\s+Meta rejected the access token/);
    } finally {
      await stop(s);
    }
  });

  it("never writes a token, secret or customer email to the logs, through a full run and an auth failure", async () => {
    emulator.store.reset();
    const ws = await workspace(emulator, { refused: true });
    dirs.push(ws.dir);
    const s = await start(ws, { admin_token: ADMIN_TOKEN });
    try {
      await s.service.scheduler.whenIdle();
      assert.equal((await get(`${s.service.url}/metrics`, ADMIN_TOKEN)).status, 200);
      assert.equal((await get(`${s.service.url}/readyz`, WRONG_TOKEN)).status, 401);
    } finally {
      await stop(s);
    }
    const logs = s.logs();
    assert.ok(logs.split("\n").length > 10, "the run was logged (trace level)");
    assert.match(logs, /"connection":"refused"/);
    assert.match(logs, /run finished/);
    for (const canary of [
      TOKEN,
      WRONG_TOKEN,
      APP_SECRET,
      ADMIN_TOKEN,
      CANARY_EMAIL,
      CANARY_EMAIL.toLowerCase(),
    ]) {
      assert.equal(logs.includes(canary), false, `a canary leaked into the logs`);
    }
    assert.equal(/canary/i.test(logs), false, "no part of any canary");
  });

  it("requires the admin token on /metrics and /readyz when one is set; /healthz stays open", async () => {
    const ws = await workspace(emulator);
    dirs.push(ws.dir);
    const s = await start(ws, { admin_token: ADMIN_TOKEN });
    try {
      await s.service.scheduler.whenIdle();
      for (const path of ["/metrics", "/readyz"]) {
        const without = await get(`${s.service.url}${path}`);
        assert.equal(without.status, 401, path);
        assert.equal(JSON.parse(without.text).error, "unauthorized");
        assert.equal(
          (await get(`${s.service.url}${path}`, `${ADMIN_TOKEN}x`)).status,
          401,
          `${path} wrong token`,
        );
        assert.equal((await get(`${s.service.url}${path}`, ADMIN_TOKEN)).status, 200, `${path} with token`);
      }
      const lower = await fetch(`${s.service.url}/metrics`, {
        headers: { authorization: `bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(lower.status, 200, "the scheme is case-insensitive");
      assert.equal((await get(`${s.service.url}/healthz`)).status, 200);
    } finally {
      await stop(s);
    }
  });

  it("answers 503 on /readyz while the ledger does not answer", async () => {
    const ws = await workspace(emulator);
    dirs.push(ws.dir);
    const ledger = await openLedger(join(ws.dir, "state.db"));
    let ledgerDown = false;
    const flaky = new Proxy(ledger, {
      get(target, property) {
        if (property === "listRuns" && ledgerDown) return async () => Promise.reject(new Error("disk gone"));
        const v: unknown = Reflect.get(target, property, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const running = await startService({
      loaded: ws.loaded,
      service: readServiceConfig({ service: { port: 0 } }),
      ledger: flaky,
      logger: createServiceLogger({ level: "silent" }),
      clock: new FakeClock(Date.now()),
      processMetrics: false,
    });
    try {
      await running.scheduler.whenIdle();
      assert.equal((await get(`${running.url}/readyz`)).status, 200);
      ledgerDown = true;
      const down = await get(`${running.url}/readyz`);
      assert.equal(down.status, 503);
      assert.deepEqual(JSON.parse(down.text), { status: "not ready", ledger: "unreachable" });
      assert.equal((await get(`${running.url}/healthz`)).status, 200, "the process itself is fine");
    } finally {
      ledgerDown = false;
      await running.shutdown({ graceMs: 1000 });
      await ledger.close();
    }
  });

  it("bounds shutdown by the grace period and names the runs it had to abandon", async () => {
    const slow = await startEmulator({
      port: 0,
      datasets: [{ id: DATASET, tokens: [TOKEN] }],
      appSecret: APP_SECRET,
      latencyMs: 600,
    });
    const ws = await workspace(slow);
    dirs.push(ws.dir);
    const s = await start(ws);
    try {
      while (slow.store.requests().length === 0 && s.reports.length === 0)
        await new Promise((r) => setTimeout(r, 10));
      const t0 = Date.now();
      const result = await s.service.shutdown({ graceMs: 50 });
      assert.ok(Date.now() - t0 < 500, "did not wait for the 600 ms answer");
      assert.deepEqual(result, { clean: false, abandoned: ["shop"] });
      assert.match(s.logs(), /grace period over with runs still in flight/);
      // The abandoned run still ends on its own; let it, before the ledger closes under it.
      await s.service.scheduler.settled();
      // Its rows were all read before the signal, so it may complete rather than stop; never fail.
      assert.ok(["completed", "stopped"].includes(String(s.reports[0]?.status)), s.reports[0]?.status);
    } finally {
      await s.ledger.close();
      await slow.close();
    }
  });

  it("refuses to bind a non-loopback address without an admin token", async () => {
    const ws = await workspace(emulator);
    dirs.push(ws.dir);
    const ledger = await openLedger(join(ws.dir, "state.db"));
    try {
      for (const host of ["0.0.0.0", "::", "192.0.2.10", "example.internal"]) {
        await assert.rejects(
          startService({
            loaded: ws.loaded,
            service: readServiceConfig({ service: { host, port: 0 } }),
            ledger,
            logger: createServiceLogger({ level: "silent" }),
            processMetrics: false,
          }),
          (error: unknown) => error instanceof ServiceConfigError && /admin_token/.test(error.message),
          host,
        );
      }
    } finally {
      await ledger.close();
    }
    const out = new PassThrough();
    const err = new PassThrough();
    const code = await serveCommand.run(["--config", ws.loaded.path, "--host", "0.0.0.0", "--port", "0"], {
      stdin: new PassThrough(),
      stdout: out,
      stderr: err,
      env: { META_APP_SECRET: APP_SECRET },
      cwd: ws.dir,
    });
    assert.equal(code, 3);
    assert.match(String(err.read()), /service\.host 0\.0\.0\.0 .*admin_token/);
    assert.equal(out.read(), null, "nothing started, nothing logged");
  });
});
