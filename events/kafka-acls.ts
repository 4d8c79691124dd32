import crypto from 'node:crypto';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type AclEntry, type Kafka } from 'kafkajs';
import { AGENCY_INBOX_RETENTION_MS, AUDIT_TOPIC, agencyInboxTopic, TOPICS } from './topics';

export { agencyInboxTopic };

/**
 * The per-agency reply topic of earlier releases, replaced by the agency's inbox (`agencyInboxTopic`), which carries
 * the replies and the inbox events. Nothing writes it any more and it is no longer created; on a deployment that has
 * one, the agency's read ACL on it is left in place until its records expire (14 days).
 */
export function legacyAgencyReplyTopic(agencyId: string): string {
  return `preflight.agency-replies.${agencyId}.v1`;
}

/** Consumer groups an agency may use start with `<agencyId>.`. */
export function agencyGroupPrefix(agencyId: string): string {
  return `${agencyId}.`;
}

export type TopicOperation = 'write' | 'read';

/**
 * What an agency principal may do, as data: write commands; read its own inbox (inbox events and replies) and the
 * clearinghouse case events. Nothing on submission events (vendor-private), the dead-letter topic, the shared reply
 * topic or another agency's inbox.
 */
export function agencyEntitlements(agencyId: string): Array<{ topic: string; operation: TopicOperation }> {
  return [
    { topic: TOPICS.agencyCommands, operation: 'write' },
    { topic: agencyInboxTopic(agencyId), operation: 'read' },
    { topic: TOPICS.clearinghouseEvents, operation: 'read' },
  ];
}

/** The Kafka ACL entries that grant exactly `agencyEntitlements` to `User:<agencyId>`. */
export function agencyAcls(agencyId: string): AclEntry[] {
  const principal = `User:${agencyId}`;
  const allow = (resourceType: AclResourceTypes, resourceName: string, operation: AclOperationTypes, pattern = ResourcePatternTypes.LITERAL): AclEntry => ({
    principal,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
    resourceType,
    resourceName,
    resourcePatternType: pattern,
  });
  const entries: AclEntry[] = [];
  for (const { topic, operation } of agencyEntitlements(agencyId)) {
    entries.push(allow(AclResourceTypes.TOPIC, topic, operation === 'write' ? AclOperationTypes.WRITE : AclOperationTypes.READ));
    entries.push(allow(AclResourceTypes.TOPIC, topic, AclOperationTypes.DESCRIBE));
  }
  entries.push(allow(AclResourceTypes.GROUP, agencyGroupPrefix(agencyId), AclOperationTypes.READ, ResourcePatternTypes.PREFIXED));
  return entries;
}

/**
 * Creates each agency's inbox topic if missing and, with `acls`, the agency's ACLs (on a cluster whose operators
 * manage ACLs themselves, leave it off). Idempotent: Kafka keeps one copy of an identical ACL.
 */
export async function ensureAgencyTopicsAndAcls(kafka: Kafka, agencyIds: string[], options: { replication: number; acls: boolean }): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = agencyIds.map(agencyInboxTopic).filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        // One partition: an agency reads its whole inbox in the order it was written.
        topics: missing.map((name) => ({
          topic: name,
          numPartitions: 1,
          replicationFactor: options.replication,
          configEntries: [
            { name: 'retention.ms', value: String(AGENCY_INBOX_RETENTION_MS) },
            ...(options.replication > 1 ? [{ name: 'min.insync.replicas', value: String(Math.min(2, options.replication)) }] : []),
          ],
        })),
      });
    }
    if (options.acls && agencyIds.length > 0) await admin.createAcls({ acl: agencyIds.flatMap(agencyAcls) });
  } finally {
    await admin.disconnect();
  }
}

/**
 * An agency's SCRAM password on the local broker, derived from the master key so nothing is stored. Real clusters
 * issue their own credentials; this serves the local stack and its tests.
 */
export function agencyKafkaPassword(masterKey: Buffer, agencyId: string): string {
  return crypto.createHmac('sha256', masterKey).update(`kafka-scram/v1/${agencyId}`).digest('base64url');
}

/** Consumer groups that read the audit topic: the writers' copies and the CLI's reads. */
export const AUDIT_GROUP_PREFIX = 'preflight-audit-';

/**
 * The ACL entries of the audit topic on a cluster where Preflight's processes have principals of their own: the
 * writers' principals (the api's and the ingress's) write (idempotently) and read (each resumes its chain from the
 * topic; the api also serves `GET /ops/audit` from it); ops tooling (`preflight audit verify|export`) reads. Nobody
 * else has an entry, so with `allow.everyone.if.no.acl.found=false` every other principal (each agency) is refused.
 */
export function auditTopicAcls(options: { writerPrincipals: string[]; readerPrincipals: string[]; topic?: string }): AclEntry[] {
  const topic = options.topic ?? AUDIT_TOPIC;
  const entry = (principal: string, operation: AclOperationTypes, resourceType = AclResourceTypes.TOPIC, resourceName = topic): AclEntry => ({
    principal,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
    resourceType,
    resourceName,
    resourcePatternType: ResourcePatternTypes.LITERAL,
  });
  return [
    ...options.writerPrincipals.flatMap((p) => [
      entry(p, AclOperationTypes.WRITE),
      entry(p, AclOperationTypes.READ),
      entry(p, AclOperationTypes.DESCRIBE),
      entry(p, AclOperationTypes.IDEMPOTENT_WRITE, AclResourceTypes.CLUSTER, 'kafka-cluster'),
    ]),
    ...options.readerPrincipals.flatMap((p) => [entry(p, AclOperationTypes.READ), entry(p, AclOperationTypes.DESCRIBE)]),
    // The throwaway consumer groups the writers and the CLI read the topic with.
    ...[...options.writerPrincipals, ...options.readerPrincipals].flatMap((p) => [
      { ...entry(p, AclOperationTypes.READ, AclResourceTypes.GROUP, AUDIT_GROUP_PREFIX), resourcePatternType: ResourcePatternTypes.PREFIXED },
      { ...entry(p, AclOperationTypes.DELETE, AclResourceTypes.GROUP, AUDIT_GROUP_PREFIX), resourcePatternType: ResourcePatternTypes.PREFIXED },
    ]),
  ];
}
