import { ApplicationFailure } from '@temporalio/activity';
import { isEventError } from '../events/errors';
import { metrics } from '../infra/metrics';
import { SUBMISSION_EVENT_TYPES } from '../workflows/submission/contract';
import type { EventPublisher } from '../events/publisher';
import { AGENCY_INBOX_EVENT_TYPES } from '../workflows/shared/agency-inbox';
import type { EventStream, OutboxActivities, StatusEvent } from '../workflows/shared/outbox';

const EVENT_STREAMS: readonly EventStream[] = ['submission', 'clearinghouse', 'agency-inbox'];

/** An agency's assessment domains from the agency registry (none when the registry does not list it). */
export type AgencyDomains = (agencyId: string) => readonly string[];

/** The invitation names the agency's domains, which the registry holds and the workflow does not. */
export function completeInboxEvent(event: StatusEvent, agencyDomains: AgencyDomains | undefined): StatusEvent {
  if (event.type !== AGENCY_INBOX_EVENT_TYPES.invited) return event;
  const domains = agencyDomains?.(String(event.data.agencyId)) ?? [];
  return { ...event, data: { ...event.data, domains: [...domains] } };
}

export function createPublisherActivities(deps: { publisher: EventPublisher; agencyDomains?: AgencyDomains }): OutboxActivities {
  return {
    /** Publishes one status event; safe to retry (the id is deterministic). */
    async publishEvent(stream: EventStream, event: StatusEvent): Promise<void> {
      if (!EVENT_STREAMS.includes(stream)) throw new TypeError(`unknown event stream "${String(stream)}"`);
      if (!Number.isInteger(event.sequence) || event.sequence < 1) throw new TypeError(`event ${event.id}: sequence must be a positive integer`);
      try {
        await deps.publisher.publish(stream, stream === 'agency-inbox' ? completeInboxEvent(event, deps.agencyDomains) : event);
      } catch (err) {
        // The inbox is best effort: an event no retry can publish (no inbox topic for that agency, a contract error)
        // fails for good, and the workflow drops it instead of retrying it without end.
        if (stream === 'agency-inbox' && isEventError(err) && !err.retriable) {
          throw ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: true });
        }
        throw err;
      }
      // Counted once it is on Kafka; a retry after a lost completion may count a change twice, never zero times.
      if (event.type === SUBMISSION_EVENT_TYPES.submissionStatusChanged && typeof event.data.status === 'string')
        metrics.lifecycleTransitions.inc({ to: event.data.status });
    },
  };
}
