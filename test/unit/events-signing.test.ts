import crypto from 'node:crypto';
import {
  exportPublicKey,
  generateAgencyKeyPair,
  importPrivateKey,
  importPublicKey,
  publicKeyOf,
  signCommand,
  signedContent,
  verifyCommand,
} from '../../events/signing';

describe('agency command signatures', () => {
  const pair = generateAgencyKeyPair();
  const privateKey = importPrivateKey(pair.privateKeyPem);
  const publicKey = importPublicKey(pair.publicKey);
  const body = Buffer.from('{"question":"What tools?"}');
  const now = 1_800_000_000;
  const context = { type: 'gov.preflight.assessment.request-info.v1', subject: 'sub-1' };
  const sign = (id = 'cmd-1', timestamp = now, b = body) => signCommand({ id, timestamp, context, body: b, privateKey });
  const verify = (over: Partial<Parameters<typeof verifyCommand>[0]> = {}) =>
    verifyCommand({ id: 'cmd-1', timestampHeader: String(now), signatureHeader: sign(), context, body, publicKeys: [publicKey], nowSeconds: now, ...over });

  it('signs "<id>.<timestamp>.<type>.<subject>.<body>" with Ed25519, verifiable by plain node:crypto', () => {
    const header = sign();
    expect(header).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    const sig = Buffer.from(header.slice(4), 'base64');
    const expected = `cmd-1.${now}.gov.preflight.assessment.request-info.v1.sub-1.${body.toString()}`;
    expect(crypto.verify(null, Buffer.from(expected), publicKey, sig)).toBe(true);
    expect(signedContent('cmd-1', now, context, body).toString()).toBe(expected);
    expect(sign()).toBe(header); // deterministic
  });

  it('accepts a good signature, and any of several keys or signatures (rotation)', () => {
    expect(verify()).toEqual({ ok: true, keyIndex: 0 });
    const other = importPublicKey(generateAgencyKeyPair().publicKey);
    expect(verify({ publicKeys: [other, publicKey] })).toEqual({ ok: true, keyIndex: 1 });
    expect(verify({ signatureHeader: `v1a,${'A'.repeat(86)}== ${sign()}` }).ok).toBe(true);
  });

  it('refuses missing, malformed and forged signatures', () => {
    expect(verify({ signatureHeader: undefined })).toMatchObject({ ok: false, code: 'unsigned' });
    expect(verify({ timestampHeader: undefined })).toMatchObject({ ok: false, code: 'unsigned' });
    expect(verify({ signatureHeader: 'v1,abc' })).toMatchObject({ ok: false, code: 'malformed-signature' });
    expect(verify({ timestampHeader: '12.5' })).toMatchObject({ ok: false, code: 'malformed-signature' });
    expect(verify({ body: Buffer.from('{"question":"What tools!"}') })).toMatchObject({ ok: false, code: 'forged' });
    expect(verify({ id: 'cmd-2' })).toMatchObject({ ok: false, code: 'forged' });
    expect(verify({ timestampHeader: String(now + 1) })).toMatchObject({ ok: false, code: 'forged' });
    // A captured command pointed at another submission, or turned into another command, no longer verifies.
    expect(verify({ context: { ...context, subject: 'sub-2' } })).toMatchObject({ ok: false, code: 'forged' });
    expect(verify({ context: { ...context, type: 'gov.preflight.assessment.decline.v1' } })).toMatchObject({ ok: false, code: 'forged' });
    expect(verify({ publicKeys: [importPublicKey(generateAgencyKeyPair().publicKey)] })).toMatchObject({ ok: false, code: 'forged' });
  });

  it('enforces the ±5 minute window after checking the signature', () => {
    const old = now - 301;
    expect(verify({ timestampHeader: String(old), signatureHeader: sign('cmd-1', old) })).toMatchObject({ ok: false, code: 'expired' });
    const future = now + 301;
    expect(verify({ timestampHeader: String(future), signatureHeader: sign('cmd-1', future) })).toMatchObject({ ok: false, code: 'expired' });
    const edge = now - 300;
    expect(verify({ timestampHeader: String(edge), signatureHeader: sign('cmd-1', edge) }).ok).toBe(true);
  });

  it('imports and exports keys in the registry form', () => {
    expect(exportPublicKey(publicKey)).toBe(pair.publicKey);
    expect(publicKeyOf(privateKey)).toBe(pair.publicKey);
    expect(() => importPublicKey('not-a-key')).toThrow(/32 bytes/);
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => importPrivateKey(rsa)).toThrow(/Ed25519/);
  });
});
