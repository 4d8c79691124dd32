import crypto from 'node:crypto';
import fs from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../../infra/logger';
import { metrics } from '../../infra/metrics';
import type { AuditActor, AuditInput } from '../../events/audit';
import type { AuditTrail } from '../../events/audit-trail';
import { problems, sendProblem, PROBLEM_CONTENT_TYPE } from './problems';

/**
 * Who is calling. Vendors see only their own submissions; ops see everything; an agency (signed requests, agency API
 * only) sees only the assessments it was invited to; nobody else sees anything.
 */
export type Principal = { kind: 'vendor'; vendorId: string; keyId?: string } | { kind: 'ops'; operator: string } | { kind: 'agency'; agencyId: string };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook of Preflight's protected routes. */
    principal?: Principal;
  }
}

/** Resolves a bearer secret to a principal; undefined when the secret is unknown. */
export type Authenticator = (secret: string) => Principal | undefined;

/** SHA-256 hex of a secret: what key files store instead of the secret. */
export function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new random ops token (`pfo_` + 43 base64url chars), shown once to whoever creates it. */
export function newOpsToken(): string {
  return `pfo_${crypto.randomBytes(32).toString('base64url')}`;
}

/** The ops key file: operator names and the SHA-256 of their tokens, never the tokens. */
export const OpsKeyFileSchema = z.strictObject({
  version: z.literal(1),
  operators: z
    .array(z.strictObject({ operator: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/), sha256: z.string().regex(/^[0-9a-f]{64}$/) }))
    .max(1000),
});
export type OpsKeyFile = z.infer<typeof OpsKeyFileSchema>;

/** Builds the ops authenticator from the key file's entries. */
export function opsAuthenticator(file: OpsKeyFile): Authenticator {
  const byHash = new Map(file.operators.map((o) => [o.sha256, o.operator]));
  return (secret) => {
    const operator = byHash.get(hashSecret(secret));
    return operator ? { kind: 'ops', operator } : undefined;
  };
}

/** Reads and validates an ops key file; a bad file stops start-up with its path in the message. */
export function loadOpsKeyFile(path: string): OpsKeyFile {
  let document: unknown;
  try {
    document = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`Cannot read the ops key file ${path}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = OpsKeyFileSchema.safeParse(document);
  if (!parsed.success) throw new Error(`Invalid ops key file ${path}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** A vendor key file: vendor ids and the SHA-256 of their API keys (several per vendor during rotation). */
export const VendorKeyFileSchema = z.strictObject({
  version: z.literal(1),
  keys: z
    .array(
      z.strictObject({
        vendorId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
        keyId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .max(10_000),
});
export type VendorKeyFile = z.infer<typeof VendorKeyFileSchema>;

/** A new random vendor API key (`pfv_` + 43 base64url chars), shown once to the vendor. */
export function newVendorKey(): string {
  return `pfv_${crypto.randomBytes(32).toString('base64url')}`;
}

export function vendorAuthenticator(file: VendorKeyFile): Authenticator {
  const byHash = new Map(file.keys.map((k) => [k.sha256, k]));
  return (secret) => {
    const k = byHash.get(hashSecret(secret));
    return k ? { kind: 'vendor', vendorId: k.vendorId, keyId: k.keyId } : undefined;
  };
}

export function loadVendorKeyFile(path: string): VendorKeyFile {
  let document: unknown;
  try {
    document = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`Cannot read the vendor key file ${path}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = VendorKeyFileSchema.safeParse(document);
  if (!parsed.success) throw new Error(`Invalid vendor key file ${path}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** Tries each authenticator in turn (ops first, then vendor keys). */
export function combineAuthenticators(...authenticators: Authenticator[]): Authenticator {
  return (secret) => {
    for (const a of authenticators) {
      const p = a(secret);
      if (p) return p;
    }
    return undefined;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The audit trail

export type { AuditTrail };

const UNKNOWN_CREDENTIAL = Symbol('unknown-credential');
declare module 'fastify' {
  interface FastifyRequest {
    [UNKNOWN_CREDENTIAL]?: boolean;
  }
}

/** Marks a request as carrying a credential nobody issued, so its refusal is audited as `unknown-credential`. */
export function markUnknownCredential(request: FastifyRequest): void {
  request[UNKNOWN_CREDENTIAL] = true;
}

/** `vendor:<id>`, `ops:<name>`, `agency:<id>`, `unknown-credential` or `anonymous`: how the audit names a caller. */
export function principalLabel(request: FastifyRequest): string {
  const p = request.principal;
  if (p?.kind === 'vendor') return `vendor:${p.vendorId}`;
  if (p?.kind === 'ops') return `ops:${p.operator}`;
  if (p?.kind === 'agency') return `agency:${p.agencyId}`;
  return request[UNKNOWN_CREDENTIAL] ? 'unknown-credential' : 'anonymous';
}

/** The HTTP statuses that are refusals of access. */
const REFUSALS = new Set([401, 403, 404]);

/** GET routes that hand out finding details, answers to information requests or credentials: every read is audited. */
const SENSITIVE_READ = /\/(findings|info-requests)(\/|$)|\/(access-token|secret|history|timeline)$/;

const AUDIT_DETAILS = Symbol('audit-details');
declare module 'fastify' {
  interface FastifyRequest {
    [AUDIT_DETAILS]?: NonNullable<AuditInput['details']>;
  }
}

/** Adds facts to the request's audit record (the codec: namespace, payload count, key ids; never contents). */
export function addAuditDetails(request: FastifyRequest, details: NonNullable<AuditInput['details']>): void {
  request[AUDIT_DETAILS] = { ...request[AUDIT_DETAILS], ...details };
}

/** The audit trail's actor for a request. */
export function auditActor(request: FastifyRequest): AuditActor {
  const p = request.principal;
  if (p?.kind === 'vendor') return { kind: 'vendor', id: p.vendorId };
  if (p?.kind === 'ops') return { kind: 'ops', id: p.operator };
  if (p?.kind === 'agency') return { kind: 'agency', id: p.agencyId };
  return { kind: request[UNKNOWN_CREDENTIAL] ? 'unknown-credential' : 'anonymous', id: '-' };
}

/** Which requests the trail records: every command (any method but GET/HEAD/OPTIONS), every refusal, sensitive reads. */
export function isAudited(method: string, route: string, status: number): boolean {
  if (REFUSALS.has(status)) return true;
  if (method === 'GET' || method === 'HEAD') return SENSITIVE_READ.test(route);
  return method !== 'OPTIONS';
}

function outcomeOf(status: number): AuditInput['outcome'] {
  if (status < 400) return 'ok';
  if (REFUSALS.has(status)) return 'refused';
  return status < 500 ? 'rejected' : 'failed';
}

/**
 * Records each audited request (see `isAudited`) in the audit trail before its answer leaves: the hook awaits the
 * append, and a request whose record cannot be stored is answered 503 instead (whatever it did stays done, and the
 * error log names it). Refusals also get a structured warn line (`audit: "refusal"`). Registered on the root instance
 * so it covers every route, including unmatched paths.
 */
export function registerAuditTrail(app: FastifyInstance, audit: AuditTrail, logger: Logger): void {
  const log = logger.child({ component: 'audit' });
  app.addHook('onSend', async (request, reply, payload) => {
    const path = request.url.split('?')[0] ?? '';
    const route = request.routeOptions?.url ?? path;
    const status = reply.statusCode;
    if (!isAudited(request.method, route, status)) return payload;
    let reason: string | undefined;
    const type = String(reply.getHeader('content-type') ?? '');
    if (status >= 400) {
      reason = `http-${status}`;
      if (type.startsWith(PROBLEM_CONTENT_TYPE) && typeof payload === 'string') {
        try {
          const parsed = JSON.parse(payload) as { code?: unknown };
          if (typeof parsed.code === 'string') reason = parsed.code.slice(0, 200);
        } catch {
          // not JSON after all: the generic code stands
        }
      }
    }
    const details = request[AUDIT_DETAILS];
    const input: AuditInput = {
      actor: auditActor(request),
      action: `${request.method} ${route}`.slice(0, 200),
      target: path.slice(0, 500),
      outcome: outcomeOf(status),
      ...(reason ? { reason } : {}),
      status,
      requestId: String(request.id),
      ...(details ? { details } : {}),
    };
    if (REFUSALS.has(status)) {
      metrics.authRefusals.inc({ reason: reason ?? `http-${status}` });
      log.warn(
        { audit: 'refusal', principal: principalLabel(request), method: request.method, route, path, status, code: reason, ip: request.ip },
        'request refused',
      );
    }
    try {
      await audit.append(input);
      return payload;
    } catch (err) {
      log.error({ err, requestId: request.id, action: input.action, status }, 'audit record not stored: answering 503');
      reply.code(503).header('retry-after', '5').type(PROBLEM_CONTENT_TYPE);
      return JSON.stringify(problems.unavailable('The audit trail could not record this request; retry.').body(path));
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Authentication hooks

/** The bearer secret of the Authorization header, when there is a well-formed one. */
export function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header.trim());
  return m?.[1];
}

/** Resolves the caller (or refuses with 401); `allow` says which kinds of principal the route takes (else 403). */
export function authenticate(authenticator: Authenticator, allow: ReadonlyArray<Principal['kind']>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const secret = bearer(request);
    if (!secret) {
      reply.header('www-authenticate', 'Bearer');
      await sendProblem(reply, problems.unauthenticated(), request.url.split('?')[0]);
      return;
    }
    const principal = authenticator(secret);
    if (!principal) {
      request[UNKNOWN_CREDENTIAL] = true;
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      await sendProblem(reply, problems.unauthenticated(), request.url.split('?')[0]);
      return;
    }
    request.principal = principal;
    if (!allow.includes(principal.kind)) {
      await sendProblem(reply, problems.forbidden(), request.url.split('?')[0]);
    }
  };
}

/** The vendor id of a vendor principal; ops act on behalf of nobody and pass `undefined` (they may see everything). */
export function vendorScope(request: FastifyRequest): string | undefined {
  return request.principal?.kind === 'vendor' ? request.principal.vendorId : undefined;
}
