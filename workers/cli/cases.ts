import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import type * as Cases from '../../clients/cases';
import { CASE_STATES, type CaseState, OPAQUE_ID_PATTERN } from '../../wire/enums';
import type { AgencyCaseView, CaseView } from '../../workflows/clearinghouse/contract';
import { CliError, configOrExit, output, pageSizeOf, renderTable, withPageSize } from './common';
import { withTemporalClient } from './temporal-client';

function withClient<T>(run: (client: Client) => Promise<T>): Promise<T> {
  return withTemporalClient(configOrExit(), run);
}

/** The operator at the terminal sees every case; `--as-agency` shows what that agency would see. */
function callerFor(asAgency: string | undefined): Cases.CaseCaller {
  if (asAgency === undefined) return { kind: 'ops' };
  if (!OPAQUE_ID_PATTERN.test(asAgency)) throw new CliError(`--as-agency: "${asAgency}" is not an agency id`, 2);
  return { kind: 'agency', agencyId: asAgency };
}

function renderList(items: Cases.CaseListItem[]): string {
  return renderTable(
    ['CASE', 'STATE', 'SEVERITY', 'REPORTERS', 'PARTIES', 'OPENED'],
    items.map((c) => [c.caseId, c.state, c.severity ?? '-', String(c.reporters.length), c.parties.join(',') || '-', c.openedAt]),
    'No cases.',
  );
}

function renderCase(c: CaseView | AgencyCaseView): string {
  const lines = [
    `Case        ${c.caseId}`,
    `State       ${c.state}${c.duplicateOf ? ` (duplicate of ${c.duplicateOf})` : ''}`,
    `Product     ${c.affectedProduct ?? '-'}`,
    `Weakness    ${c.weakness ?? '-'}${c.cweId ? ` (${c.cweId})` : ''}`,
    `Severity    ${c.severity ?? 'not triaged'}`,
    `Opened      ${c.openedAt}`,
    `Embargo     ${c.embargoUntil ? `${c.embargoActive ? 'until' : 'lifted at'} ${c.embargoUntil}` : 'none'}`,
    `Disclosure  ${c.disclosureDeadline}${c.exploitation ? ` (exploitation reported ${c.exploitation.reportedAt})` : ''}`,
    `Reporters   ${c.reporters.join(', ') || '-'}`,
    'Parties:',
    ...(c.parties.length === 0
      ? ['  none']
      : c.parties.map(
          (p) => `  ${p.partyId.padEnd(20)} ${p.status.padEnd(13)} due ${p.remediationDueAt ?? '-'}${p.remediatedAt ? ` remediated ${p.remediatedAt}` : ''}`,
        )),
    ...(c.duplicates.length ? [`Duplicates  ${c.duplicates.join(', ')}`] : []),
    ...(c.publishedAt ? [`Published   ${c.publishedAt}${c.advisoryRef ? ` (${c.advisoryRef})` : ''}`] : []),
    ...(c.closedAt ? [`Closed      ${c.closedAt} (${c.closeReason})`] : []),
  ];
  return lines.join('\n') + '\n';
}

/** `preflight cases list|show`: clearinghouse cases, for operators (or as one agency sees them). */
export function registerCaseCommands(program: Command): void {
  const cases = program.command('cases').description('clearinghouse vulnerability cases');

  withPageSize(cases.command('list'), 'at most this many cases')
    .description('list cases (every case; with --as-agency only those the agency reported or is a party to)')
    .option('--as-agency <agencyId>', 'show only what this agency may see')
    .option('--state <state>', `only cases in this state (${CASE_STATES.join(', ')})`)
    .option('--json', 'print JSON')
    .action(async (opts: { asAgency?: string; state?: string; pageSize?: string; limit?: string; json?: boolean }) => {
      const caller = callerFor(opts.asAgency);
      if (opts.state !== undefined && !CASE_STATES.includes(opts.state as CaseState)) throw new CliError(`--state must be one of ${CASE_STATES.join(', ')}`, 2);
      const limit = pageSizeOf(opts, 1000);
      const { listCases } = require('../../clients/cases') as typeof Cases;
      const items = await withClient((client) =>
        listCases(client, {
          ...(caller.kind === 'agency' ? { agencyId: caller.agencyId } : {}),
          ...(opts.state ? { state: opts.state as CaseState } : {}),
          limit,
        }),
      );
      output(opts.json, items, () => renderList(items));
    });

  cases
    .command('show <caseId>')
    .description('show one case: state, clocks, reporters and parties (sensitive: includes the reported product and weakness)')
    .option('--as-agency <agencyId>', 'read as this agency would')
    .option('--json', 'print JSON')
    .action(async (caseId: string, opts: { asAgency?: string; json?: boolean }) => {
      const caller = callerFor(opts.asAgency);
      const { getCase, isCaseNotFoundError } = require('../../clients/cases') as typeof Cases;
      try {
        const view = await withClient((client) => getCase(client, caseId, caller));
        output(opts.json, view, () => renderCase(view));
      } catch (err) {
        if (isCaseNotFoundError(err)) throw new CliError(`no case ${caseId}`);
        throw err;
      }
    });
}
