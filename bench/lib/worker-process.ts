/**
 * A benchmark worker in its own process (forked with an IPC channel), so its CPU time and memory are its own. It runs
 * the prebuilt bundle of bench/workflows (Preflight's workflows plus the baselines) with the real activity
 * dependencies (Kafka publisher, encrypting data converter) of a `preflight worker`. argv[2] is a JSON
 * `BenchWorkerOptions`; it answers `{ type: 'memory' }` with its memory after full garbage collections.
 */
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { connectWorker, deploymentDataConverter } from '../../infra/temporal';
import { installTemporalRuntime } from '../../infra/temporal-runtime';
import { buildActivityDeps } from '../../workers/worker';
import { createBenchActivities } from './bench-activities';
import type { BenchWorkerMessage, BenchWorkerOptions, MemorySample } from './worker';

async function memoryAfterGc(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the benchmark worker needs --expose-gc to measure memory');
  // Several passes with turns of the event loop in between, so weak references and finalizers settle.
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '') as BenchWorkerOptions;
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel });
  installTemporalRuntime(logger);
  const temporalAddress = config.temporal.address!;
  const { deps, close } = await buildActivityDeps(config, logger, { temporalAddress, kafkaBrokers: config.kafka.brokers! });
  const connection = await connectWorker(config.temporal, temporalAddress);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: { codePath: options.bundlePath },
    dataConverter: deploymentDataConverter(config),
    activities: createBenchActivities(deps),
    // The production worker's limits (workers/worker.ts), unless a measurement needs a larger cache.
    maxConcurrentActivityTaskExecutions: 100,
    maxCachedWorkflows: options.maxCachedWorkflows,
    // Workflows in the main isolate, so a main-thread gc() and heapUsed cover them (memory measurement only).
    debugMode: options.workflowsInMainThread,
  });
  const running = worker.run();
  const send = (m: BenchWorkerMessage) => process.send?.(m);
  const stop = async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => undefined);
    await connection.close();
    await close();
    process.exit(0);
  };
  process.on('message', (m: BenchWorkerMessage) => {
    if (m.type === 'memory')
      void memoryAfterGc().then(
        (sample) => send({ type: 'memory', sample }),
        (err: Error) => send({ type: 'error', message: err.message }),
      );
    if (m.type === 'stop') void stop();
  });
  // An orphaned worker must not outlive the benchmark.
  process.on('disconnect', () => void stop());
  running.catch((err: unknown) => {
    send({ type: 'error', message: (err as Error).message });
    process.exit(1);
  });
  send({ type: 'ready' });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench worker failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
