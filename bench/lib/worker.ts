import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { BenchContext } from './types';

export interface BenchWorkerOptions {
  taskQueue: string;
  bundlePath: string;
  maxCachedWorkflows: number;
  workflowsInMainThread: boolean;
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export type BenchWorkerMessage = { type: 'ready' } | { type: 'memory'; sample?: MemorySample } | { type: 'stop' } | { type: 'error'; message: string };

export interface BenchWorker {
  pid: number;
  taskQueue: string;
  /** Memory of the worker process after full garbage collections (needs `exposeGc`). */
  memory(): Promise<MemorySample>;
  stop(): Promise<void>;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const bundles = new Map<string, Promise<string>>();

/** Bundles bench/workflows once per stack, so each benchmark worker starts in seconds rather than re-bundling. */
export function benchBundlePath(ctx: BenchContext): Promise<string> {
  const file = path.join(ctx.stack.dataDir, 'bench-workflows.js');
  let made = bundles.get(file);
  if (!made) {
    made = bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      // The deployment data converter's failure converter runs inside the sandbox, so it is bundled too.
      failureConverterPath: require.resolve('../../infra/failure-converter'),
      logger: {
        log: () => undefined,
        trace: () => undefined,
        debug: () => undefined,
        info: () => undefined,
        warn: (m) => ctx.logger.warn(m),
        error: (m) => ctx.logger.error(m),
      },
    }).then(({ code }) => {
      fs.writeFileSync(file, code);
      return file;
    });
    bundles.set(file, made);
  }
  return made;
}

/** The environment of a Preflight process pointed at the bench stack. */
export function benchProcessEnv(ctx: BenchContext): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: ctx.stack.temporalAddress,
    TEMPORAL_NAMESPACE: ctx.stack.namespace,
    KAFKA_BROKERS: ctx.stack.kafkaBrokers.join(','),
    PREFLIGHT_DATA_DIR: ctx.stack.dataDir,
    PREFLIGHT_MASTER_KEY: ctx.config.masterKey,
    PREFLIGHT_LOG_LEVEL: 'error',
  };
}

function waitFor(child: ChildProcess, type: BenchWorkerMessage['type'], what: string, timeoutMs: number): Promise<BenchWorkerMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`benchmark worker: no ${what} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: BenchWorkerMessage) => {
      if (m.type === type) finish(undefined, m);
      else if (m.type === 'error') finish(new Error(`benchmark worker: ${m.message}`));
    };
    const onExit = (code: number | null) => finish(new Error(`benchmark worker exited (code ${code}) before ${what}`));
    function finish(err?: Error, m?: BenchWorkerMessage) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Forks a benchmark worker on its own task queue and waits until it polls. */
export async function startBenchWorker(
  ctx: BenchContext,
  options: {
    taskQueue: string;
    maxCachedWorkflows?: number;
    exposeGc?: boolean;
    workflowsInMainThread?: boolean;
    /** Added to the bench environment, e.g. PREFLIGHT_WEBHOOK_ALLOWLIST for a loopback webhook receiver. */
    env?: Record<string, string>;
  },
): Promise<BenchWorker> {
  const workerOptions: BenchWorkerOptions = {
    taskQueue: options.taskQueue,
    bundlePath: await benchBundlePath(ctx),
    maxCachedWorkflows: options.maxCachedWorkflows ?? 2000,
    workflowsInMainThread: options.workflowsInMainThread ?? false,
  };
  const child = fork(path.join(__dirname, 'worker-process.ts'), [JSON.stringify(workerOptions)], {
    cwd: REPO_ROOT,
    execArgv: ['--require', 'tsx/cjs', ...(options.exposeGc ? ['--expose-gc'] : [])],
    env: { ...benchProcessEnv(ctx), ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    await waitFor(child, 'ready', 'ready signal', 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  let exited = false;
  child.once('exit', () => (exited = true));
  return {
    pid: child.pid!,
    taskQueue: options.taskQueue,
    async memory() {
      const reply = waitFor(child, 'memory', 'memory sample', 30_000);
      child.send({ type: 'memory' } satisfies BenchWorkerMessage);
      const m = await reply;
      return (m as { sample: MemorySample }).sample;
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'stop' } satisfies BenchWorkerMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
