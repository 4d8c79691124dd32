/**
 * The fault suite's own servers and Preflight processes, each killable with SIGKILL and restartable on the same ports
 * and data. Servers are started through `startStack` with `detached` (no supervision: the suite alone decides when a
 * dead server comes back); Preflight processes are `node bin/preflight.js <command>` children, each in its own group.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../infra/config';
import { isAlive, sleep, spawnServer, waitForPortClosed } from '../../infra/local-process';
import { provision, type Provisioned } from '../../stack/provision';
import { startStack, type RunningStack } from '../../stack/servers';

export interface Killable {
  readonly name: string;
  /** Process ids started over the suite's life (each one's process group), for the final leak check. */
  readonly pids: number[];
  kill9(): Promise<void>;
  start(): Promise<void>;
  /** Graceful stop (SIGTERM, then SIGKILL); no-op when not running. */
  stop(): Promise<void>;
}

/** Sends SIGKILL to a whole process group and waits (bounded) until its leader is gone. */
export async function killGroup(pid: number, timeoutMs = 15_000): Promise<void> {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) throw new Error(`process ${pid} survived SIGKILL for ${timeoutMs} ms`);
}

/** A Temporal dev server or Kafka broker with persistent data under the suite's data directory. */
export class ServerProcess implements Killable {
  readonly pids: number[] = [];
  private running: RunningStack | undefined;

  constructor(
    readonly name: 'temporal' | 'kafka',
    private readonly config: Config,
    private readonly provisioned: Provisioned,
  ) {}

  get address(): string {
    const { host, temporalPort, kafkaPort } = this.config.stack;
    return `${host}:${this.name === 'temporal' ? temporalPort : kafkaPort}`;
  }

  async start(): Promise<void> {
    this.running = await startStack({
      stack: this.config.stack,
      namespace: this.config.temporal.namespace,
      provisioned: this.provisioned,
      startTemporal: this.name === 'temporal',
      startKafka: this.name === 'kafka',
      persistent: true,
      detached: true,
      headless: true,
    });
    this.pids.push(this.pid()!);
  }

  private pid(): number | undefined {
    return this.running?.state.servers.find((s) => s.name === this.name)?.pid;
  }

  async kill9(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    await killGroup(pid);
    this.running = undefined;
    const ports =
      this.name === 'temporal'
        ? [this.config.stack.temporalPort]
        : [this.config.stack.kafkaPort, this.config.stack.kafkaControllerPort, this.config.stack.kafkaSaslPort];
    for (const port of ports) {
      if (!(await waitForPortClosed(this.config.stack.host, port, 15_000))) throw new Error(`${this.name} port ${port} still open after SIGKILL`);
    }
  }

  async stop(): Promise<void> {
    await this.running?.stop();
    this.running = undefined;
  }
}

/** A Preflight process (worker, ingress, dispatcher) run as a child with its output appended to a log file. */
export class PreflightProcess implements Killable {
  readonly pids: number[] = [];
  private child: ChildProcess | undefined;

  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly logFile: string,
  ) {}

  async start(): Promise<void> {
    // `node <script>` keeps the process a single one (no tsx CLI fork that a SIGKILL would miss).
    this.child = spawnServer({ name: this.name, command: process.execPath, args: this.args, logFile: this.logFile, env: this.env });
    this.pids.push(this.child.pid!);
  }

  async kill9(): Promise<void> {
    if (!this.child?.pid) return;
    await killGroup(this.child.pid);
    this.child = undefined;
  }

  async stop(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined || !isAlive(pid)) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    await killGroup(pid);
    this.child = undefined;
  }
}

/** Provisions (or finds cached) the Temporal CLI and Kafka and returns the two servers, not yet started. */
export async function faultServers(config: Config): Promise<{ temporal: ServerProcess; kafka: ServerProcess }> {
  const provisioned = await provision({ cacheDir: config.stack.cacheDir, temporal: true, kafka: true, kafkaVersion: config.stack.kafkaVersion });
  return { temporal: new ServerProcess('temporal', config, provisioned), kafka: new ServerProcess('kafka', config, provisioned) };
}

/** Process ids among `pids` (or members of their groups) still running. */
export function survivors(pids: number[]): number[] {
  const alive = new Set<number>();
  const groups = new Set(pids);
  for (const pid of pids) if (isAlive(pid)) alive.add(pid);
  // Any process left in one of our groups (a server's own child, say) counts too.
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(path.join('/proc', entry, 'stat'), 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const state = fields[0];
      const pgid = Number(fields[2]);
      if (groups.has(pgid) && state !== 'Z') alive.add(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return [...alive];
}
