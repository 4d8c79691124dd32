import type { EventStream, StatusEvent } from '../workflows/shared/outbox';

/**
 * Status publishing: every status change leaves the workflows through the `publishEvent` activity. The Kafka
 * implementation lives in events/producer.ts; tests may use `InMemoryEventPublisher`.
 */
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

  /** Status events of one aggregate in publication order (agency inbox events aside: see `inbox`). */
  forSubject(subject: string): StatusEvent[] {
    return this.events.filter((e) => e.stream !== 'agency-inbox' && e.event.subject === subject).map((e) => e.event);
  }

  /** One agency's inbox events in publication order, optionally of one submission only. */
  inbox(agencyId: string, submissionId?: string): StatusEvent[] {
    return this.events
      .filter((e) => e.stream === 'agency-inbox' && e.event.data.agencyId === agencyId && (submissionId === undefined || e.event.subject === submissionId))
      .map((e) => e.event);
  }
}
