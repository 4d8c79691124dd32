/**
 * The cluster suite's Preflight processes (two of each, `node bin/preflight.js <command>`), and the work each instance
 * did, read from its own /metrics: scraped every few seconds and just before a kill, so a killed instance's count up
 * to its death is kept and its restarted self counts on from zero.
 */
import { PreflightProcess } from '../faults/stack';

export type Role = 'worker' | 'ingress' | 'dispatcher' | 'api';

/** What counts as this role's work, from one /metrics text. */
const WORK: Record<Role, { url: 'metrics' | 'temporalMetrics'; count: (text: string) => Record<string, number> }> = {
  worker: {
    url: 'temporalMetrics',
    count: (text) => ({
      workflowTasks: sumMetric(text, /^(?:temporal_)?workflow_task_execution_latency\w*_count\b/),
      activityTasks: sumMetric(text, /^(?:temporal_)?activity_execution_latency\w*_count\b/),
    }),
  },
  ingress: { url: 'metrics', count: (text) => ({ commands: sumMetric(text, /^preflight_ingress_commands_total\b/) }) },
  dispatcher: {
    url: 'metrics',
    count: (text) => ({
      events: sumMetric(text, /^preflight_dispatcher_events_total\b/),
      deliveries: sumMetric(text, /^preflight_dispatcher_deliveries_total\b/),
    }),
  },
  api: { url: 'metrics', count: (text) => ({ requests: sumMetric(text, /^preflight_http_requests_total\b/) }) },
};

/** The sum of every sample of the metric lines matching `name` (all label sets). */
export function sumMetric(text: string, name: RegExp): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !name.test(line)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/** One instance (`worker-1`, …) with its metrics endpoints and the work counted over all its lives. */
export class ClusterProcess extends PreflightProcess {
  /** Work of previous lives (before each kill). */
  private readonly banked: Record<string, number> = {};
  private current: Record<string, number> = {};

  constructor(
    readonly role: Role,
    readonly instance: number,
    args: string[],
    env: NodeJS.ProcessEnv,
    logFile: string,
    private readonly urls: { metrics: string; temporalMetrics?: string },
  ) {
    super(`${role}-${instance}`, args, env, logFile);
  }

  /** Reads this life's counters; silent when the process does not answer (dead, or still starting). */
  async scrape(): Promise<void> {
    const spec = WORK[this.role];
    const url = spec.url === 'temporalMetrics' ? this.urls.temporalMetrics : this.urls.metrics;
    if (!url) return;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (!response.ok) return;
      this.current = spec.count(await response.text());
    } catch {
      // not answering now
    }
  }

  override async kill9(): Promise<void> {
    await this.scrape();
    for (const [k, v] of Object.entries(this.current)) this.banked[k] = (this.banked[k] ?? 0) + v;
    this.current = {};
    await super.kill9();
  }

  /** Work over every life of this instance. */
  work(): Record<string, number> {
    const keys = new Set([...Object.keys(this.banked), ...Object.keys(this.current)]);
    return Object.fromEntries([...keys].map((k) => [k, (this.banked[k] ?? 0) + (this.current[k] ?? 0)]));
  }
}
