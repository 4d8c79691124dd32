import os from 'node:os';
import { Partitioners, type Consumer, type Kafka } from 'kafkajs';
import { deriveFingerprintKey } from '../../clients/case-fingerprint';
import { agenciesInDomain, loadAgencyRegistry, type AgencyRegistry } from '../../events/agency-registry';
import { KafkaAuditTrail } from '../../events/audit-trail';
import { DEFAULT_MAX_COMMAND_BYTES } from '../../events/command-intake';
import { createKafka } from '../../events/kafka';
import { runKeyedConsumer, type KeyedConsumer } from '../../events/keyed-consumer';
import { commandTopicTimestampType, TOPICS } from '../../events/topics';
import type { Config } from '../../infra/config';
import type { Logger } from '../../infra/logger';
import { resolveMasterKey } from '../../infra/master-key';
import { connectClient, deploymentDataConverter, deploymentPayloadKeys } from '../../infra/temporal';
import type { CommandAudit } from './audit';
import { handleMessage, type Pipeline } from './pipeline';
import { clearinghouseCaseOpener, type CaseOpener } from './routing';

export type { CommandOutcome } from './outcomes';
export { replyMessage } from './replies';
export { applyCommand, clearinghouseCaseOpener, type CaseOpener } from './routing';

export interface IngressOptions {
  /** Overrides config.temporal.address (e.g. the local stack's). */
  temporalAddress?: string;
  /** Overrides config.kafka.brokers. */
  kafkaBrokers?: string[];
  /** Consumer group; every ingress replica uses the same one. */
  groupId?: string;
  /** Defaults to the registry file at config.agencyRegistryPath (or the built-in one, which has no keys). */
  registry?: AgencyRegistry;
  maxCommandBytes?: number;
  /** Max distance between a command's signed timestamp and its Kafka record's timestamp (default ±300 s). */
  toleranceSeconds?: number;
  /** How far a record timestamp may be ahead of the ingress's clock (default 60 s). */
  maxRecordFutureSeconds?: number;
  /**
   * The ingress's clock, unix ms (default `Date.now`). Freshness is judged against the record timestamps, so this
   * clock only bounds record timestamps from the future; tests set it ahead to stand for an ingress back from an outage.
   */
  clock?: () => number;
  /** Where `gov.preflight.case.open.v1` goes; defaults to the clearinghouse's `openOrJoinCase` on config.taskQueue. */
  openCase?: CaseOpener;
  /**
   * Commands applied at once, all partitions together, each for a different Kafka key (submission or case id);
   * commands with the same key are applied in order.
   */
  commandsInFlight?: number;
  /** A command not applied for this long while others are is parked as a dead letter (default 300 s; 0 never parks). */
  parkAfterMs?: number;
  /** Where a consumer group without committed offsets starts; default true, so no command sent before the first start is lost. */
  fromBeginning?: boolean;
  /** The audit topic (default config.audit.topic). */
  auditTopic?: string;
  /** This process's chain in the audit trail (default `ingress@<hostname>:<pid>`); two live processes never share one. */
  auditWriterId?: string;
}

const noHeartbeat = async (): Promise<void> => undefined;

export const DEFAULT_INGRESS_GROUP = 'preflight-ingress';
/** Commands (with different keys) applied at once, all partitions together. */
export const DEFAULT_COMMANDS_IN_FLIGHT = 24;
export const DEFAULT_PARK_AFTER_MS = 300_000;

/**
 * The ingress process: consumes `preflight.agency-commands.v1`, verifies and applies each command, replies on
 * `preflight.agency-replies.v1`, dead-letters refusals on `preflight.dead-letter.v1`, records each in the audit trail,
 * and commits each offset only after Temporal answered and the reply / dead letter and the audit record are on Kafka.
 * Commands with the same key (submission or case) are applied in order; different keys run side by side across
 * partitions, so a key whose workflow does not answer holds only its own commands (and is parked after a while).
 */
export async function runIngress(config: Config, logger: Logger, options: IngressOptions = {}): Promise<{ stop(): Promise<void> }> {
  const log = logger.child({ component: 'ingress' });
  const registry = options.registry ?? loadAgencyRegistry(config.agencyRegistryPath);
  const openCase =
    options.openCase ??
    clearinghouseCaseOpener({
      taskQueue: config.taskQueue,
      fingerprintKey: deriveFingerprintKey(resolveMasterKey(config.masterKey, config.stack.dataDir)),
      agenciesInDomain: agenciesInDomain(registry),
      ...(config.caseMaxReports !== undefined ? { policy: { maxReports: config.caseMaxReports } } : {}),
    });
  const kafka = createKafka(config.kafka, logger, options.kafkaBrokers ?? config.kafka.brokers, 'ingress');
  // The deployment's encrypting converter: command bodies (finding details) are sensitive in Temporal payloads.
  const client = await connectClient(config.temporal, options.temporalAddress, deploymentDataConverter(config));
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const maxBytes = options.maxCommandBytes ?? DEFAULT_MAX_COMMAND_BYTES;
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId ?? DEFAULT_INGRESS_GROUP,
    allowAutoTopicCreation: false,
    // Oversized commands must still be fetched (to be dead-lettered), never stall the partition.
    maxBytesPerPartition: 5 * 1024 * 1024,
    // A replica that dies hands its partitions over after 10 s; heartbeats go out every 3 s, also during long calls.
    sessionTimeout: 10_000,
    heartbeatInterval: 3000,
  });
  // Every handled command is recorded in the shared audit trail; this process only appends, so it keeps no copy.
  const auditTrail = new KafkaAuditTrail(
    kafka,
    { topic: options.auditTopic ?? config.audit.topic, retentionMs: config.audit.retentionMs, replication: config.kafka.topicReplication, copy: 'own' },
    logger,
  );
  const audit: CommandAudit = auditTrail;
  let stopping = false;
  const payloadKeys = deploymentPayloadKeys(config);
  const pipeline: Pipeline = {
    client,
    sealKey: payloadKeys[0]!,
    recordTimeKeys: payloadKeys,
    now: options.clock ?? Date.now,
    maxRecordFutureSeconds: options.maxRecordFutureSeconds,
    producer,
    registry,
    openCase,
    maxCommandBytes: maxBytes,
    toleranceSeconds: options.toleranceSeconds,
    logger: log,
    stopping: () => stopping,
    audit,
    applied: { lastAt: 0 },
  };
  const parkAfterMs = options.parkAfterMs ?? config.ingressParkAfterMs ?? DEFAULT_PARK_AFTER_MS;
  if (parkAfterMs > 0) pipeline.parkAfterMs = parkAfterMs;
  let keyed: KeyedConsumer | undefined;

  try {
    await producer.connect();
    await auditTrail.start(options.auditWriterId ?? `ingress@${os.hostname()}:${process.pid}`);
    await warnUnlessLogAppendTime(kafka, log);
    await consumer.connect();
    await consumer.subscribe({ topic: TOPICS.agencyCommands, fromBeginning: options.fromBeginning ?? true });
    keyed = await runKeyedConsumer(consumer, {
      concurrency: options.commandsInFlight ?? DEFAULT_COMMANDS_IN_FLIGHT,
      log,
      // Membership is kept by the consumer's own heartbeats: batches are only queued, never waited for.
      handle: (topic, partition, message) => handleMessage(pipeline, topic, partition, message, noHeartbeat),
    });
  } catch (e) {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), auditTrail.stop(), client.connection.close()]);
    throw e;
  }
  log.info({ groupId: options.groupId ?? DEFAULT_INGRESS_GROUP, topic: TOPICS.agencyCommands }, 'ingress started');

  return {
    async stop() {
      stopping = true;
      await keyed?.drain();
      await consumer.disconnect().catch((e: unknown) => log.warn({ err: e }, 'consumer disconnect failed'));
      await producer.disconnect().catch(() => undefined);
      await auditTrail.stop();
      await client.connection.close().catch(() => undefined);
      log.info('ingress stopped');
    },
  };
}

/**
 * Freshness is judged against record timestamps, which are the broker's only on a LogAppendTime topic; on a
 * CreateTime topic the producer sets them. Preflight creates and sets the topic so, but an operator-managed topic may
 * differ: say so loudly rather than refuse to start.
 */
async function warnUnlessLogAppendTime(kafka: Kafka, log: Logger): Promise<void> {
  const type = await commandTopicTimestampType(kafka).catch(() => undefined);
  if (type === undefined) log.warn({ topic: TOPICS.agencyCommands }, 'cannot read the command topic’s message.timestamp.type (no DescribeConfigs right?)');
  else if (type !== 'LogAppendTime') {
    log.warn(
      { topic: TOPICS.agencyCommands, timestampType: type },
      'the command topic uses producer timestamps: command freshness is judged against a time the producer chooses; set message.timestamp.type=LogAppendTime',
    );
  }
}
