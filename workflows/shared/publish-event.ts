import type { EventStream, StatusEvent } from '../../events/publisher';

/**
 * The status publishing activity every entity workflow calls (implemented by `createPublisherActivities`). Safe to
 * retry: the event id is deterministic.
 */
export interface PublisherActivities {
  publishEvent: (stream: EventStream, event: StatusEvent) => Promise<void>;
}
