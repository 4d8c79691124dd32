import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
import { LocalAccessBroker, temporalGrantLiveness, type AccessBroker } from '../../clients/access-broker';
import { loadAgencyRegistry, type AgencyRegistry } from '../../events/agency-registry';
import { NonceCache } from '../../infra/http-signatures';
import type { Config } from '../../infra/config';
import type { Logger } from '../../infra/logger';
import { payloadKeys } from '../../infra/codec';
import { resolveMasterKey } from '../../infra/master-key';
import { TOPICS } from '../../events/topics';
import { MemoryAuditTrail } from '../../events/audit-trail';
import { DEFAULT_DISPATCHER_GROUP } from '../dispatcher';
import { DEFAULT_INGRESS_GROUP } from '../ingress/index';
import type { z } from 'zod';
import { openApiDocument, type OpenApiOperation } from './openapi';
import { SUBMISSION_STATUSES } from '../../wire/enums';
import { metrics, renderMetrics } from '../../infra/metrics';
import {
  combineAuthenticators,
  loadOpsKeyFile,
  loadVendorKeyFile,
  opsAuthenticator,
  registerAuditTrail,
  vendorAuthenticator,
  type AuditTrail,
  type Authenticator,
} from './auth';
import { consoleRoutes } from './console';
import type { ApiContext } from './context';
import { visibilityQuery } from './lookup';
import { opsRoutes } from './ops';
import { submissionRoutes } from './submissions';
import { agencyRoutes } from './agency';

export interface Readiness {
  ready: boolean;
  checks: { temporal: { ok: boolean; error?: string }; kafka: { ok: boolean; error?: string } };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Asks Temporal (GetSystemInfo on the namespace's frontend) and Kafka (DescribeCluster) right now. */
export async function checkReadiness(ctx: Pick<ApiContext, 'client' | 'kafka'>, timeoutMs = 3000): Promise<Readiness> {
  const temporal = withTimeout(ctx.client.workflowService.getSystemInfo({}), timeoutMs, 'Temporal').then(
    () => ({ ok: true }),
    (e: Error) => ({ ok: false, error: e.message.slice(0, 200) }),
  );
  const kafka = ctx.kafka
    ? (async () => {
        const admin = ctx.kafka!.admin();
        try {
          await withTimeout(admin.connect(), timeoutMs, 'Kafka');
          const cluster = await withTimeout(admin.describeCluster(), timeoutMs, 'Kafka');
          return cluster.brokers.length > 0 ? { ok: true } : { ok: false, error: 'no brokers' };
        } catch (e) {
          return { ok: false, error: (e as Error).message.slice(0, 200) };
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      })()
    : Promise.resolve({ ok: false, error: 'Kafka is not configured for this process' });
  const checks = { temporal: await temporal, kafka: await kafka };
  return { ready: checks.temporal.ok && checks.kafka.ok, checks };
}

/** Consumer groups whose lag the api reports: the ingress (agency commands) and the dispatcher (status events). */
export const LAG_GROUPS: ReadonlyArray<{ group: string; topic: string }> = [
  { group: DEFAULT_INGRESS_GROUP, topic: TOPICS.agencyCommands },
  { group: DEFAULT_DISPATCHER_GROUP, topic: TOPICS.submissionEvents },
];

/** Messages between each group's committed offsets and the topic's high watermarks (a group never seen lags by all). */
export async function consumerLag(kafka: Kafka, groups = LAG_GROUPS): Promise<Array<{ group: string; topic: string; lag: number }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: Array<{ group: string; topic: string; lag: number }> = [];
    for (const { group, topic } of groups) {
      const [high, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset === '-1' ? '0' : p.offset)]));
      let lag = 0n;
      for (const p of high) {
        const behind = BigInt(p.high) - (done.get(p.partition) ?? BigInt(p.low));
        if (behind > 0n) lag += behind;
      }
      out.push({ group, topic, lag: Number(lag) });
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

let lastGaugeRefresh = 0;
/** Refreshes the gauges read from Temporal visibility and Kafka, at most every 15 s (a scrape must stay cheap). */
async function refreshScrapeGauges(ctx: ApiContext): Promise<void> {
  if (Date.now() - lastGaugeRefresh < 15_000) return;
  lastGaugeRefresh = Date.now();
  await Promise.all(
    SUBMISSION_STATUSES.map(async (status) => {
      const { count } = await ctx.client.workflow.count(visibilityQuery({ status }));
      metrics.submissionsByStatus.set({ status }, count);
    }),
  ).catch((err: unknown) => ctx.logger.debug({ err }, 'status gauge not refreshed'));
  if (ctx.kafka) {
    await consumerLag(ctx.kafka)
      .then((lags) => lags.forEach(({ group, topic, lag }) => metrics.consumerLagMessages.set({ group, topic }, lag)))
      .catch((err: unknown) => ctx.logger.debug({ err }, 'consumer lag not refreshed'));
  }
}

export interface InterfaceOptions {
  /** Routes other modules own, described in the OpenAPI document (e.g. the webhook-endpoint routes). */
  extraOperations?: OpenApiOperation[];
  extraSchemas?: Record<string, z.ZodType>;
  /** The URL the API is reached at, put into the OpenAPI `servers`. */
  publicUrl?: string;
}

/**
 * Registers everything issue "interfaces" adds to the api's fastify instance: the audit trail (root hook), the
 * vendor submission routes, the ops routes, `/openapi.json`, `/readyz`, `/metrics` and the console under `/console`
 * with its ops reads and bulk replays (`console.ts`).
 * Call it on the root instance before `listen`; `/healthz` and the webhook-endpoint routes are registered elsewhere.
 */
export async function registerInterfaces(app: FastifyInstance, ctx: ApiContext, options: InterfaceOptions = {}): Promise<void> {
  registerAuditTrail(app, ctx.audit, ctx.logger);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.httpDurationSeconds.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });
  await app.register(submissionRoutes(ctx));
  await app.register(agencyRoutes(ctx));
  await app.register(opsRoutes(ctx));

  const document = openApiDocument({
    ...(options.publicUrl ? { serverUrl: options.publicUrl } : {}),
    ...(options.extraOperations ? { extraOperations: options.extraOperations } : {}),
    ...(options.extraSchemas ? { extraSchemas: options.extraSchemas } : {}),
  });
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(document));

  app.get('/readyz', async (_request, reply) => {
    const readiness = await checkReadiness(ctx);
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });

  app.get('/metrics', async (_request, reply) => {
    await refreshScrapeGauges(ctx);
    const { contentType, body } = await renderMetrics();
    return reply.type(contentType).send(body);
  });

  await app.register(consoleRoutes(ctx));
}

/** Where the api finds its credential files: SHA-256 hashes only (see stack/dev-credentials.ts for the local default). */
export function credentialFiles(
  dataDir: string,
  overrides: { opsKeyFile?: string; vendorKeyFile?: string } = {},
): { opsKeyFile: string; vendorKeyFile: string } {
  return {
    opsKeyFile: overrides.opsKeyFile ?? path.join(dataDir, 'ops-keys.json'),
    vendorKeyFile: overrides.vendorKeyFile ?? path.join(dataDir, 'vendor-keys.json'),
  };
}

/**
 * The api's authenticator from its key files: ops tokens first, then vendor keys. A missing file means nobody of that
 * kind can sign in (said once in the log); a malformed file stops start-up with its path.
 */
export function fileAuthenticator(files: { opsKeyFile: string; vendorKeyFile: string }, logger: Logger): Authenticator {
  const parts: Authenticator[] = [];
  if (fs.existsSync(files.opsKeyFile)) parts.push(opsAuthenticator(loadOpsKeyFile(files.opsKeyFile)));
  else logger.warn({ file: files.opsKeyFile }, 'no ops key file: the ops API and console accept nobody');
  if (fs.existsSync(files.vendorKeyFile)) parts.push(vendorAuthenticator(loadVendorKeyFile(files.vendorKeyFile)));
  else logger.warn({ file: files.vendorKeyFile }, 'no vendor key file: the vendor API accepts nobody');
  return combineAuthenticators(...parts);
}

/** Everything the interface routes need, built from a Temporal client (with the deployment's codec) and Kafka. */
export function buildInterfaceContext(
  config: Config,
  logger: Logger,
  deps: {
    client: Client;
    kafka?: Kafka;
    authenticator?: Authenticator;
    audit?: AuditTrail;
    masterKey?: Buffer;
    agencyRegistry?: AgencyRegistry;
    accessBroker?: Pick<AccessBroker, 'verify' | 'credential'>;
  },
): ApiContext {
  const masterKey = deps.masterKey ?? resolveMasterKey(config.masterKey, config.stack.dataDir);
  return {
    client: deps.client,
    taskQueue: config.taskQueue,
    authenticator: deps.authenticator ?? fileAuthenticator(credentialFiles(config.stack.dataDir), logger),
    audit: deps.audit ?? new MemoryAuditTrail(),
    logger: logger.child({ component: 'api' }),
    accessBroker: deps.accessBroker ?? new LocalAccessBroker({ masterKey, isGrantLive: temporalGrantLiveness(deps.client) }),
    agencyRegistry: deps.agencyRegistry ?? loadAgencyRegistry(config.agencyRegistryPath),
    nonces: new NonceCache(),
    payloadKeys: payloadKeys(config.payloadKeys, masterKey),
    ...(deps.kafka ? { kafka: deps.kafka } : {}),
  };
}
