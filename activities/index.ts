import type { Logger } from '../infra/logger';
import type { AccessBroker } from './access-broker';
import { createLifecycleActivities } from './lifecycle';
import { createPublisherActivities, type EventPublisher } from './publisher';

/** What activities need from the outside world; each process wires real implementations, tests wire fakes. */
export interface ActivityDeps {
  logger: Logger;
  /** Where status events go (Kafka in processes, in memory in tests). */
  publisher: EventPublisher;
  /** Issues and revokes agency access to models (`LocalAccessBroker` by default). */
  accessBroker: AccessBroker;
}

/** All activities the Preflight worker registers. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPublisherActivities(deps),
    ...createLifecycleActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
