/**
 * Errors of the event layer. Like kafkajs `src/errors.js`: a stable `name`, a machine `code`, a `retriable` flag and
 * an optional `cause`; callers use the predicates below rather than `instanceof`, which breaks across jest realms.
 */
export class EventError extends Error {
  override readonly name: string = 'EventError';
  readonly code: string;
  readonly retriable: boolean;
  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A message or value that breaks the wire contract (bad envelope, unknown type, data failing its schema). */
export class EventContractError extends EventError {
  override readonly name = 'EventContractError';
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { retriable: false, cause });
  }
}

export function isEventError(e: unknown): e is EventError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { retriable?: unknown }).retriable === 'boolean' &&
    ['EventError', 'EventContractError'].includes((e as { name?: string }).name ?? '')
  );
}

export function isEventContractError(e: unknown): e is EventContractError {
  return isEventError(e) && e.name === 'EventContractError';
}
