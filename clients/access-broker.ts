import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { submissionStateQuery, submissionWorkflowId } from '../workflows/submission/contract';

/** What the submission workflow asks for: everything here is an id or a time, never a secret. */
export interface AccessGrantRequest {
  /** Deterministic, chosen by the workflow, so a retried grant is the same grant. */
  grantId: string;
  submissionId: string;
  agencyId: string;
  /** ISO-8601; the token stops working then even if revocation were missed. */
  expiresAt: string;
}

/** What goes back into workflow history: the id and expiry only. The token itself never does. */
export interface AccessGrant {
  grantId: string;
  expiresAt: string;
}

export const ACCESS_SCOPE = 'model:evaluate';

export type AccessVerification =
  | { valid: true; grantId: string; submissionId: string; agencyId: string; scope: string; expiresAt: string }
  | { valid: false; reason: 'malformed' | 'bad-signature' | 'expired' | 'revoked' };

/** What an agency fetches for its live grant through the agency API; never stored in workflow history. */
export interface AccessCredential {
  grantId: string;
  tokenType: 'Bearer';
  token: string;
  scope: string;
  expiresAt: string;
}

/**
 * Issues, delivers, verifies and revokes agency access to a vendor's model. The local default is `LocalAccessBroker`;
 * a vendor that runs its own access system implements this interface over it (see ARCHITECTURE.md, "Access broker"):
 * `grant` provisions the credential there, `credential` returns it for the agency API to hand to that agency only,
 * `revoke` withdraws it, and `verify` answers `POST /v1/access/verify` (or the vendor's gateway asks its own system).
 */
export interface AccessBroker {
  grant(request: AccessGrantRequest): Promise<AccessGrant>;
  /** The credential of a live grant, for the agency it was granted to (the agency API checks that before asking). */
  credential(request: AccessGrantRequest): Promise<AccessCredential>;
  revoke(grantId: string, submissionId: string): Promise<void>;
  /** For the vendor's model gateway (through `POST /v1/access/verify`). */
  verify(token: string): Promise<AccessVerification>;
}

/** Answers whether a grant is still live; the Temporal-backed one asks the submission workflow, the system of record. */
export type GrantLiveness = (grant: { grantId: string; submissionId: string }) => Promise<boolean>;

const TOKEN_PREFIX = 'pfa1';

function b64url(buf: Buffer | string): string {
  return Buffer.from(buf).toString('base64url');
}

/**
 * Local default broker: tokens are `pfa1.<payload>.<HMAC-SHA256>` with a key derived (HKDF) from the master key, so
 * nothing needs storing and any process holding the master key can verify. Revocation is recorded in the submission
 * workflow; pass `isGrantLive` so verification in another process sees it. Revocations made through this instance are
 * also remembered locally.
 */
export class LocalAccessBroker implements AccessBroker {
  private readonly key: Buffer;
  private readonly revoked = new Set<string>();
  private readonly now: () => number;
  private readonly isGrantLive: GrantLiveness | undefined;

  constructor(options: { masterKey: Buffer; now?: () => number; isGrantLive?: GrantLiveness }) {
    if (!Buffer.isBuffer(options.masterKey) || options.masterKey.length !== 32) {
      throw new TypeError('LocalAccessBroker needs a 32-byte master key');
    }
    this.key = Buffer.from(crypto.hkdfSync('sha256', options.masterKey, 'preflight', 'access-token/v1', 32));
    this.now = options.now ?? Date.now;
    this.isGrantLive = options.isGrantLive;
  }

  async grant(request: AccessGrantRequest): Promise<AccessGrant> {
    const expiresMs = Date.parse(request.expiresAt);
    if (!Number.isFinite(expiresMs)) throw new TypeError(`grant ${request.grantId}: expiresAt is not a date`);
    for (const field of ['grantId', 'submissionId', 'agencyId'] as const) {
      if (typeof request[field] !== 'string' || !request[field]) throw new TypeError(`grant: ${field} is missing`);
    }
    return { grantId: request.grantId, expiresAt: new Date(expiresMs).toISOString() };
  }

  /** The bearer token for a grant, handed to the agency over its own channel; it is derived again on demand. */
  tokenFor(request: AccessGrantRequest): string {
    const payload = b64url(
      JSON.stringify({
        g: request.grantId,
        s: request.submissionId,
        a: request.agencyId,
        sc: ACCESS_SCOPE,
        exp: Math.floor(Date.parse(request.expiresAt) / 1000),
      }),
    );
    return `${TOKEN_PREFIX}.${payload}.${this.sign(payload)}`;
  }

  async credential(request: AccessGrantRequest): Promise<AccessCredential> {
    if (!Number.isFinite(Date.parse(request.expiresAt))) throw new TypeError(`grant ${request.grantId}: expiresAt is not a date`);
    return { grantId: request.grantId, tokenType: 'Bearer', token: this.tokenFor(request), scope: ACCESS_SCOPE, expiresAt: request.expiresAt };
  }

  async revoke(grantId: string, _submissionId: string): Promise<void> {
    this.revoked.add(grantId);
  }

  async verify(token: string): Promise<AccessVerification> {
    if (typeof token !== 'string' || token.length > 2048) return { valid: false, reason: 'malformed' };
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX) return { valid: false, reason: 'malformed' };
    const [, payload, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return { valid: false, reason: 'bad-signature' };
    let claims: { g: string; s: string; a: string; sc: string; exp: number };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { valid: false, reason: 'malformed' };
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= this.now()) return { valid: false, reason: 'expired' };
    if (this.revoked.has(claims.g)) return { valid: false, reason: 'revoked' };
    if (this.isGrantLive && !(await this.isGrantLive({ grantId: claims.g, submissionId: claims.s }))) {
      return { valid: false, reason: 'revoked' };
    }
    return {
      valid: true,
      grantId: claims.g,
      submissionId: claims.s,
      agencyId: claims.a,
      scope: claims.sc,
      expiresAt: new Date(claims.exp * 1000).toISOString(),
    };
  }

  private sign(payload: string): string {
    return crypto.createHmac('sha256', this.key).update(`${TOKEN_PREFIX}.${payload}`).digest('base64url');
  }
}

/**
 * Grant liveness read from the submission workflow: live only while the workflow runs and lists the grant among its
 * `activeGrants`. A missing, terminated, timed-out, cancelled or failed workflow holds no live grant, whatever its last
 * state says (a terminated run never got to revoke).
 */
export function temporalGrantLiveness(client: Client): GrantLiveness {
  return async ({ grantId, submissionId }) => {
    try {
      const handle = client.workflow.getHandle(submissionWorkflowId(submissionId));
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return false;
      const view = await handle.query(submissionStateQuery);
      return view.activeGrants.some((g) => g.grantId === grantId);
    } catch {
      return false;
    }
  };
}
