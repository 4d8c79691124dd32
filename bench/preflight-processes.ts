// Preflight processes (worker, ingress, dispatcher, or a bench script) as child processes of a comparison, so the CPU
// time of each role is measured on its own pid.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, sleep, stopPid } from '../infra/local-process';
import { processCpuSeconds } from './lib/cpu';
import type { BenchContext } from './lib/types';
import { benchProcessEnv } from './lib/worker';

export interface BenchProcess {
  role: string;
  pid: number;
  logFile: string;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'preflight.js');

/**
 * Starts `node bin/preflight.js <command>` (or `node --import tsx <script>` when `script` is given) on the bench stack
 * (`benchProcessEnv` plus `env`), with its output
 * in `<dataDir>/logs/bench-<role>.log`, and resolves once a log line carries `"msg":"<readyMessage>"`.
 */
export async function startBenchProcess(
  ctx: BenchContext,
  options: { role: string; command?: string; script?: string; env: Record<string, string>; readyMessage: string; timeoutMs?: number },
): Promise<BenchProcess> {
  const logDir = path.join(ctx.stack.dataDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `bench-${options.role}.log`);
  const out = fs.openSync(logFile, 'w');
  const args = options.script ? ['--import', 'tsx', options.script] : [BIN, options.command ?? options.role];
  // Output goes straight to the file, so the bench process spends no CPU on the child's log lines.
  // info (the deployment default) so the ready line shows; each process pays for its log lines as in production.
  const env = { ...benchProcessEnv(ctx), PREFLIGHT_LOG_LEVEL: 'info', ...options.env };
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exitCode: number | null | undefined;
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? -1 : 0)));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.role}: the process did not start`);
  const stop = async () => {
    if (exitCode === undefined && isAlive(pid)) await stopPid(pid, 15_000);
  };
  const marker = `"msg":"${options.readyMessage}"`;
  const until = Date.now() + (options.timeoutMs ?? 90_000);
  for (;;) {
    if (fs.readFileSync(logFile, 'utf8').includes(marker)) break;
    if (exitCode !== undefined || Date.now() > until) {
      await stop();
      const tail = fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
      throw new Error(`${options.role} ${exitCode !== undefined ? `exited (${exitCode})` : 'was not ready in time'}; last lines of ${logFile}:\n${tail}`);
    }
    await sleep(100);
  }
  return { role: options.role, pid, logFile, cpuSeconds: () => processCpuSeconds(pid), stop };
}
