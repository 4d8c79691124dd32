import type { AgencyRegistry } from './agency-registry';
import { AGENCY_SOURCE_PREFIX, catalogEntry, type CatalogEntry } from './catalog';
import type { ReceivedMessage } from './consumer';
import { CommandId, decodeEnvelope, headersToStrings, parseJsonStrict, summarizeIssues, type Envelope } from './envelope';
import { isEventContractError } from './errors';
import { DEFAULT_MAX_RECORD_FUTURE_SECONDS, freshnessReference, ORIGINAL_RECORD_HEADERS, type FreshnessReference } from './freshness';
import type { PayloadKey } from '../infra/codec';
import type { RejectionCode } from './schemas';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyCommand } from './signing';

const ORIGINAL_TIME_NAME = ORIGINAL_RECORD_HEADERS.time;

/** Commands larger than this are refused before anything parses them. */
export const DEFAULT_MAX_COMMAND_BYTES = 256 * 1024;

export interface AcceptedCommand {
  ok: true;
  /** The verified signer. */
  agencyId: string;
  envelope: Envelope;
  entry: CatalogEntry;
  /** Schema-checked body with `agencyId` set to the verified signer. */
  data: Record<string, unknown> & { agencyId: string };
  /** The time the signed timestamp was judged against. */
  reference?: FreshnessReference;
}

export interface RefusedCommand {
  ok: false;
  code: RejectionCode;
  reason: string;
  /** Set only when a signature verified: then the sender is known and gets a reply. */
  agencyId?: string;
  commandId?: string;
  commandType?: string;
  subject?: string;
  /** The time the signed timestamp was judged against, once the envelope was read. */
  reference?: FreshnessReference;
}

export type IntakeResult = AcceptedCommand | RefusedCommand;

export interface IntakeOptions {
  registry: AgencyRegistry;
  maxBytes?: number;
  /** The ingress's clock (default: the system clock): the reference when a record has no timestamp, and the bound on record timestamps ahead of it. */
  nowSeconds?: number;
  /** Max distance between the signed timestamp and the reference time (default ±5 min). */
  toleranceSeconds?: number;
  /** How far a record timestamp may be ahead of the ingress's clock (default 60 s). */
  maxRecordFutureSeconds?: number;
  /** The deployment's payload keys, which verify the sealed original record time of a replayed dead letter. */
  recordTimeKeys?: readonly PayloadKey[];
}

/**
 * Decides whether an inbound command may be applied, in an order that never parses or trusts more than it has to:
 * size cap, signature headers, envelope, pinned key and timestamp window (around the Kafka record's timestamp, see
 * `freshness.ts`), type, then the JSON body (strict parse, forbidden keys, schema). Pure: no I/O, so each refusal is
 * unit-tested.
 */
export function inspectCommand(message: ReceivedMessage, options: IntakeOptions): IntakeResult {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_COMMAND_BYTES;
  const value = message.value === null ? null : Buffer.isBuffer(message.value) ? message.value : Buffer.from(message.value);
  if (value === null || value.length === 0) return refuse('invalid-envelope', 'The message has no body');
  if (value.length > maxBytes) return refuse('oversized', `The message is ${value.length} bytes; the limit is ${maxBytes}`);

  let headers: Record<string, string>;
  try {
    headers = headersToStrings(message.headers);
  } catch (e) {
    return refuse('invalid-envelope', (e as Error).message);
  }
  if (!headers[SIGNATURE_HEADER] || !headers[TIMESTAMP_HEADER]) {
    return refuse('unsigned', `The command lacks the ${!headers[SIGNATURE_HEADER] ? SIGNATURE_HEADER : TIMESTAMP_HEADER} header`);
  }
  let envelope: Envelope;
  try {
    envelope = decodeEnvelope(headers);
  } catch (e) {
    return refuse('invalid-envelope', (e as Error).message);
  }
  const nowMs = options.nowSeconds !== undefined ? options.nowSeconds * 1000 : Date.now();
  const reference = freshnessReference(
    {
      recordTimestamp: message.timestamp,
      headers,
      command: { id: envelope.id, timestampHeader: headers[TIMESTAMP_HEADER], signatureHeader: headers[SIGNATURE_HEADER] },
    },
    { nowMs, ...(options.recordTimeKeys ? { keys: options.recordTimeKeys } : {}) },
  );
  const referenceName = {
    record: 'its Kafka record',
    'original-record': 'its original Kafka record (a replayed dead letter)',
    processing: 'the ingress clock (the record has no timestamp)',
  }[reference.source];
  const about = { commandId: envelope.id, commandType: envelope.type, subject: envelope.subject, reference };
  if (!CommandId.safeParse(envelope.id).success) return refuse('invalid-envelope', 'ce_id must be at most 128 printable characters', about);
  if (!envelope.source.startsWith(AGENCY_SOURCE_PREFIX)) return refuse('invalid-envelope', `ce_source must be ${AGENCY_SOURCE_PREFIX}<agencyId>`, about);
  const claimed = envelope.source.slice(AGENCY_SOURCE_PREFIX.length);
  const agency = options.registry.get(claimed);
  if (!agency) return refuse('unknown-agency', 'ce_source names no agency in the registry', about);
  if (agency.publicKeys.length === 0) return refuse('unknown-agency', 'The agency has no pinned public key', about);

  const verifyWith = (publicKeys: typeof agency.publicKeys) =>
    verifyCommand({
      id: envelope.id,
      timestampHeader: headers[TIMESTAMP_HEADER],
      signatureHeader: headers[SIGNATURE_HEADER],
      context: { type: envelope.type, subject: envelope.subject },
      body: value,
      publicKeys,
      nowSeconds: Math.floor(reference.referenceMs / 1000),
      toleranceSeconds: options.toleranceSeconds,
      referenceName,
    });
  const verified = verifyWith(agency.publicKeys);
  if (!verified.ok) {
    if (verified.code === 'forged') {
      // Signed by another registered agency that claims to be this one: refuse, and tell the real signer.
      const signer = options.registry.list().find((a) => a.id !== agency.id && a.publicKeys.length > 0 && verifyWith(a.publicKeys).ok);
      if (signer)
        return refuse('wrong-agency', `The command is signed by ${signer.id} but claims to come from ${agency.id}`, { ...about, agencyId: signer.id });
    }
    // An expired but authentic command has a known sender.
    if (verified.code !== 'expired') return refuse(verified.code, verified.reason, about);
    const unverified = reference.unverifiedClaim ? ` (its ${ORIGINAL_TIME_NAME} header is not sealed by this deployment and was ignored)` : '';
    return refuse('expired', verified.reason + unverified, { ...about, agencyId: agency.id });
  }
  const known = { ...about, agencyId: agency.id };
  const aheadMs = reference.referenceMs - nowMs;
  const maxAheadSeconds = options.maxRecordFutureSeconds ?? DEFAULT_MAX_RECORD_FUTURE_SECONDS;
  if (reference.source !== 'processing' && aheadMs > maxAheadSeconds * 1000) {
    return refuse(
      'expired',
      `The Kafka record timestamp is ${Math.round(aheadMs / 1000)} s ahead of the ingress clock; at most ${maxAheadSeconds} s are allowed`,
      known,
    );
  }

  const key = message.key === null || message.key === undefined ? null : message.key.toString();
  if (key !== envelope.subject) return refuse('invalid-envelope', 'The Kafka key must equal ce_subject', known);
  const entry = catalogEntry(envelope.type);
  if (!entry || entry.direction !== 'inbound' || !entry.command) return refuse('unknown-type', `${envelope.type} is not an agency command type`, known);
  if (entry.subjectPattern && !entry.subjectPattern.test(envelope.subject)) return refuse('schema-violation', 'ce_subject is not a valid id', known);

  let body: unknown;
  try {
    body = parseJsonStrict(value);
  } catch (e) {
    if (isEventContractError(e)) return refuse(e.code === 'forbidden-key' ? 'forbidden-key' : 'malformed-json', e.message, known);
    throw e;
  }
  const parsed = entry.schema.safeParse(body);
  if (!parsed.success) return refuse('schema-violation', `The body fails the ${envelope.type} schema: ${summarizeIssues(parsed.error)}`, known);
  const data = parsed.data as Record<string, unknown>;
  if (data.agencyId !== undefined && data.agencyId !== agency.id) {
    return refuse('wrong-agency', `The body names agency ${String(data.agencyId)} but the command is signed by ${agency.id}`, known);
  }
  return { ok: true, agencyId: agency.id, envelope, entry, data: { ...data, agencyId: agency.id }, reference };
}

function refuse(code: RejectionCode, reason: string, about: Omit<RefusedCommand, 'ok' | 'code' | 'reason'> = {}): RefusedCommand {
  return { ok: false, code, reason, ...about };
}
