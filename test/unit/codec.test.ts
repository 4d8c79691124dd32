import crypto from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, payloadKeys, UnknownPayloadKeyError } from '../../infra/codec';

const key = (id: string) => ({ id, key: crypto.randomBytes(32) });

describe('payload encryption codec', () => {
  const secret = { detail: 'CANARY-detail-7f3a: jailbreak via nested role-play', severity: 'HIGH' };

  it('round-trips a payload and leaves no plaintext in the encoded bytes', async () => {
    const codec = new EncryptionCodec([key('k1')]);
    const payload = defaultPayloadConverter.toPayload(secret);
    const [encoded] = await codec.encode([payload]);
    expect(Buffer.from(encoded!.data!).toString('latin1')).not.toContain('CANARY');
    expect(Buffer.from(encoded!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(secret);
  });

  it('encrypts the same value differently each time', async () => {
    const codec = new EncryptionCodec([key('k1')]);
    const payload = defaultPayloadConverter.toPayload(secret);
    const [a] = await codec.encode([payload]);
    const [b] = await codec.encode([payload]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('rotates: new writes use the first key, old payloads still decrypt', async () => {
    const old = key('2026-06');
    const next = key('2026-11');
    const [before] = await new EncryptionCodec([old]).encode([defaultPayloadConverter.toPayload(secret)]);
    const rotated = new EncryptionCodec([next, old]);
    const [after] = await rotated.encode([defaultPayloadConverter.toPayload(secret)]);
    expect(Buffer.from(after!.metadata!['encryption-key-id']!).toString()).toBe('2026-11');
    const decoded = await rotated.decode([before!, after!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([secret, secret]);
  });

  it('refuses a payload whose key it does not hold, and a tampered payload', async () => {
    const [encoded] = await new EncryptionCodec([key('gone')]).encode([defaultPayloadConverter.toPayload(secret)]);
    await expect(new EncryptionCodec([key('other')]).decode([encoded!])).rejects.toBeInstanceOf(UnknownPayloadKeyError);

    const codec = new EncryptionCodec([key('k1')]);
    const [good] = await codec.encode([defaultPayloadConverter.toPayload(secret)]);
    const data = Buffer.from(good!.data!);
    data[20] = data[20]! ^ 0xff;
    await expect(codec.decode([{ ...good!, data }])).rejects.toThrow();
  });

  it('passes unencrypted payloads through on decode', async () => {
    const codec = new EncryptionCodec([key('k1')]);
    const plain = defaultPayloadConverter.toPayload('hello');
    const [decoded] = await codec.decode([plain]);
    expect(decoded).toBe(plain);
  });

  it('derives a stable key from the master key when none is configured', () => {
    const master = crypto.randomBytes(32);
    const [a] = payloadKeys([], master);
    const [b] = payloadKeys([], master);
    expect(a!.id).toBe('master-v1');
    expect(a!.key.equals(b!.key)).toBe(true);
    expect(a!.key.equals(master)).toBe(false);
  });
});
