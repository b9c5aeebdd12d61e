// The scheduler on a fake clock: hours of cron schedule in milliseconds of test.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeClock } from "../../src/service/clock.ts";
import {
  type RunTrigger,
  type RunVerdict,
  ScheduleError,
  Scheduler,
  type SchedulerOptions,
} from "../../src/service/scheduler.ts";

const MINUTE = 60_000;
const T0 = Date.parse("2030-03-04T10:02:00Z");

interface Started {
  readonly name: string;
  readonly at: string;
  readonly trigger: RunTrigger;
  readonly signal: AbortSignal;
  finish(verdict?: RunVerdict): void;
}

/** A fake run function: records each start; each run lasts until the test finishes it (or instantly). */
function harness(options: { instant?: boolean; verdict?: (name: string) => RunVerdict } = {}) {
  const started: Started[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const run = (name: string, signal: AbortSignal, trigger: RunTrigger): Promise<RunVerdict> => {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    return new Promise<RunVerdict>((resolve) => {
      const finish = (verdict: RunVerdict = "continue") => {
        concurrent--;
        resolve(verdict);
      };
      started.push({ name, at: new Date(clock.now()).toISOString(), trigger, signal, finish });
      if (options.instant) finish(options.verdict?.(name));
    });
  };
  const clock = new FakeClock(T0);
  return {
    clock,
    started,
    run,
    get maxConcurrent() {
      return maxConcurrent;
    },
  };
}

function scheduler(
  h: ReturnType<typeof harness>,
  connections: SchedulerOptions["connections"],
  lastCompleted: Record<string, string | undefined> = {},
): Scheduler {
  return new Scheduler({
    connections,
    run: h.run,
    lastCompletedRunStart: async (name) => {
      const at = lastCompleted[name];
      return at === undefined ? undefined : new Date(at);
    },
    clock: h.clock,
    timezone: "UTC",
  });
}

describe("scheduler", () => {
  it("fires each connection at its cron times, and only then", async () => {
    const h = harness({ instant: true });
    const s = scheduler(
      h,
      [
        { name: "every5", schedule: "*/5 * * * *" },
        { name: "hourly", schedule: "0 * * * *" },
      ],
      // Both completed a run after their previous fire time: nothing to catch up.
      { every5: "2030-03-04T10:00:30Z", hourly: "2030-03-04T10:00:10Z" },
    );
    await s.start();
    assert.equal(h.started.length, 0, "no run at start-up when none was missed");
    await h.clock.advance(60 * MINUTE);
    assert.deepEqual(h.started.map((r) => `${r.name}@${r.at.slice(11, 16)}`).sort(), [
      "every5@10:05",
      "every5@10:10",
      "every5@10:15",
      "every5@10:20",
      "every5@10:25",
      "every5@10:30",
      "every5@10:35",
      "every5@10:40",
      "every5@10:45",
      "every5@10:50",
      "every5@10:55",
      "every5@11:00",
      "hourly@11:00",
    ]);
    assert.ok(h.started.every((r) => r.trigger === "schedule"));
    s.stop();
  });

  it("never overlaps a slow run: fire times during it become one follow-up run", async () => {
    const h = harness();
    const s = scheduler(h, [{ name: "slow", schedule: "* * * * *" }], { slow: "2030-03-04T10:01:30Z" });
    await s.start();
    await h.clock.advance(1 * MINUTE); // 10:03: first run starts
    assert.equal(h.started.length, 1);
    await h.clock.advance(4 * MINUTE); // 10:04…10:07 fire while it runs
    assert.equal(h.started.length, 1, "no second run while the first is in flight");
    assert.deepEqual(
      s.status().map((j) => [j.running, j.queued]),
      [[true, true]],
    );
    h.started[0]?.finish();
    await h.clock.advance(0);
    assert.equal(h.started.length, 2, "exactly one follow-up run for the four missed fire times");
    assert.equal(h.started[1]?.trigger, "queued");
    assert.equal(h.started[1]?.at, "2030-03-04T10:07:00.000Z", "it starts as soon as the slow run ends");
    h.started[1]?.finish();
    await h.clock.advance(1 * MINUTE);
    assert.equal(h.started.length, 3, "then back to the schedule");
    assert.equal(h.started[2]?.at, "2030-03-04T10:08:00.000Z");
    h.started[2]?.finish();
    assert.equal(h.maxConcurrent, 1);
    s.stop();
  });

  it("runs a fire time missed while down once at start-up, judged from the last completed run", async () => {
    const cases: Array<[string, string | undefined, number]> = [
      // previous fire of "0 * * * *" at 10:02 is 10:00
      ["last completed run before the previous fire time", "2030-03-04T09:00:05Z", 1],
      ["several fire times missed: still one run", "2030-03-01T00:00:00Z", 1],
      ["never ran", undefined, 1],
      ["completed run after the previous fire time", "2030-03-04T10:00:01Z", 0],
    ];
    for (const [label, last, expected] of cases) {
      const h = harness({ instant: true });
      const s = scheduler(h, [{ name: "hourly", schedule: "0 * * * *" }], { hourly: last });
      await s.start();
      await h.clock.advance(0);
      assert.equal(h.started.length, expected, label);
      if (expected === 1) {
        assert.equal(h.started[0]?.trigger, "missed", label);
        assert.equal(h.started[0]?.at, "2030-03-04T10:02:00.000Z", `${label}: at start-up`);
      }
      await h.clock.advance(58 * MINUTE);
      assert.equal(h.started.length, expected + 1, `${label}: then the 11:00 fire time`);
      s.stop();
    }
  });

  it("stops scheduling on stop(); runs in flight get their signal aborted and are awaited", async () => {
    const h = harness();
    const s = scheduler(h, [{ name: "a", schedule: "*/10 * * * *" }], { a: "2030-03-04T10:00:01Z" });
    await s.start();
    await h.clock.advance(8 * MINUTE); // 10:10 run starts
    const [run] = h.started;
    assert.ok(run);
    s.stop();
    assert.equal(h.clock.pendingTimers, 0, "no timer left armed");
    s.abortRuns(new Error("shutting down"));
    assert.equal(run.signal.aborted, true);
    let settled = false;
    const done = s.settled().then(() => {
      settled = true;
    });
    await h.clock.advance(0);
    assert.equal(settled, false, "waits for the run in flight");
    run.finish();
    await done;
    await h.clock.advance(120 * MINUTE);
    assert.equal(h.started.length, 1, "nothing runs after stop");
    s.trigger("a");
    assert.equal(h.started.length, 1, "not even on demand");
  });

  it("halts a connection whose run says so, and keeps the others on schedule", async () => {
    const h = harness({ instant: true, verdict: (name) => (name === "refused" ? "halt" : "continue") });
    const s = scheduler(
      h,
      [
        { name: "refused", schedule: "*/5 * * * *" },
        { name: "fine", schedule: "*/5 * * * *" },
      ],
      { refused: "2030-03-04T10:00:01Z", fine: "2030-03-04T10:00:01Z" },
    );
    await s.start();
    await h.clock.advance(13 * MINUTE); // 10:05, 10:10, 10:15
    assert.deepEqual(
      h.started.map((r) => r.name),
      ["refused", "fine", "fine", "fine"],
    );
    assert.deepEqual(
      s.status().map((j) => [j.name, j.halted, j.nextRun?.toISOString()]),
      [
        ["refused", true, undefined],
        ["fine", false, "2030-03-04T10:20:00.000Z"],
      ],
    );
    s.stop();
  });

  it("refuses an unusable cron expression, naming the connection", () => {
    const h = harness();
    assert.throws(
      () => scheduler(h, [{ name: "typo", schedule: "every 5 minutes" }]),
      (error: unknown) =>
        error instanceof ScheduleError && error.message.startsWith("connections.typo.schedule:"),
    );
  });

  it("whenIdle waits for the runs it started", async () => {
    const h = harness();
    const s = scheduler(h, [{ name: "a", schedule: "0 0 1 1 *" }]);
    await s.start(); // never ran: catches up now
    let idle = false;
    const waiting = s.whenIdle().then(() => {
      idle = true;
    });
    await h.clock.advance(0);
    assert.equal(idle, false);
    h.started[0]?.finish();
    await waiting;
    assert.equal(idle, true);
    s.stop();
  });
});
