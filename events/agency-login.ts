import fs from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel, type SASLOptions } from 'kafkajs';
import { z } from 'zod';
import { AgencyId } from '../wire/common';
import type { Logger } from '../infra/logger';
import { kafkaLogCreator } from './kafka';
import { summarizeIssues } from './envelope';

/**
 * An agency's own Kafka login: the SASL/SCRAM user `User:<agencyId>` whose ACLs let it write commands, read its own
 * inbox (`preflight.agency-inbox.<agencyId>.v1`) and the clearinghouse events, with consumer groups `<agencyId>.…`.
 * On the local default, `preflight start` writes one per agency to `.data/dev/agency-<agencyId>.kafka.json` (mode
 * 0600); a real deployment hands each agency the same fields.
 */
export const AgencyKafkaLogin = z.strictObject({
  agencyId: AgencyId,
  /** The SCRAM user name: the agency id. */
  username: z.string().min(1).max(200),
  password: z.string().min(1).max(1000),
  mechanism: z.enum(['scram-sha-512', 'scram-sha-256']),
  /** The SASL listener (on the local default: `127.0.0.1:<PREFLIGHT_KAFKA_SASL_PORT>`). */
  brokers: z.array(z.string().min(1).max(300)).min(1).max(50),
  /** TLS on the listener (off on the local loopback listener). */
  ssl: z.boolean().optional(),
  /** Informational: where the agency reads and writes. */
  inboxTopic: z.string().optional(),
  commandTopic: z.string().optional(),
  groupPrefix: z.string().optional(),
});
export type AgencyKafkaLogin = z.infer<typeof AgencyKafkaLogin>;

/** Reads and checks a login file; the message says what is wrong, never the password. */
export function readAgencyKafkaLogin(file: string): AgencyKafkaLogin {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the Kafka login ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).name}`, { cause: e });
  }
  const parsed = AgencyKafkaLogin.safeParse(raw);
  if (!parsed.success) throw new Error(`the Kafka login ${file} is not valid: ${summarizeIssues(parsed.error)}`);
  return parsed.data;
}

/** A kafkajs client that connects as the agency, and as nobody else. */
export function agencyKafka(login: AgencyKafkaLogin, logger: Logger, clientId = `preflight-agency-${login.agencyId}`): Kafka {
  return new Kafka({
    clientId,
    brokers: login.brokers,
    sasl: { mechanism: login.mechanism, username: login.username, password: login.password } as SASLOptions,
    ...(login.ssl ? { ssl: true } : {}),
    logLevel: KafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(logger),
    connectionTimeout: 5000,
    retry: { initialRetryTime: 200, retries: 5 },
  });
}
