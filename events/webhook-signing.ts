import { createHmac, timingSafeEqual } from 'node:crypto';

/** Standard Webhooks header names. */
export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

const SECRET_PREFIX = 'whsec_';

/**
 * The signing secret of one endpoint at one secret version: `whsec_<base64 32 bytes>`, an HMAC of the endpoint id and
 * version under the master key. It is recomputed whenever it is needed, so it is never stored and never enters
 * workflow history (which holds only the version number).
 */
export function deriveWebhookSecret(masterKey: Buffer, endpointId: string, secretVersion: number): string {
  if (masterKey.length < 32) throw new Error('master key must be at least 32 bytes');
  if (!endpointId) throw new Error('endpoint id is required');
  if (!Number.isInteger(secretVersion) || secretVersion < 1) throw new Error(`secret version must be a positive integer, got ${secretVersion}`);
  const key = createHmac('sha256', masterKey).update(`preflight/webhook-secret/v1\0${endpointId}\0${secretVersion}`).digest();
  return SECRET_PREFIX + key.toString('base64');
}

function secretKey(secret: string): Buffer {
  const raw = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(raw, 'base64');
  if (key.length === 0) throw new Error('webhook secret is empty');
  return key;
}

/** One `v1,<base64 HMAC-SHA256 of id.timestamp.body>` signature. */
export function signWebhookPayload(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/**
 * The three Standard Webhooks headers for one attempt. Several secrets (during a rotation overlap) give several
 * space-separated signatures, so a receiver holding either the old or the new secret verifies the message.
 */
export function webhookHeaders(input: { id: string; timestampSeconds: number; body: string; secrets: readonly string[] }): Record<string, string> {
  if (input.secrets.length === 0) throw new Error('at least one signing secret is required');
  if (!Number.isInteger(input.timestampSeconds)) throw new Error('webhook timestamp must be whole unix seconds');
  return {
    [WEBHOOK_HEADERS.id]: input.id,
    [WEBHOOK_HEADERS.timestamp]: String(input.timestampSeconds),
    [WEBHOOK_HEADERS.signature]: input.secrets.map((s) => signWebhookPayload(s, input.id, input.timestampSeconds, input.body)).join(' '),
  };
}

/**
 * Verifies a delivery the way a receiver does (used by our own tooling; tests verify with the `standardwebhooks`
 * library independently). Returns false on any mismatch or a timestamp outside the tolerance.
 */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  const get = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const id = get(WEBHOOK_HEADERS.id);
  const ts = Number(get(WEBHOOK_HEADERS.timestamp));
  const sigs = get(WEBHOOK_HEADERS.signature);
  if (!id || !sigs || !Number.isInteger(ts)) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - ts) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhookPayload(secret, id, ts, body));
  return sigs.split(' ').some((s) => {
    const got = Buffer.from(s);
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
