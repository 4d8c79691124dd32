import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort, isAlive, portOpen } from '../../infra/local-process';
import { TOPICS } from '../../events/topics';
import { DEFAULT_DISPATCHER_GROUP } from '../../workers/dispatcher';
import { DEFAULT_INGRESS_GROUP } from '../../workers/ingress/index';
import { startGroupAtEnd } from '../helpers/agency-events';
import { testKafka, testStack, unique } from '../helpers/stack-env';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'preflight.js');

interface Started {
  child: ChildProcess;
  output: () => string;
}

function cli(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000 });
}

const running = new Set<ChildProcess>();

async function startPreflight(env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 150_000;
  while (!out.includes('Press Ctrl-C to stop.')) {
    if (child.exitCode !== null) throw new Error(`preflight start exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`preflight start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => out };
}

async function interrupt(started: Started): Promise<number | null> {
  started.child.kill('SIGINT');
  return new Promise((resolve, reject) => {
    if (started.child.exitCode !== null) return resolve(started.child.exitCode);
    const timer = setTimeout(() => reject(new Error(`preflight start did not stop within 60 s:\n${started.output().slice(-3000)}`)), 60_000);
    started.child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('preflight start on the embedded default', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let ports: { temporal: number; ui: number; kafka: number; controller: number; sasl: number; api: number };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-start-'));
    ports = {
      temporal: await freePort(),
      ui: await freePort(),
      kafka: await freePort(),
      controller: await freePort(),
      sasl: await freePort(),
      api: await freePort(),
    };
    const { TEMPORAL_ADDRESS: _t, KAFKA_BROKERS: _k, ...rest } = process.env;
    env = {
      ...rest,
      PREFLIGHT_DATA_DIR: dataDir,
      PREFLIGHT_TEMPORAL_PORT: String(ports.temporal),
      PREFLIGHT_TEMPORAL_UI_PORT: String(ports.ui),
      PREFLIGHT_KAFKA_PORT: String(ports.kafka),
      PREFLIGHT_KAFKA_CONTROLLER_PORT: String(ports.controller),
      PREFLIGHT_KAFKA_SASL_PORT: String(ports.sasl),
      PREFLIGHT_API_PORT: String(ports.api),
      PREFLIGHT_LOG_LEVEL: 'warn',
    };
  });
  afterAll(async () => {
    // A failed assertion must not leave a stack behind.
    await Promise.all([...running].map((child) => interrupt({ child, output: () => '' })));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('comes up, reports healthy, stops cleanly on Ctrl-C, and finds its data again', async () => {
    const first = await startPreflight(env);
    expect(first.output()).toContain(`Temporal Web UI: http://127.0.0.1:${ports.ui}`);
    expect(first.output()).toContain(`API:             http://127.0.0.1:${ports.api}`);
    // The Web UI decodes payloads through the api's codec endpoint.
    const uiSettings = (await (await fetch(`http://127.0.0.1:${ports.ui}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
    expect(uiSettings.Codec?.Endpoint).toBe(`http://127.0.0.1:${ports.api}/codec`);
    const health = await fetch(`http://127.0.0.1:${ports.api}/healthz`);
    expect(health.status).toBe(200);

    const status = cli(['stack', 'status', '--json'], env);
    expect(status.status).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.temporal.healthy).toBe(true);
    expect(report.kafka.healthy).toBe(true);

    // Supervision: a server killed under it comes back on the same port.
    const kafkaPid = listDescendants(first.child.pid!).find((pid) => cmdline(pid).includes('kafka.Kafka'));
    expect(kafkaPid).toBeDefined();
    process.kill(kafkaPid!, 'SIGKILL');
    const back = Date.now() + 90_000;
    while (!first.output().includes('kafka is back at')) {
      if (Date.now() > back) throw new Error(`kafka was not restarted:\n${first.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(cli(['stack', 'status'], env).status).toBe(0);

    // Leave a trace in Temporal's persistent store: a workflow that waits for a worker that never comes.
    const workflowId = unique('persisted');
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    const client = new Client({ connection });
    await client.workflow.start('noSuchWorkflow', { taskQueue: unique('nobody'), workflowId });
    await connection.close();

    const descendants = listDescendants(first.child.pid!);
    expect(descendants.length).toBeGreaterThanOrEqual(2);

    expect(await interrupt(first)).toBe(0);
    expect(descendants.filter(isAliveNotZombie).map(describePid)).toEqual([]);
    for (const port of Object.values(ports)) expect(await portOpen('127.0.0.1', port)).toBe(false);
    expect(cli(['stack', 'status'], env).status).toBe(1);

    const second = await startPreflight(env);
    const again = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    const description = await new Client({ connection: again }).workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
    await again.close();
    expect(await interrupt(second)).toBe(0);
    for (const port of Object.values(ports)) expect(await portOpen('127.0.0.1', port)).toBe(false);
  });

  it('starts nothing when TEMPORAL_ADDRESS and KAFKA_BROKERS point at running servers', async () => {
    const stack = testStack();
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-empty-cache-'));
    const external = {
      ...env,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      PREFLIGHT_CACHE_DIR: cacheDir,
      PREFLIGHT_TASK_QUEUE: unique('external-start'),
    };
    const provisioned = cli(['stack', 'provision', '--no-test-server'], external);
    expect(provisioned.status).toBe(0);
    expect(provisioned.stderr).toContain('Nothing to provision');

    // Its ingress and dispatcher use the default consumer groups; earlier files' records must not reach them.
    const kafka = testKafka();
    await startGroupAtEnd(kafka, DEFAULT_INGRESS_GROUP, TOPICS.agencyCommands);
    await startGroupAtEnd(kafka, DEFAULT_DISPATCHER_GROUP, TOPICS.submissionEvents);
    const started = await startPreflight(external);
    expect(started.output()).not.toContain('ready at');
    expect(started.output()).toContain(`Temporal:        ${stack.temporalAddress}`);
    // No server among its processes (a short-lived helper such as the TypeScript loader's transformer may come and go).
    const servers = listDescendants(started.child.pid!)
      .map(cmdline)
      .filter((c) => /\bjava\b|server start-dev/.test(c));
    expect(servers).toEqual([]);
    expect(await portOpen('127.0.0.1', ports.temporal)).toBe(false);
    expect(await portOpen('127.0.0.1', ports.kafka)).toBe(false);
    expect(await interrupt(started)).toBe(0);
    expect(fs.readdirSync(cacheDir)).toEqual([]);
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('explains a missing toolchain in one line instead of a stack trace', () => {
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-bare-path-'));
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-empty-cache-'));
    const result = cli(['stack', 'provision'], { ...env, PATH: bare, PREFLIGHT_CACHE_DIR: cacheDir });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^preflight: Cannot provision the Temporal CLI: Python with pip not found .* and Go not found .*TEMPORAL_ADDRESS/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    fs.rmSync(bare, { recursive: true, force: true });
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('stops start-up on a bad configuration value, naming the variable', () => {
    const result = cli(['start'], { ...env, PREFLIGHT_KAFKA_PORT: 'ninety' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('PREFLIGHT_KAFKA_PORT');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

function isAliveNotZombie(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function describePid(pid: number): string {
  try {
    return `${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 120)}`;
  } catch {
    return `${pid} (gone)`;
  }
}

/** Every live descendant process of pid, from /proc. */
function listDescendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // process ended while reading
    }
  }
  const result: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      result.push(c);
      walk(c);
    }
  };
  walk(pid);
  return result;
}
