import crypto from 'node:crypto';
import type { PayloadKey } from '../infra/codec';

/**
 * Which clock an agency command's signed timestamp is judged against.
 *
 * Not the ingress's: a command that waited in the topic through an ingress outage would be refused as `expired` on
 * its way out. The reference is the Kafka record's timestamp, the moment the broker appended the command (Preflight
 * creates `preflight.agency-commands.v1` with `message.timestamp.type=LogAppendTime`, so the broker's clock stamps it,
 * not the producer's). Three bounds hold:
 *
 * - the signed `preflight-timestamp` lies within the tolerance (±5 min) of that record timestamp;
 * - the record timestamp is at most `maxRecordFutureSeconds` (60 s) ahead of the ingress's own clock;
 * - how long a command may wait in the topic is bounded by the topic's retention (14 days), not by the ingress.
 *
 * A dead letter replayed by ops is a new record with a new timestamp. The ingress writes the original record time on
 * every dead letter with a seal (HMAC-SHA256 under a key derived from the deployment's payload key, bound to the
 * command id, signed timestamp and signature); the replay re-produces it as `preflight-original-record-*` headers, and
 * the ingress judges the replay against that original time only when the seal verifies. Agencies do not hold the
 * payload keys, so an agency cannot make an old command look fresh; a command appended long after it was signed stays
 * `expired` through every replay. A record without a timestamp is judged against the ingress's clock.
 */
export const ORIGINAL_RECORD_HEADERS = {
  /** The original record's timestamp, unix milliseconds. */
  time: 'preflight-original-record-time',
  /** `<payload key id>,<base64 HMAC-SHA256>` over the command and that time. */
  seal: 'preflight-original-record-seal',
} as const;

/** How far ahead of the ingress's clock a record timestamp may be (the broker's and the ingress's clocks differ a little). */
export const DEFAULT_MAX_RECORD_FUTURE_SECONDS = 60;

const SEAL_LABEL = 'preflight-record-time/v1';
const TIME_TEXT = /^[0-9]{1,15}$/;

/** What a record-time seal binds: the command (id, signed timestamp, signature header) and the record time. */
export interface SealedCommand {
  id: string;
  timestampHeader: string;
  signatureHeader: string;
}

function sealBytes(key: PayloadKey, command: SealedCommand, recordTimeMs: number): Buffer {
  const macKey = Buffer.from(crypto.hkdfSync('sha256', key.key, Buffer.alloc(0), SEAL_LABEL, 32));
  return crypto
    .createHmac('sha256', macKey)
    .update(`${SEAL_LABEL}\n${command.id}\n${command.timestampHeader}\n${command.signatureHeader}\n${recordTimeMs}`)
    .digest();
}

/** The seal of a command's record time, as `<key id>,<base64>`. */
export function sealRecordTime(key: PayloadKey, command: SealedCommand, recordTimeMs: number): string {
  return `${key.id},${sealBytes(key, command, recordTimeMs).toString('base64')}`;
}

/** The sealed record time, if the seal verifies under one of `keys`; undefined otherwise (absent, malformed, forged). */
export function openRecordTime(
  keys: readonly PayloadKey[],
  command: SealedCommand,
  timeText: string | undefined,
  seal: string | undefined,
): number | undefined {
  if (!timeText || !seal || !TIME_TEXT.test(timeText)) return undefined;
  const comma = seal.indexOf(',');
  if (comma < 0) return undefined;
  const key = keys.find((k) => k.id === seal.slice(0, comma));
  if (!key) return undefined;
  const given = Buffer.from(seal.slice(comma + 1), 'base64');
  const recordTimeMs = Number(timeText);
  const expected = sealBytes(key, command, recordTimeMs);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? recordTimeMs : undefined;
}

/** The time a command is judged against, and where it came from. */
export interface FreshnessReference {
  referenceMs: number;
  source: 'record' | 'original-record' | 'processing';
  /** Set when the message claimed an original record time whose seal does not verify (then ignored). */
  unverifiedClaim?: true;
}

/**
 * The reference time of a received command (its headers as strings): the original record time of a sealed replay,
 * else the record's own timestamp, else (no usable timestamp) the ingress's clock.
 */
export function freshnessReference(
  input: { recordTimestamp?: string | number; headers: Record<string, string>; command: SealedCommand },
  options: { nowMs: number; keys?: readonly PayloadKey[] },
): FreshnessReference {
  const { headers, command } = input;
  const claimed = headers[ORIGINAL_RECORD_HEADERS.time] !== undefined || headers[ORIGINAL_RECORD_HEADERS.seal] !== undefined;
  if (claimed && options.keys && options.keys.length > 0) {
    const original = openRecordTime(options.keys, command, headers[ORIGINAL_RECORD_HEADERS.time], headers[ORIGINAL_RECORD_HEADERS.seal]);
    if (original !== undefined) return { referenceMs: original, source: 'original-record' };
  }
  const recordMs = Number(input.recordTimestamp);
  const own: FreshnessReference =
    Number.isSafeInteger(recordMs) && recordMs > 0 ? { referenceMs: recordMs, source: 'record' } : { referenceMs: options.nowMs, source: 'processing' };
  return claimed ? { ...own, unverifiedClaim: true } : own;
}
