import { ConfigError, type Config } from '../infra/config';
import { hostPort } from '../infra/local-process';
import { createLogger, type Logger } from '../infra/logger';
import { serveMetrics } from '../infra/metrics';
import { expectedEndpoints } from '../stack/servers';

/** A started process; `stop` ends it and closes what it opened. */
export interface RunningProcess {
  stop(): Promise<void>;
}

/** Where this process finds Temporal and Kafka. */
export interface Endpoints {
  temporalAddress: string;
  kafkaBrokers: string[];
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
    throw new ConfigError(
      `Invalid configuration: PREFLIGHT_METRICS_PORT: cannot listen on ${hostPort(host, port)} (${code ?? 'error'})`,
      'PREFLIGHT_METRICS_PORT',
    );
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
