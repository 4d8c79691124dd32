/**
 * The raw path of comparison (c), as its own process: a plain kafkajs consumer that turns each record into a signed
 * Standard Webhooks POST, with no Temporal in between. It signs and posts with Preflight's own functions, so the
 * difference to the real path is the orchestration alone. Settings come from BENCH_RELAY_* variables; the servers
 * from the usual configuration. Logs "relay started" once its consumer has joined the group.
 */
import type { KafkaMessage } from 'kafkajs';
import { postWebhook } from '../infra/webhook-http';
import { headersToStrings } from '../events/envelope';
import { createKafka } from '../events/kafka';
import { webhookHeaders } from '../events/webhook-signing';
import { loadConfig } from '../infra/config';
import { createLogger } from '../infra/logger';

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel }).child({ component: 'bench-relay' });
  const topic = setting('BENCH_RELAY_TOPIC');
  const url = new URL(setting('BENCH_RELAY_URL'));
  const secret = setting('BENCH_RELAY_SECRET');
  // A loopback receiver: the checked address is the URL's own.
  const target = { url, hostname: url.hostname, address: url.hostname, family: 4 as const, port: Number(url.port) };
  const kafka = createKafka(config.kafka, logger, config.kafka.brokers, 'bench-relay');
  const consumer = kafka.consumer({ groupId: setting('BENCH_RELAY_GROUP'), allowAutoTopicCreation: false });

  const relay = async (message: KafkaMessage) => {
    const headers = headersToStrings(message.headers);
    const data = JSON.parse(message.value?.toString() ?? 'null') as { at?: string };
    const body = JSON.stringify({ type: headers.ce_type, timestamp: data?.at, data });
    const signed = webhookHeaders({ id: headers.ce_id ?? '', timestampSeconds: Math.floor(Date.now() / 1000), body, secrets: [secret] });
    const res = await postWebhook(target, signed, body, { timeoutMs: 10_000, maxResponseBytes: 1024 });
    if (res.status >= 300) logger.warn({ status: res.status }, 'raw delivery refused');
  };

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  // The dispatcher's concurrency: three partitions at once, in order within each.
  await consumer.run({ partitionsConsumedConcurrently: 3, eachMessage: ({ message }) => relay(message) });
  logger.info({ topic }, 'relay started');
  const stop = () => void consumer.disconnect().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench relay failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
