import type { DataConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { Config } from '../infra/config';
import { hostPort } from '../infra/local-process';
import type { Logger } from '../infra/logger';
import { connectWorker } from '../infra/temporal';
import { installTemporalRuntime } from '../infra/temporal-runtime';

export interface RunningProcess {
  stop(): Promise<void>;
}

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
