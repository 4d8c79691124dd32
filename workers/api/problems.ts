import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { findInCauses } from '../../infra/error-causes';
import { failureOfType, type Failure } from '../../workflows/shared/failures';

/** The base of every problem `type` URI (RFC 9457); the last path segment is the machine `code`. */
export const PROBLEM_BASE = 'https://preflight.example.gov/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A refusal that becomes an `application/problem+json` response. */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: Array<{ path: string; message: string }>,
  ) {
    super(detail ?? title);
  }

  body(instance?: string): Record<string, unknown> {
    return {
      type: `${PROBLEM_BASE}${this.code}`,
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      code: this.code,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export function isHttpProblem(e: unknown): e is HttpProblem {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'HttpProblem' && typeof (e as HttpProblem).body === 'function';
}

export const problems = {
  unauthenticated: () => new HttpProblem(401, 'unauthenticated', 'Authentication required', 'Send Authorization: Bearer <key>.'),
  forbidden: (detail = 'This credential may not use this route.') => new HttpProblem(403, 'forbidden', 'Forbidden', detail),
  /** Unknown, or someone else's: deliberately the same answer, so existence is never revealed. */
  notFound: (what = 'submission') => new HttpProblem(404, 'not-found', 'Not found', `No such ${what}.`),
  invalid: (errors: Array<{ path: string; message: string }>, detail = 'The request is not valid.') =>
    new HttpProblem(422, 'invalid-input', 'Invalid input', detail, errors),
  conflict: (detail: string, code = 'not-allowed-in-state') => new HttpProblem(409, code, 'Not allowed in the current state', detail),
  ended: () => new HttpProblem(409, 'ended', 'The submission has ended', 'The submission has ended; it takes no more commands.'),
  unavailable: (detail = 'Temporal did not answer in time; retry.') => new HttpProblem(503, 'unavailable', 'Service unavailable', detail),
};

/** Zod issues as problem `errors`, paths dotted (`contacts.0.email`). */
export function zodErrors(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
}

/** Parses input with a schema or throws a 422 problem naming each bad field. */
export function parseOr422<S extends z.ZodType>(schema: S, value: unknown, what = 'body'): z.infer<S> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw problems.invalid(zodErrors(parsed.error), `The ${what} is not valid.`);
  return parsed.data;
}

function failureType(e: unknown): string | undefined {
  return findInCauses(e, (c) => (typeof c.type === 'string' ? c.type : undefined));
}

function failureMessage(e: unknown): string {
  const cause = (e as { cause?: { message?: unknown } }).cause;
  return typeof cause?.message === 'string' ? cause.message : String((e as Error).message ?? e);
}

const FAILURE_TITLES: Record<NonNullable<Failure['httpStatus']>, string> = {
  404: 'Not found',
  409: 'Not allowed in the current state',
  422: 'Invalid input',
};

/**
 * The API's answer to a failure type from the catalog, or undefined where the API has none. A `not-found` answer
 * never carries the failure's message, so it does not reveal that the `what` exists.
 */
export function problemForFailure(type: string | undefined, message: string, what: string): HttpProblem | undefined {
  const failure = failureOfType(type);
  if (!failure?.httpStatus) return undefined;
  const code = failure.problemCode ?? failure.code;
  if (code === 'not-found') return problems.notFound(what);
  return new HttpProblem(failure.httpStatus, code, FAILURE_TITLES[failure.httpStatus], message);
}

/** The server's refusal of an update past its per-execution cap (`limit.maxTotalUpdates`, FAILED_PRECONDITION). */
export function isUpdateLimitReached(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 6 && e instanceof Error; depth++, e = (e as { cause?: unknown }).cause) {
    if (/limit on the total number of distinct updates in this workflow has been reached/i.test(e.message)) return true;
  }
  return false;
}

/**
 * Maps a refused vendor command (an update validator's ApplicationFailure) to a precise problem: state conflicts
 * 409, invalid input 422, unknown references 404. Anything unrecognised is rethrown (a 500 without detail).
 */
export function problemFromUpdateFailure(e: unknown): HttpProblem {
  if (isUpdateLimitReached(e)) {
    return new HttpProblem(
      409,
      'update-limit-reached',
      'Not allowed in the current state',
      'This workflow execution has taken the most updates Temporal allows in one execution (2,000 by default); it takes no more commands.',
    );
  }
  const message = failureMessage(e).slice(0, 500);
  const problem = problemForFailure(failureType(e), message, 'submission');
  if (problem) return problem;
  if (e instanceof WorkflowUpdateFailedError) return problems.conflict(message, 'rejected');
  throw e;
}

/**
 * gRPC status codes that mean "Temporal could not answer now": CANCELLED, DEADLINE_EXCEEDED, FAILED_PRECONDITION,
 * UNAVAILABLE. The api cancels nothing itself, so CANCELLED is the request's own deadline as the server saw it: the
 * server ends the call when the propagated deadline passes, which can reach the client before its own timer fires.
 */
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_FAILED_PRECONDITION = 9;
const GRPC_UNAVAILABLE = 14;

/**
 * Whether an error (or one of its causes) says Temporal could not answer in time: the request's deadline passed, the
 * server is unreachable, or no worker polls the workflow's task queue. Such a request may succeed when retried.
 */
export function isTemporalUnavailable(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 6 && e instanceof Error; depth++, e = (e as { cause?: unknown }).cause) {
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
    const code = (e as { code?: unknown }).code;
    const grpc = 'metadata' in e || 'details' in e;
    if (!grpc || typeof code !== 'number') continue;
    if (code === GRPC_CANCELLED || code === GRPC_DEADLINE_EXCEEDED || code === GRPC_UNAVAILABLE) return true;
    if (code === GRPC_FAILED_PRECONDITION && /no poller/i.test(String((e as { details?: unknown }).details ?? e.message))) return true;
  }
  return false;
}

/** Writes a problem response. */
export function sendProblem(reply: FastifyReply, problem: HttpProblem, instance?: string): FastifyReply {
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem.body(instance));
}

/**
 * The error handler of Preflight's route plugins: problems as they are, request-parsing errors as precise 4xx
 * (413 body too large, 415 wrong media type, 400 malformed JSON or a forbidden `__proto__`/`constructor` key), anything
 * else a 500 without detail (logged with its stack, never echoed).
 */
export function problemErrorHandler(logger: { error(obj: object, msg: string): void }) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const instance = request.url.split('?')[0];
    if (isHttpProblem(error)) return sendProblem(reply, error, instance);
    const e = error as { code?: string; statusCode?: number; message?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendProblem(reply, new HttpProblem(413, 'too-large', 'Request body too large', e.message), instance);
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return sendProblem(reply, new HttpProblem(415, 'unsupported-media-type', 'Unsupported media type', 'Send application/json.'), instance);
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return sendProblem(reply, new HttpProblem(e.statusCode, 'bad-request', 'Bad request', (e.message ?? '').slice(0, 300)), instance);
    }
    if (isTemporalUnavailable(error)) {
      logger.error({ err: error, requestId: request.id }, 'Temporal did not answer in time');
      return sendProblem(reply.header('retry-after', '5'), problems.unavailable(), instance);
    }
    logger.error({ err: error, requestId: request.id }, 'request failed');
    return sendProblem(reply, new HttpProblem(500, 'internal-error', 'Internal error', `Request ${request.id} failed; ops can find it in the logs.`), instance);
  };
}
