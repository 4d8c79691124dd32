import type { IHeaders } from 'kafkajs';
import { z } from 'zod';
import { CommandId, EventTime, EventType } from '../wire/common';
import { EVENT_TYPE_PATTERN } from '../wire/enums';
import { EventContractError } from './errors';

export { CommandId, EVENT_TYPE_PATTERN, EventTime, EventType };

/**
 * CloudEvents 1.0 in binary content mode over Kafka: every attribute is a `ce_<name>` header, `content-type` carries
 * `datacontenttype`, and the Kafka value is the JSON `data` alone. The Kafka key is the aggregate id (= `subject`).
 */
export const CE_HEADERS = {
  specversion: 'ce_specversion',
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  time: 'ce_time',
  subject: 'ce_subject',
  sequence: 'ce_sequence',
  contentType: 'content-type',
} as const;

export const SPEC_VERSION = '1.0';
export const JSON_CONTENT_TYPE = 'application/json';

/** Event ids: printable ASCII without spaces. */
export const EventId = z.string().regex(/^[\x21-\x7e]{1,256}$/, 'printable ASCII without spaces, 1-256 characters');

/** The CloudEvents attributes Preflight uses; `sequence` is present on status events only. */
export const Envelope = z.strictObject({
  specversion: z.literal(SPEC_VERSION),
  id: EventId,
  source: z
    .string()
    .min(1)
    .max(256)
    .regex(/^\/[\x21-\x7e]*$/, 'a URI reference starting with /'),
  type: EventType,
  time: EventTime,
  subject: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
  datacontenttype: z.literal(JSON_CONTENT_TYPE),
  sequence: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});
export type Envelope = z.infer<typeof Envelope>;

/** A message as it goes onto the wire: string key, JSON bytes, string headers. */
export interface WireMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** The `ce_*` and `content-type` headers of an envelope, in a stable order. */
export function envelopeHeaders(envelope: Envelope): Record<string, string> {
  const headers: Record<string, string> = {
    [CE_HEADERS.specversion]: envelope.specversion,
    [CE_HEADERS.id]: envelope.id,
    [CE_HEADERS.source]: envelope.source,
    [CE_HEADERS.type]: envelope.type,
    [CE_HEADERS.time]: envelope.time,
    [CE_HEADERS.subject]: envelope.subject,
    [CE_HEADERS.contentType]: envelope.datacontenttype,
  };
  if (envelope.sequence !== undefined) headers[CE_HEADERS.sequence] = String(envelope.sequence);
  return headers;
}

/** Encodes an envelope and its data as a binary-mode message; key = subject (the aggregate id). */
export function encodeEvent(envelope: Envelope, data: unknown): WireMessage {
  const checked = Envelope.safeParse(envelope);
  if (!checked.success) {
    throw new EventContractError('invalid-envelope', `Invalid CloudEvents envelope: ${summarizeIssues(checked.error)}`);
  }
  return { key: checked.data.subject, value: Buffer.from(JSON.stringify(data), 'utf8'), headers: envelopeHeaders(checked.data) };
}

/**
 * Turns kafkajs headers (Buffer | string | arrays) into one string per name. A header repeated with different values
 * is ambiguous and refused, since a consumer and a signature check could otherwise read different values.
 */
export function headersToStrings(raw: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (value === undefined) continue;
    const values = (Array.isArray(value) ? value : [value]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
    const distinct = [...new Set(values)];
    if (distinct.length > 1) throw new EventContractError('ambiguous-header', `Header ${name} is repeated with different values`);
    if (distinct[0] !== undefined) out[name.toLowerCase()] = distinct[0];
  }
  return out;
}

const SEQUENCE_TEXT = /^[1-9][0-9]{0,15}$/;

/** Reads and validates the envelope from binary-mode headers. Throws EventContractError naming the first problem. */
export function decodeEnvelope(headers: Record<string, string>): Envelope {
  const seq = headers[CE_HEADERS.sequence];
  if (seq !== undefined && !SEQUENCE_TEXT.test(seq)) {
    throw new EventContractError('invalid-envelope', `Invalid CloudEvents envelope: ${CE_HEADERS.sequence} is not a positive integer`);
  }
  const candidate = {
    specversion: headers[CE_HEADERS.specversion],
    id: headers[CE_HEADERS.id],
    source: headers[CE_HEADERS.source],
    type: headers[CE_HEADERS.type],
    time: headers[CE_HEADERS.time],
    subject: headers[CE_HEADERS.subject],
    // Parameters such as `; charset=utf-8` are allowed on the wire; only JSON is.
    datacontenttype: headers[CE_HEADERS.contentType]?.split(';')[0]?.trim().toLowerCase(),
    ...(seq === undefined ? {} : { sequence: Number(seq) }),
  };
  const parsed = Envelope.safeParse(candidate);
  if (!parsed.success) throw new EventContractError('invalid-envelope', `Invalid CloudEvents envelope: ${summarizeIssues(parsed.error)}`);
  return parsed.data;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Parses JSON bytes, refusing `__proto__`, `constructor` and `prototype` keys anywhere (prototype-pollution shapes),
 * so no later merge or spread can be tricked. Throws EventContractError `malformed-json` or `forbidden-key`.
 */
export function parseJsonStrict(bytes: Buffer): unknown {
  let forbidden: string | undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'), function reviver(key, v) {
      if (FORBIDDEN_KEYS.has(key) && Object.prototype.hasOwnProperty.call(this, key)) forbidden ??= key;
      return v;
    });
  } catch (e) {
    throw new EventContractError('malformed-json', 'The message body is not valid JSON', e);
  }
  if (forbidden !== undefined) throw new EventContractError('forbidden-key', `The message body contains the forbidden key "${forbidden}"`);
  return value;
}

/**
 * A short, payload-free description of zod issues: paths and messages only, never the offending values. Unknown keys
 * are counted, not named: their names are the sender's text, and this description ends up in replies and in
 * dead-letter headers.
 */
export function summarizeIssues(error: z.ZodError, max = 3): string {
  const message = (i: z.core.$ZodIssue) =>
    i.code === 'unrecognized_keys' ? `Unrecognized key${i.keys.length === 1 ? '' : 's'} (${i.keys.length}) not in the schema` : i.message;
  const parts = error.issues.slice(0, max).map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${message(i)}`);
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join('; ');
}
