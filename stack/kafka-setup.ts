import { loadAgencyRegistry } from '../events/agency-registry';
import { createKafka } from '../events/kafka';
import { ensureAuditTopic } from '../events/audit-trail';
import { ensureAgencyTopicsAndAcls } from '../events/kafka-acls';
import { ensureTopics, warmUpGroupCoordinator } from '../events/topics';
import type { Config } from '../infra/config';
import { writeAgencyKafkaLogins } from './dev-credentials';
import { ensureAgencyPrincipals } from './kafka-principals';
import type { StackEndpoints } from './local-stack';
import type { Logger } from '../infra/logger';
import { resolveMasterKey } from '../infra/master-key';

/**
 * Everything Preflight needs on Kafka before its processes start: the shared topics, one inbox topic per agency
 * and, on the local broker, each agency's SCRAM user and ACLs, with its login written to `.data/dev/` for the agency
 * side (`preflight agency inbox|send`). Safe to run on every start.
 */
export async function prepareKafka(
  config: Config,
  stack: Pick<StackEndpoints, 'kafkaBrokers' | 'localKafka'>,
  logger: Logger,
): Promise<{ createdTopics: string[]; newPrincipals: string[] }> {
  const kafka = createKafka(config.kafka, logger, stack.kafkaBrokers, 'setup');
  const createdTopics = await ensureTopics(kafka, { partitions: config.kafka.topicPartitions, replication: config.kafka.topicReplication });
  const audit = { topic: config.audit.topic, retentionMs: config.audit.retentionMs, replication: config.kafka.topicReplication };
  if (await ensureAuditTopic(kafka, audit)) createdTopics.push(config.audit.topic);
  const agencyIds = loadAgencyRegistry(config.agencyRegistryPath)
    .list()
    .map((a) => a.id);
  let newPrincipals: string[] = [];
  if (stack.localKafka) {
    await warmUpGroupCoordinator(kafka);
    const masterKey = resolveMasterKey(config.masterKey, config.stack.dataDir);
    newPrincipals = await ensureAgencyPrincipals({
      kafkaLibDir: stack.localKafka.libDir,
      bootstrap: stack.kafkaBrokers[0]!,
      agencyIds,
      masterKey,
      markerFile: stack.localKafka.markerFile,
    });
    writeAgencyKafkaLogins(config.stack.dataDir, { agencyIds, masterKey, saslBrokers: stack.localKafka.saslBrokers });
  }
  await ensureAgencyTopicsAndAcls(kafka, agencyIds, { replication: config.kafka.topicReplication, acls: Boolean(stack.localKafka) });
  return { createdTopics, newPrincipals };
}
