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

/** How long a process keeps trying to start while a server it needs cannot be reached (a broker restarting). */
const START_RETRY_MS = 60_000;

/**
 * Starts the process, again after a back-off (1 s doubling to 8 s) while it fails, for up to a minute: one broker of a
 * cluster being down, or a server still starting, must not end a process its supervisor just restarted.
 */
async function startWithRetries(start: () => Promise<RunningProcess>, logger: Logger): Promise<RunningProcess> {
  const deadline = Date.now() + START_RETRY_MS;
  for (let delay = 1000; ; delay = Math.min(delay * 2, 8000)) {
    try {
      return await start();
    } catch (err) {
      if (Date.now() + delay > deadline) throw err;
      logger.warn({ err, retryInMs: delay }, 'could not start; trying again');
      await new Promise((r) => setTimeout(r, delay));
    }
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
    const running = await startWithRetries(() => start({ temporalAddress: where.temporal, kafkaBrokers: where.kafka }, logger), logger);
    const signal = await untilSignal();
    logger.info({ signal }, 'stopping');
    await running.stop();
  } finally {
    await metrics?.stop();
    logger.flush();
  }
}
