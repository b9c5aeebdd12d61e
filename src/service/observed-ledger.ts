// A view of a ledger that reports the outcomes it durably recorded: the metrics count rejections by
// code from what the ledger holds, without reaching into the pipeline.
import type { Ledger, Outcome } from "../ledger/index.ts";

export function observeOutcomes(ledger: Ledger, onRecorded: (outcomes: readonly Outcome[]) => void): Ledger {
  const recordOutcomes: Ledger["recordOutcomes"] = async (runId, outcomes, response) => {
    const result = await ledger.recordOutcomes(runId, outcomes, response);
    onRecorded(outcomes);
    return result;
  };
  return new Proxy(ledger, {
    get(target, property) {
      if (property === "recordOutcomes") return recordOutcomes;
      const value: unknown = Reflect.get(target, property, target);
      // Bound to the real ledger: its methods use private fields, which a proxy receiver lacks.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
