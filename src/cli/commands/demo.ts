import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connectionSchema } from "../../config/schema.ts";
import { startEmulator } from "../../emulator/index.ts";
import { openLedger } from "../../ledger/index.ts";
import { runConnection } from "../../sync/run.ts";
import { parseCommandArgs, parseInteger } from "../args.ts";
import { type Command, EXIT } from "../command.ts";
import { formatReport } from "../report.ts";
import { type SampleRow, samplePurchases, toCsv } from "../sample-data.ts";
import { exitCodeFor, runWithProgress } from "./sync.ts";

const DATASET_ID = "123456789012345";
const DEMO_TOKEN = "demo-token-not-a-secret";

export const demoCommand: Command = {
  name: "demo",
  usage: `Usage: capi-sync demo [--rows N] [--dir DIR]

Starts the Meta endpoint emulator in-process, writes a sample purchases CSV (realistic, messy customer
data, plus a few rows Meta would refuse), syncs it, prints what happened to every row, then syncs
again to show that nothing is delivered twice. Nothing leaves this machine.

Options:
  --rows N   sample rows (default 5000)
  --dir DIR  keep the sample data and ledger here (default: a new temporary directory)`,

  async run(argv, io) {
    const { values } = parseCommandArgs(argv, { rows: { type: "string" }, dir: { type: "string" } });
    const rows = parseInteger(values.rows, "--rows") ?? 5000;
    const dir = values.dir ? resolve(io.cwd, values.dir) : await mkdtemp(join(tmpdir(), "capi-sync-demo-"));
    await mkdir(join(dir, "data"), { recursive: true });
    const nowSeconds = Math.floor(Date.now() / 1000);
    await writeFile(
      join(dir, "data/purchases.csv"),
      toCsv(withFlawedRows(samplePurchases(rows, nowSeconds), nowSeconds)),
    );

    const emulator = await startEmulator({ port: 0, datasets: [{ id: DATASET_ID, tokens: [DEMO_TOKEN] }] });
    const ledger = await openLedger(join(dir, "state.db"));
    try {
      io.stdout.write(`capi-sync demo: ${rows} sample rows in ${join(dir, "data/purchases.csv")}\n`);
      io.stdout.write(`Meta endpoint emulator at ${emulator.url} (dataset ${DATASET_ID})\n\n`);
      const connection = connectionSchema.parse({
        source: { kind: "csv", path: "data/purchases.csv" },
        key: "order_id",
        mapping: { preset: "columns" },
        destination: { dataset_id: DATASET_ID, access_token: DEMO_TOKEN, graph_url: emulator.url },
      });
      const sync = () =>
        runWithProgress(io, false, (onProgress) =>
          runConnection({
            name: "demo_purchases",
            connection,
            defaults: { default_country: "US" },
            baseDir: dir,
            ledger,
            ...(onProgress && { onProgress }),
          }),
        );

      const first = await sync();
      io.stdout.write(`First run:\n${formatReport(first, { rejectionsHint: false })}`);
      const reasons = new Map<string, number>();
      for (const r of await ledger.rejections({ runId: first.runId, limit: 10_000 })) {
        const where = r.path ? ` at ${r.path}` : "";
        const label = `${r.message} [${r.code ?? "?"}${r.subcode ? `/${r.subcode}` : ""}${where}]`;
        reasons.set(label, (reasons.get(label) ?? 0) + 1);
      }
      if (reasons.size > 0) {
        io.stdout.write("  rejected, by reason (from the ledger; no values are ever stored):\n");
        for (const [label, count] of [...reasons].sort((a, b) => b[1] - a[1])) {
          io.stdout.write(`    ${String(count).padStart(5)} × ${label}\n`);
        }
      }
      const stats = emulator.store.stats()[DATASET_ID]?.live;
      io.stdout.write(
        `  the emulator received ${stats?.received ?? 0} events (${stats?.unique ?? 0} unique) in ${stats?.batches ?? 0} requests\n\n`,
      );

      const second = await sync();
      io.stdout.write(`Second run (same data):\n${formatReport(second)}`);
      io.stdout.write(
        `  nothing is sent twice: ${second.delivered} delivered, ${second.skipped} skipped as already accounted for\n\n`,
      );
      io.stdout.write(
        `Ledger: ${join(dir, "state.db")}\nNext: \`capi-sync init\` writes a config for your own data; \`capi-sync emulator\` runs this endpoint on its own.\n`,
      );
      return exitCodeFor([first, second]);
    } catch (error) {
      io.stderr.write(`capi-sync demo: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.invalidInput;
    } finally {
      await ledger.close();
      await emulator.close();
    }
  },
};

/** Only city, state, zip and country are left: a combination Meta calls too broad (2804050). */
const TOO_LITTLE_TO_MATCH = {
  email: "",
  phone: "",
  external_id: "",
  first_name: "",
  last_name: "",
  client_ip_address: "",
  client_user_agent: "",
  action_source: "physical_store",
};

/** A few rows of the kinds real exports contain and Meta refuses, so the demo shows each outcome. */
function* withFlawedRows(rows: Iterable<SampleRow>, nowSeconds: number): Generator<SampleRow> {
  let i = 0;
  for (const row of rows) {
    i++;
    if (i % 500 === 250)
      yield { ...row, event_name: "Purchase", value: "" }; // Purchase without a value
    else if (i % 500 === 330)
      yield { ...row, event_time: String(nowSeconds - 9 * 86_400), action_source: "website" }; // too old
    else if (i % 500 === 410) yield { ...row, ...TOO_LITTLE_TO_MATCH };
    else yield row;
  }
}
