import type { IHeaders } from 'kafkajs';
import { seal, SealError, unseal, type PayloadKey } from '../infra/codec';
import { headersToStrings } from './envelope';
import { ORIGINAL_RECORD_HEADERS } from './freshness';

/**
 * Dead letters on `preflight.dead-letter.v1`: the original key and headers, the original value bytes sealed with the
 * current payload key (AES-256-GCM; a refused command may carry finding details), plus `preflight-dlq-*` headers
 * saying why and where from. Unsealed, the bytes are exactly the original, so ops can replay them.
 */
export const DEAD_LETTER_HEADERS = {
  reason: 'preflight-dlq-reason',
  message: 'preflight-dlq-message',
  topic: 'preflight-dlq-topic',
  partition: 'preflight-dlq-partition',
  offset: 'preflight-dlq-offset',
  time: 'preflight-dlq-time',
  agency: 'preflight-dlq-agency',
  /** The id of the payload key that sealed the value; absent on a value kept as it came. */
  sealed: 'preflight-dlq-sealed',
  /**
   * The time the command's signed timestamp was judged against (its original Kafka record's, unix ms), and its seal
   * (`events/freshness.ts`): a replay carries both, so the command is judged against its first append again.
   */
  recordTime: 'preflight-dlq-record-time',
  recordSeal: 'preflight-dlq-record-seal',
} as const;

const AAD = 'preflight-dead-letter/v1';

/** A dead letter whose value cannot be unsealed: unknown key id or tampered bytes. */
export class DeadLetterSealError extends Error {
  override readonly name = 'DeadLetterSealError';
}

/** Seals a dead letter's value with a payload key: iv ‖ ciphertext ‖ tag. */
export function sealValue(value: Buffer, key: PayloadKey): Buffer {
  return seal(key.key, value, `${AAD}/${key.id}`);
}

/** The original value of a dead letter, unsealed with whichever configured key sealed it. */
export function originalValue(message: { value: Buffer | null; headers?: IHeaders }, keys: PayloadKey[]): Buffer | null {
  const keyId = message.headers?.[DEAD_LETTER_HEADERS.sealed]?.toString();
  if (!keyId || !message.value) return message.value;
  const key = keys.find((k) => k.id === keyId);
  if (!key) throw new DeadLetterSealError(`dead letter sealed with unknown key id "${keyId}"`);
  try {
    return unseal(key.key, message.value, `${AAD}/${key.id}`);
  } catch (e) {
    if (!(e instanceof SealError)) throw e;
    throw new DeadLetterSealError(e.reason === 'truncated' ? 'sealed dead letter is truncated' : 'sealed dead letter failed authentication');
  }
}

export interface DeadLetterInfo {
  reason: string;
  message: string;
  topic: string;
  partition: number;
  offset: string;
  time: string;
  /** The agency whose signature verified, when one did. */
  agencyId?: string;
  /** The original record time (unix ms) with its seal, when the command's envelope could be read. */
  recordTime?: { ms: number; seal: string };
}

/**
 * Builds the dead-letter message for an original message. Original headers are kept; `preflight-dlq-*` ones are ours.
 * With a `sealKey` the value is sealed (what the ingress does); without one it is kept as it came.
 */
export function deadLetterMessage(
  original: { key: Buffer | string | null; value: Buffer | null; headers?: IHeaders },
  info: DeadLetterInfo,
  sealKey?: PayloadKey,
): { key: Buffer | string | null; value: Buffer | null; headers: IHeaders } {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(original.headers ?? {})) {
    if (!name.toLowerCase().startsWith('preflight-dlq-') && value !== undefined) headers[name] = value;
  }
  headers[DEAD_LETTER_HEADERS.reason] = info.reason;
  headers[DEAD_LETTER_HEADERS.message] = info.message.slice(0, 1000);
  headers[DEAD_LETTER_HEADERS.topic] = info.topic;
  headers[DEAD_LETTER_HEADERS.partition] = String(info.partition);
  headers[DEAD_LETTER_HEADERS.offset] = info.offset;
  headers[DEAD_LETTER_HEADERS.time] = info.time;
  if (info.agencyId) headers[DEAD_LETTER_HEADERS.agency] = info.agencyId;
  if (info.recordTime) {
    headers[DEAD_LETTER_HEADERS.recordTime] = String(info.recordTime.ms);
    headers[DEAD_LETTER_HEADERS.recordSeal] = info.recordTime.seal;
  }
  if (sealKey && original.value) {
    headers[DEAD_LETTER_HEADERS.sealed] = sealKey.id;
    return { key: original.key, value: sealValue(original.value, sealKey), headers };
  }
  return { key: original.key, value: original.value, headers };
}

/** Reads the dead-letter headers back (for `dead-letters list` and tests); undefined when they are missing. */
export function readDeadLetter(headers: IHeaders | undefined): DeadLetterInfo | undefined {
  let h: Record<string, string>;
  try {
    h = headersToStrings(headers);
  } catch {
    return undefined;
  }
  const reason = h[DEAD_LETTER_HEADERS.reason];
  const topic = h[DEAD_LETTER_HEADERS.topic];
  const offset = h[DEAD_LETTER_HEADERS.offset];
  if (!reason || !topic || offset === undefined) return undefined;
  return {
    reason,
    message: h[DEAD_LETTER_HEADERS.message] ?? '',
    topic,
    partition: Number(h[DEAD_LETTER_HEADERS.partition] ?? '0'),
    offset,
    time: h[DEAD_LETTER_HEADERS.time] ?? '',
    ...(h[DEAD_LETTER_HEADERS.agency] ? { agencyId: h[DEAD_LETTER_HEADERS.agency] } : {}),
    ...recordTimeFrom(h[DEAD_LETTER_HEADERS.recordTime], h[DEAD_LETTER_HEADERS.recordSeal]),
  };
}

function recordTimeFrom(time: string | undefined, seal: string | undefined): Pick<DeadLetterInfo, 'recordTime'> {
  return time !== undefined && seal !== undefined && /^[0-9]{1,15}$/.test(time) ? { recordTime: { ms: Number(time), seal } } : {};
}

/**
 * What a replay re-produces: the original headers of a dead letter, without the `preflight-dlq-*` ones, and the sealed
 * original record time as `preflight-original-record-*` (replacing any the message carried), so the ingress judges
 * the command against the time it was first appended, not the replay's.
 */
export function originalHeaders(headers: IHeaders | undefined): IHeaders {
  const out: IHeaders = {};
  const info = readDeadLetter(headers);
  const replacing = info?.recordTime ? new Set<string>(Object.values(ORIGINAL_RECORD_HEADERS)) : new Set<string>();
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (!lower.startsWith('preflight-dlq-') && !replacing.has(lower) && value !== undefined) out[name] = value;
  }
  if (info?.recordTime) {
    out[ORIGINAL_RECORD_HEADERS.time] = String(info.recordTime.ms);
    out[ORIGINAL_RECORD_HEADERS.seal] = info.recordTime.seal;
  }
  return out;
}
