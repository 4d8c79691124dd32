import crypto from 'node:crypto';
import net from 'node:net';
import { logLevel } from 'kafkajs';
import { kafkaLogCreator } from '../../events/kafka';
import { ConfigError } from '../../infra/config';
import { createLogger, DROPPED_FIELDS_KEY, foreignMessage, loggableError, type Logger } from '../../infra/logger';
import { temporalLogger } from '../../infra/temporal-runtime';

function capture(level = 'trace'): { logger: Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const chunks: string[] = [];
  const logger = createLogger({ level, destination: { write: (s: string) => chunks.push(s) } });
  return {
    logger,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const canary = () => `canary-${crypto.randomBytes(8).toString('hex')}`;

/** A real socket error from Node's net layer: ECONNREFUSED on a port nobody listens on. */
async function refusedConnection(): Promise<Error> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', resolve);
  });
}

describe('the logger field allowlist', () => {
  it('drops finding details, secrets, unknown keys and error messages that could quote them', () => {
    const c = canary();
    const { logger, lines, text } = capture();
    const err = new Error(`finding rejected: ${c}`);
    logger.warn(
      {
        submissionId: 'sub-1',
        agencyId: 'nsa',
        partition: 2,
        offset: '17',
        latencyMs: 12,
        detail: `the model writes exploits ${c}`,
        secret: `whsec_${c}`,
        finding: { title: c, detail: c, severity: 'HIGH' },
        body: Buffer.from(c),
        status: { state: 'OPEN', note: c, nested: { deeper: { deepest: { findingId: c } } } },
        err,
      },
      'command refused',
    );
    const [line] = lines();
    expect(text()).not.toContain(c);
    expect(line).toMatchObject({ submissionId: 'sub-1', agencyId: 'nsa', partition: 2, offset: '17', latencyMs: 12, msg: 'command refused', level: 'warn' });
    expect(line!.err).toEqual({ name: 'Error' });
    expect((line!.status as Record<string, unknown>).state).toBe('OPEN');
    expect(line![DROPPED_FIELDS_KEY]).toEqual(['detail', 'secret', 'finding', 'body']);
    expect((line!.status as Record<string, unknown>)[DROPPED_FIELDS_KEY]).toEqual(['note', 'nested']);
  });

  it('reduces an Error logged on its own, and message strings in error fields, to names and codes', () => {
    const c = canary();
    const { logger, lines, text } = capture();
    const withCode = Object.assign(new Error(`bad ${c}`), { code: 'E_CONTRACT' });
    logger.error(withCode);
    logger.warn({ error: `webhook receiver said ${c}` }, 'dispatch failed');
    logger.warn({ error: c.toUpperCase().replace(/-/g, ' ') }, 'has spaces');
    logger.warn({ error: 'ECONNRESET', err: 'TimeoutError' }, 'codes pass');
    const [first, second, third, fourth] = lines();
    expect(text().toLowerCase()).not.toContain(c);
    expect(first!.err).toEqual({ name: 'Error', code: 'E_CONTRACT' });
    expect(first!.msg).toBe('error');
    expect(second!.error).toBe('[message dropped]');
    expect(third!.error).toBe('[message dropped]');
    expect(fourth).toMatchObject({ error: 'ECONNRESET', err: 'TimeoutError' });
  });

  it('keeps only the literal message: printf-style arguments are discarded', () => {
    const c = canary();
    const { logger, lines, text } = capture();
    logger.info('answer %s', c);
    logger.info({ submissionId: 's' }, 'answer %s %o', c, { c });
    expect(text()).not.toContain(c);
    expect(lines().map((l) => l.msg)).toEqual(['answer %s', 'answer %s %o']);
  });

  it('keeps the message of errors known to carry no user content, and the cause chain of names', async () => {
    const { logger, lines } = capture();
    const refused = await refusedConnection();
    const config = new ConfigError('Invalid configuration: PREFLIGHT_API_PORT: expected a number', 'PREFLIGHT_API_PORT');
    const c = canary();
    const wrapped = new Error(`could not deliver ${c}`, { cause: refused });
    logger.error({ err: refused }, 'connect failed');
    logger.error({ err: config }, 'bad config');
    logger.error({ err: wrapped }, 'wrapped');
    const [a, b, w] = lines();
    expect(a!.err).toMatchObject({ name: 'Error', code: 'ECONNREFUSED' });
    expect((a!.err as Record<string, string>).message).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(b!.err).toEqual({ name: 'ConfigError', message: 'Invalid configuration: PREFLIGHT_API_PORT: expected a number' });
    expect(w!.err).toEqual({ name: 'Error', cause: expect.stringMatching(/^Error ECONNREFUSED connect ECONNREFUSED/) });
    expect(JSON.stringify(w)).not.toContain(c);
  });

  it('sanitizes child bindings too', () => {
    const c = canary();
    const { logger, lines, text } = capture();
    logger.child({ component: 'ingress', detail: c }).info({ topic: 't' }, 'started');
    expect(text()).not.toContain(c);
    expect(lines()[0]).toMatchObject({ component: 'ingress', topic: 't', msg: 'started' });
  });

  it('names dropped keys only when they are identifiers', () => {
    const c = canary();
    const { logger, lines, text } = capture();
    logger.info({ [`${c} with spaces`]: 1, [c]: 2 } as Record<string, unknown>, 'keys from input');
    expect(text()).not.toContain(`${c} with spaces`);
    expect(lines()[0]![DROPPED_FIELDS_KEY]).toEqual(['?', c]);
  });

  it('routes kafkajs lines through the allowlist and cuts the error text kafkajs appends', () => {
    const c = canary();
    const { logger, lines, text } = capture();
    const log = kafkaLogCreator(logger)(logLevel.DEBUG);
    log({
      namespace: 'Consumer',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: {
        timestamp: 'now',
        logger: 'kafkajs',
        message: `Crash: KafkaJSNumberOfRetriesExceeded: ${c}`,
        groupId: 'g',
        retryCount: 3,
        stack: `Error: ${c}`,
        error: c,
      },
    });
    log({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: {
        timestamp: 'now',
        logger: 'kafkajs',
        message: 'Connection error: connect ECONNREFUSED 127.0.0.1:1',
        broker: '127.0.0.1:1',
        error: 'connect ECONNREFUSED 127.0.0.1:1',
      },
    });
    expect(text()).not.toContain(c);
    const [crash, refused] = lines();
    expect(crash).toMatchObject({ component: 'kafkajs', msg: 'Crash', namespace: 'Consumer', groupId: 'g', retryCount: 3, level: 'error' });
    expect(crash!.error).toBeUndefined();
    expect(refused).toMatchObject({ msg: 'Connection error', broker: '127.0.0.1:1', error: 'ECONNREFUSED' });
  });

  it('logs a retriable kafkajs protocol error at debug, since kafkajs retries it', () => {
    const { logger, lines } = capture();
    const log = kafkaLogCreator(logger)(logLevel.DEBUG);
    const response = {
      timestamp: 'now',
      logger: 'kafkajs',
      message: 'Response GroupCoordinator(key: 10, version: 2)',
      broker: 'b:1',
      error: 'The group coordinator is not available',
    };
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { ...response, retriable: true } });
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { ...response, retriable: false } });
    // The broker's own response log (no `retriable` flag) for a coordinator still starting after a fresh start.
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: response });
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { ...response, error: 'The request timed out' } });
    expect(lines().map((l) => l.level)).toEqual(['debug', 'error', 'debug', 'error']);
  });

  it('routes Temporal runtime lines through the allowlist', () => {
    const c = canary();
    const { logger, lines, text } = capture();
    const temporal = temporalLogger(logger);
    temporal.warn(`Activity failed: ${c}`, { activityType: 'attemptWebhookDelivery', workflowId: 'w', error: new Error(c), input: c });
    temporal.info('Workflow bundle created', { size: 12 });
    expect(text()).not.toContain(c);
    const [failed, bundle] = lines();
    expect(failed).toMatchObject({ component: 'temporal', msg: 'Activity failed', activityType: 'attemptWebhookDelivery', workflowId: 'w' });
    expect(failed!.error).toEqual({ name: 'Error' });
    expect(bundle).toMatchObject({ msg: 'Workflow bundle created', size: 12 });
  });

  it('cuts library messages at the first colon, quote or line break', () => {
    expect(foreignMessage('Connection error: connect ECONNREFUSED 127.0.0.1:1')).toBe('Connection error');
    expect(foreignMessage('Failing workflow task\nfailure="x"')).toBe('Failing workflow task');
    expect(foreignMessage(42)).toBe('');
    expect(loggableError('not an error at all')).toEqual({ name: 'string' });
    expect(loggableError('ETIMEDOUT')).toEqual({ code: 'ETIMEDOUT' });
  });
});
