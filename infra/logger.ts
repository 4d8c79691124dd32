import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * The root logger: JSON lines on stdout. Callers log ids, types, statuses and error codes only;
 * the redact list is a second line of defence for fields that must never appear.
 */
export function createLogger(options: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'preflight',
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['*.password', '*.secret', '*.token', '*.apiKey', '*.masterKey', '*.detail', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
