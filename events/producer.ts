import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { EventPublisher } from '../events/publisher';
import type { EventStream, StatusEvent } from '../workflows/shared/outbox';
import type { Logger } from '../infra/logger';
import { catalogEntry } from './catalog';
import { encodeEvent, summarizeIssues, SPEC_VERSION, JSON_CONTENT_TYPE, type WireMessage } from './envelope';
import { EventContractError, EventError } from './errors';
import { AGENCY_INBOX_CHANNEL, agencyInboxTopic, TOPICS, type AgencyInboxChannel, type TopicName } from './topics';

export const STREAM_TOPICS: Record<EventStream, TopicName | AgencyInboxChannel> = {
  submission: TOPICS.submissionEvents,
  clearinghouse: TOPICS.clearinghouseEvents,
  'agency-inbox': AGENCY_INBOX_CHANNEL,
};

/**
 * Encodes a status event as a binary-mode CloudEvent after checking it against the catalog: the type must be known,
 * belong to the stream's topic, and its data must pass the type's (strict, thin) schema. An inbox event goes to the
 * topic of the agency its data names, without `ce_sequence` (the workflow's inbox sequence spans every agency, so an
 * agency would see gaps; its single-partition inbox keeps the order).
 */
export function encodeStatusEvent(stream: EventStream, event: StatusEvent): { topic: string; message: WireMessage } {
  const channel = STREAM_TOPICS[stream];
  if (!channel) throw new EventContractError('unknown-stream', `Unknown event stream "${String(stream)}"`);
  const entry = catalogEntry(event.type);
  if (!entry || entry.direction !== 'outbound') throw new EventContractError('unknown-type', `Event type ${event.type} is not in the catalog`);
  if (entry.topic !== channel) throw new EventContractError('wrong-topic', `Event type ${event.type} belongs on ${entry.topic}, not ${channel}`);
  const data = entry.schema.safeParse(event.data);
  if (!data.success) throw new EventContractError('invalid-data', `Event ${event.type} data fails its schema: ${summarizeIssues(data.error)}`);
  const inbox = channel === AGENCY_INBOX_CHANNEL;
  const topic = inbox ? agencyInboxTopic(String((data.data as { agencyId: string }).agencyId)) : channel;
  const message = encodeEvent(
    {
      specversion: SPEC_VERSION,
      id: event.id,
      source: event.source,
      type: event.type,
      time: event.time,
      subject: event.subject,
      datacontenttype: JSON_CONTENT_TYPE,
      ...(inbox ? {} : { sequence: event.sequence }),
    },
    data.data,
  );
  return { topic, message };
}

export interface KafkaEventPublisher extends EventPublisher {
  /** Connects now rather than on the first publish (optional). */
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * The `EventPublisher` the worker's `publishEvent` activity uses. Ids are deterministic (`<workflowId>/<sequence>`)
 * and the key is the aggregate id, so a retried activity republishes the same event to the same partition and
 * consumers de-duplicate by id. A contract violation throws a non-retriable EventContractError.
 */
export function createKafkaEventPublisher(kafka: Kafka, logger: Logger): KafkaEventPublisher {
  const log = logger.child({ component: 'event-publisher' });
  // Not kafkajs's idempotent mode (experimental); ordering per key holds because each aggregate publishes sequentially.
  // The default (Java-compatible murmur2) partitioner puts a key where other clients of the topic expect it.
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  let connecting: Promise<void> | undefined;
  const connect = () =>
    (connecting ??= producer.connect().catch((e: unknown) => {
      connecting = undefined;
      throw e;
    }));
  // The inbox topics this cluster has, re-read at most every 30 s: an inbox event for an agency without one (an id
  // outside the registry) is refused for good instead of being retried without end.
  let inboxTopics: { names: Set<string>; at: number } | undefined;
  const inboxExists = async (topic: string): Promise<boolean> => {
    if (inboxTopics?.names.has(topic)) return true;
    if (!inboxTopics || Date.now() - inboxTopics.at > 30_000) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        inboxTopics = { names: new Set(await admin.listTopics()), at: Date.now() };
      } finally {
        await admin.disconnect();
      }
    }
    return inboxTopics.names.has(topic);
  };
  return {
    connect,
    async publish(stream, event) {
      const { topic, message } = encodeStatusEvent(stream, event);
      if (topic !== STREAM_TOPICS[stream] && !(await inboxExists(topic))) {
        throw new EventContractError('no-agency-inbox', `No inbox topic ${topic} for ${event.type} ${event.id}: the agency is not set up on this cluster`);
      }
      try {
        await connect();
        await producer.send({ topic, acks: -1, messages: [message] });
      } catch (e) {
        throw new EventError('publish-failed', `Publishing ${event.type} ${event.id} to ${topic} failed: ${(e as Error).message}`, {
          retriable: true,
          cause: e,
        });
      }
      log.debug({ topic, type: event.type, id: event.id, sequence: event.sequence }, 'event published');
    },
    async disconnect() {
      if (connecting) await producer.disconnect();
      connecting = undefined;
    },
  };
}
