import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, type Authenticator } from './auth';
import { problemErrorHandler } from './problems';
import type { Logger } from '../../infra/logger';

/** The cookie a browser holds after an operator signed in for the Temporal Web UI; only `/codec` ever sees it. */
export const OPS_SESSION_COOKIE = 'preflight_ops_session';
export const OPS_SESSION_PATH = '/codec';
/** Short on purpose: the cookie is a bearer credential for decrypting every history, and cannot be revoked early. */
export const OPS_SESSION_TTL_SECONDS = 3600;

const VERSION = 'v1';
const MAX_COOKIE_CHARS = 512;

/** The key that signs ops session cookies, derived from the master key (rotating the master key ends every session). */
export function opsSessionKey(masterKey: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', masterKey, 'preflight', 'ops-session/v1', 32));
}

function mac(key: Buffer, body: string): string {
  return crypto.createHmac('sha256', key).update(body, 'utf8').digest('base64url');
}

/** A signed session value: `v1.<operator, base64url>.<expiry, unix seconds>.<HMAC-SHA256, base64url>`. */
export function signOpsSession(key: Buffer, operator: string, nowMs = Date.now(), ttlSeconds = OPS_SESSION_TTL_SECONDS): { value: string; expiresAt: Date } {
  const expires = Math.floor(nowMs / 1000) + ttlSeconds;
  const body = `${VERSION}.${Buffer.from(operator, 'utf8').toString('base64url')}.${expires}`;
  return { value: `${body}.${mac(key, body)}`, expiresAt: new Date(expires * 1000) };
}

export type OpsSessionCheck = { ok: true; operator: string; expiresAt: Date } | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' };

/** Checks a session value's signature (constant time) and expiry. */
export function verifyOpsSession(key: Buffer, value: string, nowMs = Date.now()): OpsSessionCheck {
  if (value.length > MAX_COOKIE_CHARS) return { ok: false, reason: 'malformed' };
  const m = /^(v1\.([A-Za-z0-9_-]{1,120})\.(\d{1,12}))\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(mac(key, m[1]!));
  const given = Buffer.from(m[4]!);
  if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return { ok: false, reason: 'bad-signature' };
  const expires = Number(m[3]);
  if (expires * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, operator: Buffer.from(m[2]!, 'base64url').toString('utf8'), expiresAt: new Date(expires * 1000) };
}

/** The value of one cookie from a `Cookie` header (the first occurrence), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  // SameSite=Strict: sent from the Temporal UI on the same site (another port or subdomain), never from other sites.
  return `${OPS_SESSION_COOKIE}=${value}; Path=${OPS_SESSION_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

function isTls(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

/**
 * `POST /ops/session` (ops bearer token) sets the session cookie the Temporal Web UI's codec requests carry when
 * "include cross-origin credentials" is on; `DELETE /ops/session` clears it. The token itself never reaches a cookie.
 */
export function opsSessionRoutes(deps: { authenticator: Authenticator; sessionKey: Buffer; logger: Logger }) {
  const log = deps.logger.child({ component: 'ops-session' });
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.setErrorHandler(problemErrorHandler(log));
    const opsOnly = { preHandler: authenticate(deps.authenticator, ['ops']), bodyLimit: 1024 };

    app.post('/ops/session', opsOnly, async (request, reply: FastifyReply) => {
      const operator = request.principal?.kind === 'ops' ? request.principal.operator : '';
      const session = signOpsSession(deps.sessionKey, operator);
      log.info({ audit: 'ops-session', operator, expiresAt: session.expiresAt.toISOString() }, 'ops session issued');
      return reply
        .header('set-cookie', sessionCookie(session.value, OPS_SESSION_TTL_SECONDS, isTls(request)))
        .header('cache-control', 'no-store')
        .send({ operator, expiresAt: session.expiresAt.toISOString(), path: OPS_SESSION_PATH });
    });

    app.delete('/ops/session', opsOnly, async (request, reply) => {
      return reply
        .header('set-cookie', sessionCookie('', 0, isTls(request)))
        .code(204)
        .send();
    });
  };
}
