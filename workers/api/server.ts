import os from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
import type { Client } from '@temporalio/client';
import { createKafka } from '../../events/kafka';
import type { Config } from '../../infra/config';
import type { Logger } from '../../infra/logger';
import { resolveMasterKey } from '../../infra/master-key';
import { hostPort } from '../../infra/local-process';
import { collectProcessMetrics } from '../../infra/metrics';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import type { AgencyRegistry } from '../../events/agency-registry';
import type { AuditTrail, Authenticator } from './auth';
import { KafkaAuditTrail } from '../../events/audit-trail';
import { caseRoutes } from './cases';
import { codecRoutes } from './codec';
import { opsSessionKey, opsSessionRoutes } from './ops-session';
import { installJsonBodyParser } from './json-body';
import { problemErrorHandler, problems, sendProblem } from './problems';
import { buildInterfaceContext, registerInterfaces } from './service';
import { webhookEndpointRoutes } from './webhook-endpoints';
import type { ApiContext } from './context';

/** Bodies above this are refused before parsing (413); routes set smaller caps of their own. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface ApiServerOptions {
  temporalAddress?: string;
  kafkaBrokers?: string[];
  /** Replaces the key files (tests). */
  authenticator?: Authenticator;
  /** Replaces the registry file at config.agencyRegistryPath (tests). */
  agencyRegistry?: AgencyRegistry;
  host?: string;
  port?: number;
  /** Replaces config.audit.writerId (tests that restart an api and resume its chain). */
  auditWriterId?: string;
  /** Replaces config.audit.topic (tests with a topic of their own). */
  auditTopic?: string;
}

/**
 * The whole api on one fastify instance: `/healthz`, the vendor API (submissions and webhook endpoints), the ops API
 * (submissions, dead letters, audit, clearinghouse cases, the UI session), `/openapi.json`, `/readyz`, `/metrics`, the
 * console and the remote payload codec for the Temporal Web UI (`/codec`).
 * Every error is `application/problem+json`; JSON bodies are capped, other media types 415 and `__proto__`/`constructor.prototype`
 * keys refused with 400 (json-body.ts).
 */
export async function createApiServer(
  config: Config,
  logger: Logger,
  deps: { client: Client; kafka?: Kafka; authenticator?: Authenticator; agencyRegistry?: AgencyRegistry; audit?: AuditTrail },
): Promise<{ app: FastifyInstance; ctx: ApiContext }> {
  const ctx = buildInterfaceContext(config, logger, deps);
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_BODY_BYTES,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    requestIdHeader: false,
    return503OnClosing: true,
  });
  installJsonBodyParser(app);
  app.setErrorHandler(problemErrorHandler(ctx.logger));
  // One deadline for every Temporal call a request makes: a request whose workflow has no worker polling, or a
  // Temporal that does not answer, gets 503 with Retry-After instead of waiting for as long as that lasts. The
  // handler runs inside the hook's async context (callback style, so fastify calls it from `done`).
  app.addHook('preHandler', (_request, _reply, done) => {
    void deps.client.connection.withDeadline(Date.now() + config.apiTemporalTimeoutMs, async () => done());
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, problems.notFound('route'), request.url.split('?')[0]));
  app.get('/healthz', async () => ({ status: 'ok' }));
  await registerInterfaces(app, ctx, { publicUrl: `http://${config.stack.host}:${config.apiPort}` });
  const masterKey = resolveMasterKey(config.masterKey, config.stack.dataDir);
  await app.register(
    webhookEndpointRoutes({
      client: deps.client,
      taskQueue: config.taskQueue,
      authenticator: ctx.authenticator,
      logger,
      masterKey,
      webhookAllowlist: config.webhookAllowlist,
    }),
  );
  await app.register(caseRoutes(ctx));
  const sessionKey = opsSessionKey(masterKey);
  await app.register(opsSessionRoutes({ authenticator: ctx.authenticator, sessionKey, logger }));
  await app.register(
    codecRoutes({
      codecs: deploymentDataConverter(config).payloadCodecs ?? [],
      namespace: config.temporal.namespace,
      authenticator: ctx.authenticator,
      sessionKey,
      uiOrigins: config.uiOrigins,
      logger,
    }),
  );
  return { app, ctx };
}

/**
 * Connects to Temporal (with the deployment's payload codec) and Kafka, and serves the api on
 * `PREFLIGHT_HOST:PREFLIGHT_API_PORT` until stopped.
 */
export async function startApiServer(
  config: Config,
  logger: Logger,
  options: ApiServerOptions = {},
): Promise<{ url: string; ctx: ApiContext; stop(): Promise<void> }> {
  const log = logger.child({ component: 'api' });
  collectProcessMetrics();
  const client = await connectClient(config.temporal, options.temporalAddress, deploymentDataConverter(config));
  const kafka = createKafka(config.kafka, logger, options.kafkaBrokers ?? config.kafka.brokers, 'api');
  const audit = new KafkaAuditTrail(
    kafka,
    { topic: options.auditTopic ?? config.audit.topic, retentionMs: config.audit.retentionMs, replication: config.kafka.topicReplication },
    logger,
  );
  const { app, ctx } = await createApiServer(config, logger, {
    client,
    kafka,
    audit,
    ...(options.authenticator ? { authenticator: options.authenticator } : {}),
    ...(options.agencyRegistry ? { agencyRegistry: options.agencyRegistry } : {}),
  });
  const host = options.host ?? config.stack.host;
  await app.listen({ host, port: options.port ?? config.apiPort });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? config.apiPort);
  const url = `http://${hostPort(host, port)}`;
  // The chain is resumed before the api says it listens; a request arriving meanwhile waits for it.
  const writer = options.auditWriterId ?? config.audit.writerId ?? `api@${os.hostname()}:${port}`;
  try {
    await audit.start(writer);
  } catch (e) {
    await app.close();
    await client.connection.close();
    throw new Error(`the audit trail did not start: ${(e as Error).message}`, { cause: e });
  }
  log.info({ url, auditWriter: writer }, 'api listening');
  return {
    url,
    ctx,
    async stop() {
      await app.close();
      await audit.stop();
      await client.connection.close();
      log.info('api stopped');
    },
  };
}
