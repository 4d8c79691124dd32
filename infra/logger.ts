import { types } from 'node:util';
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Field names whose values are known to carry no finding text and no secret: ids, types, statuses, codes, counts,
 * durations, Kafka coordinates, ports and our own servers' addresses, plus the metadata the Temporal SDK and kafkajs
 * attach. Any other key is dropped, so a new log field leaks nothing until someone decides it is safe.
 */
export const LOG_FIELD_ALLOWLIST: ReadonlySet<string> = new Set([
  // pino's own and the bindings of every child logger
  'component',
  'name',
  'pid',
  'hostname',
  // our ids, types and states
  'submissionId',
  'agencyId',
  'findingId',
  'caseId',
  'grantId',
  'requestId',
  'commandId',
  'eventId',
  'endpointId',
  'vendorId',
  'id',
  'type',
  'kind',
  'alert',
  'status',
  'state',
  'outcome',
  'notice',
  'severity',
  'sequence',
  'attempt',
  'skipped',
  'deadLettered',
  'started',
  'alreadyStarted',
  'expiresAt',
  'deadline',
  'at',
  'signal',
  'file',
  'url',
  'audit',
  'operator',
  'principal',
  'method',
  'route',
  'path',
  'ip',
  'reason',
  'code',
  'error',
  'err',
  // counts and durations
  'count',
  'latencyMs',
  'durationMs',
  'retryCount',
  'retryTime',
  'size',
  // Temporal and Kafka coordinates
  'namespace',
  'taskQueue',
  'workflowId',
  'runId',
  'workflowRunId',
  'workflowType',
  'activityId',
  'activityType',
  'sdkComponent',
  'isLocal',
  'topic',
  'partition',
  'offset',
  'groupId',
  'memberId',
  'clientId',
  'broker',
  'port',
]);

/** Written in place of the keys a log line carried that are not on the allowlist (the names only, never values). */
export const DROPPED_FIELDS_KEY = 'droppedFields';

/**
 * An error that vouches for its own message: set by error classes whose message is built only from configuration,
 * our own identifiers and fixed text, never from request bodies, findings or other inputs.
 */
export interface LogSafeError {
  readonly logSafe: true;
}

const MAX_STRING = 300;
const MAX_ARRAY = 20;
const MAX_DEPTH = 3;
// A name or code is an identifier; anything with spaces or punctuation could be a sentence quoting an input.
const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_.:-]{0,79}$/;
// Node's socket and file errors: `code` like ECONNREFUSED plus `syscall`; their messages name only the call and address.
const NODE_SYSTEM_CODE = /^E[A-Z0-9_]{2,40}$/;

function identifier(value: unknown): string | undefined {
  return typeof value === 'string' && IDENTIFIER.test(value) ? value : undefined;
}

/** Errors from any realm (jest's, the workflow sandbox's) count, so no `instanceof Error`. */
function isError(value: unknown): value is Error {
  return types.isNativeError(value) || value instanceof Error;
}

function messageIsSafe(err: Error & { code?: unknown; syscall?: unknown; logSafe?: unknown }): boolean {
  if (err.logSafe === true) return true;
  return typeof err.code === 'string' && NODE_SYSTEM_CODE.test(err.code) && typeof err.syscall === 'string';
}

/**
 * What a log line keeps of an error: its name and code, and its message only when the error is known to carry no
 * user content (a `LogSafeError`, or a Node system error from the net or fs layer). Any other message may echo an
 * input (a finding's text, a webhook receiver's answer) and is left out; so are stacks, which quote messages.
 */
export function loggableError(err: unknown, depth = 0): Record<string, string> {
  if (!isError(err)) {
    const code = identifier(err);
    return code ? { code } : { name: typeof err };
  }
  const e = err as Error & { code?: unknown; syscall?: unknown; logSafe?: unknown; cause?: unknown };
  const out: Record<string, string> = { name: identifier(e.name) ?? 'Error' };
  // gRPC and HTTP errors carry numeric codes.
  const code = typeof e.code === 'number' && Number.isInteger(e.code) ? String(e.code) : identifier(e.code);
  if (code) out.code = code;
  if (messageIsSafe(e)) out.message = e.message.slice(0, MAX_STRING);
  if (depth < 2 && isError(e.cause)) {
    const cause = loggableError(e.cause, depth + 1);
    out.cause = [cause.name, cause.code, cause.message].filter(Boolean).join(' ');
  }
  return out;
}

function sanitizeValue(key: string, value: unknown, depth: number): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (key === 'err' || key === 'error' || isError(value)) {
    // A string here is usually someone's `err.message`: only a bare code or name survives.
    return typeof value === 'string' ? (identifier(value) ?? '[message dropped]') : loggableError(value);
  }
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.slice(0, MAX_ARRAY).map((v) => sanitizeValue(key, v, depth + 1));
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return depth >= MAX_DEPTH ? '[nested]' : sanitizeFields(value as Record<string, unknown>, depth + 1);
  return undefined;
}

/** Keeps the allowlisted keys of a log object (recursively), names the dropped ones, and reduces errors. */
export function sanitizeFields(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (!LOG_FIELD_ALLOWLIST.has(key)) {
      // Key names are ours, but an object built from input could have anything as keys: keep only identifiers.
      dropped.push(identifier(key) ?? '?');
      continue;
    }
    const clean = sanitizeValue(key, value, depth);
    if (clean !== undefined) out[key] = clean;
  }
  if (dropped.length > 0) out[DROPPED_FIELDS_KEY] = dropped.slice(0, MAX_ARRAY);
  return out;
}

/**
 * A message written by a library (kafkajs, the Temporal SDK and core) rather than by our code: such messages sometimes
 * append an error's text after a colon (`Crash: KafkaJSNumberOfRetriesExceeded: <our error's message>`), so only the
 * part before the first colon, quote, bracket or line break is kept.
 */
export function foreignMessage(message: unknown): string {
  if (typeof message !== 'string') return '';
  const head = message.split(/[:\n"'{[(]/, 1)[0]!.trim();
  return head.length > 120 ? `${head.slice(0, 120)}…` : head;
}

/**
 * The root logger: JSON lines on stdout. Every log object passes through the field allowlist (`sanitizeFields`);
 * messages must be literals of our code (extra printf-style arguments are discarded, an Error as the only argument
 * logs its name and code). The redact list stays as a second line of defence.
 */
export function createLogger(options: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  const logger = pino(
    {
      name: options.name ?? 'preflight',
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['*.password', '*.secret', '*.token', '*.apiKey', '*.masterKey', '*.detail', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
      // The formatter below has already reduced errors to plain fields.
      serializers: { err: (value: unknown) => value },
      hooks: {
        logMethod(args, method) {
          const [first, second] = args as unknown[];
          if (typeof first === 'string') return method.call(this, first);
          const fields = isError(first) ? { err: first } : typeof first === 'object' && first !== null ? first : {};
          const msg = typeof second === 'string' ? second : isError(first) ? 'error' : '';
          return method.call(this, fields as object, msg);
        },
      },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => sanitizeFields(bindings),
        log: (object) => sanitizeFields(object),
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
  // pino applies the bindings formatter to the root only; children inherit this override, which sanitizes theirs.
  const pinoChild = logger.child;
  logger.child = function child(this: Logger, bindings, childOptions) {
    return pinoChild.call(this, sanitizeFields(bindings), childOptions);
  } as typeof logger.child;
  return logger;
}
