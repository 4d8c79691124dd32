import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** Children to leave running after this process exits (`preflight stack up`); the others are supervised by it. */
  detached?: boolean;
}

/** Spawns a server with stdout and stderr appended to its log file. */
export function spawnServer(spec: ProcessSpec): ChildProcess {
  const out = fs.openSync(spec.logFile, 'a');
  fs.writeSync(out, `\n--- ${new Date().toISOString()} starting ${spec.command} ${spec.args.join(' ')}\n`);
  // Always a process group of its own: a terminal's Ctrl-C reaches only Preflight, which then stops its servers in
  // order (and does not mistake their exit for a crash).
  const child = spawn(spec.command, spec.args, {
    stdio: ['ignore', out, out],
    env: spec.env ?? process.env,
    detached: true,
  });
  fs.closeSync(out);
  if (spec.detached) child.unref();
  return child;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends SIGTERM, waits up to `graceMs` for the process to go, then SIGKILL. Resolves once it is gone. */
export async function stopPid(pid: number, graceMs = 15_000): Promise<'terminated' | 'killed' | 'not-running'> {
  if (!isAlive(pid)) return 'not-running';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'not-running';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated';
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  while (isAlive(pid)) await sleep(50);
  return 'killed';
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function waitForPortClosed(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await portOpen(host, port, 200))) return true;
    await sleep(100);
  }
  return false;
}

/** Finds a free TCP port on the host by binding port 0. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Free loopback ports for every server of a throwaway local stack (integration tests, benchmarks), as config variables. */
export async function freeStackPorts(): Promise<Record<string, string>> {
  return {
    PREFLIGHT_TEMPORAL_PORT: String(await freePort()),
    PREFLIGHT_TEMPORAL_HTTP_PORT: String(await freePort()),
    PREFLIGHT_KAFKA_PORT: String(await freePort()),
    PREFLIGHT_KAFKA_CONTROLLER_PORT: String(await freePort()),
    PREFLIGHT_KAFKA_SASL_PORT: String(await freePort()),
  };
}

/** `host:port` as a URL or a bind address spells it: an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` until it resolves true, the child exits, or the timeout passes. Throws with the log tail so the
 * person sees why a server did not come up.
 */
export async function waitUntilReady(
  name: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; child?: ChildProcess; logFile?: string },
): Promise<number> {
  const started = Date.now();
  let exited: number | null | undefined;
  options.child?.once('exit', (code) => (exited = code ?? -1));
  while (Date.now() - started < options.timeoutMs) {
    if (exited !== undefined) throw new Error(`${name} exited with code ${exited} before it was ready${logTail(options.logFile)}`);
    try {
      if (await check()) return Date.now() - started;
    } catch {
      // not ready yet
    }
    await sleep(200);
  }
  throw new Error(`${name} was not ready within ${Math.round(options.timeoutMs / 1000)} s${logTail(options.logFile)}`);
}

function logTail(logFile: string | undefined): string {
  if (!logFile || !fs.existsSync(logFile)) return '';
  const lines = fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15);
  return `; last lines of ${logFile}:\n${lines.join('\n')}`;
}
