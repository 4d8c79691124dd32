import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import type * as Deliveries from '../../clients/deliveries';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../wire/enums';
import type { DeliveryView } from '../../workflows/webhooks/contract';
import type * as KafkaModule from '../../events/kafka';
import type * as LoggerModule from '../../infra/logger';
import type * as Servers from '../../stack/servers';
import type * as AuditAction from './audit-action';
import { CliError, configOrExit, output, pageSizeOf, renderTable, withPageSize } from './common';
import { withTemporalClient } from './temporal-client';

async function withClient<T>(run: (client: Client, taskQueue: string) => Promise<T>): Promise<T> {
  const { DeliveryFilterError } = require('../../clients/deliveries') as typeof Deliveries;
  const config = configOrExit();
  return withTemporalClient(config, async (client) => {
    try {
      return await run(client, config.taskQueue);
    } catch (err) {
      if (err instanceof DeliveryFilterError) throw new CliError(err.message, 2);
      throw err;
    }
  });
}

interface FilterOptions {
  vendor?: string;
  endpoint?: string;
  event?: string;
  status?: string;
  since?: string;
  until?: string;
  pageSize?: string;
  limit?: string;
}

function filterFrom(opts: FilterOptions): Deliveries.DeliveryFilter {
  const limit = pageSizeOf(opts, 10_000);
  if (opts.status !== undefined && !DELIVERY_STATUSES.includes(opts.status as DeliveryStatus)) {
    throw new CliError(`--status must be one of ${DELIVERY_STATUSES.join(', ')}`, 2);
  }
  const filter: Deliveries.DeliveryFilter = { limit };
  if (opts.vendor !== undefined) filter.vendorId = opts.vendor;
  if (opts.endpoint !== undefined) filter.endpointId = opts.endpoint;
  if (opts.event !== undefined) filter.eventId = opts.event;
  if (opts.status !== undefined) filter.status = opts.status as DeliveryStatus;
  if (opts.since !== undefined) filter.since = opts.since;
  if (opts.until !== undefined) filter.until = opts.until;
  return filter;
}

function withFilterOptions(cmd: Command): Command {
  return withPageSize(cmd, 'at most this many deliveries')
    .option('--vendor <vendorId>', 'only this vendor')
    .option('--endpoint <endpointId>', 'only this endpoint')
    .option('--event <eventId>', 'only this event')
    .option('--status <status>', `only this status (${DELIVERY_STATUSES.join(', ')})`)
    .option('--since <iso>', 'started at or after this time')
    .option('--until <iso>', 'started before this time')
    .option('--json', 'print JSON');
}

function renderList(items: Deliveries.DeliverySummary[]): string {
  return renderTable(
    ['EVENT', 'ENDPOINT', 'VENDOR', 'STATUS', 'STARTED'],
    items.map((d) => [d.eventId, d.endpointId, d.vendorId ?? '-', d.status ?? '-', d.startedAt]),
    'No deliveries.',
  );
}

function renderDelivery(d: DeliveryView): string {
  const lines = [
    `Event     ${d.eventId} (${d.eventType})`,
    `Endpoint  ${d.endpointId} (vendor ${d.vendorId})`,
    `Status    ${d.status}${d.nextAttemptAt ? `, next attempt ${d.nextAttemptAt}` : ''}`,
    `Started   ${d.startedAt}${d.replayedAt ? ` (replay of ${d.replayedAt})` : ''}`,
    'Attempts:',
    ...(d.attempts.length === 0
      ? ['  none yet']
      : d.attempts.map(
          (a) =>
            `  #${a.attempt} ${a.at} ${a.outcome.padEnd(17)} ${String(a.status ?? '-').padEnd(4)} ${String(a.latencyMs).padStart(6)} ms` +
            `${a.error ? ` ${a.error}` : ''}${a.excerpt ? ` "${a.excerpt.slice(0, 60)}"` : ''}`,
        )),
  ];
  return lines.join('\n') + '\n';
}

/** `preflight deliveries list|show|replay`: vendor webhook deliveries and their attempt logs, for operators. */
export function registerDeliveryCommands(program: Command): void {
  const deliveries = program.command('deliveries').description('vendor webhook deliveries: attempt logs and replay');

  withFilterOptions(deliveries.command('list').description('list deliveries by event, endpoint, vendor, status or time range')).action(
    async (opts: FilterOptions & { json?: boolean }) => {
      const filter = filterFrom(opts);
      const { listDeliveries } = require('../../clients/deliveries') as typeof Deliveries;
      const items = await withClient((client) => listDeliveries(client, filter));
      output(opts.json, items, () => renderList(items));
    },
  );

  deliveries
    .command('show <eventId> <endpointId>')
    .description('show one delivery with its attempt log (time, status, latency, response excerpt)')
    .option('--json', 'print JSON')
    .action(async (eventId: string, endpointId: string, opts: { json?: boolean }) => {
      const { getDelivery } = require('../../clients/deliveries') as typeof Deliveries;
      const view = await withClient((client) => getDelivery(client, `delivery/${eventId}/${endpointId}`)).catch((err: unknown) => {
        if ((err as { name?: string }).name === 'WorkflowNotFoundError') throw new CliError(`no delivery of ${eventId} to ${endpointId}`);
        throw err;
      });
      output(opts.json, view, () => renderDelivery(view));
    });

  withFilterOptions(
    deliveries
      .command('replay')
      .description('deliver again: by event (--event), by endpoint (--endpoint) or by time range (--since/--until); same webhook-id, current URL and secret'),
  ).action(async (opts: FilterOptions & { json?: boolean }) => {
    const filter = filterFrom(opts);
    if (!filter.eventId && !filter.endpointId && !filter.since && !filter.until) {
      throw new CliError('replay needs --event, --endpoint or a time range (--since/--until)', 2);
    }
    const { replayDeliveries } = require('../../clients/deliveries') as typeof Deliveries;
    const outcomes = await withClient((client, taskQueue) => replayDeliveries(client, filter, { taskQueue }));
    // Recorded in the audit trail like the api's replays: the filter, and how many started or failed.
    const { createKafka } = require('../../events/kafka') as typeof KafkaModule;
    const { createLogger } = require('../../infra/logger') as typeof LoggerModule;
    const { expectedEndpoints } = require('../../stack/servers') as typeof Servers;
    const { auditCliAction } = require('./audit-action') as typeof AuditAction;
    const config = configOrExit();
    const failed = outcomes.filter((o) => o.result === 'failed').length;
    await auditCliAction(config, createKafka(config.kafka, createLogger({ level: 'error' }), expectedEndpoints(config).kafka, 'cli'), {
      action: 'CLI deliveries replay',
      outcome: failed > 0 ? 'failed' : 'ok',
      details: {
        ...Object.fromEntries(
          Object.entries(filter)
            .filter((e): e is [string, string] => typeof e[1] === 'string')
            .map(([k, v]) => [k, v.slice(0, 200)]),
        ),
        matched: outcomes.length,
        started: outcomes.filter((o) => o.result === 'started').length,
        failed,
      },
    });
    output(opts.json, outcomes, () =>
      outcomes.length === 0
        ? 'No deliveries matched.\n'
        : outcomes.map((o) => `${o.workflowId}  ${o.result}${o.result === 'failed' ? `: ${o.error}` : ''}`).join('\n') + '\n',
    );
    if (outcomes.some((o) => o.result === 'failed')) process.exitCode = 1;
  });
}
