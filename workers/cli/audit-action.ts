import crypto from 'node:crypto';
import os from 'node:os';
import type { Kafka } from 'kafkajs';
import type { AuditInput } from '../../events/audit';
import type * as AuditTrailModule from '../../events/audit-trail';
import type { Config } from '../../infra/config';
import type * as LoggerModule from '../../infra/logger';
import { CliError } from './common';

/**
 * Records an action the CLI took straight on Kafka or Temporal (no api in between) in the audit trail: one record on
 * a chain of its own (`cli@<host>:<pid>:<random>`), with the operating-system user as the operator. Throws a CliError
 * when the record cannot be stored, so an action nobody can trace does not end quietly.
 */
export async function auditCliAction(config: Config, kafka: Kafka, action: Omit<AuditInput, 'actor'>): Promise<void> {
  const { KafkaAuditTrail } = require('../../events/audit-trail') as typeof AuditTrailModule;
  const { createLogger } = require('../../infra/logger') as typeof LoggerModule;
  const trail = new KafkaAuditTrail(
    kafka,
    { topic: config.audit.topic, retentionMs: config.audit.retentionMs, replication: config.kafka.topicReplication, copy: 'own' },
    createLogger({ level: 'error' }),
  );
  const writer = `cli@${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
  try {
    await trail.startNewChain(writer);
    await trail.append({ actor: { kind: 'ops', id: `os:${osUser()}`.slice(0, 128) }, ...action });
  } catch (e) {
    throw new CliError(`${action.action} ended (${action.outcome}) but its audit record was not stored: ${(e as Error).message}`);
  } finally {
    await trail.stop();
  }
}

function osUser(): string {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}
