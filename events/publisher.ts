/**
 * Status publishing: every status change leaves the workflows through the `publishEvent` activity. The Kafka
 * implementation lives in events/producer.ts; tests may use `InMemoryEventPublisher`.
 */
export interface StatusEvent {
  /** Deterministic: `${workflowId}/${sequence}`, so an activity retry republishes the same id. */
  id: string;
  /** Dotted, versioned, e.g. 'gov.preflight.submission.status-changed.v1'. */
  type: string;
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

export type EventStream = 'submission' | 'clearinghouse';

export interface EventPublisher {
  publish(stream: EventStream, event: StatusEvent): Promise<void>;
}

/** Keeps published events in memory; a republished id (activity retry) is stored once. */
export class InMemoryEventPublisher implements EventPublisher {
  readonly events: { stream: EventStream; event: StatusEvent }[] = [];

  async publish(stream: EventStream, event: StatusEvent): Promise<void> {
    if (this.events.some((e) => e.event.id === event.id)) return;
    this.events.push({ stream, event: structuredClone(event) });
  }

  /** Events of one aggregate in publication order. */
  forSubject(subject: string): StatusEvent[] {
    return this.events.filter((e) => e.event.subject === subject).map((e) => e.event);
  }
}
