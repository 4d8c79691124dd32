import type { ActivityDeps } from '../activities';
import { LocalAccessBroker, temporalGrantLiveness } from '../activities/access-broker';
import { createKafka } from '../events/kafka';
import { createKafkaEventPublisher } from '../events/producer';
import { ConfigError, type Config } from '../infra/config';
import { hostPort } from '../infra/local-process';
import { createLogger, type Logger } from '../infra/logger';
import { serveMetrics } from '../infra/metrics';
import { resolveMasterKey } from '../infra/master-key';
import { connectClient, deploymentDataConverter } from '../infra/temporal';
import { expectedEndpoints } from './cli/stack';
import { runWorker, type RunningProcess } from './worker';

/** Where this process finds Temporal and Kafka. */
export interface Endpoints {
  temporalAddress: string;
  kafkaBrokers: string[];
}

/** The real dependencies of every activity, wired once per worker process. */
export async function buildActivityDeps(config: Config, logger: Logger, endpoints: Endpoints): Promise<{ deps: ActivityDeps; close(): Promise<void> }> {
  const masterKey = resolveMasterKey(config.masterKey, config.stack.dataDir);
  const temporalClient = await connectClient(config.temporal, endpoints.temporalAddress, deploymentDataConverter(config));
  const publisher = createKafkaEventPublisher(createKafka(config.kafka, logger, endpoints.kafkaBrokers, 'publisher'), logger);
  await publisher.connect();
  const deps: ActivityDeps = {
    logger,
    masterKey,
    temporalClient,
    publisher,
    webhookAllowlist: config.webhookAllowlist,
    accessBroker: new LocalAccessBroker({ masterKey, isGrantLive: temporalGrantLiveness(temporalClient) }),
  };
  return {
    deps,
    async close() {
      await publisher.disconnect();
      await temporalClient.connection.close();
    },
  };
}

/** Starts a worker with real dependencies; stopping it closes them too. */
export async function startWorker(config: Config, logger: Logger, endpoints: Endpoints): Promise<RunningProcess> {
  const { deps, close } = await buildActivityDeps(config, logger, endpoints);
  const worker = await runWorker(config, logger, {
    temporalAddress: endpoints.temporalAddress,
    deps,
    dataConverter: deploymentDataConverter(config),
  });
  return {
    async stop() {
      await worker.stop();
      await close();
    },
  };
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

async function metricsOrExit(host: string, port: number): Promise<Awaited<ReturnType<typeof serveMetrics>>> {
  try {
    return await serveMetrics(host, port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`Invalid configuration: PREFLIGHT_METRICS_PORT: cannot listen on ${hostPort(host, port)} (${code ?? 'error'})`, 'PREFLIGHT_METRICS_PORT');
  }
}

/**
 * Runs one process against the configured servers (or the local stack's) until SIGINT/SIGTERM, then stops it. With
 * `metrics` and PREFLIGHT_METRICS_PORT set, it also serves its own /metrics (the api serves its own on its port).
 */
export async function runUntilSignal(
  config: Config,
  start: (endpoints: Endpoints, logger: Logger) => Promise<RunningProcess>,
  options: { metrics?: boolean } = {},
): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  const where = expectedEndpoints(config);
  const metrics = options.metrics && config.metricsPort !== undefined ? await metricsOrExit(config.stack.host, config.metricsPort) : undefined;
  if (metrics) logger.info({ url: metrics.url }, 'metrics served');
  try {
    const running = await start({ temporalAddress: where.temporal, kafkaBrokers: where.kafka }, logger);
    const signal = await untilSignal();
    logger.info({ signal }, 'stopping');
    await running.stop();
  } finally {
    await metrics?.stop();
    logger.flush();
  }
}

/** `preflight worker`: one worker until a signal. */
export async function runWorkerProcess(config: Config): Promise<void> {
  await runUntilSignal(config, (endpoints, logger) => startWorker(config, logger, endpoints), { metrics: true });
}
