import crypto, { type KeyObject } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { AGENCY_SOURCE_PREFIX, catalogEntry } from './catalog';
import { encodeEvent, JSON_CONTENT_TYPE, SPEC_VERSION, summarizeIssues, type WireMessage } from './envelope';
import { EventContractError } from './errors';
import { signCommand, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signing';
import { TOPICS } from './topics';

/** What an agency says in one command. `id` defaults to a random UUID, `time` and `timestamp` to now. */
export interface AgencyCommand {
  agencyId: string;
  type: string;
  /** The submission id (or case id for `gov.preflight.case.open.v1`): `ce_subject` and the Kafka key. */
  subject: string;
  data: Record<string, unknown>;
  id?: string;
  time?: string;
  /** Unix seconds put into `preflight-timestamp` and signed. */
  timestamp?: number;
}

/**
 * Builds a signed binary-mode command. The data is checked against the catalog first, unless `validate: false`
 * (tests use that to send what a careless or hostile sender would).
 */
export function buildAgencyCommand(command: AgencyCommand, privateKey: KeyObject, options: { validate?: boolean } = {}): WireMessage {
  if (options.validate !== false) {
    const entry = catalogEntry(command.type);
    if (!entry || entry.direction !== 'inbound') throw new EventContractError('unknown-type', `${command.type} is not an agency command type`);
    const parsed = entry.schema.safeParse(command.data);
    if (!parsed.success) throw new EventContractError('invalid-data', `${command.type} data fails its schema: ${summarizeIssues(parsed.error)}`);
  }
  const id = command.id ?? crypto.randomUUID();
  const timestamp = command.timestamp ?? Math.floor(Date.now() / 1000);
  const time = command.time ?? new Date(timestamp * 1000).toISOString();
  const message = encodeEvent(
    {
      specversion: SPEC_VERSION,
      id,
      source: `${AGENCY_SOURCE_PREFIX}${command.agencyId}`,
      type: command.type,
      time,
      subject: command.subject,
      datacontenttype: JSON_CONTENT_TYPE,
    },
    command.data,
  );
  message.headers[TIMESTAMP_HEADER] = String(timestamp);
  message.headers[SIGNATURE_HEADER] = signCommand({
    id,
    timestamp,
    context: { type: command.type, subject: command.subject },
    body: message.value,
    privateKey,
  });
  return message;
}

/**
 * Produces an already-built (signed) command message on the command topic, keyed by its subject, and resolves with
 * the partition it was written to once every in-sync replica has it (acks=all).
 */
export async function produceAgencyMessage(producer: Producer, message: WireMessage): Promise<{ partition: number }> {
  const [written] = await producer.send({
    topic: TOPICS.agencyCommands,
    acks: -1,
    messages: [{ key: message.key, value: message.value, headers: message.headers }],
  });
  return { partition: written?.partition ?? -1 };
}

/**
 * Builds, signs and produces one agency command. Returns the exact message sent, so a caller can keep it (to replay
 * it, in tests) and match the reply by `ce_id`.
 */
export async function sendAgencyCommand(
  producer: Producer,
  command: AgencyCommand,
  privateKey: KeyObject,
  options: { validate?: boolean } = {},
): Promise<WireMessage & { id: string }> {
  const message = buildAgencyCommand(command, privateKey, options);
  await produceAgencyMessage(producer, message);
  return { ...message, id: message.headers['ce_id']! };
}
