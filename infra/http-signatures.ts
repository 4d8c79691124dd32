import crypto, { type KeyObject } from 'node:crypto';
import { ExpiredError, createSigner, httpbis, type SignatureParameters } from 'http-message-signatures';

/**
 * The parts of `structured-headers` (RFC 8941/9651) used here. Its type declarations are ESM-only and this project
 * resolves modules the classic Node way, so its CommonJS build is loaded with these types.
 */
type BareItem = number | string | boolean | ArrayBuffer | object;
type Parameters = Map<string, BareItem>;
type Item = [BareItem, Parameters];
type InnerList = [Item[], Parameters];
type Dictionary = Map<string, Item | InnerList>;
const { isInnerList, parseDictionary } = require('structured-headers') as {
  isInnerList(value: Item | InnerList): value is InnerList;
  parseDictionary(input: string): Dictionary;
};

/**
 * HTTP Message Signatures (RFC 9421) with Ed25519, the way the agency API uses them: signing with the
 * `http-message-signatures` library and verifying with it after the checks the library leaves to its caller
 * (exactly one signature, covered components, parameters, freshness, replay, RFC 9530 `Content-Digest`).
 *
 * A signed request carries
 *
 *     Signature-Input: preflight=("@method" "@target-uri");created=1767052800;keyid="nsa";alg="ed25519";nonce="…"
 *     Signature: preflight=:<base64 Ed25519 signature>:
 *
 * and, when it has a body, `Content-Digest: sha-256=:<base64>:` covered as `"content-digest"`. `keyid` is the agency
 * id; the signature must verify against one of the public keys the agency registry pins for it.
 */

/** The signature label Preflight's clients use (any single label is accepted). */
export const SIGNATURE_LABEL = 'preflight';
export const SIGNATURE_ALG = 'ed25519';
/** A signature older than this (by its `created`) is stale; its nonce is remembered for as long. */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;
/** How far `created` may lie in the future (clock skew between the agency and the api). */
export const SIGNATURE_FUTURE_SKEW_SECONDS = 30;
/** Components every signature covers; `content-digest` too when there is a body. */
export const REQUIRED_COMPONENTS = ['@method', '@target-uri'] as const;
const NONCE = /^[A-Za-z0-9._~+/=-]{16,128}$/;
const KEYID = /^[a-z0-9][a-z0-9-]{0,31}$/;

export interface HttpMessage {
  method: string;
  /** The absolute target URI (`http://host:port/path?query`). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The request body as sent; absent or empty for none. */
  body?: Buffer;
}

/** RFC 9530 `Content-Digest` value for a body, with SHA-256. */
export function contentDigest(body: Buffer): string {
  return `sha-256=:${crypto.createHash('sha256').update(body).digest('base64')}:`;
}

/**
 * Signs a request as an agency: returns the headers to send (`Signature-Input`, `Signature`, and `Content-Digest` when
 * there is a body). Covered: `@method`, `@target-uri` (and `content-digest`); parameters `created`, `keyid`, `alg`,
 * `nonce`.
 */
export async function signRequest(input: {
  method: string;
  url: string;
  body?: Buffer;
  keyId: string;
  privateKey: KeyObject;
  created?: Date;
  nonce?: string;
}): Promise<Record<string, string>> {
  if (input.privateKey.asymmetricKeyType !== 'ed25519' || input.privateKey.type !== 'private') throw new TypeError('signRequest needs an Ed25519 private key');
  const headers: Record<string, string> = {};
  const hasBody = input.body !== undefined && input.body.length > 0;
  if (hasBody) headers['content-digest'] = contentDigest(input.body!);
  const signed = await httpbis.signMessage(
    {
      key: createSigner(input.privateKey, SIGNATURE_ALG, input.keyId),
      name: SIGNATURE_LABEL,
      fields: [...REQUIRED_COMPONENTS, ...(hasBody ? ['content-digest'] : [])],
      params: ['created', 'keyid', 'alg', 'nonce'],
      paramValues: { created: input.created ?? new Date(), nonce: input.nonce ?? crypto.randomBytes(18).toString('base64url') },
    },
    { method: input.method.toUpperCase(), url: input.url, headers },
  );
  return Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]));
}

/** Why a signed request was refused; each is answered 401 with this code. */
export type SignatureRefusal = 'unsigned' | 'malformed-signature' | 'unknown-key' | 'bad-signature' | 'stale-signature' | 'replayed-nonce' | 'digest-mismatch';

export type SignatureCheck =
  { ok: true; keyId: string; nonce: string; created: number } | { ok: false; code: SignatureRefusal; reason: string; keyId?: string };

/**
 * Remembers nonces until their signature can no longer be fresh, so a captured request cannot be sent again. Memory is
 * bounded by the window: entries are dropped once their signature is stale, and a full cache refuses rather than
 * forgets (per process; several api processes behind one name need a shared store).
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(readonly capacity = 100_000) {}

  /** True when the nonce is new (and is now remembered until `untilSeconds`); false when it was seen or the cache is full. */
  claim(key: string, untilSeconds: number, nowSeconds: number): 'new' | 'seen' | 'full' {
    const until = this.seen.get(key);
    if (until !== undefined && until >= nowSeconds) return 'seen';
    if (this.seen.size >= this.capacity) this.prune(nowSeconds);
    if (this.seen.size >= this.capacity) return 'full';
    this.seen.set(key, untilSeconds);
    return 'new';
  }

  prune(nowSeconds: number): void {
    for (const [k, until] of this.seen) if (until < nowSeconds) this.seen.delete(k);
  }

  get size(): number {
    return this.seen.size;
  }
}

function header(message: HttpMessage, name: string): string | undefined {
  const v = message.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function refuse(code: SignatureRefusal, reason: string, keyId?: string): SignatureCheck {
  return { ok: false, code, reason, ...(keyId ? { keyId } : {}) };
}

/**
 * Verifies a request signed as above. Checks, in order: one signature, its covered components and parameters, the
 * key id known (`keysFor`), freshness of `created` (window and future skew), the Ed25519 signature (through the
 * library), the body's `Content-Digest`, and last the nonce (only an authentic request can use one up).
 */
export async function verifyRequest(
  message: HttpMessage,
  options: {
    keysFor: (keyId: string) => readonly KeyObject[] | undefined;
    nonces: NonceCache;
    nowSeconds?: number;
    windowSeconds?: number;
  },
): Promise<SignatureCheck> {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const windowSeconds = options.windowSeconds ?? SIGNATURE_WINDOW_SECONDS;
  const inputHeader = header(message, 'signature-input');
  const signatureHeader = header(message, 'signature');
  if (!inputHeader || !signatureHeader) return refuse('unsigned', 'The request lacks the Signature-Input or Signature header (RFC 9421).');
  let inputs: Dictionary;
  let signatures: Dictionary;
  try {
    inputs = parseDictionary(inputHeader);
    signatures = parseDictionary(signatureHeader);
  } catch {
    return refuse('malformed-signature', 'Signature-Input or Signature is not a structured-field dictionary.');
  }
  if (inputs.size !== 1 || signatures.size !== 1) return refuse('malformed-signature', 'Exactly one signature is expected.');
  const [label, entry] = [...inputs.entries()][0]!;
  if (!signatures.has(label)) return refuse('malformed-signature', `Signature has no value labelled "${label}".`);
  if (!isInnerList(entry)) return refuse('malformed-signature', 'The signature input is not an inner list of components.');
  const [items, params] = entry;
  const components = items.map(([value, p]) => (p.size === 0 && typeof value === 'string' ? value : undefined));
  const hasBody = message.body !== undefined && message.body.length > 0;
  const required: string[] = [...REQUIRED_COMPONENTS, ...(hasBody ? ['content-digest'] : [])];
  const missing = required.filter((c) => !components.includes(c));
  if (missing.length > 0) return refuse('malformed-signature', `The signature must cover ${missing.map((c) => `"${c}"`).join(', ')}.`);
  const keyId = params.get('keyid');
  const created = params.get('created');
  const alg = params.get('alg');
  const nonce = params.get('nonce');
  const expires = params.get('expires');
  if (typeof keyId !== 'string' || !KEYID.test(keyId)) return refuse('malformed-signature', 'The keyid parameter must be the agency id.');
  if (typeof created !== 'number' || !Number.isInteger(created))
    return refuse('malformed-signature', 'The created parameter (unix seconds) is required.', keyId);
  if (alg !== SIGNATURE_ALG) return refuse('malformed-signature', 'The alg parameter must be "ed25519".', keyId);
  if (typeof nonce !== 'string' || !NONCE.test(nonce))
    return refuse('malformed-signature', 'The nonce parameter is required (16-128 URL-safe characters).', keyId);
  const keys = options.keysFor(keyId);
  if (!keys || keys.length === 0) return refuse('unknown-key', `No public key is registered for keyid "${keyId}".`);
  if (now - created > windowSeconds)
    return refuse('stale-signature', `The signature was created ${now - created} s ago; at most ${windowSeconds} s are accepted.`, keyId);
  if (created - now > SIGNATURE_FUTURE_SKEW_SECONDS) return refuse('stale-signature', 'The signature was created in the future; check the clock.', keyId);
  if (typeof expires === 'number' && expires < now) return refuse('stale-signature', 'The signature has expired.', keyId);

  let verified: boolean | null;
  try {
    verified = await httpbis.verifyMessage(
      {
        keyLookup: async (p: SignatureParameters) =>
          p.keyid === keyId
            ? { id: keyId, algs: [SIGNATURE_ALG], verify: async (data: Buffer, signature: Buffer) => keys.some((k) => safeVerify(data, signature, k)) }
            : null,
        notAfter: now + SIGNATURE_FUTURE_SKEW_SECONDS,
        maxAge: windowSeconds,
        requiredParams: ['created', 'keyid', 'alg', 'nonce'],
        requiredFields: required,
      },
      { method: message.method.toUpperCase(), url: message.url, headers: definedHeaders(message.headers) },
    );
  } catch (e) {
    if (e instanceof ExpiredError) return refuse('stale-signature', 'The signature is too old.', keyId);
    return refuse('malformed-signature', `The signature cannot be checked: ${(e as Error).message}`, keyId);
  }
  if (verified !== true) return refuse('bad-signature', 'The signature does not verify against the public keys registered for this agency.', keyId);

  if (hasBody) {
    const digest = header(message, 'content-digest');
    if (!digest || !digestMatches(digest, message.body!))
      return refuse('digest-mismatch', 'Content-Digest does not match the body (RFC 9530, sha-256 or sha-512).', keyId);
  }
  const claimed = options.nonces.claim(`${keyId} ${nonce}`, created + windowSeconds + SIGNATURE_FUTURE_SKEW_SECONDS, now);
  if (claimed === 'seen') return refuse('replayed-nonce', 'This nonce was already used: every request needs a new signature.', keyId);
  if (claimed === 'full') return refuse('replayed-nonce', 'Too many signed requests in the window; retry shortly.', keyId);
  return { ok: true, keyId, nonce, created };
}

function safeVerify(data: Buffer, signature: Buffer, key: KeyObject): boolean {
  try {
    return crypto.verify(null, data, key, signature);
  } catch {
    return false;
  }
}

function definedHeaders(headers: HttpMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

/** True when one of the digests (sha-256 or sha-512) in a `Content-Digest` value matches the body. */
export function digestMatches(value: string, body: Buffer): boolean {
  let dict: Dictionary;
  try {
    dict = parseDictionary(value);
  } catch {
    return false;
  }
  let matched = false;
  for (const [alg, hash] of [
    ['sha-256', 'sha256'],
    ['sha-512', 'sha512'],
  ] as const) {
    const item = dict.get(alg);
    if (!item) continue;
    const bytes = item[0];
    if (!(bytes instanceof ArrayBuffer)) return false;
    const expected = crypto.createHash(hash).update(body).digest();
    const given = Buffer.from(bytes);
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return false;
    matched = true;
  }
  return matched;
}
