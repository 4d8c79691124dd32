// Kafka-consuming processes of a comparison (`preflight ingress`, `preflight dispatcher`, a bench script) as child
// processes, so the CPU time of each role is measured on its own pid.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createKafka } from '../events/kafka';
import { isAlive, stopPid } from '../infra/local-process';
import { pollUntil } from './lib/blocks';
import type { BenchContext } from './lib/types';
import { benchProcessEnv } from './lib/worker';

export interface BenchProcess {
  role: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'preflight.js');

/**
 * Starts `node bin/preflight.js <command>` (or `node --import tsx <script>`) on the bench stack (`benchProcessEnv`
 * plus `env`), output in `<dataDir>/logs/bench-<role>.log`, and resolves once its consumer group `groupId` is stable
 * with a member: from then on it reads what is produced.
 */
export async function startConsumerProcess(
  ctx: BenchContext,
  options: { role: string; command?: string; script?: string; env: Record<string, string>; groupId: string; timeoutMs?: number },
): Promise<BenchProcess> {
  const logDir = path.join(ctx.stack.dataDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `bench-${options.role}.log`);
  const out = fs.openSync(logFile, 'w');
  const args = options.script ? ['--import', 'tsx', options.script] : [BIN, options.command ?? options.role];
  // Output goes straight to the file, so the bench process spends no CPU on the child's log lines.
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...benchProcessEnv(ctx), ...options.env }, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exitCode: number | null | undefined;
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? -1 : 0)));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.role}: the process did not start`);
  const stop = async () => {
    if (exitCode === undefined && isAlive(pid)) await stopPid(pid, 15_000);
  };
  const admin = createKafka(ctx.config.kafka, ctx.logger, ctx.stack.kafkaBrokers, 'bench-probe').admin();
  try {
    await admin.connect();
    const outcome = await pollUntil(
      async () => {
        if (exitCode !== undefined) return 'exited';
        const [group] = (await admin.describeGroups([options.groupId])).groups;
        return group?.state === 'Stable' && group.members.length > 0 ? 'ready' : undefined;
      },
      `${options.role} to join consumer group ${options.groupId}`,
      options.timeoutMs ?? 90_000,
      200,
    );
    if (outcome === 'exited') throw new Error(`it exited (${exitCode})`);
  } catch (err) {
    await stop();
    const tail = fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
    throw new Error(`${options.role} did not start: ${(err as Error).message}; last lines of ${logFile}:\n${tail}`, { cause: err });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return { role: options.role, pid, logFile, stop };
}

/** CPU seconds per process role of each side, flattened as `candidate.<role>` and `baseline.<role>`. */
export function cpuBySide(cpu: { candidate: Record<string, number>; baseline: Record<string, number> }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const side of ['candidate', 'baseline'] as const)
    for (const [role, seconds] of Object.entries(cpu[side])) out[`${side}.${role}`] = Math.round(seconds * 100) / 100;
  return out;
}
