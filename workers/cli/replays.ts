import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { CliError, output } from './common';
import { opsCall, withApiOptions, type ApiOptions } from './ops-api';

/** A bulk replay job as the ops API shows it (`BulkReplayJob` in the OpenAPI document). */
interface Job {
  id: string;
  name: string;
  target: 'dead-letters' | 'deliveries';
  operator: string;
  state: 'matching' | 'running' | 'done' | 'failed';
  startedAt: string;
  endedAt?: string;
  total?: number;
  replayed: number;
  skipped: number;
  failed: number;
  error?: string;
  items: Array<{ ref: string; result: string; detail?: string }>;
}

const TARGETS = ['dead-letters', 'deliveries'] as const;

interface StartOptions extends ApiOptions {
  reason?: string;
  agency?: string;
  status?: string;
  endpoint?: string;
  vendor?: string;
  since?: string;
  until?: string;
  limit?: string;
  wait?: boolean;
  timeout: string;
}

function render(job: Job, withItems = true): string {
  const counts = `${job.replayed} replayed, ${job.skipped} skipped, ${job.failed} failed${job.total !== undefined ? ` (of ${job.total})` : ''}`;
  const lines = [
    `${job.id}  ${job.state.toUpperCase()}  ${job.name}`,
    `  by ${job.operator}, started ${job.startedAt}${job.endedAt ? `, ended ${job.endedAt}` : ''}`,
    `  ${counts}`,
  ];
  if (job.error) lines.push(`  error: ${job.error}`);
  if (withItems) for (const i of job.items) lines.push(`  ${i.result.padEnd(8)} ${i.ref}${i.detail ? `  ${i.detail}` : ''}`);
  return lines.join('\n') + '\n';
}

/** The filter the api takes for a target, from the options given; an option the target does not filter on is refused here. */
function filterFor(target: (typeof TARGETS)[number], opts: StartOptions): Record<string, string> {
  const given = (names: Array<keyof StartOptions>) => names.filter((n) => opts[n] !== undefined);
  const foreign = target === 'dead-letters' ? given(['status', 'endpoint', 'vendor']) : given(['reason', 'agency']);
  if (foreign.length > 0) throw new CliError(`${target} are not filtered by --${foreign.join(', --')}`, 2);
  const pick: Record<string, string | undefined> =
    target === 'dead-letters'
      ? { reason: opts.reason, agencyId: opts.agency, since: opts.since, until: opts.until }
      : { status: opts.status, endpoint: opts.endpoint, vendor: opts.vendor, since: opts.since, until: opts.until };
  return Object.fromEntries(Object.entries(pick).filter((e): e is [string, string] => e[1] !== undefined));
}

async function waitForEnd(opts: ApiOptions, job: Job, timeoutSeconds: number): Promise<Job> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let current = job;
  while (current.state === 'matching' || current.state === 'running') {
    if (Date.now() > deadline) throw new CliError(`bulk replay ${job.id} still ${current.state} after ${timeoutSeconds} s (preflight replays show ${job.id})`);
    await sleep(500);
    current = (await opsCall(opts, 'GET', `/ops/bulk-replays/${encodeURIComponent(job.id)}`)) as Job;
  }
  return current;
}

function finish(opts: ApiOptions, job: Job): void {
  output(opts.json, job, () => render(job));
  if (job.state === 'failed' || job.failed > 0) process.exitCode = 1;
}

/**
 * `preflight replays start|show|list`: bulk replays of dead letters or failed deliveries by filter, run by the api as
 * one named job that it audits (started, and ended with its counts) exactly as from the console's pages.
 */
export function registerReplayCommands(program: Command): void {
  const replays = program.command('replays').description('bulk replays by filter (dead letters, deliveries): one named, audited job run by the api');

  withApiOptions(
    replays
      .command('start')
      .description('replay every dead letter or delivery matching the filter; prints the job (with --wait, once it ended)')
      .argument('<target>', `what to replay: ${TARGETS.join(' or ')}`)
      .option('--reason <code>', 'dead letters: the refusal reason (e.g. expired, forged)')
      .option('--agency <id>', 'dead letters: the sending agency')
      .option('--status <status>', 'deliveries: their status (e.g. FAILED, DISABLED)')
      .option('--endpoint <id>', 'deliveries: to this endpoint')
      .option('--vendor <id>', 'deliveries: of this vendor')
      .option('--since <iso>', 'from this time (inclusive)')
      .option('--until <iso>', 'until this time (exclusive)')
      .option('--limit <n>', 'at most this many (1–5000)')
      .option('--wait', 'wait until the job ended; exit 1 if it failed or any item failed')
      .option('--timeout <seconds>', 'with --wait: give up waiting after this long', '600'),
  ).action(async (target: string, opts: StartOptions) => {
    if (!(TARGETS as readonly string[]).includes(target)) throw new CliError(`<target> must be ${TARGETS.join(' or ')}, not "${target}"`, 2);
    const t = target as (typeof TARGETS)[number];
    const limit = opts.limit === undefined ? undefined : Number(opts.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 5000)) throw new CliError('--limit must be a whole number from 1 to 5000', 2);
    const timeout = Number(opts.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0) throw new CliError('--timeout must be a positive number of seconds', 2);
    const job = (await opsCall(opts, 'POST', '/ops/bulk-replays', { target: t, filter: filterFor(t, opts), ...(limit ? { limit } : {}) })) as Job;
    finish(opts, opts.wait ? await waitForEnd(opts, job, timeout) : job);
  });

  withApiOptions(
    replays
      .command('show')
      .description('one bulk replay: its state, counts and items')
      .argument('<id>', 'the job id (bulk-YYYYMMDD-xxxxxxxx)')
      .option('--wait', 'wait until the job ended')
      .option('--timeout <seconds>', 'with --wait: give up waiting after this long', '600'),
  ).action(async (id: string, opts: ApiOptions & { wait?: boolean; timeout: string }) => {
    const job = (await opsCall(opts, 'GET', `/ops/bulk-replays/${encodeURIComponent(id)}`)) as Job;
    finish(opts, opts.wait ? await waitForEnd(opts, job, Number(opts.timeout) || 600) : job);
  });

  withApiOptions(replays.command('list').description('the bulk replays the api ran since it started, newest first')).action(async (opts: ApiOptions) => {
    const { items } = (await opsCall(opts, 'GET', '/ops/bulk-replays')) as { items: Job[] };
    output(opts.json, { items }, () => (items.length === 0 ? 'No bulk replays.\n' : items.map((j) => render(j, false)).join('')));
  });
}
