import { metrics } from '../infra/metrics';
import { SUBMISSION_EVENT_TYPES } from '../workflows/submission/contract';
import type { EventPublisher } from '../events/publisher';
import type { EventStream, OutboxActivities, StatusEvent } from '../workflows/shared/outbox';

const EVENT_STREAMS: readonly EventStream[] = ['submission', 'clearinghouse'];

export function createPublisherActivities(deps: { publisher: EventPublisher }): OutboxActivities {
  return {
    /** Publishes one status event; safe to retry (the id is deterministic). */
    async publishEvent(stream: EventStream, event: StatusEvent): Promise<void> {
      if (!EVENT_STREAMS.includes(stream)) throw new TypeError(`unknown event stream "${String(stream)}"`);
      if (!Number.isInteger(event.sequence) || event.sequence < 1) throw new TypeError(`event ${event.id}: sequence must be a positive integer`);
      await deps.publisher.publish(stream, event);
      // Counted once it is on Kafka; a retry after a lost completion may count a change twice, never zero times.
      if (event.type === SUBMISSION_EVENT_TYPES.submissionStatusChanged && typeof event.data.status === 'string')
        metrics.lifecycleTransitions.inc({ to: event.data.status });
    },
  };
}
