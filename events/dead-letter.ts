import type { IHeaders } from 'kafkajs';
import { headersToStrings } from './envelope';

/**
 * Dead letters on `preflight.dead-letter.v1`: the original key, value bytes and headers, unchanged, plus
 * `preflight-dlq-*` headers saying why and where from. Keeping the bytes intact lets ops inspect and replay them.
 */
export const DEAD_LETTER_HEADERS = {
  reason: 'preflight-dlq-reason',
  message: 'preflight-dlq-message',
  topic: 'preflight-dlq-topic',
  partition: 'preflight-dlq-partition',
  offset: 'preflight-dlq-offset',
  time: 'preflight-dlq-time',
  agency: 'preflight-dlq-agency',
} as const;

export interface DeadLetterInfo {
  reason: string;
  message: string;
  topic: string;
  partition: number;
  offset: string;
  time: string;
  /** The agency whose signature verified, when one did. */
  agencyId?: string;
}

/** Builds the dead-letter message for an original message. Original headers are kept; `preflight-dlq-*` ones are ours. */
export function deadLetterMessage(
  original: { key: Buffer | string | null; value: Buffer | null; headers?: IHeaders },
  info: DeadLetterInfo,
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
  };
}

/** The original headers of a dead letter, without the `preflight-dlq-*` ones (what a replay re-produces). */
export function originalHeaders(headers: IHeaders | undefined): IHeaders {
  const out: IHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) if (!name.toLowerCase().startsWith('preflight-dlq-') && value !== undefined) out[name] = value;
  return out;
}
