import crypto from 'node:crypto';
import fs from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../../infra/logger';
import { metrics } from '../../infra/metrics';
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
// Audit of refusals

export interface AuditEntry {
  at: string;
  requestId: string;
  /** `vendor:<id>`, `ops:<name>`, `agency:<id>`, `anonymous` (no credential) or `unknown-credential`. */
  principal: string;
  method: string;
  /** The route pattern (e.g. `/v1/submissions/:id`), or the path when no route matched. */
  route: string;
  /** The concrete path without its query string. */
  path: string;
  status: number;
  code: string;
  ip: string;
  /** Codec requests only: the namespace asked for, how many payloads, which payload key ids (never contents). */
  namespace?: string;
  payloads?: number;
  keyIds?: string[];
  /** How the caller authenticated when it matters (`bearer`, or `session` for the Temporal UI's cookie). */
  credential?: 'bearer' | 'session';
  /** Named ops actions (bulk replays): the id of what was acted on, and a one-line account (ids and counts only). */
  target?: string;
  detail?: string;
  /** Case actions by operators: the case, the action, whether the case took it, and an override's reason. */
  caseId?: string;
  action?: string;
  outcome?: 'applied' | 'refused';
  overrideReason?: string;
}

/**
 * Where refusals (and every codec call by ops) are recorded. The default is an in-memory ring per api process, served
 * at `GET /ops/audit`.
 */
export interface AuditLog {
  record(entry: AuditEntry): void;
  recent(limit?: number): AuditEntry[];
}

export class RingAuditLog implements AuditLog {
  private readonly entries: AuditEntry[] = [];
  constructor(private readonly capacity = 5000) {}
  record(entry: AuditEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }
  recent(limit = 200): AuditEntry[] {
    return this.entries.slice(-limit).reverse();
  }
}

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

/** The HTTP statuses that are refusals of access: every one is audited. */
const REFUSALS = new Set([401, 403, 404]);

/**
 * Audits every refusal the api sends (401, 403, 404): one structured warn line (`audit: "refusal"`) and one entry in
 * the audit log. Registered on the root instance so it covers every route, including unmatched paths.
 */
export function registerRefusalAudit(app: FastifyInstance, audit: AuditLog, logger: Logger): void {
  const log = logger.child({ component: 'audit' });
  app.addHook('onSend', async (request, reply, payload) => {
    if (!REFUSALS.has(reply.statusCode)) return payload;
    let code = `http-${reply.statusCode}`;
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith(PROBLEM_CONTENT_TYPE) && typeof payload === 'string') {
      try {
        const parsed = JSON.parse(payload) as { code?: unknown };
        if (typeof parsed.code === 'string') code = parsed.code;
      } catch {
        // not JSON after all: the generic code stands
      }
    }
    const entry: AuditEntry = {
      at: new Date().toISOString(),
      requestId: String(request.id),
      principal: principalLabel(request),
      method: request.method,
      route: request.routeOptions?.url ?? request.url.split('?')[0] ?? '',
      path: request.url.split('?')[0] ?? '',
      status: reply.statusCode,
      code,
      ip: request.ip,
    };
    audit.record(entry);
    metrics.authRefusals.inc({ reason: code });
    log.warn({ audit: 'refusal', ...entry }, 'request refused');
    return payload;
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
