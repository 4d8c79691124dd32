import type { FastifyReply, FastifyRequest, onSendAsyncHookHandler, preHandlerAsyncHookHandler } from 'fastify';
import { requestFingerprint, type IdempotencyKeys } from '../../clients/idempotency';
import type { StoredResponse } from '../../workflows/idempotency/contract';
import { vendorScope } from './auth';
import { HttpProblem, problems } from './problems';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/** The request's `Idempotency-Key`, if any; a malformed one is refused (422). */
export function idempotencyKey(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value)) {
    throw problems.invalid(
      [{ path: 'Idempotency-Key', message: 'printable ASCII without spaces, 1-128 characters' }],
      'The Idempotency-Key header is not valid.',
    );
  }
  return value;
}

/** Headers of a first answer that a replay repeats. */
const STORED_HEADERS = ['location', 'content-type'] as const;

export interface IdempotentRouteOptions {
  /** Removes what must not be stored (a signing secret) from the answer; `restore` puts it back on a replay. */
  redact?: (body: Record<string, unknown>) => Record<string, unknown>;
  restore?: (body: Record<string, unknown>) => Record<string, unknown>;
}

interface Claim {
  vendorId: string;
  key: string;
  fingerprint: string;
}

const claims = new WeakMap<FastifyRequest, Claim>();

/**
 * `Idempotency-Key` on a vendor POST: the first request with a key claims it (in the key's workflow, see
 * `workflows/idempotency/`), runs, and its answer (any status below 500) is stored for 24 hours. A retry with the same
 * key and the same request gets that answer again with `Idempotent-Replayed: true` and has no second effect; the same
 * key on another request (method, path or body) is refused with 422 `idempotency-key-reused`; a retry while the first
 * is still running gets 409 `idempotency-key-in-use`. Keys are the vendor's own: two vendors never share one.
 * Use `preHandler` after the vendor's authentication and `onSend` on the same route.
 */
export function idempotentRoute(keys: IdempotencyKeys, options: IdempotentRouteOptions = {}) {
  const preHandler: preHandlerAsyncHookHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const key = idempotencyKey(request);
    const vendorId = vendorScope(request);
    if (!key || !vendorId) return;
    const path = request.url.split('?')[0] ?? request.url;
    const fingerprint = requestFingerprint(request.method, path, request.body);
    const claimed = await keys.claim(vendorId, key, fingerprint, `${request.method} ${path}`);
    if (claimed.outcome === 'claimed') {
      claims.set(request, { vendorId, key, fingerprint });
      return;
    }
    if (claimed.outcome === 'mismatch') {
      throw new HttpProblem(
        422,
        'idempotency-key-reused',
        'Idempotency key reused',
        `This Idempotency-Key was first used for another request (${claimed.request}, or the same route with another body); use a new key for a new request.`,
      );
    }
    if (claimed.outcome === 'in-progress') {
      throw problems.conflict('The first request with this Idempotency-Key is still being processed; retry shortly.', 'idempotency-key-in-use');
    }
    const { status, body, headers } = claimed.response;
    const restored = body && typeof body === 'object' && !Array.isArray(body) && options.restore ? options.restore(body as Record<string, unknown>) : body;
    reply.code(status).headers({ ...(headers ?? {}), 'idempotent-replayed': 'true' });
    await reply.send(restored === undefined ? undefined : JSON.stringify(restored));
    return reply;
  };

  const onSend: onSendAsyncHookHandler<unknown> = async (request, reply, payload) => {
    const claim = claims.get(request);
    if (!claim) return payload;
    claims.delete(request);
    const { vendorId, key, fingerprint } = claim;
    if (reply.statusCode >= 500) {
      // Nothing worth repeating: a retry runs the request again (commands underneath are idempotent by update id).
      await keys.release(vendorId, key, fingerprint).catch(() => undefined);
      return payload;
    }
    let body: unknown;
    if (typeof payload === 'string' && payload.length > 0) {
      try {
        body = JSON.parse(payload);
      } catch {
        body = undefined;
      }
    }
    if (body && typeof body === 'object' && !Array.isArray(body) && options.redact) body = options.redact(body as Record<string, unknown>);
    const headers: Record<string, string> = {};
    for (const name of STORED_HEADERS) {
      const value = reply.getHeader(name);
      if (typeof value === 'string') headers[name] = value;
    }
    const response: StoredResponse = { status: reply.statusCode, ...(body !== undefined ? { body } : {}), headers };
    // The answer goes out even if it could not be stored; the claim then lapses and a retry runs the request again.
    await keys.complete(vendorId, key, fingerprint, response).catch(() => keys.release(vendorId, key, fingerprint).catch(() => undefined));
    return payload;
  };

  return { preHandler, onSend };
}
