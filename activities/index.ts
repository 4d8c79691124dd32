import type { Logger } from '../infra/logger';

/** What activities need from the outside world; each process wires real implementations, tests wire fakes. */
export interface ActivityDeps {
  logger: Logger;
}

/** All activities the Preflight worker registers. */
export function createActivities(_deps: ActivityDeps) {
  return {};
}

export type Activities = ReturnType<typeof createActivities>;
