import type { Writable } from "node:stream";
import type { RunCounts, RunReport } from "../sync/run.ts";

/** The `--json` line of a run: the issue's contract fields first, then what else we know. */
export function jsonReport(report: RunReport): Record<string, unknown> {
  return {
    connection: report.connection,
    rows: report.rows,
    delivered: report.delivered,
    rejected: report.rejected,
    expired: report.expired,
    skipped: report.skipped,
    duration_ms: report.duration_ms,
    pending: report.pending,
    status: report.status,
    run_id: report.runId,
    mode: report.mode,
    ...(report.message && { message: report.message }),
  };
}

export function formatReport(report: RunReport, options: { rejectionsHint?: boolean } = {}): string {
  const seconds = report.duration_ms / 1000;
  const rate = seconds > 0 ? Math.round(report.rows / seconds) : report.rows;
  const lines = [
    `${report.connection}: ${report.status} (run ${report.runId}, ${report.mode}${report.kind === "sync" ? "" : `, ${report.kind}`}) in ${seconds.toFixed(1)} s, ${rate.toLocaleString("en-US")} rows/s`,
    `  rows ${report.rows}  delivered ${report.delivered}  rejected ${report.rejected}  expired ${report.expired}  skipped ${report.skipped}${report.pending ? `  pending ${report.pending}` : ""}`,
  ];
  if (report.message) lines.push(`  ${report.message}`);
  if (report.rejected > 0 && options.rejectionsHint !== false) {
    lines.push(`  see why: capi-sync rejections --run ${report.runId}`);
  }
  return `${lines.join("\n")}\n`;
}

/** A one-line progress display on a terminal; silent when the stream is not a TTY. */
export class ProgressLine {
  readonly #out: Writable & { isTTY?: boolean };
  readonly #label: string;
  #last = 0;
  #shown = false;

  constructor(out: Writable, label: string) {
    this.#out = out;
    this.#label = label;
  }

  readonly update = (counts: RunCounts): void => {
    if (!this.#out.isTTY) return;
    const now = Date.now();
    if (now - this.#last < 200) return;
    this.#last = now;
    this.#shown = true;
    this.#out.write(
      `\r\x1b[2K${this.#label}: ${counts.rows} rows · ${counts.delivered} delivered · ${counts.rejected} rejected · ${counts.skipped} skipped`,
    );
  };

  done(): void {
    if (this.#shown) this.#out.write("\r\x1b[2K");
  }
}
