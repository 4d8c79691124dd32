import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchStack } from './types';

function packageVersion(name: string): string {
  try {
    return (JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function commandLine(pid: number | undefined): string[] {
  if (pid === undefined) return [];
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** The dev server's storage flags, read from its own command line (what it really runs with). */
function temporalStorage(args: string[]): { database: string; sqlitePragmas: string[] } {
  const db = args.indexOf('--db-filename');
  const pragmas = args.flatMap((a, i) => (a === '--sqlite-pragma' && args[i + 1] ? [args[i + 1]!] : []));
  return { database: db >= 0 ? `file (${path.basename(args[db + 1] ?? '')})` : 'in-memory SQLite', sqlitePragmas: pragmas };
}

function temporalVersion(args: string[]): string {
  if (!args[0]) return 'unknown';
  try {
    return execFileSync(args[0], ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return 'unknown';
  }
}

function kafkaVersion(args: string[]): string {
  const cp = args[args.indexOf('-cp') + 1];
  if (!cp) return 'unknown';
  try {
    const jar = fs.readdirSync(path.dirname(cp)).find((f) => /^kafka_2\.\d+-[\d.]+\.jar$/.test(f));
    const m = jar ? /^kafka_([\d.]+)-([\d.]+)\.jar$/.exec(jar) : null;
    return m ? `${m[2]} (Scala ${m[1]})` : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Versions, machine, load and the dev server's storage settings, recorded with every run. */
export function describeEnvironment(stack: BenchStack): Record<string, unknown> {
  const temporalArgs = commandLine(stack.serverPids.temporal);
  const kafkaArgs = commandLine(stack.serverPids.kafka);
  const heap = kafkaArgs.find((a) => a.startsWith('-Xmx'));
  return {
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    temporalSdk: packageVersion('@temporalio/worker'),
    kafkajs: packageVersion('kafkajs'),
    temporalCli: temporalVersion(temporalArgs),
    temporalStorage: temporalArgs.length > 0 ? temporalStorage(temporalArgs) : 'external server',
    kafka: kafkaVersion(kafkaArgs),
    kafkaHeap: heap?.slice(4) ?? 'unknown',
    temporalAddress: stack.temporalAddress,
    kafkaBrokers: stack.kafkaBrokers,
  };
}
