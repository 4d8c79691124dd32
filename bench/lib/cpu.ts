import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** The fields of /proc/<pid>/stat after the command name (which may itself hold spaces and parentheses). */
function statFields(pid: number): string[] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
}

/** User + system CPU seconds of one process (all its threads; its children excluded), from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const fields = statFields(pid);
  // Fields 14 (utime) and 15 (stime) of stat(5); this slice starts at field 3.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** User + system CPU seconds of this process. */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Direct children of a process whose command line matches, e.g. the dev server and broker a stack started. */
export function childPids(parent: number, commandLine: RegExp): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(Number(entry))[1]) !== parent) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (commandLine.test(cmdline)) found.push(Number(entry));
    } catch {
      // The process ended while the table was read.
    }
  }
  return found;
}

/**
 * CPU seconds per role between `start` and `stop`; `bench` is this process. A process that ended in between counts
 * what it had used at its last reading.
 */
export class CpuMeter {
  private readonly before = new Map<string, number>();
  private readonly last = new Map<string, number>();

  constructor(private readonly pids: Record<string, number | undefined>) {}

  private read(): Map<string, number> {
    const now = new Map<string, number>([['bench', selfCpuSeconds()]]);
    for (const [role, pid] of Object.entries(this.pids)) {
      if (pid === undefined) continue;
      try {
        now.set(role, processCpuSeconds(pid));
      } catch {
        const seen = this.last.get(role);
        if (seen !== undefined) now.set(role, seen);
      }
    }
    for (const [role, v] of now) this.last.set(role, v);
    return now;
  }

  start(): this {
    for (const [role, v] of this.read()) this.before.set(role, v);
    return this;
  }

  /** Adds a process that started after `start` (its CPU time counts from zero). */
  add(role: string, pid: number): void {
    this.pids[role] = pid;
    this.before.set(role, 0);
    this.read();
  }

  /** Reads the processes now, while they still run (a stopped worker can no longer be read). */
  sample(): void {
    this.read();
  }

  stop(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [role, v] of this.read()) out[role] = round(v - (this.before.get(role) ?? 0), 2);
    return out;
  }
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
