import crypto, { type KeyObject } from 'node:crypto';

/**
 * Agency command signatures: Ed25519 over `<ce_id>.<preflight-timestamp>.<ce_type>.<ce_subject>.<body bytes>`, carried
 * as `preflight-signature: v1a,<base64 signature>` (several space-separated signatures are allowed during key
 * rotation) next to `preflight-timestamp: <unix seconds>`. The scheme mirrors Standard Webhooks' `v1a` form.
 *
 * Type and subject are signed because they are headers, not body: signing only id, timestamp and body would let
 * anyone who can read and write the command topic take an agency's signed command and, within the window, point it
 * at another submission (a new workflow, so a new update id) or turn it into another command with the same body.
 * The source needs no signing: it selects the key that must verify.
 */
export const SIGNATURE_HEADER = 'preflight-signature';
export const TIMESTAMP_HEADER = 'preflight-timestamp';
export const SIGNATURE_VERSION = 'v1a';
/** Commands whose signed timestamp is further than this from their reference time (the Kafka record's) are refused. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

const MAX_SIGNATURES = 8;
const TIMESTAMP_TEXT = /^[0-9]{1,12}$/;

/** What a signature binds besides id, timestamp and body. */
export interface SignedContext {
  /** `ce_type` */
  type: string;
  /** `ce_subject` (= the Kafka key) */
  subject: string;
}

/** The exact bytes that are signed: `<ce_id>.<timestamp>.<ce_type>.<ce_subject>.<body>`. */
export function signedContent(id: string, timestamp: number | string, context: SignedContext, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${id}.${timestamp}.${context.type}.${context.subject}.`, 'utf8'), body]);
}

/** Signs a command and returns the header value `v1a,<base64>`. Ed25519 is deterministic: same input, same value. */
export function signCommand(input: { id: string; timestamp: number; context: SignedContext; body: Buffer; privateKey: KeyObject }): string {
  assertEd25519(input.privateKey, 'private');
  const sig = crypto.sign(null, signedContent(input.id, input.timestamp, input.context, input.body), input.privateKey);
  return `${SIGNATURE_VERSION},${sig.toString('base64')}`;
}

export type VerifyFailure = 'unsigned' | 'malformed-signature' | 'forged' | 'expired';
export type VerifyResult = { ok: true; keyIndex: number } | { ok: false; code: VerifyFailure; reason: string };

/**
 * Verifies a command against an agency's pinned public keys and the timestamp window around `nowSeconds`, the
 * reference time: the ingress passes the Kafka record's timestamp (see `events/freshness.ts`), a direct caller its
 * clock. The signature is checked before the window, so an expired but authentic command is reported as `expired`
 * (its sender is known). `referenceName` says in the reason what the timestamp was compared with.
 */
export function verifyCommand(input: {
  id: string;
  timestampHeader: string | undefined;
  signatureHeader: string | undefined;
  context: SignedContext;
  body: Buffer;
  publicKeys: readonly KeyObject[];
  nowSeconds?: number;
  toleranceSeconds?: number;
  referenceName?: string;
}): VerifyResult {
  const { timestampHeader, signatureHeader } = input;
  if (!signatureHeader || !timestampHeader) {
    return { ok: false, code: 'unsigned', reason: `The command lacks the ${!signatureHeader ? SIGNATURE_HEADER : TIMESTAMP_HEADER} header` };
  }
  if (!TIMESTAMP_TEXT.test(timestampHeader)) {
    return { ok: false, code: 'malformed-signature', reason: `${TIMESTAMP_HEADER} is not unix seconds` };
  }
  const signatures = parseSignatureHeader(signatureHeader);
  if (signatures.length === 0) {
    return { ok: false, code: 'malformed-signature', reason: `${SIGNATURE_HEADER} holds no ${SIGNATURE_VERSION} signature` };
  }
  const content = signedContent(input.id, timestampHeader, input.context, input.body);
  let keyIndex = -1;
  for (const sig of signatures) {
    keyIndex = input.publicKeys.findIndex((key) => safeVerify(content, key, sig));
    if (keyIndex >= 0) break;
  }
  if (keyIndex < 0) return { ok: false, code: 'forged', reason: 'The signature does not verify against the agency’s pinned keys' };
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const skew = Number(timestampHeader) - now;
  if (Math.abs(skew) > tolerance) {
    return {
      ok: false,
      code: 'expired',
      reason: `The command timestamp is ${Math.abs(skew)} s ${skew < 0 ? 'older than' : 'ahead of'} ${input.referenceName ?? 'the receiver’s clock'}; the window is ±${tolerance} s`,
    };
  }
  return { ok: true, keyIndex };
}

function parseSignatureHeader(header: string): Buffer[] {
  return header
    .trim()
    .split(/\s+/)
    .slice(0, MAX_SIGNATURES)
    .flatMap((part) => {
      const comma = part.indexOf(',');
      if (comma < 0 || part.slice(0, comma) !== SIGNATURE_VERSION) return [];
      const b64 = part.slice(comma + 1);
      if (!/^[A-Za-z0-9+/]{86}==$/.test(b64)) return [];
      return [Buffer.from(b64, 'base64')];
    });
}

function safeVerify(content: Buffer, key: KeyObject, sig: Buffer): boolean {
  try {
    return crypto.verify(null, content, key, sig);
  } catch {
    return false;
  }
}

function assertEd25519(key: KeyObject, kind: 'public' | 'private'): void {
  if (key.type !== kind || key.asymmetricKeyType !== 'ed25519') throw new Error(`Expected an Ed25519 ${kind} key`);
}

/** A fresh agency key pair: the public key as base64 of its 32 raw bytes (what the registry pins), the private key as PKCS#8 PEM. */
export function generateAgencyKeyPair(): { publicKey: string; privateKeyPem: string } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  return { publicKey: exportPublicKey(publicKey), privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

/** Base64 of the 32 raw public-key bytes. */
export function exportPublicKey(key: KeyObject): string {
  assertEd25519(key, 'public');
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

/** Imports a pinned public key given as base64 of its 32 raw bytes. */
export function importPublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64, 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== base64) throw new Error('An Ed25519 public key is 32 bytes in base64 (44 characters)');
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** Imports an Ed25519 private key from PKCS#8 PEM. */
export function importPrivateKey(pem: string): KeyObject {
  const key = crypto.createPrivateKey({ key: pem, format: 'pem' });
  assertEd25519(key, 'private');
  return key;
}

/** The public half of a private key, in the registry's base64 form. */
export function publicKeyOf(privateKey: KeyObject): string {
  return exportPublicKey(crypto.createPublicKey(privateKey));
}
