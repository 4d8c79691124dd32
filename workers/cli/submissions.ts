import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import type * as HttpSchemas from '../api/http-schemas';
import type * as Lookup from '../api/lookup';
import type * as Ops from '../api/ops';
import type * as Problems from '../api/problems';
import type * as SubmissionList from '../api/submission-list';
import type * as Servers from '../../stack/servers';
import type * as Timeline from '../../clients/timeline';
import type { Config } from '../../infra/config';
import type * as SubmissionContract from '../../workflows/submission/contract';
import { CliError, configOrExit, pageSizeOf, withPageSize } from './common';
import { withTemporalClient } from './temporal-client';

/** Where the CLI reads its configuration and writes its output; tests pass their own. */
export interface CliIo {
  config?: () => Config;
  out?: (text: string) => void;
}

const OPS = { kind: 'ops' as const, operator: 'cli' };

/** Runs with a Temporal client (with the deployment's payload codec), straight to Temporal: no api or token needed. */
export async function withTemporal<T>(io: CliIo, run: (client: Client) => Promise<T>): Promise<T> {
  const { isHttpProblem } = require('../api/problems') as typeof Problems;
  return withTemporalClient((io.config ?? configOrExit)(), async (client) => {
    try {
      return await run(client);
    } catch (err) {
      if (isHttpProblem(err)) throw new CliError(err.detail ?? err.title, err.status === 404 ? 3 : 2);
      throw err;
    }
  });
}

/**
 * The list through the Temporal frontend's HTTP API when its address is known (the local stack's, or
 * TEMPORAL_HTTP_ADDRESS) and no client certificate is required: it answers without loading the gRPC client.
 * Undefined when that path is not available or fails; the caller then reads through gRPC, which also gives the
 * precise error when Temporal is down.
 */
async function listOverHttp(config: Config, filter: SubmissionList.SubmissionFilter, pageSize: number): Promise<SubmissionList.SubmissionPage | undefined> {
  const { expectedEndpoints } = require('../../stack/servers') as typeof Servers;
  const base = expectedEndpoints(config).temporalHttp;
  if (!base || config.temporal.tls.certPath) return undefined;
  const { listSubmissionsOverHttp, VisibilityHttpError } = require('../api/submission-list') as typeof SubmissionList;
  try {
    return await listSubmissionsOverHttp(base, config.temporal.namespace, filter, { pageSize }, { apiKey: config.temporal.apiKey });
  } catch (err) {
    if (err instanceof VisibilityHttpError) return undefined;
    throw err;
  }
}

function table(items: Lookup.SubmissionListItem[]): string {
  if (items.length === 0) return 'No submissions match.\n';
  const rows = [['SUBMISSION', 'VENDOR', 'STATUS', 'AGENCIES', 'PLANNED RELEASE', 'SUBMITTED']].concat(
    items.map((s) => [s.submissionId, s.vendorId, s.status, s.agencies.join(','), s.plannedReleaseAt ?? '', s.startedAt]),
  );
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** `preflight submissions list|show|history`: read straight from Temporal (visibility, queries, event histories). */
export function registerSubmissionCommands(program: Command, io: CliIo = {}): void {
  const write = io.out ?? ((text: string) => process.stdout.write(text));
  const print = (json: boolean | undefined, value: unknown, human: () => string) => write(json ? JSON.stringify(value, null, 2) + '\n' : human());
  const submissions = program.command('submissions').description('submissions: list with filters, show one, its history as a timeline');

  withPageSize(submissions.command('list'), 'at most this many')
    .description('list submissions (Temporal visibility), newest first')
    .option('--status <status>', 'a submission status, e.g. UNDER_ASSESSMENT')
    .option('--vendor <id>', 'a vendor id')
    .option('--agency <id>', 'an invited agency id')
    .option('--release-from <iso>', 'planned release at or after')
    .option('--release-to <iso>', 'planned release at or before')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        status?: string;
        vendor?: string;
        agency?: string;
        releaseFrom?: string;
        releaseTo?: string;
        pageSize?: string;
        limit?: string;
        json?: boolean;
      }) => {
        const { OpsSubmissionListQuery } = require('../api/http-schemas') as typeof HttpSchemas;
        const parsed = OpsSubmissionListQuery.safeParse({
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.vendor ? { vendor: opts.vendor } : {}),
          ...(opts.agency ? { agency: opts.agency } : {}),
          ...(opts.releaseFrom ? { releaseFrom: opts.releaseFrom } : {}),
          ...(opts.releaseTo ? { releaseTo: opts.releaseTo } : {}),
          pageSize: pageSizeOf(opts, 500),
        });
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          throw new CliError(`--${String(issue.path[0] ?? 'option').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue.message}`, 2);
        }
        const { pageSize, nextPageToken: _t, ...filter } = parsed.data;
        const config = (io.config ?? configOrExit)();
        const page =
          (await listOverHttp(config, filter, pageSize ?? 100)) ??
          (await withTemporal({ ...io, config: () => config }, (client) =>
            (require('../api/lookup') as typeof Lookup).listSubmissions(client, filter, { pageSize: pageSize ?? 100 }),
          ));
        print(opts.json, page, () => table(page.items));
      },
    );

  submissions
    .command('show <id>')
    .description('state, clocks, agencies and findings summary of one submission')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const { findSubmission } = require('../api/lookup') as typeof Lookup;
      const { submissionOverview } = require('../api/ops') as typeof Ops;
      const overview = await withTemporal(io, async (client) => submissionOverview(await findSubmission(client, id, OPS)));
      print(opts.json, overview, () => {
        const { state, clocks, findings } = overview;
        const lines = [
          `${state.submissionId}  ${state.status}${state.notice ? `  notice ${state.notice}` : ''}`,
          `vendor ${state.vendorId}, model ${state.model.name} ${state.model.version}, planned release ${state.plannedReleaseAt}`,
          clocks.window
            ? `access window ${clocks.window.opensAt} → ${clocks.window.closesAt} (${clocks.window.totalDays.toFixed(2)} days, ${clocks.window.remainingDays.toFixed(2)} left)`
            : 'access window: not open',
          'agencies:',
          ...clocks.agencies.map(
            (a) =>
              `  ${a.agencyId.padEnd(10)} ${a.status.padEnd(20)} active ${a.activeDays.toFixed(3)} d, on hold ${a.onHoldDays.toFixed(3)} d${a.onHold ? ' (on hold now)' : ''}`,
          ),
          `findings: ${findings.total} (${
            Object.entries(findings.bySeverity)
              .filter(([, n]) => n > 0)
              .map(([s, n]) => `${n} ${s}`)
              .join(', ') || 'none'
          }), unresolved critical/high ${findings.unresolvedCriticalOrHigh}`,
          ...findings.findings.map((f) => `  ${f.findingId.padEnd(12)} ${f.agencyId.padEnd(8)} ${f.severity.padEnd(8)} ${f.response ?? 'no response'}`),
        ];
        return lines.join('\n') + '\n';
      });
    });

  submissions
    .command('history <id>')
    .description('the history as a readable timeline (who did what, when, the state it led to); --raw for the event histories')
    .option('--json', 'print JSON')
    .option('--raw', 'the raw Temporal event histories as JSON (payloads as stored, i.e. encrypted)')
    .action(async (id: string, opts: { json?: boolean; raw?: boolean }) => {
      const { findSubmission } = require('../api/lookup') as typeof Lookup;
      const { fetchSubmissionHistories, historyJson, submissionTimeline } = require('../api/ops') as typeof Ops;
      const { formatTimeline } = require('../../clients/timeline') as typeof Timeline;
      const { submissionWorkflowId } = require('../../workflows/submission/contract') as typeof SubmissionContract;
      await withTemporal(io, async (client) => {
        const owned = await findSubmission(client, id, OPS);
        if (opts.raw) {
          const { submission, agencies } = await fetchSubmissionHistories(client, owned);
          const histories = {
            [submissionWorkflowId(owned.submissionId)]: historyJson(submission),
            ...Object.fromEntries(Object.entries(agencies).map(([k, h]) => [k, historyJson(h)])),
          };
          write(JSON.stringify({ submissionId: owned.submissionId, histories }, null, 2) + '\n');
          return;
        }
        const timeline = await submissionTimeline(client, owned);
        print(opts.json, timeline, () => formatTimeline(timeline));
      });
    });
}
