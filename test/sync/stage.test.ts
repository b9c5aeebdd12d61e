// The delivery stage and its worker thread: the same results on a worker as inline, reading bounded
// by what the client has taken, errors, interrupts and log records crossing the thread boundary.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { samplePurchases, toCsv } from "../../src/cli/sample-data.ts";
import { connectionSchema } from "../../src/config/schema.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { type Ledger, openLedger } from "../../src/ledger/index.ts";
import { DeliveryStage } from "../../src/sync/delivery-stage.ts";
import { compileConnection } from "../../src/sync/prepare.ts";
import {
  CHUNK_SENT_CHANNEL,
  type RunConnectionOptions,
  type RunReport,
  runConnection,
} from "../../src/sync/run.ts";
import type { StageOutbound, StageSetup } from "../../src/sync/stage-protocol.ts";

const DATASET = "5150515051";
const TOKEN = "stage-test-token-9c1e";
const NOW = Math.floor(Date.now() / 1000);
const ROWS = 2500;

/**
 * 2,500 sample purchases over three chunks, plus: a record with too few fields (unreadable), a row
 * without its key, a Purchase without value (invalid), row 13 again at row 31 (a repeat in the same
 * chunk) and row 11 again at row 1,502 (a repeat in a later chunk).
 */
function messyCsv(): string {
  const rows = [...samplePurchases(ROWS, NOW)];
  rows[4] = { ...(rows[4] as (typeof rows)[number]), event_name: "Purchase", value: "" };
  rows[6] = { ...(rows[6] as (typeof rows)[number]), order_id: "" };
  rows.splice(1500, 0, rows[10] as (typeof rows)[number]);
  rows.splice(30, 0, rows[12] as (typeof rows)[number]);
  const lines = toCsv(rows).split("\n");
  lines.splice(20, 0, "ORD-broken,Purchase");
  return lines.join("\n");
}
/** Valid, distinct rows: all but the invalid one, the keyless one and the repeats. */
const DELIVERABLE = ROWS - 2;

/** An emulator of a test's own, answering after `latencyMs`, for `datasets` with the test's token. */
const slowEmulator = (latencyMs: number, datasets: readonly string[] = [DATASET]) =>
  startEmulator({ port: 0, latencyMs, datasets: datasets.map((id) => ({ id, tokens: [TOKEN] })) });

describe("delivery stage", () => {
  let emulator: RunningEmulator;
  let dir: string;
  const ledgers: Ledger[] = [];
  before(async () => {
    emulator = await startEmulator({ port: 0, datasets: [{ id: DATASET, tokens: [TOKEN] }] });
    dir = await mkdtemp(join(tmpdir(), "capi-sync-stage-"));
    await writeFile(join(dir, "rows.csv"), messyCsv());
  });
  after(async () => {
    await Promise.all(ledgers.map((ledger) => ledger.close()));
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  });

  const connection = (source: Record<string, unknown> = { kind: "csv", path: "rows.csv" }, extra = {}) =>
    connectionSchema.parse({
      source,
      key: "order_id",
      destination: { dataset_id: DATASET, access_token: TOKEN, graph_url: emulator.url, ...extra },
    });

  async function run(
    ledgerName: string,
    options: Partial<RunConnectionOptions> = {},
  ): Promise<{ report: RunReport; ledger: Ledger }> {
    const ledger = await openLedger(join(dir, `${ledgerName}.db`));
    ledgers.push(ledger);
    const report = await runConnection({
      name: "orders",
      connection: connection(),
      defaults: { default_country: "US" },
      baseDir: dir,
      ledger,
      ...options,
    });
    return { report, ledger };
  }

  const comparable = ({ runId: _runId, duration_ms: _ms, ...rest }: RunReport) => rest;

  /**
   * A run against an emulator of its own that answers after 20 ms, with one batch of 100 in flight:
   * the worker's client is the bottleneck, so the worker has no room for long.
   */
  async function runAgainstSlowMeta(ledgerName: string, options: Partial<RunConnectionOptions> = {}) {
    const slow = await slowEmulator(20);
    try {
      const { report } = await run(ledgerName, {
        connection: connection(undefined, { graph_url: slow.url }),
        client: { window: 1, maxBatchEvents: 100 },
        ...options,
      });
      return { report, duplicates: slow.store.stats()[DATASET]?.live.duplicates };
    } finally {
      await slow.close();
    }
  }

  it("gives the same report, ledger and deliveries on a worker thread as inline", async () => {
    emulator.store.reset();
    const inline = await run("inline", { worker: false });
    assert.equal(emulator.store.stats()[DATASET]?.live.unique, DELIVERABLE);
    emulator.store.reset();
    const threaded = await run("worker", { worker: true });
    assert.equal(emulator.store.stats()[DATASET]?.live.unique, DELIVERABLE);
    assert.equal(emulator.store.stats()[DATASET]?.live.duplicates, 0);

    assert.deepEqual(comparable(threaded.report), comparable(inline.report));
    assert.equal(threaded.report.status, "completed", threaded.report.message);
    assert.equal(threaded.report.rows, ROWS + 3);
    assert.equal(threaded.report.delivered, DELIVERABLE);
    assert.equal(threaded.report.rejected, 3, "unreadable record, missing key, Purchase without value");
    assert.equal(threaded.report.skipped, 2, "the repeated keys");
    assert.equal(threaded.report.pending, 0);
    const counts = await threaded.ledger.countsByState("orders");
    assert.deepEqual(counts, await inline.ledger.countsByState("orders"));
    assert.equal(counts.delivered, DELIVERABLE);
    const codes = (await threaded.ledger.rejections({ connection: "orders" })).map((r) => r.code).sort();
    assert.deepEqual(codes, ["csv.field_count", "custom_data.value.missing", "row.key"].sort());
  });

  it("gives the same report, ledger and payloads when the run's thread evaluates every chunk", async () => {
    /** What Meta received, by event_id, with the receipt's own fields left out. */
    const received = () =>
      new Map(
        emulator.store
          .events(DATASET)
          .map(({ event }) => [(event as { event_id: string }).event_id, JSON.stringify(event)]),
      );
    emulator.store.reset();
    const inline = await run("inline-payloads", { worker: false });
    const inlineEvents = received();
    emulator.store.reset();
    const here = await run("evaluated-here", { worker: true, evaluateHere: "always" });
    const hereEvents = received();

    assert.deepEqual(comparable(here.report), comparable(inline.report));
    assert.equal(here.report.delivered, DELIVERABLE);
    assert.equal(hereEvents.size, DELIVERABLE);
    assert.deepEqual(hereEvents, inlineEvents, "byte for byte the events the stage would have sent");
    assert.deepEqual(await here.ledger.countsByState("orders"), await inline.ledger.countsByState("orders"));
    const codes = (await here.ledger.rejections({ connection: "orders" })).map((r) => r.code).sort();
    assert.deepEqual(codes, ["csv.field_count", "custom_data.value.missing", "row.key"].sort());
  });

  /** What the run published of each chunk it sent while `work` ran. */
  async function chunksSentDuring(work: () => Promise<void>) {
    const chunks: Array<{ evaluatedHere: boolean; workerChunks: number }> = [];
    const listen = (message: unknown) =>
      chunks.push(message as { evaluatedHere: boolean; workerChunks: number });
    subscribe(CHUNK_SENT_CHANNEL, listen);
    try {
      await work();
    } finally {
      unsubscribe(CHUNK_SENT_CHANNEL, listen);
    }
    return chunks;
  }

  it("evaluates chunks on the run's thread only while the worker has no room (when-busy)", async () => {
    const chunks = await chunksSentDuring(async () => {
      const { report, duplicates } = await runAgainstSlowMeta("when-busy");
      assert.equal(report.status, "completed", report.message);
      assert.equal(report.delivered, DELIVERABLE);
      assert.equal(duplicates, 0);
    });
    // A worker held back by a slow Meta has no room: chunks are evaluated here, but only while
    // the worker holds its three, and rows go to the worker whenever it has room.
    assert.ok(
      chunks.some((c) => c.evaluatedHere),
      "some chunks were evaluated on the run's thread",
    );
    assert.ok(chunks.some((c) => !c.evaluatedHere));
    for (const { evaluatedHere, workerChunks } of chunks) {
      assert.equal(
        evaluatedHere,
        workerChunks >= 3,
        `evaluated here: ${evaluatedHere}, worker had ${workerChunks}`,
      );
    }

    const never = await chunksSentDuring(async () => {
      emulator.store.reset();
      const { report } = await run("never-here", { worker: true, evaluateHere: "never" });
      assert.equal(report.delivered, DELIVERABLE);
    });
    assert.ok(never.length > 0 && never.every((c) => !c.evaluatedHere), "never: all chunks to the worker");
  });

  it("turns a source failure into a failed run that names the source problem", async () => {
    const ledger = await openLedger(join(dir, "missing.db"));
    ledgers.push(ledger);
    const report = await runConnection({
      name: "orders",
      connection: connection({ kind: "csv", path: "no-such-file.csv" }),
      baseDir: dir,
      ledger,
    });
    assert.equal(report.status, "failed");
    assert.equal(report.stopKind, "source");
    assert.match(report.message ?? "", /no-such-file\.csv.*not found/);
  });

  it("ends a run whose client fails while rows are still read: failed, and reading stops", async () => {
    // A hook that throws fails the client at its first request; the stage then takes no more rows,
    // and the run, waiting for room, must hear the stage's end rather than wait for ever.
    const total = 50_000;
    await writeFile(join(dir, "many.csv"), toCsv([...samplePurchases(total, NOW)]));
    let requests = 0;
    const ended = run("failing-client", {
      connection: connection({ kind: "csv", path: "many.csv" }),
      worker: false,
      client: {
        maxBatchEvents: 100,
        onRequest: () => {
          requests++;
          throw new Error("hook blew up");
        },
      },
    });
    const timeout = new Promise<"hung">((resolve) => setTimeout(resolve, 20_000, "hung").unref());
    const outcome = await Promise.race([ended, timeout]);
    assert.notEqual(outcome, "hung", "the run ended");
    const { report } = outcome as Awaited<typeof ended>;
    assert.equal(report.status, "failed");
    assert.equal(report.stopKind, "error");
    assert.ok(requests >= 1);
    assert.ok(report.rows < total / 2, `reading stopped (${report.rows} of ${total} rows read)`);
    assert.equal(report.delivered, 0);
  });

  it("ends a routed run whose second dataset's client fails as failed, with no unhandled rejection", async () => {
    const other = "6160616061";
    // Answers slow enough that the first dataset is still sending when the second one fails.
    const routed = await slowEmulator(300, [DATASET, other]);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      // Every other row names the other dataset, in a column of its own; the first row names the
      // healthy one, whose lane the stage then awaits first at its end.
      const lines = toCsv(samplePurchases(3000, NOW)).trimEnd().split("\n");
      const routedCsv = lines.map((line, i) =>
        i === 0 ? `${line},ds` : `${line},${i % 2 ? DATASET : other}`,
      );
      await writeFile(join(dir, "routed.csv"), `${routedCsv.join("\n")}\n`);
      const { report } = await run("routed-failing", {
        connection: connectionSchema.parse({
          source: { kind: "csv", path: "routed.csv" },
          key: "order_id",
          mapping: { fields: { dataset_id: "ds" } },
          destination: { access_token: TOKEN, graph_url: routed.url },
        }),
        worker: false,
        client: {
          maxBatchEvents: 100,
          onRequest: (request) => {
            if (request.datasetId === other) throw new Error("hook blew up");
          },
        },
      });
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      assert.equal(report.status, "failed");
      assert.equal(report.stopKind, "error");
      assert.equal(
        report.rows,
        report.delivered + report.pending + report.rejected + report.expired + report.skipped,
      );
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await routed.close();
    }
  });

  it("on an interrupt stops reading, records what Meta answered, and leaves the rest to the next run", async () => {
    emulator.store.reset();
    const abort = new AbortController();
    const first = await run("interrupted", {
      signal: abort.signal,
      client: { window: 1, maxBatchEvents: 100 },
      onProgress: (counts) => {
        if (counts.delivered > 0) abort.abort();
      },
    });
    assert.equal(first.report.status, "stopped");
    assert.equal(first.report.stopKind, "aborted");
    assert.ok(
      first.report.delivered > 0 && first.report.delivered < DELIVERABLE,
      `${first.report.delivered}`,
    );
    assert.equal((await first.ledger.countsByState("orders")).delivered, first.report.delivered);
    assert.equal(emulator.store.stats()[DATASET]?.live.unique, first.report.delivered);

    const ledger = first.ledger;
    const second = await runConnection({
      name: "orders",
      connection: connection(),
      defaults: { default_country: "US" },
      baseDir: dir,
      ledger,
    });
    assert.equal(second.status, "completed");
    assert.equal(first.report.delivered + second.delivered, DELIVERABLE);
    assert.equal(emulator.store.stats()[DATASET]?.live.unique, DELIVERABLE);
    assert.equal(emulator.store.stats()[DATASET]?.live.duplicates, 0, "nothing answered was sent again");
  });

  it("forwards the client's log records from the worker, with no token in them", async () => {
    emulator.store.reset();
    const records: Array<{ level: string; fields: object; message: string | undefined }> = [];
    const log = (level: string) => (fields: object, message?: string) => {
      records.push({ level, fields, message });
    };
    const { report } = await run("logged", {
      logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    });
    assert.equal(report.status, "completed");
    const finished = records.find((r) => r.message === "delivery finished");
    assert.ok(finished, "the client's summary arrived");
    assert.equal((finished.fields as { delivered?: number }).delivered, DELIVERABLE);
    assert.ok(!JSON.stringify(records).includes(TOKEN));
  });

  it("runs inline when the client settings hold functions, which cannot cross to a worker", async () => {
    emulator.store.reset();
    const requests: number[] = [];
    const { report } = await run("hooked", { client: { onRequest: (r) => requests.push(r.events) } });
    assert.equal(report.status, "completed");
    assert.equal(
      requests.reduce((sum, events) => sum + events, 0),
      DELIVERABLE,
    );
  });

  it("reads only a few chunks ahead of what the client has taken", async () => {
    let mostUnsettled = 0;
    const { report } = await runAgainstSlowMeta("bounded", {
      onProgress: (counts) => {
        const settled = counts.delivered + counts.rejected + counts.expired + counts.skipped + counts.pending;
        mostUnsettled = Math.max(mostUnsettled, counts.rows - settled);
      },
    });
    assert.equal(report.status, "completed");
    assert.equal(report.delivered, DELIVERABLE);
    // Read but unsettled: the chunk being judged, three sent ahead as rows and four evaluated on
    // the run's thread (256 rows each), the client's two batches and its hand-off queue. Without
    // back-pressure the whole file would be read at once.
    assert.ok(mostUnsettled <= 8 * 256 + 2 * 100 + 256, `at most ${mostUnsettled} rows in the pipeline`);
    assert.ok(mostUnsettled >= 1000, "the pipeline did fill");
  });

  /** A stage set-up with a small client window and hand-off queue, unless `overrides` say otherwise. */
  const stageSetup = (overrides: Partial<StageSetup> = {}): StageSetup => ({
    name: "orders",
    connection: connection(),
    defaults: { default_country: "US" },
    baseDir: dir,
    client: { window: 1, maxBatchEvents: 10 },
    logs: false,
    channelEvents: 5,
    ...overrides,
  });

  /** A running stage whose messages are kept in `posted`; `heard()` resolves at the next one. */
  function recordingStage(setup: StageSetup, options?: ConstructorParameters<typeof DeliveryStage>[2]) {
    const posted: StageOutbound[] = [];
    let notify: (() => void) | undefined;
    const stage = new DeliveryStage(
      setup,
      (message) => {
        posted.push(message);
        notify?.();
      },
      options,
    );
    const heard = () => new Promise<void>((resolve) => (notify = resolve));
    return { stage, posted, done: stage.run(), heard };
  }

  /** Events the stage said it handed, and the answers and pending keys it gave for them. */
  function tally(posted: StageOutbound[]): { handed: number; settled: number } {
    let handed = 0;
    let settled = 0;
    for (const m of posted) {
      if (m.type === "taken" || m.type === "outcomes") handed += m.handed;
      if (m.type === "outcomes")
        settled += m.answers.reduce((n, g) => n + g.keys.length, 0) + m.pending.length;
    }
    return { handed, settled };
  }

  const heldRows = (count: number) =>
    [...samplePurchases(count, NOW)].map((row, i) => ({ row, rowNumber: i + 1, key: `["${row.order_id}"]` }));

  it("tells the run when a chunk is with the client, and drops queued chunks on stop", async () => {
    const { stage, posted, done, heard } = recordingStage(stageSetup());
    const rows = heldRows(300);
    for (let seq = 0; seq < 3; seq++) {
      stage.receive({ type: "rows", seq, rows: rows.slice(seq * 100, seq * 100 + 100), nowSeconds: NOW });
    }
    const taken = () => posted.filter((m) => m.type === "taken");
    while (taken().length === 0) await heard();
    stage.receive({ type: "stop" });
    await done;
    assert.deepEqual(
      taken().map((m) => (m.type === "taken" ? m.seq : -1)),
      [0],
      "the first chunk was taken, the queued ones dropped",
    );
    assert.ok(
      posted.filter((m) => m.type === "outcomes" && m.handed > 0).length <= 1,
      "a chunk's hand-off is told with its `taken`; only a chunk cut short by the stop tells it alone",
    );
    const { handed, settled: answered } = tally(posted);
    assert.ok(handed >= 100 && handed < 300, `the third chunk was never handed to the client (${handed})`);
    assert.equal(answered, handed, "every handed event was answered before the end");
    assert.deepEqual(posted.at(-1), { type: "end" });
  });

  it("tells what a chunk handed before a failure in its second slice", async () => {
    const setup = stageSetup({ client: undefined, channelEvents: 1000 });
    const compiled = compileConnection(setup.name, setup.connection, setup.defaults);
    const failing = {
      ...compiled,
      evaluate: (row: Parameters<typeof compiled.evaluate>[0], rowNumber: number, now: number) => {
        if (rowNumber === 200) throw new Error("mapping blew up");
        return compiled.evaluate(row, rowNumber, now);
      },
    };
    const { stage, posted, done } = recordingStage(setup, { compiled: failing });
    stage.receive({ type: "rows", seq: 0, rows: heldRows(300), nowSeconds: NOW });
    stage.receive({ type: "finish" });
    await done;
    const end = posted.at(-1);
    assert.equal(end?.type === "end" ? end.error?.message : undefined, "mapping blew up");
    const { handed, settled } = tally(posted);
    assert.equal(handed, 128, "the first slice was handed and told");
    assert.equal(settled, handed, "every told event was answered or left pending");
  });

  it("tells what a chunk handed when a stop cuts it short", async () => {
    const slow = await slowEmulator(50);
    try {
      const setup = stageSetup({ connection: connection(undefined, { graph_url: slow.url }) });
      const { stage, posted, done, heard } = recordingStage(setup);
      stage.receive({ type: "rows", seq: 0, rows: heldRows(300), nowSeconds: NOW });
      // The client answers its first batch while the first slice is still being handed over.
      while (!posted.some((m) => m.type === "outcomes" && m.answers.length > 0)) await heard();
      stage.receive({ type: "stop" });
      await done;
      assert.equal(posted.filter((m) => m.type === "taken").length, 0, "the chunk was never all taken");
      const { handed, settled } = tally(posted);
      assert.ok(handed > 0 && handed < 300, `part of the chunk was handed (${handed})`);
      assert.equal(settled, handed, "every told event was answered or left pending");
    } finally {
      await slow.close();
    }
  });
});
