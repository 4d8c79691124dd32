/**
 * `npm run bench` (full, ≤ 25 min) or `npm run bench -- --quick` (≤ 5 min): brings up one local stack on free ports
 * with throwaway data, runs the comparisons (`--only a,d`), writes JSON lines to bench/results/<timestamp>.jsonl and a
 * markdown table to bench/results/latest.md, then stops the stack. `--in-memory` runs the dev server on in-memory
 * SQLite instead of the WAL file `preflight start` uses.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../infra/config';
import { prepareKafka } from '../stack/kafka-setup';
import { bringUpStack } from '../stack/local-stack';
import { freeStackPorts } from '../infra/local-process';
import { createLogger } from '../infra/logger';
import { childPids } from './lib/cpu';
import { describeEnvironment } from './lib/env';
import type { BenchContext, BenchMode, BenchStack, Comparison, ComparisonResult } from './lib/types';
import { renderMarkdown } from './report';

const COMPARISONS: { id: ComparisonResult['id']; module: string; quickSeconds: number; fullSeconds: number }[] = [
  { id: 'a', module: 'lifecycle', quickSeconds: 65, fullSeconds: 300 },
  { id: 'b', module: 'ingress', quickSeconds: 50, fullSeconds: 270 },
  { id: 'c', module: 'fanout', quickSeconds: 50, fullSeconds: 270 },
  { id: 'd', module: 'memory', quickSeconds: 40, fullSeconds: 210 },
  { id: 'e', module: 'growth', quickSeconds: 55, fullSeconds: 300 },
  { id: 'f', module: 'reply', quickSeconds: 50, fullSeconds: 270 },
];

const RESULTS_DIR = path.join(__dirname, 'results');

/** A comparison module, loaded only when present so the harness runs while some comparisons are still missing. */
function loadComparison(module: string): Comparison | undefined {
  const file = path.join(__dirname, `${module}.ts`);
  if (!fs.existsSync(file)) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { comparison: Comparison }).comparison;
}

function parseOptions(argv: string[]): { mode: BenchMode; only: Set<string>; inMemory: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean' }, only: { type: 'string' }, 'in-memory': { type: 'boolean' } },
    strict: true,
  });
  const only = new Set(
    (values.only ?? COMPARISONS.map((c) => c.id).join(','))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const unknown = [...only].filter((id) => !COMPARISONS.some((c) => c.id === id));
  if (unknown.length > 0) throw new Error(`--only: unknown comparison(s) ${unknown.join(', ')}; choose from ${COMPARISONS.map((c) => c.id).join(', ')}`);
  return { mode: values.quick ? 'quick' : 'full', only, inMemory: values['in-memory'] ?? false };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const logger = createLogger({ level: 'warn', name: 'bench' });
  const startedAt = new Date().toISOString();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-bench-'));
  const stackEnv = {
    PREFLIGHT_DATA_DIR: dataDir,
    ...(await freeStackPorts()),
    PREFLIGHT_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
    PREFLIGHT_LOG_LEVEL: 'warn',
    PREFLIGHT_CACHE_DIR: process.env.PREFLIGHT_CACHE_DIR,
  };
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const stackConfig = loadConfig(stackEnv);
  say(`bench: ${options.mode} mode, comparisons ${[...options.only].join(',')}; starting the stack in ${dataDir}`);
  const endpoints = await bringUpStack(stackConfig, { persistent: !options.inMemory, headless: true, progress: say });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= endpoints.stop().finally(() => fs.rmSync(dataDir, { recursive: true, force: true })));
  const onSignal = () => void stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await prepareKafka(stackConfig, endpoints, logger);
    const stack: BenchStack = {
      temporalAddress: endpoints.temporalAddress,
      kafkaBrokers: endpoints.kafkaBrokers,
      namespace: stackConfig.temporal.namespace,
      dataDir,
      serverPids: { temporal: childPids(process.pid, /\bstart-dev\b/)[0], kafka: childPids(process.pid, /\bkafka\.Kafka\b/)[0] },
    };
    const config = loadConfig({ ...stackEnv, TEMPORAL_ADDRESS: stack.temporalAddress, KAFKA_BROKERS: stack.kafkaBrokers.join(',') });
    const environment = { ...describeEnvironment(stack), mode: options.mode };
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const resultsFile = path.join(RESULTS_DIR, `${startedAt.replace(/[:.]/g, '-')}.jsonl`);
    const write = (line: Record<string, unknown>) => fs.appendFileSync(resultsFile, `${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
    write({ comparison: 'environment', ...environment });

    const results: ComparisonResult[] = [];
    const failures: { id: string; error: string }[] = [];
    for (const entry of COMPARISONS.filter((c) => options.only.has(c.id))) {
      const comparison = loadComparison(entry.module);
      if (!comparison) {
        say(`bench: ${entry.id} skipped: bench/${entry.module}.ts is not present`);
        failures.push({ id: entry.id, error: `bench/${entry.module}.ts is not present` });
        continue;
      }
      const budget = (options.mode === 'quick' ? entry.quickSeconds : entry.fullSeconds) * 1000;
      const ctx: BenchContext = {
        mode: options.mode,
        stack,
        config,
        logger: logger.child({ component: `bench-${entry.id}` }),
        record: (line) => write({ ...line, comparison: entry.id }),
        deadline: Date.now() + budget,
      };
      const began = Date.now();
      say(`bench: ${entry.id} (${comparison.title}) — budget ${budget / 1000} s`);
      try {
        const result = await comparison.run(ctx);
        results.push(result);
        write({ comparison: entry.id, kind: 'result', seconds: (Date.now() - began) / 1000, ...result });
        say(
          `bench: ${entry.id} done in ${((Date.now() - began) / 1000).toFixed(1)} s: ratio ${result.ratio.median.toFixed(3)}, target ${result.met ? 'met' : 'MISSED'}`,
        );
      } catch (err) {
        const error = (err as Error).stack ?? String(err);
        failures.push({ id: entry.id, error: (err as Error).message });
        write({ comparison: entry.id, kind: 'error', error });
        say(`bench: ${entry.id} failed: ${error}`);
      }
    }
    const markdown = renderMarkdown({ mode: options.mode, startedAt, environment: { ...environment, loadAverageAtEnd: os.loadavg() }, results, failures });
    fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), markdown);
    fs.copyFileSync(resultsFile, path.join(RESULTS_DIR, 'latest.jsonl'));
    process.stdout.write(`${markdown}\n`);
    say(`bench: results in ${path.relative(process.cwd(), resultsFile)} and bench/results/latest.md`);
    if (failures.length > 0) process.exitCode = 1;
  } finally {
    await stop();
  }
}

main().then(
  // A library's leftover retry timer must not keep the process alive once the stack is down.
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
