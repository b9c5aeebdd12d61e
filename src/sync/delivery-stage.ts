// The busy half of a run: the rows the ledger found new are mapped, normalized, hashed, validated
// and delivered through the Graph client, and every outcome is reported back. Runs on a worker
// thread (stage-worker.ts), whose heap has limits of its own, or inline; it only ever talks through
// `post` and `receive`.
import type { ConnectionConfig } from "../config/schema.ts";
import type { Outcome } from "../ledger/index.ts";
import {
  type EventOutcome,
  GraphClient,
  type GraphClientOptions,
  GraphStopError,
  type Logger,
  type OutboundEvent,
  type SendSummary,
} from "../meta/graph/index.ts";
import { Channel } from "./channel.ts";
import { evaluateRows } from "./evaluate-rows.ts";
import { type CompiledConnection, compileConnection } from "./prepare.ts";
import { rowCount } from "./row-pack.ts";
import {
  type AnswerGroup,
  describeError,
  type EvaluatedMessage,
  type OutcomeTemplate,
  type RowsMessage,
  type SerializedEvents,
  type StageInbound,
  type StageOutbound,
  type StageSetup,
} from "./stage-protocol.ts";

/** Rows evaluated at a time before their events go to the client. */
const SLICE_ROWS = 128;

interface Ref {
  readonly key: string;
  readonly eventId: string | undefined;
  readonly datasetId: string;
}

/** A chunk's events handed to the client so far, and its rows' local verdicts. */
interface ChunkTally {
  handed: number;
  readonly local: Outcome[];
}

interface Lane {
  readonly channel: Channel<OutboundEvent<Ref>>;
  readonly done: Promise<SendSummary | Error>;
}

export interface StageOptions {
  /** The connection compiled already (inline); a worker compiles its own. */
  readonly compiled?: CompiledConnection;
  /** Client settings that are not plain data (inline only: test clocks, request hooks). */
  readonly client?: Partial<GraphClientOptions>;
  /** Where the client logs; undefined for none. */
  readonly logger?: Logger;
  /**
   * A client that outlives the run (inline only: the collector's delivery loop keeps one for all
   * its micro-batches, with its connections, buffers and learned window). The stage does not close it.
   */
  readonly graphClient?: GraphClient;
}

/** The client a connection's destination describes, with the caller's overrides. */
export function graphClientFor(
  destination: ConnectionConfig["destination"],
  overrides: Partial<GraphClientOptions> = {},
): GraphClient {
  return new GraphClient({
    accessToken: destination.access_token,
    ...(destination.app_secret && { appSecret: destination.app_secret }),
    graphUrl: destination.graph_url,
    ...(destination.api_version && { apiVersion: destination.api_version }),
    ...(destination.max_in_flight && { window: destination.max_in_flight }),
    ...(destination.timeout_ms && { timeoutMs: destination.timeout_ms }),
    ...(destination.batch_size && { maxBatchEvents: destination.batch_size }),
    ...overrides,
  });
}

export class DeliveryStage {
  readonly #setup: StageSetup;
  readonly #post: (message: StageOutbound) => void;
  readonly #compiled: CompiledConnection;
  readonly #client: GraphClient;
  readonly #ownsClient: boolean;
  readonly #lanes = new Map<string, Lane>();
  /** Chunks received and not yet taken; the run sends only a few ahead (back-pressure). */
  readonly #queue: (RowsMessage | EvaluatedMessage)[] = [];
  #wake: (() => void) | undefined;
  /** No more rows will come. */
  #finishing = false;
  /** No more rows are wanted: the run stopped, or Meta refused the token or the configuration. */
  #stopping = false;
  #answers: AnswerGroup[] = [];
  #lastOutcome: EventOutcome | undefined;
  #pending: string[] = [];
  #flushScheduled = false;

  constructor(setup: StageSetup, post: (message: StageOutbound) => void, options: StageOptions = {}) {
    this.#setup = setup;
    this.#post = post;
    this.#compiled = options.compiled ?? compileConnection(setup.name, setup.connection, setup.defaults);
    this.#ownsClient = options.graphClient === undefined;
    this.#client =
      options.graphClient ??
      graphClientFor(setup.connection.destination, {
        ...(options.logger && { logger: options.logger }),
        ...setup.client,
        ...options.client,
      });
  }

  receive(message: StageInbound): void {
    if (message.type === "rows" || message.type === "evaluated") {
      if (!this.#stopping) this.#queue.push(message);
    } else if (message.type === "finish") this.#finishing = true;
    else this.#halt();
    this.#notify();
  }

  /** Runs until the run says `finish` (or `stop`) and the client has settled, then posts `end`. */
  async run(): Promise<void> {
    let error: unknown;
    try {
      await this.#loop();
    } catch (caught) {
      error = caught;
    }
    this.#halt();
    // What was handed to the client is delivered (or left pending by a refusal) before the end.
    for (const { channel } of this.#lanes.values()) channel.close();
    for (const { done } of this.#lanes.values()) {
      const result = await done;
      if (result instanceof Error && !(result instanceof GraphStopError)) error ??= result;
    }
    if (this.#ownsClient) await this.#client.close().catch(() => undefined);
    this.#flush();
    this.#post({ type: "end", ...(error !== undefined && { error: describeError(error) }) });
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      const chunk = this.#queue.shift();
      if (chunk !== undefined) {
        const told: ChunkTally = { handed: 0, local: [] };
        try {
          if (chunk.type === "rows") await this.#deliver(chunk, told);
          else await this.#handOver(chunk.events, told);
        } catch (error) {
          // Whatever the chunk handed before the failure is answered during the shutdown: say so.
          this.#tell(told);
          throw error;
        }
        // Answers may arrive before their chunk's count; the run only sums the two at its end.
        this.#flush();
        if (!this.#stopping) this.#post({ type: "taken", seq: chunk.seq, ...told });
        else this.#tell(told);
        continue;
      }
      if (this.#finishing) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** A chunk cut short (a stop, a failure): its count and verdicts so far, without `taken`. */
  #tell({ handed, local }: ChunkTally): void {
    if (handed > 0 || local.length > 0)
      this.#post({ type: "outcomes", handed, local, answers: [], pending: [] });
  }

  /** The chunk's events go to the client; `told` counts them and gathers the local verdicts. */
  async #deliver({ rows, nowSeconds }: RowsMessage, told: ChunkTally): Promise<void> {
    // Slice by slice, so that events reach the client while young: a whole chunk of event objects
    // waiting for the client would outlive the young generation and burden the full collector.
    const count = rowCount(rows);
    for (let start = 0; start < count && !this.#stopping; start += SLICE_ROWS) {
      const { events, outcomes } = await evaluateRows(
        rows,
        start,
        Math.min(count, start + SLICE_ROWS),
        nowSeconds,
        this.#compiled,
        this.#setup.connection.destination.dataset_id,
      );
      for (const outcome of outcomes) told.local.push(outcome);
      for (const { key, eventId, datasetId, event } of events) {
        const backPressure = this.#hand({ ref: { key, eventId, datasetId }, event }, told);
        if (backPressure) await backPressure;
      }
    }
  }

  /** Events the run's thread evaluated: to the client as they are. */
  async #handOver(events: SerializedEvents, told: ChunkTally): Promise<void> {
    const { keys, eventIds, datasetIds, jsons, eventTimes, actionSources } = events;
    for (let i = 0; i < keys.length && !this.#stopping; i++) {
      const backPressure = this.#hand(
        {
          ref: { key: keys[i] as string, eventId: eventIds[i], datasetId: datasetIds[i] as string },
          json: jsons[i] as string,
          event_time: eventTimes[i],
          action_source: actionSources[i],
        },
        told,
      );
      if (backPressure) await backPressure;
    }
  }

  /**
   * One event to its dataset's client. Counted before the hand-over: an event the client no longer
   * takes is told as pending. Returns the channel's back-pressure, if any.
   */
  #hand(item: OutboundEvent<Ref>, told: ChunkTally): Promise<void> | undefined {
    told.handed++;
    const lane = this.#lane(item.ref.datasetId);
    if (lane.channel.abandoned) {
      this.#pending.push(item.ref.key);
      return undefined;
    }
    return lane.channel.push(item);
  }

  #lane(datasetId: string): Lane {
    let lane = this.#lanes.get(datasetId);
    if (lane === undefined) {
      const channel = new Channel<OutboundEvent<Ref>>(this.#setup.channelEvents);
      const destination = this.#setup.connection.destination;
      const sender = this.#client.dataset<Ref>(datasetId, {
        ...(destination.test_event_code && { testEventCode: destination.test_event_code }),
        ...(destination.upload_tag && { uploadTag: destination.upload_tag }),
        ...(destination.namespace_id && { namespaceId: destination.namespace_id }),
      });
      const done = sender.send(channel, { onOutcome: (ref, outcome) => this.#answer(ref, outcome) });
      lane = {
        channel,
        // Settles, never rejects: lanes are awaited one by one at the end, and a rejection of a
        // later lane, unhandled meanwhile, would take the thread down before it posts `end`.
        done: done.catch((error: unknown) => {
          // A client refused by Meta, or failed, takes no more: the stage stops too. A failure is
          // carried by the stage's end.
          this.#halt();
          if (error instanceof GraphStopError) {
            this.#post({ type: "halted", stop: { kind: error.kind, message: error.message } });
            return error;
          }
          return error instanceof Error ? error : new Error(String(error));
        }),
      };
      this.#lanes.set(datasetId, lane);
    }
    return lane;
  }

  /** The client reports a batch's events one by one with the same outcome: they become one group. */
  #answer(ref: Ref, outcome: EventOutcome): void {
    if (outcome.status === "pending") this.#pending.push(ref.key);
    else {
      let group = this.#answers.at(-1);
      if (group === undefined || this.#lastOutcome !== outcome || group.datasetId !== ref.datasetId) {
        group = {
          datasetId: ref.datasetId,
          fbtraceId: fbtraceOf(outcome),
          outcome: templateOf(outcome),
          keys: [],
          eventIds: [],
        };
        this.#answers.push(group);
        this.#lastOutcome = outcome;
      }
      group.keys.push(ref.key);
      group.eventIds.push(ref.eventId);
    }
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#answers.length === 0 && this.#pending.length === 0) return;
    this.#post({ type: "outcomes", handed: 0, local: [], answers: this.#answers, pending: this.#pending });
    this.#answers = [];
    this.#pending = [];
    this.#lastOutcome = undefined;
  }

  /** Rows still queued are dropped: the run has not recorded them, so the next run reads them again. */
  #halt(): void {
    this.#stopping = true;
    this.#queue.length = 0;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function fbtraceOf(outcome: EventOutcome): string | undefined {
  switch (outcome.status) {
    case "delivered":
      return outcome.fbtrace_id;
    case "rejected":
      return outcome.error.fbtrace_id;
    default:
      return undefined;
  }
}

function templateOf(outcome: Exclude<EventOutcome, { status: "pending" }>): OutcomeTemplate {
  switch (outcome.status) {
    case "delivered":
      return { state: "delivered" };
    case "rejected": {
      const e = outcome.error;
      const detail = [e.error_user_title, e.error_user_msg].filter(Boolean).join(": ");
      return {
        state: "rejected",
        ...(e.code !== undefined && { code: e.code }),
        ...(e.error_subcode !== undefined && { subcode: e.error_subcode }),
        message: detail || e.message,
      };
    }
    case "expired":
      return { state: "expired", reason: "retry deadline passed (Meta's dedup or age window)" };
  }
}
