import { condition, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';

/** A status event as it leaves a workflow through the `publishEvent` activity. */
export interface StatusEvent<Type extends string = string> {
  /** Deterministic: `${workflowId}/${sequence}` (`${workflowId}${idPrefix}/${sequence}`), so an activity retry republishes the same id. */
  id: string;
  /** Dotted, versioned, e.g. 'gov.preflight.submission.status-changed.v1'. */
  type: Type;
  /** e.g. '/preflight/submissions' or '/preflight/clearinghouse'. */
  source: string;
  /** Aggregate id (submission id or case id) = the Kafka key. */
  subject: string;
  /** Per-aggregate, 1-based, strictly increasing. */
  sequence: number;
  /** ISO-8601 workflow time. */
  time: string;
  /** Thin: ids, enums, statuses, times — never finding details or secrets. */
  data: Record<string, unknown>;
}

/** `agency-inbox` events go to the topic of the agency named in their data (`agencyId`). */
export type EventStream = 'submission' | 'clearinghouse' | 'agency-inbox';

/** The activity every outbox publishes through (registered by `createPublisherActivities`). */
export interface OutboxActivities {
  publishEvent(stream: EventStream, event: StatusEvent): Promise<void>;
}

const DEFAULT_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  // Short backoff: a broker that comes back should see the backlog within seconds (retry options are replay-safe).
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
};

export interface OutboxOptions {
  stream: EventStream;
  source: string;
  /** The aggregate id (the Kafka key); event ids are built from the workflow id. */
  subject: string;
  /** The last sequence already published (carried over continue-as-new); 0 for a new aggregate. */
  sequence?: number;
  /** Inserted between the workflow id and the sequence in event ids, for a second outbox of the same workflow. */
  idPrefix?: string;
  activityOptions?: ActivityOptions;
}

/**
 * A send that could not be published: return a promise to send the same event again once it settles, or nothing
 * to drop it.
 */
export type SendFailureHandler = (err: unknown, event: StatusEvent) => Promise<void> | undefined;

/**
 * The events of one aggregate, published in order with one strictly increasing sequence. `publish` only queues;
 * the workflow chooses when they go out: `flush` right after publishing, or a `keepSending` loop beside the workflow.
 * `EventMap` maps each event type to its data shape, so a type only accepts its own data.
 */
export class Outbox<EventMap extends { [Type in keyof EventMap]: object }> {
  readonly #stream: EventStream;
  readonly #source: string;
  readonly #subject: string;
  readonly #idBase: string;
  readonly #publishEvent: OutboxActivities['publishEvent'];
  readonly #queue: StatusEvent[] = [];
  #sequence: number;
  #sending = false;
  #flushed: Promise<void> = Promise.resolve();

  constructor(options: OutboxOptions) {
    this.#stream = options.stream;
    this.#source = options.source;
    this.#subject = options.subject;
    this.#sequence = options.sequence ?? 0;
    this.#idBase = `${workflowInfo().workflowId}${options.idPrefix ?? ''}`;
    this.#publishEvent = proxyActivities<OutboxActivities>(options.activityOptions ?? DEFAULT_ACTIVITY_OPTIONS).publishEvent;
  }

  /** The sequence of the last event published. */
  get sequence(): number {
    return this.#sequence;
  }

  /** Nothing is waiting in the `keepSending` queue and nothing is being sent by it. */
  get idle(): boolean {
    return this.#queue.length === 0 && !this.#sending;
  }

  /** Queues one event with the next sequence; `time` defaults to the workflow's now. */
  publish<Type extends keyof EventMap & string>(type: Type, data: EventMap[Type], time: string = new Date(Date.now()).toISOString()): void {
    this.#sequence += 1;
    this.#queue.push({
      id: `${this.#idBase}/${this.#sequence}`,
      type,
      source: this.#source,
      subject: this.#subject,
      sequence: this.#sequence,
      time,
      data: { ...data } as Record<string, unknown>,
    });
  }

  /**
   * Sends every queued event after those already on their way, one at a time, in order. The promise settles when the
   * last is out; it rejects with the first event that could not be published, and the events after it are not sent.
   */
  flush(): Promise<void> {
    for (const event of this.#queue.splice(0)) this.#flushed = this.#flushed.then(() => this.#publishEvent(this.#stream, event));
    return this.#flushed;
  }

  /** Sends queued events for as long as the workflow runs: each as soon as it is queued and the one before it is out. */
  async keepSending(onFailure: SendFailureHandler): Promise<never> {
    for (;;) {
      await condition(() => this.#queue.length > 0);
      const event = this.#queue[0]!;
      this.#sending = true;
      try {
        await this.#publishEvent(this.#stream, event);
        this.#queue.shift();
      } catch (err) {
        const retry = onFailure(err, event);
        if (retry) await retry;
        else this.#queue.shift();
      } finally {
        this.#sending = false;
      }
    }
  }
}
