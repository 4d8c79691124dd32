import fs from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig as KafkajsConfig, type logCreator, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../infra/config';
import { foreignMessage, type Logger } from '../infra/logger';

/**
 * Routes kafkajs's own log lines into the pino logger, at matching levels. kafkajs appends error messages to some of
 * its messages (a consumer crash quotes what `eachMessage` threw), so only the message's head is kept, and the extra
 * fields go through the logger's allowlist like any other.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _t, logger: _l, ...extra } = log;
      // kafkajs passes `error` as a message string, which may be what our own code threw: only a socket error code
      // in it (ECONNREFUSED, …) is kept.
      const error = typeof extra.error === 'string' ? /\b(E[A-Z]{3,}[A-Z0-9_]*)\b/.exec(extra.error)?.[1] : extra.error;
      const fields = { ...extra, namespace, error };
      const msg = foreignMessage(message);
      // A retriable protocol error (a coordinator still loading after a start) is retried by kafkajs itself; what
      // outlasts the retries is logged again as a crash or a failed request.
      // A broker's response log carries no `retriable` flag: a coordinator still starting is named by its message.
      const coordinatorStarting =
        extra.retriable === undefined && typeof extra.error === 'string' && /coordinator is (not available|loading)/i.test(extra.error);
      if (level === KafkaLogLevel.ERROR && (extra.retriable === true || coordinatorStarting)) child.debug(fields, msg);
      else if (level === KafkaLogLevel.ERROR) child.error(fields, msg);
      else if (level === KafkaLogLevel.WARN) child.warn(fields, msg);
      else if (level === KafkaLogLevel.INFO) child.info(fields, msg);
      else child.debug(fields, msg);
    };
}

/** Builds the kafkajs client; the only place broker connection settings are turned into a client. */
export function createKafka(config: KafkaConfig, logger: Logger, brokers = config.brokers, clientIdSuffix?: string): Kafka {
  if (!brokers || brokers.length === 0) throw new Error('Kafka brokers are not known: start the local stack or set KAFKA_BROKERS');
  const options: KafkajsConfig = {
    clientId: clientIdSuffix ? `${config.clientId}-${clientIdSuffix}` : config.clientId,
    brokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(logger),
    connectionTimeout: 5000,
    retry: { initialRetryTime: 200, retries: 8 },
  };
  if (config.ssl.enabled) options.ssl = config.ssl.caPath ? { ca: [fs.readFileSync(config.ssl.caPath, 'utf8')] } : true;
  if (config.sasl) options.sasl = config.sasl as SASLOptions;
  return new Kafka(options);
}

/** True when the brokers answer DescribeCluster with a controller; used by health checks. */
export async function kafkaHealthy(brokers: string[], timeoutMs = 3000): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'preflight-health',
    brokers,
    logLevel: KafkaLogLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
