import Fastify from 'fastify';
import { LocalAccessBroker, temporalGrantLiveness } from '../../activities/access-broker';
import { createKafka } from '../../events/kafka';
import type { Config } from '../../infra/config';
import type { Logger } from '../../infra/logger';
import { resolveMasterKey } from '../../infra/master-key';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import { combineAuthenticators, hashSecret, opsAuthenticator, RingAuditLog, type Authenticator } from '../../workers/api/auth';
import type { ApiContext } from '../../workers/api/context';
import { caseRoutes } from '../../workers/api/cases';
import { registerInterfaces } from '../../workers/api/service';
import { webhookEndpointRoutes } from '../../workers/api/webhook-endpoints';
import { testStack } from './stack-env';

export interface TestApi {
  url: string;
  ctx: ApiContext;
  stop(): Promise<void>;
}

/** The interface routes on a fastify instance on 127.0.0.1 (random port), against the test stack. */
export async function startTestApi(
  config: Config,
  logger: Logger,
  credentials: { vendorKeys: Record<string, string>; opsTokens: Record<string, string> },
): Promise<TestApi> {
  const stack = testStack();
  const client = await connectClient(config.temporal, stack.temporalAddress, deploymentDataConverter(config));
  const kafka = createKafka(config.kafka, logger, stack.kafkaBrokers, 'api');
  const vendorHashes = new Map(Object.entries(credentials.vendorKeys).map(([k, v]) => [hashSecret(k), v]));
  const vendors: Authenticator = (secret) => {
    const vendorId = vendorHashes.get(hashSecret(secret));
    return vendorId ? { kind: 'vendor', vendorId } : undefined;
  };
  const ops = opsAuthenticator({ version: 1, operators: Object.entries(credentials.opsTokens).map(([t, operator]) => ({ operator, sha256: hashSecret(t) })) });
  const ctx: ApiContext = {
    client,
    taskQueue: config.taskQueue,
    authenticator: combineAuthenticators(ops, vendors),
    audit: new RingAuditLog(),
    logger,
    accessBroker: new LocalAccessBroker({ masterKey: resolveMasterKey(config.masterKey, config.stack.dataDir), isGrantLive: temporalGrantLiveness(client) }),
    kafka,
  };
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  await registerInterfaces(app, ctx);
  await app.register(
    webhookEndpointRoutes({
      client,
      taskQueue: config.taskQueue,
      authenticator: ctx.authenticator,
      logger,
      masterKey: resolveMasterKey(config.masterKey, config.stack.dataDir),
      webhookAllowlist: config.webhookAllowlist,
    }),
  );
  await app.register(caseRoutes(ctx));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    ctx,
    async stop() {
      await app.close();
      await client.connection.close();
    },
  };
}
