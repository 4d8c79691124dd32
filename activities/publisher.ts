import { metrics } from '../infra/metrics';
import { SUBMISSION_EVENT_TYPES } from '../workflows/definitions';

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

const EVENT_STREAMS: readonly EventStream[] = ['submission', 'clearinghouse'];

export function createPublisherActivities(deps: { publisher: EventPublisher }) {
  return {
    /** Publishes one status event; safe to retry (the id is deterministic). */
    async publishEvent(stream: EventStream, event: StatusEvent): Promise<void> {
      if (!EVENT_STREAMS.includes(stream)) throw new TypeError(`unknown event stream "${String(stream)}"`);
      if (!Number.isInteger(event.sequence) || event.sequence < 1) throw new TypeError(`event ${event.id}: sequence must be a positive integer`);
      await deps.publisher.publish(stream, event);
      // Counted once it is on Kafka; a retry after a lost completion may count a change twice, never zero times.
      if (event.type === SUBMISSION_EVENT_TYPES.submissionStatusChanged && typeof event.data.status === 'string') metrics.lifecycleTransitions.inc({ to: event.data.status });
    },
  };
}
