import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { ConfigError } from './config';
import { foreignMessage, type Logger } from './logger';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The SDK's logger interface over pino. Its metadata passes the logger's field allowlist; its messages are cut before
 * any appended error text (workflow code and core may quote a failure).
 */
export function temporalLogger(logger: Logger): TemporalLogger {
  const child = logger.child({ component: 'temporal' });
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    // The bundler's module listing is only useful when debugging a workflow bundle.
    const effective = level === 'INFO' && message.startsWith('asset workflow-bundle') ? 'DEBUG' : level;
    child[LEVELS[effective]](meta ?? {}, foreignMessage(message));
  };
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}

let installed = false;

/**
 * Routes the Temporal runtime (SDK and Rust core) logs into pino, and with `metricsBind` (`host:port`) serves the
 * core's worker metrics (task slots, poll and schedule-to-start latencies, sticky cache) for Prometheus at
 * `/metrics` there. Once per process.
 */
export function installTemporalRuntime(logger: Logger, options: { metricsBind?: string } = {}): void {
  if (installed) return;
  try {
    Runtime.install({
      logger: temporalLogger(logger),
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'WARN' }), forward: {} },
        ...(options.metricsBind ? { metrics: { prometheus: { bindAddress: options.metricsBind, countersTotalSuffix: true, unitSuffix: true } } } : {}),
      },
    });
  } catch (err) {
    const message = (err as Error).message;
    // The runtime is a process-wide singleton; in a process that already made one (tests), keep that one.
    if (/prometheus/i.test(message) && options.metricsBind) {
      const reason = /:\s*([^(]+)/.exec(message)?.[1]?.trim() ?? 'cannot listen';
      throw new ConfigError(
        `Invalid configuration: PREFLIGHT_TEMPORAL_METRICS_PORT: cannot serve the Temporal metrics on ${options.metricsBind} (${reason})`,
        'PREFLIGHT_TEMPORAL_METRICS_PORT',
      );
    }
    if (!/already been installed/.test(message)) throw err;
  }
  installed = true;
}
