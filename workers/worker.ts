import type { DataConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { AgencyDomains } from '../activities/publisher';
import { agenciesInDomain, loadAgencyRegistry, type AgencyRegistry } from '../events/agency-registry';
import { LocalAccessBroker, temporalGrantLiveness } from '../clients/access-broker';
import { createKafka } from '../events/kafka';
import { createKafkaEventPublisher } from '../events/producer';
import type { Config } from '../infra/config';
import { hostPort } from '../infra/local-process';
import type { Logger } from '../infra/logger';
import { resolveMasterKey } from '../infra/master-key';
import { connectClient, connectWorker, deploymentDataConverter } from '../infra/temporal';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { runUntilSignal, type Endpoints, type RunningProcess } from './processes';

export interface WorkerOptions {
  /** Overrides config.temporal.address (the local stack's address). */
  temporalAddress?: string;
  deps: ActivityDeps;
  taskQueue?: string;
  dataConverter?: DataConverter;
}

/** Starts a worker that runs every Preflight workflow and activity on the task queue until stopped. */
export async function runWorker(config: Config, logger: Logger, options: WorkerOptions): Promise<RunningProcess> {
  const log = logger.child({ component: 'worker' });
  installTemporalRuntime(logger, config.temporalMetricsPort === undefined ? {} : { metricsBind: hostPort(config.stack.host, config.temporalMetricsPort) });
  const connection = await connectWorker(config.temporal, options.temporalAddress);
  const taskQueue = options.taskQueue ?? config.taskQueue;
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowsPath: require.resolve('../workflows'),
    dataConverter: options.dataConverter,
    activities: createActivities(options.deps),
    // Bounded so one process cannot be overwhelmed; scale out with more workers on the same task queue.
    maxConcurrentActivityTaskExecutions: 100,
    maxCachedWorkflows: 2000,
  });
  const running = worker.run();
  running.catch((err: unknown) => log.error({ err }, 'worker stopped with an error'));
  log.info({ taskQueue, namespace: config.temporal.namespace }, 'worker started');
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      log.info({ taskQueue }, 'worker stopped');
    },
  };
}

/** The configured agency registry; the built-in one when it cannot be read (domains only, no keys). */
function registryOf(config: Config): AgencyRegistry {
  try {
    return loadAgencyRegistry(config.agencyRegistryPath);
  } catch {
    return loadAgencyRegistry(undefined);
  }
}

/** An agency's domains, from the registry. */
function agencyDomainsOf(registry: AgencyRegistry): AgencyDomains {
  return (agencyId) => registry.get(agencyId)?.domains ?? [];
}

/** The real dependencies of every activity, wired once per worker process. */
export async function buildActivityDeps(config: Config, logger: Logger, endpoints: Endpoints): Promise<{ deps: ActivityDeps; close(): Promise<void> }> {
  const masterKey = resolveMasterKey(config.masterKey, config.stack.dataDir);
  const registry = registryOf(config);
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
    agencyDomains: agencyDomainsOf(registry),
    agenciesInDomain: agenciesInDomain(registry),
    ...(config.caseMaxReports !== undefined ? { casePolicy: { maxReports: config.caseMaxReports } } : {}),
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

/** `preflight worker`: one worker until a signal. */
export async function runWorkerProcess(config: Config): Promise<void> {
  await runUntilSignal(config, (endpoints, logger) => startWorker(config, logger, endpoints), { metrics: true });
}
