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

  /** Events of one aggregate in publication order. */
  forSubject(subject: string): StatusEvent[] {
    return this.events.filter((e) => e.event.subject === subject).map((e) => e.event);
  }
}
