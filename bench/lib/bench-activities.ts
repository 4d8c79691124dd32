import { createActivities, type ActivityDeps } from '../../activities';
import type { EventStream, StatusEvent } from '../../workflows/shared/outbox';

/** Every Preflight activity plus the baseline's stand-in for the Kafka publish. */
export function createBenchActivities(deps: ActivityDeps) {
  return {
    ...createActivities(deps),
    /** Same arguments as `publishEvent`; publishes nothing, so the baseline has the step without the broker. */
    async discardEvent(_stream: EventStream, _event: StatusEvent): Promise<void> {},
  };
}

export type BenchActivities = ReturnType<typeof createBenchActivities>;
