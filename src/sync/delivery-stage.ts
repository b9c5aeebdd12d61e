// The busy half of a run: reads the source in chunks, asks the run which keys are new (the run keeps
// the ledger), maps, normalizes, hashes and validates those rows, and delivers them through the Graph
// client, reporting every outcome back. Runs in a worker thread (stage-worker.ts), whose heap has
// its own limits, or inline; it only ever talks through `post` and `receive`.
import {
  type EventOutcome,
  GraphClient,
  type GraphClientOptions,
  GraphStopError,
  type Logger,
  type OutboundEvent,
  type SendSummary,
} from "../meta/graph/index.ts";
import { openSource, type Source, type SourceConfig } from "../sources/index.ts";
import { Channel } from "./channel.ts";
import { type CompiledConnection, compileConnection } from "./prepare.ts";
import { ChunkReader, evaluateChunk, type HeldRow } from "./row-chunks.ts";
import {
  type AnswerGroup,
  describeError,
  type EndMessage,
  type OutcomeTemplate,
  type StageInbound,
  type StageOutbound,
  type StageSetup,
  type StopDescription,
  type VerdictMessage,
} from "./stage-protocol.ts";

interface Ref {
  readonly key: string;
  readonly eventId: string | undefined;
  readonly datasetId: string;
}

interface Lane {
  readonly channel: Channel<OutboundEvent<Ref>>;
  readonly done: Promise<SendSummary | GraphStopError>;
}

export interface StageOptions {
  /** The connection compiled already (inline); a worker compiles its own. */
  readonly compiled?: CompiledConnection;
  /** Client settings that are not plain data (inline only: test clocks, request hooks). */
  readonly client?: Partial<GraphClientOptions>;
  /** Where the client logs; undefined for none. */
  readonly logger?: Logger;
}

export class DeliveryStage {
  readonly #setup: StageSetup;
  readonly #post: (message: StageOutbound) => void;
  readonly #compiled: CompiledConnection;
  readonly #source: Source;
  readonly #reader: ChunkReader;
  readonly #readAbort = new AbortController();
  readonly #client: GraphClient;
  readonly #lanes = new Map<string, Lane>();
  readonly #held = new Map<number, HeldRow[]>();
  readonly #verdicts: VerdictMessage[] = [];
  #wake: (() => void) | undefined;
  #seq = 0;
  /** Set by a stop message or a lane's GraphStopError: read no more. */
  #stopping = false;
  #interrupted = false;
  #stop: StopDescription | undefined;
  #answers: AnswerGroup[] = [];
  #lastOutcome: EventOutcome | undefined;
  #pending: string[] = [];
  #flushScheduled = false;

  constructor(setup: StageSetup, post: (message: StageOutbound) => void, options: StageOptions = {}) {
    this.#setup = setup;
    this.#post = post;
    this.#compiled = options.compiled ?? compileConnection(setup.name, setup.connection, setup.defaults);
    this.#source = openSource(setup.connection.source as SourceConfig, { cwd: setup.baseDir });
    this.#reader = new ChunkReader(
      this.#source.rows({ signal: this.#readAbort.signal }),
      this.#compiled.rowKey,
      setup.chunkRows,
    );
    const destination = setup.connection.destination;
    this.#client = new GraphClient({
      accessToken: destination.access_token,
      ...(destination.app_secret && { appSecret: destination.app_secret }),
      graphUrl: destination.graph_url,
      ...(destination.api_version && { apiVersion: destination.api_version }),
      ...(destination.max_in_flight && { window: destination.max_in_flight }),
      ...(destination.timeout_ms && { timeoutMs: destination.timeout_ms }),
      ...(destination.batch_size && { maxBatchEvents: destination.batch_size }),
      ...(options.logger && { logger: options.logger }),
      ...setup.client,
      ...options.client,
    });
  }

  receive(message: StageInbound): void {
    if (message.type === "verdict") {
      if (this.#held.has(message.seq)) this.#verdicts.push(message);
    } else {
      this.#interrupted ||= !this.#reader.exhausted;
      this.#halt();
    }
    this.#notify();
  }

  /** Runs to the end of the source (or a stop), then posts `end`; never rejects. */
  async run(): Promise<void> {
    let error: unknown;
    let failed = false;
    try {
      await this.#loop();
    } catch (caught) {
      if (!this.#stopping) {
        failed = true;
        error = caught;
      }
    }
    this.#halt();
    // What was handed to the client is delivered (or left pending by a stop) before the end.
    for (const { channel } of this.#lanes.values()) channel.close();
    for (const { done } of this.#lanes.values()) {
      const result = await done.catch((caught: unknown) => caught);
      if (result instanceof GraphStopError) this.#stop ??= { kind: result.kind, message: result.message };
      else if (result instanceof Error && !failed) {
        failed = true;
        error = result;
      }
    }
    await Promise.allSettled([this.#reader.close(), this.#source.close(), this.#client.close()]);
    this.#flush();
    const end: EndMessage = {
      type: "end",
      interrupted: this.#interrupted,
      ...(this.#stop && { stop: this.#stop }),
      ...(failed && { error: describeError(error) }),
    };
    this.#post(end);
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      const verdict = this.#verdicts.shift();
      if (verdict !== undefined) {
        await this.#deliver(verdict);
        continue;
      }
      if (!this.#reader.exhausted && this.#held.size < this.#setup.readAhead) {
        const chunk = await this.#reader.read();
        if (chunk === undefined || this.#stopping) continue;
        const seq = this.#seq++;
        this.#held.set(seq, chunk.held);
        this.#post({
          type: "keys",
          seq,
          rows: chunk.rows,
          keys: chunk.held.map((row) => row.key),
          outcomes: chunk.outcomes,
        });
        continue;
      }
      if (this.#held.size === 0) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  async #deliver({ seq, deliver, nowSeconds }: VerdictMessage): Promise<void> {
    const held = this.#held.get(seq) as HeldRow[];
    this.#held.delete(seq);
    const { events, outcomes } = await evaluateChunk(
      held,
      deliver,
      nowSeconds,
      this.#compiled,
      this.#setup.connection.destination.dataset_id,
    );
    this.#flush();
    this.#post({ type: "outcomes", handed: events.length, local: outcomes, answers: [], pending: [] });
    for (const { key, eventId, datasetId, event } of events) {
      const lane = this.#lane(datasetId);
      if (lane.channel.abandoned) {
        this.#pending.push(key);
        continue;
      }
      const backPressure = lane.channel.push({ ref: { key, eventId, datasetId }, event });
      if (backPressure) await backPressure;
    }
    this.#scheduleFlush();
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
        done: done.catch((error: unknown) => {
          if (!(error instanceof GraphStopError)) throw error;
          this.#halt();
          return error;
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

  #halt(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#held.clear();
    this.#readAbort.abort(new Error("reading stopped"));
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
