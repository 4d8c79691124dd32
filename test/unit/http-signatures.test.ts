import crypto from 'node:crypto';
import { createSigner, createVerifier, httpbis } from 'http-message-signatures';
import { contentDigest, digestMatches, NonceCache, signRequest, verifyRequest, type HttpMessage } from '../../infra/http-signatures';

// RFC 9421 Appendix B.1.4, "test-key-ed25519" (testing only).
const RFC_KEY = crypto.createPrivateKey({
  key: { kty: 'OKP', crv: 'Ed25519', d: 'n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU', x: 'JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs' },
  format: 'jwk',
});
const RFC_PUBLIC = crypto.createPublicKey(
  '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n',
);

// RFC 9421 Appendix B.2.6, "Signing a Request Using ed25519".
const B26_REQUEST = {
  method: 'POST',
  url: 'https://example.com/foo?param=Value&Pet=dog',
  headers: {
    host: 'example.com',
    date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'content-type': 'application/json',
    'content-digest': 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    'content-length': '18',
  },
};
const B26_BASE = [
  '"date": Tue, 20 Apr 2021 02:07:55 GMT',
  '"@method": POST',
  '"@path": /foo',
  '"@authority": example.com',
  '"content-type": application/json',
  '"content-length": 18',
  '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
].join('\n');
const B26_SIGNATURE = 'wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==';
const B26_FIELDS = ['date', '@method', '@path', '@authority', 'content-type', 'content-length'];

describe('RFC 9421 test vector B.2.6 (Ed25519) through the library Preflight uses', () => {
  it('builds the signature base of the appendix', () => {
    const base = httpbis.createSignatureBase({ fields: B26_FIELDS }, B26_REQUEST);
    base.push(['"@signature-params"', ['("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"']]);
    expect(httpbis.formatSignatureBase(base)).toBe(B26_BASE);
  });

  it('signs it to the appendix signature (Ed25519 is deterministic) and verifies the appendix signature', async () => {
    const signed = await httpbis.signMessage(
      {
        key: createSigner(RFC_KEY, 'ed25519', 'test-key-ed25519'),
        name: 'sig-b26',
        fields: B26_FIELDS,
        params: ['created', 'keyid'],
        paramValues: { created: new Date(1618884473 * 1000) },
      },
      B26_REQUEST,
    );
    expect((signed.headers as Record<string, string>)['Signature']).toBe(`sig-b26=:${B26_SIGNATURE}:`);
    expect(crypto.verify(null, Buffer.from(B26_BASE), RFC_PUBLIC, Buffer.from(B26_SIGNATURE, 'base64'))).toBe(true);
    const verify = (signature: string) =>
      httpbis.verifyMessage(
        { keyLookup: async () => ({ id: 'test-key-ed25519', algs: ['ed25519'], verify: createVerifier(RFC_PUBLIC, 'ed25519') }), notAfter: 1618884473 },
        {
          ...B26_REQUEST,
          headers: {
            ...B26_REQUEST.headers,
            'signature-input': 'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
            signature: `sig-b26=:${signature}:`,
          },
        },
      );
    await expect(verify(B26_SIGNATURE)).resolves.toBe(true);
    const flipped = Buffer.from(B26_SIGNATURE, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    await expect(verify(flipped.toString('base64'))).resolves.toBe(false);
  });
});

describe('agency request signatures', () => {
  const agency = crypto.generateKeyPairSync('ed25519');
  const other = crypto.generateKeyPairSync('ed25519');
  const keysFor = (id: string) => (id === 'nsa' ? [other.publicKey, agency.publicKey] : undefined);
  const url = 'http://127.0.0.1:8080/v1/agency/assessments?x=1';

  async function signed(overrides: { created?: Date; nonce?: string; body?: Buffer; key?: crypto.KeyObject; keyId?: string } = {}): Promise<HttpMessage> {
    const headers = await signRequest({
      method: overrides.body ? 'POST' : 'GET',
      url,
      keyId: overrides.keyId ?? 'nsa',
      privateKey: overrides.key ?? agency.privateKey,
      ...(overrides.created ? { created: overrides.created } : {}),
      ...(overrides.nonce ? { nonce: overrides.nonce } : {}),
      ...(overrides.body ? { body: overrides.body } : {}),
    });
    return { method: overrides.body ? 'POST' : 'GET', url, headers, ...(overrides.body ? { body: overrides.body } : {}) };
  }

  it('covers @method, @target-uri, created, keyid, alg and nonce; an independent check of the base verifies', async () => {
    const m = await signed({ nonce: 'n'.repeat(24), created: new Date(1_800_000_000_000) });
    const input = String(m.headers['signature-input']);
    expect(input).toBe(`preflight=("@method" "@target-uri");created=1800000000;keyid="nsa";alg="ed25519";nonce="${'n'.repeat(24)}"`);
    // The signature base written out by hand from RFC 9421 section 2.5, verified with node:crypto alone.
    const base = `"@method": GET\n"@target-uri": ${url}\n"@signature-params": ${input.slice('preflight='.length)}`;
    const sig = /^preflight=:([A-Za-z0-9+/=]+):$/.exec(String(m.headers['signature']))![1]!;
    expect(crypto.verify(null, Buffer.from(base), agency.publicKey, Buffer.from(sig, 'base64'))).toBe(true);
  });

  it('accepts a fresh request once and refuses its replay', async () => {
    const nonces = new NonceCache();
    const m = await signed();
    await expect(verifyRequest(m, { keysFor, nonces })).resolves.toMatchObject({ ok: true, keyId: 'nsa' });
    await expect(verifyRequest(m, { keysFor, nonces })).resolves.toMatchObject({ ok: false, code: 'replayed-nonce' });
  });

  it('refuses unsigned, unknown key, forged, stale, future-dated and tampered requests with precise codes', async () => {
    const nonces = new NonceCache();
    await expect(verifyRequest({ method: 'GET', url, headers: {} }, { keysFor, nonces })).resolves.toMatchObject({ ok: false, code: 'unsigned' });
    await expect(verifyRequest(await signed({ keyId: 'cisa' }), { keysFor, nonces })).resolves.toMatchObject({ ok: false, code: 'unknown-key' });
    await expect(verifyRequest(await signed({ key: crypto.generateKeyPairSync('ed25519').privateKey }), { keysFor, nonces })).resolves.toMatchObject({
      ok: false,
      code: 'bad-signature',
    });
    await expect(verifyRequest(await signed({ created: new Date(Date.now() - 6 * 60_000) }), { keysFor, nonces })).resolves.toMatchObject({
      ok: false,
      code: 'stale-signature',
    });
    await expect(verifyRequest(await signed({ created: new Date(Date.now() + 5 * 60_000) }), { keysFor, nonces })).resolves.toMatchObject({
      ok: false,
      code: 'stale-signature',
    });
    const m = await signed();
    await expect(verifyRequest({ ...m, method: 'DELETE' }, { keysFor, nonces })).resolves.toMatchObject({ ok: false, code: 'bad-signature' });
    await expect(verifyRequest({ ...m, url: url.replace('x=1', 'x=2') }, { keysFor, nonces })).resolves.toMatchObject({ ok: false, code: 'bad-signature' });
    // A forged request does not use up the nonce of the real one.
    await expect(verifyRequest(m, { keysFor, nonces })).resolves.toMatchObject({ ok: true });
  });

  it('requires a covered, matching Content-Digest for a body', async () => {
    const nonces = new NonceCache();
    const body = Buffer.from('{"a":1}');
    const m = await signed({ body });
    expect(m.headers['content-digest']).toBe(contentDigest(body));
    await expect(verifyRequest({ ...m, body: Buffer.from('{"a":2}') }, { keysFor, nonces })).resolves.toMatchObject({ ok: false, code: 'digest-mismatch' });
    await expect(verifyRequest(m, { keysFor, nonces })).resolves.toMatchObject({ ok: true });
    const unsignedBody = await signed();
    await expect(verifyRequest({ ...unsignedBody, body }, { keysFor, nonces })).resolves.toMatchObject({ ok: false, code: 'malformed-signature' });
    expect(digestMatches(`sha-512=:${crypto.createHash('sha512').update(body).digest('base64')}:`, body)).toBe(true);
    expect(digestMatches('sha-256=:AAAA:', body)).toBe(false);
  });

  it('the nonce cache forgets nonces once stale and refuses rather than forgets when full', () => {
    const cache = new NonceCache(2);
    expect(cache.claim('a', 100, 10)).toBe('new');
    expect(cache.claim('a', 100, 50)).toBe('seen');
    expect(cache.claim('b', 20, 10)).toBe('new');
    expect(cache.claim('c', 100, 10)).toBe('full');
    expect(cache.claim('c', 100, 30)).toBe('new');
    expect(cache.size).toBe(2);
  });
});
