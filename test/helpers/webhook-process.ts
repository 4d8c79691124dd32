/**
 * A webhook worker or dispatcher in its own process, so integration tests can SIGKILL it mid-delivery.
 * Usage: node -r tsx/cjs test/helpers/webhook-process.ts worker|dispatcher; settings come from PF_WH_* variables.
 * Prints "ready" on stdout once it polls / consumes.
 */
import { Worker, NativeConnection } from '@temporalio/worker';
import { createPublisherActivities } from '../../activities/publisher';
import { createWebhookActivities } from '../../activities/webhooks';
import { createKafka } from '../../events/kafka';
import { createKafkaEventPublisher } from '../../events/producer';
import { loadConfig } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import { runDispatcher } from '../../workers/dispatcher';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const temporalAddress = env('PF_WH_TEMPORAL');
  const kafkaBrokers = env('PF_WH_KAFKA').split(',');
  const taskQueue = env('PF_WH_TASK_QUEUE');
  // PREFLIGHT_MASTER_KEY / PREFLIGHT_DATA_DIR come from the test, so this process's payload codec matches the others'.
  const config = loadConfig({ ...process.env, TEMPORAL_ADDRESS: temporalAddress, KAFKA_BROKERS: kafkaBrokers.join(','), PREFLIGHT_LOG_LEVEL: 'warn' });
  const logger = createLogger({ level: 'warn' });
  if (mode === 'worker') {
    const temporalClient = await connectClient(config.temporal, temporalAddress, deploymentDataConverter(config));
    const publisher = createKafkaEventPublisher(createKafka(config.kafka, logger, kafkaBrokers, 'publisher'), logger);
    await publisher.connect();
    const connection = await NativeConnection.connect({ address: temporalAddress });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: require.resolve('./webhook-workflows'),
      dataConverter: deploymentDataConverter(config),
      activities: {
        ...createWebhookActivities({
          logger,
          masterKey: Buffer.from(env('PF_WH_MASTER_KEY'), 'base64'),
          temporalClient,
          webhookAllowlist: env('PF_WH_ALLOWLIST').split(','),
        }),
        ...createPublisherActivities({ publisher }),
      },
    });
    const running = worker.run();
    process.stdout.write('ready\n');
    await running;
  } else if (mode === 'dispatcher') {
    await runDispatcher(config, logger, {
      temporalAddress,
      kafkaBrokers,
      taskQueue,
      groupId: env('PF_WH_GROUP'),
      deliveryPolicy: JSON.parse(env('PF_WH_POLICY')),
      // Without them, the deployment's own (PREFLIGHT_MASTER_KEY, PREFLIGHT_WEBHOOK_ALLOWLIST), as `preflight dispatcher`.
      ...(process.env.PF_WH_MASTER_KEY ? { masterKey: Buffer.from(process.env.PF_WH_MASTER_KEY, 'base64') } : {}),
      ...(process.env.PF_WH_ALLOWLIST ? { webhookAllowlist: process.env.PF_WH_ALLOWLIST.split(',') } : {}),
    });
    process.stdout.write('ready\n');
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
