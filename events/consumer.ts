import crypto from 'node:crypto';
import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { catalogEntry, type CatalogEntry } from './catalog';
import { decodeEnvelope, headersToStrings, parseJsonStrict, summarizeIssues, type Envelope } from './envelope';
import { EventContractError } from './errors';

/** A received CloudEvent: its envelope, its Kafka key and its schema-checked data. */
export interface DecodedEvent<T = unknown> {
  envelope: Envelope;
  key: string | null;
  data: T;
  entry: CatalogEntry;
}

/** The parts of a Kafka message the decoders read (a kafkajs `KafkaMessage` fits). */
export interface ReceivedMessage {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: IHeaders;
  /** The record timestamp, unix milliseconds as text (kafkajs gives the broker's on a LogAppendTime topic). */
  timestamp?: string;
}

/**
 * Decodes a binary-mode CloudEvent from a Kafka message and checks its data against the catalog. Throws
 * EventContractError (`invalid-envelope`, `unknown-type`, `key-mismatch`, `malformed-json`, `forbidden-key`,
 * `invalid-data`) for anything that breaks the contract.
 */
export function decodeEvent<T = unknown>(message: ReceivedMessage | KafkaMessage, maxBytes = 1024 * 1024): DecodedEvent<T> {
  const envelope = decodeEnvelope(headersToStrings(message.headers));
  const entry = catalogEntry(envelope.type);
  if (!entry) throw new EventContractError('unknown-type', `Event type ${envelope.type} is not in the catalog`);
  const key = message.key === null || message.key === undefined ? null : message.key.toString();
  if (key !== null && key !== envelope.subject) throw new EventContractError('key-mismatch', 'The Kafka key differs from ce_subject');
  const value = message.value === null ? Buffer.alloc(0) : Buffer.isBuffer(message.value) ? message.value : Buffer.from(message.value);
  if (value.length > maxBytes) throw new EventContractError('oversized', `The event body is larger than ${maxBytes} bytes`);
  const parsed = entry.schema.safeParse(parseJsonStrict(value));
  if (!parsed.success) throw new EventContractError('invalid-data', `Event ${envelope.type} data fails its schema: ${summarizeIssues(parsed.error)}`);
  return { envelope, key, data: parsed.data as T, entry };
}

/**
 * Keeps a consumer's group membership alive while a long call is in flight: kafkajs heartbeats only between
 * messages, and a member silent for the session timeout is dropped and its partitions rebalanced.
 */
export async function withHeartbeat<T>(heartbeat: () => Promise<void>, fn: () => Promise<T>, everyMs = 3000): Promise<T> {
  const timer = setInterval(() => void heartbeat().catch(() => undefined), everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** Compares two decoded events of one aggregate by their `ce_sequence` (events without one sort last). */
export function bySequence(a: DecodedEvent, b: DecodedEvent): number {
  return (a.envelope.sequence ?? Number.MAX_SAFE_INTEGER) - (b.envelope.sequence ?? Number.MAX_SAFE_INTEGER);
}

/**
 * Reads a topic from its current end onwards (what arrives after the call), with a throwaway consumer group that
 * commits nothing. For `agency send --wait`, ops tools and tests; not for services, which use committed groups.
 */
export async function tailTopic(
  kafka: Kafka,
  topic: string,
  onMessage: (message: KafkaMessage, partition: number) => void | Promise<void>,
  options: { groupPrefix?: string } = {},
): Promise<{ stop(): Promise<void> }> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: { partition: number; offset: string }[];
  try {
    ends = (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high }));
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({
    groupId: `${options.groupPrefix ?? 'preflight-tail'}-${crypto.randomUUID()}`,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 5 * 1024 * 1024,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    // run() resolves once the group is joined; the seeks apply before the first fetch.
    await consumer.run({ autoCommit: false, eachMessage: async ({ message, partition }) => onMessage(message, partition) });
    for (const end of ends) consumer.seek({ topic, partition: end.partition, offset: end.offset });
  } catch (e) {
    await consumer.disconnect().catch(() => undefined);
    throw e;
  }
  return { stop: () => consumer.disconnect() };
}
