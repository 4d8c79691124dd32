import crypto from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PayloadKey {
  id: string;
  key: Buffer;
}

/** A payload encrypted with a key this process does not hold. Never retried into success. */
export class UnknownPayloadKeyError extends Error {
  override readonly name = 'UnknownPayloadKeyError';
}

/** AES-256-GCM with a fresh random IV: `iv ‖ ciphertext ‖ tag`, bound to `aad`. */
export function seal(key: Buffer, plain: Uint8Array, aad: string): Buffer {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** Sealed data that does not open: too short to hold an IV and tag, or failing authentication. */
export class SealError extends Error {
  override readonly name = 'SealError';
  constructor(readonly reason: 'truncated' | 'authentication') {
    super(reason === 'truncated' ? 'sealed data is truncated' : 'sealed data failed authentication');
  }
}

/** Opens what `seal` made; a wrong key, a different `aad`, tampering or truncation throw a `SealError`. */
export function unseal(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new SealError('truncated');
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealError('authentication');
  }
}

/**
 * AES-256-GCM over each whole payload (metadata included), so Temporal history, visibility memos and failures carry
 * only ciphertext. The first key encrypts; every key decrypts, so keys rotate by putting a new one first.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly current: PayloadKey;
  private readonly byId: Map<string, Buffer>;

  constructor(keys: PayloadKey[]) {
    if (keys.length === 0) throw new TypeError('EncryptionCodec needs at least one key');
    for (const k of keys) {
      if (k.key.length !== 32) throw new TypeError(`payload key ${k.id} is not 32 bytes`);
    }
    this.current = keys[0]!;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: Buffer.from(this.current.id),
        },
        data: seal(this.current.key, plain, this.current.id),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
      const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
      const keyId = keyIdBytes ? Buffer.from(keyIdBytes).toString() : '';
      const key = this.byId.get(keyId);
      if (!key) throw new UnknownPayloadKeyError(`payload encrypted with unknown key id "${keyId}"`);
      return temporal.api.common.v1.Payload.decode(unseal(key, Buffer.from(payload.data ?? new Uint8Array()), keyId));
    });
  }
}

/**
 * Payload keys from configuration (`id=base64,id=base64`, first one encrypts), or one key derived from the master
 * key when none are configured.
 */
export function payloadKeys(configured: Array<{ id: string; key: string }>, masterKey: Buffer): PayloadKey[] {
  if (configured.length > 0) return configured.map((k) => ({ id: k.id, key: Buffer.from(k.key, 'base64') }));
  return [{ id: 'master-v1', key: Buffer.from(crypto.hkdfSync('sha256', masterKey, 'preflight', 'payload-codec/v1', 32)) }];
}

/** The data converter every Preflight client and worker uses: encrypted payloads and encoded failure messages. */
export function dataConverter(keys: PayloadKey[]): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec(keys)],
    failureConverterPath: require.resolve('./failure-converter'),
  };
}
