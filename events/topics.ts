import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import { DAY_MS } from '../workflows/shared/time';

/** Every Kafka topic Preflight owns, with its retention. Names are part of the public contract. */
export const TOPICS = {
  agencyCommands: 'preflight.agency-commands.v1',
  agencyReplies: 'preflight.agency-replies.v1',
  submissionEvents: 'preflight.submission-events.v1',
  clearinghouseEvents: 'preflight.clearinghouse-events.v1',
  deadLetter: 'preflight.dead-letter.v1',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/**
 * The api's audit trail (see `audit-trail.ts`): one partition, `cleanup.policy=delete` with `retention.ms=-1` unless
 * `PREFLIGHT_AUDIT_RETENTION_MS` says otherwise, created by `ensureAuditTopic` (the name is `PREFLIGHT_AUDIT_TOPIC`'s
 * default). Not in `TOPICS`: its partition count and retention are its own.
 */
export const AUDIT_TOPIC = 'preflight.audit.v1';

/**
 * Each agency's inbox: its inbox events and the replies to its commands, readable by that agency alone. The AsyncAPI
 * channel address, with `{agencyId}` as its parameter.
 */
export const AGENCY_INBOX_CHANNEL = 'preflight.agency-inbox.{agencyId}.v1';
export type AgencyInboxChannel = typeof AGENCY_INBOX_CHANNEL;

/** `preflight.agency-inbox.<agencyId>.v1` */
export function agencyInboxTopic(agencyId: string): string {
  return AGENCY_INBOX_CHANNEL.replace('{agencyId}', agencyId);
}

/** An inbox outlives the longest access window (30 days) by two weeks, so an agency away for a while misses nothing. */
export const AGENCY_INBOX_RETENTION_MS = 45 * DAY_MS;

/** Retention per topic: commands and replies are short-lived, status events and dead letters are kept for audit. */
export const TOPIC_RETENTION_MS: Record<TopicName, number> = {
  [TOPICS.agencyCommands]: 14 * DAY_MS,
  [TOPICS.agencyReplies]: 14 * DAY_MS,
  [TOPICS.submissionEvents]: 90 * DAY_MS,
  [TOPICS.clearinghouseEvents]: 365 * DAY_MS,
  [TOPICS.deadLetter]: 90 * DAY_MS,
};

const TIMESTAMP_TYPE_CONFIG = 'message.timestamp.type';

/**
 * Creates any missing Preflight topic and waits until each has a leader, and makes the command topic stamp records
 * with the broker's clock (`message.timestamp.type=LogAppendTime`: the ingress judges a command's signed timestamp
 * against its record's, see `freshness.ts`). Existing topics are otherwise left as they are, so this is safe to run on
 * every start.
 */
export async function ensureTopics(kafka: Kafka, options: { partitions: number; replication: number }): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = (Object.values(TOPICS) as TopicName[]).filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: options.partitions,
          replicationFactor: options.replication,
          configEntries: [
            { name: 'retention.ms', value: String(TOPIC_RETENTION_MS[topic]) },
            // Commands are capped before parsing; the broker refuses anything far above that cap.
            { name: 'max.message.bytes', value: String(4 * 1024 * 1024) },
            ...(topic === TOPICS.agencyCommands ? [{ name: TIMESTAMP_TYPE_CONFIG, value: 'LogAppendTime' }] : []),
            // Replicated topics: an acks=all write is stored on two replicas before it is acknowledged.
            ...(options.replication > 1 ? [{ name: 'min.insync.replicas', value: String(Math.min(2, options.replication)) }] : []),
          ],
        })),
      });
    }
    // A cluster that denies this principal AlterConfigs keeps its setting; the ingress warns about it at every start.
    if (existing.has(TOPICS.agencyCommands)) await useLogAppendTime(admin).catch(() => undefined);
    await admin.fetchTopicMetadata({ topics: Object.values(TOPICS) });
    return missing;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Makes the broker create its consumer-offsets topic now (it does so on the first coordinator lookup), so the first
 * real consumer group does not meet "group coordinator not available". For a fresh local broker.
 */
export async function warmUpGroupCoordinator(kafka: Kafka): Promise<void> {
  const admin = kafka.admin({ retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 2000 } });
  await admin.connect();
  try {
    await admin.describeGroups(['preflight.warm-up']);
  } finally {
    await admin.disconnect();
  }
}

/** The command topic's `message.timestamp.type` (`CreateTime` or `LogAppendTime`). */
export async function commandTopicTimestampType(kafka: Kafka): Promise<string | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await topicConfig(admin, TOPICS.agencyCommands)).find((e) => e.configName === TIMESTAMP_TYPE_CONFIG)?.configValue;
  } finally {
    await admin.disconnect();
  }
}

async function topicConfig(admin: Admin, topic: string) {
  const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
  return described.resources[0]?.configEntries ?? [];
}

/**
 * Switches an existing command topic to LogAppendTime. AlterConfigs replaces a topic's whole set of overrides, so
 * the ones it has are sent along unchanged.
 */
async function useLogAppendTime(admin: Admin): Promise<void> {
  const entries = await topicConfig(admin, TOPICS.agencyCommands);
  if (entries.find((e) => e.configName === TIMESTAMP_TYPE_CONFIG)?.configValue === 'LogAppendTime') return;
  // configSource 1 = DYNAMIC_TOPIC_CONFIG: the topic's own overrides.
  const overrides = entries
    .filter((e) => !e.isDefault && e.configSource === 1 && e.configName !== TIMESTAMP_TYPE_CONFIG && !e.isSensitive)
    .map((e) => ({ name: e.configName, value: e.configValue }));
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      { type: ConfigResourceTypes.TOPIC, name: TOPICS.agencyCommands, configEntries: [...overrides, { name: TIMESTAMP_TYPE_CONFIG, value: 'LogAppendTime' }] },
    ],
  });
}
