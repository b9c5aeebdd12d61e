// Runs each scheduled connection at its cron times. A connection never runs twice at once: fire
// times that pass while it runs collapse into ONE follow-up run, started as soon as the current one
// ends (queue one, never overlap). A fire time missed while the service was down (no completed run
// since the schedule's previous fire time) runs once at start-up. Timers come from a Clock, so tests
// drive hours of schedule with a fake one.
import { Cron } from "croner";
import type { Logger } from "../meta/graph/index.ts";
import { type Clock, systemClock } from "./clock.ts";

/** Why a run started: its fire time, a fire time missed while the service was down, or fires queued during a run. */
export type RunTrigger = "schedule" | "missed" | "queued";

/** `halt`: the connection cannot run again as configured (Meta refused its token): stop scheduling it. */
export type RunVerdict = "continue" | "halt";

export interface ScheduledConnection {
  readonly name: string;
  /** Cron expression (5 fields, or 6 with seconds). */
  readonly schedule: string;
}

export interface SchedulerOptions {
  readonly connections: readonly ScheduledConnection[];
  /** Runs one connection once; aborting `signal` asks it to stop reading and finish its batches. */
  readonly run: (name: string, signal: AbortSignal, trigger: RunTrigger) => Promise<RunVerdict>;
  /** Start of the connection's newest completed scheduled-kind run, if any: decides the catch-up. */
  readonly lastCompletedRunStart: (name: string) => Promise<Date | undefined>;
  readonly clock?: Clock;
  /** IANA zone the cron expressions are read in; default the process's. */
  readonly timezone?: string;
  readonly logger?: Logger;
}

/** A schedule that cannot be used; names the connection and croner's reason. */
export class ScheduleError extends Error {
  override readonly name = "ScheduleError";
}

export interface JobStatus {
  readonly name: string;
  readonly running: boolean;
  readonly queued: boolean;
  readonly halted: boolean;
  readonly nextRun: Date | undefined;
}

interface Job {
  readonly name: string;
  readonly cron: Cron;
  nextFire: number | undefined;
  cancelTimer: (() => void) | undefined;
  running: { readonly controller: AbortController; readonly done: Promise<void> } | undefined;
  queued: boolean;
  halted: boolean;
}

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #clock: Clock;
  readonly #jobs = new Map<string, Job>();
  #stopped = false;
  #idleWaiters: Array<() => void> = [];

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    for (const { name, schedule } of options.connections) {
      let cron: Cron;
      try {
        cron = new Cron(schedule, { ...(options.timezone && { timezone: options.timezone }) });
      } catch (error) {
        const reason = error instanceof Error ? error.message : "not a cron expression";
        throw new ScheduleError(`connections.${name}.schedule: ${reason}`);
      }
      if (cron.nextRun(new Date(this.#clock.now())) === null) {
        throw new ScheduleError(`connections.${name}.schedule: never fires again`);
      }
      this.#jobs.set(name, {
        name,
        cron,
        nextFire: undefined,
        cancelTimer: undefined,
        running: undefined,
        queued: false,
        halted: false,
      });
    }
  }

  /** Runs connections that missed a fire time while the service was down, then arms every timer. */
  async start(): Promise<void> {
    for (const job of this.#jobs.values()) {
      if (this.#stopped) return;
      if (await this.#missedAFire(job)) this.#trigger(job, "missed");
      this.#arm(job, this.#clock.now());
    }
  }

  /** No new runs from now on: timers cancelled, queued follow-ups dropped. Runs in flight go on. */
  stop(): void {
    this.#stopped = true;
    for (const job of this.#jobs.values()) {
      job.cancelTimer?.();
      job.cancelTimer = undefined;
      job.nextFire = undefined;
      job.queued = false;
    }
    this.#notifyIfIdle();
  }

  /** Aborts the signal of every run in flight (they stop reading and finish their current batches). */
  abortRuns(reason?: unknown): void {
    for (const job of this.#jobs.values()) job.running?.controller.abort(reason);
  }

  /** Names of the connections running now. */
  get running(): string[] {
    return [...this.#jobs.values()].filter((j) => j.running !== undefined).map((j) => j.name);
  }

  /** Resolves when no run is in flight and none is queued. */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  status(): JobStatus[] {
    return [...this.#jobs.values()].map((job) => ({
      name: job.name,
      running: job.running !== undefined,
      queued: job.queued,
      halted: job.halted,
      nextRun: job.nextFire === undefined ? undefined : new Date(job.nextFire),
    }));
  }

  /** Starts a run now, or queues one if the connection is running (the same rule as a fire time). */
  trigger(name: string, trigger: RunTrigger = "schedule"): void {
    const job = this.#jobs.get(name);
    if (job) this.#trigger(job, trigger);
  }

  async #missedAFire(job: Job): Promise<boolean> {
    const [previousFire] = job.cron.previousRuns(1, new Date(this.#clock.now()));
    if (previousFire === undefined) return false;
    const lastStart = await this.#options.lastCompletedRunStart(job.name);
    return lastStart === undefined || lastStart.getTime() < previousFire.getTime();
  }

  #arm(job: Job, after: number): void {
    if (this.#stopped || job.halted) return;
    const next = job.cron.nextRun(new Date(after));
    job.nextFire = next?.getTime();
    if (job.nextFire === undefined) return;
    this.#setTimer(job, job.nextFire);
  }

  #setTimer(job: Job, due: number): void {
    job.cancelTimer = this.#clock.setTimer(() => this.#onTimer(job, due), due - this.#clock.now());
  }

  #onTimer(job: Job, due: number): void {
    job.cancelTimer = undefined;
    if (this.#stopped || job.halted) return;
    const now = this.#clock.now();
    if (now < due) {
      // A timer may fire a little early; firing now would compute the same fire time again.
      this.#setTimer(job, due);
      return;
    }
    this.#trigger(job, "schedule");
    // From the later of the two: after a suspended process wakes, the fire times it slept through
    // are one follow-up run (queued above), not a burst.
    this.#arm(job, Math.max(now, due));
  }

  #trigger(job: Job, trigger: RunTrigger): void {
    if (this.#stopped || job.halted) return;
    if (job.running) {
      if (!job.queued) {
        this.#options.logger?.info(
          { connection: job.name, trigger },
          "run still in progress: one follow-up run queued for when it ends",
        );
      }
      job.queued = true;
      return;
    }
    const controller = new AbortController();
    const done = (async () => this.#options.run(job.name, controller.signal, trigger))()
      .then(
        (verdict) => {
          if (verdict === "halt") this.#halt(job);
        },
        (error: unknown) => {
          this.#options.logger?.error(
            { connection: job.name, err: error instanceof Error ? error.name : "unknown" },
            "scheduled run threw; the next fire time runs it again",
          );
        },
      )
      .finally(() => {
        job.running = undefined;
        const again = job.queued && !this.#stopped && !job.halted;
        job.queued = false;
        if (again) this.#trigger(job, "queued");
        this.#notifyIfIdle();
      });
    job.running = { controller, done };
  }

  #halt(job: Job): void {
    job.halted = true;
    job.queued = false;
    job.cancelTimer?.();
    job.cancelTimer = undefined;
    job.nextFire = undefined;
  }

  #isIdle(): boolean {
    for (const job of this.#jobs.values()) if (job.running || job.queued) return false;
    return true;
  }

  #notifyIfIdle(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Settles when every run in flight has ended. */
  settled(): Promise<void> {
    return Promise.all([...this.#jobs.values()].map((j) => j.running?.done)).then(() => undefined);
  }
}
