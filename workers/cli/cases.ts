import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import type * as Cases from '../../clients/cases';
import { CASE_STATES, type CaseState, OPAQUE_ID_PATTERN } from '../../wire/enums';
import type { AgencyCaseView, CaseView } from '../../workflows/clearinghouse/contract';
import { CliError, configOrExit, output, pageSizeOf, renderTable, withPageSize } from './common';
import { opsCall, withApiOptions, type ApiOptions } from './ops-api';
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
          (p) =>
            `  ${p.partyId.padEnd(20)} ${(p.kind ?? '-').padEnd(11)} ${p.status.padEnd(13)} due ${p.remediationDueAt ?? '-'}${p.remediatedAt ? ` remediated ${p.remediatedAt}` : ''}${p.contacts?.length ? ` contacts ${p.contacts.map((x) => x.email ?? x.name ?? x.role).join(', ')}` : ''}`,
        )),
    ...(c.duplicates.length ? [`Duplicates  ${c.duplicates.join(', ')}`] : []),
    ...(c.publishedAt ? [`Published   ${c.publishedAt}${c.advisoryRef ? ` (${c.advisoryRef})` : ''}`] : []),
    ...(c.publishOverride ? [`Override    published under embargo by ${c.publishOverride.by}: ${c.publishOverride.reason}`] : []),
    ...(c.closedAt ? [`Closed      ${c.closedAt} (${c.closeReason})`] : []),
  ];
  return lines.join('\n') + '\n';
}

/**
 * `preflight cases list|show` (read from Temporal: for operators, or as one agency sees them) and the operator
 * actions `triage|parties|status|exploitation|duplicate|publish|close|csaf` (through the ops API with an ops token).
 */
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

  registerCaseActionCommands(cases);
}

// ---- operator actions, through the api with an ops token ------------------------------------------------------

/** `case/<hex>` or the bare fingerprint → the fingerprint of the api's paths. */
function fingerprintOf(caseId: string): string {
  const m = /^(?:case\/)?([0-9a-f]{32})$/.exec(caseId);
  if (!m) throw new CliError(`"${caseId}" is not a case id (case/<32 lowercase hex>)`, 2);
  return m[1]!;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `name=Desk,email=psirt@example.gov,role=PSIRT` → a contact. */
function parseContact(text: string): { name?: string; email?: string; role?: string } {
  const contact: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    if (eq < 1 || !['name', 'email', 'role'].includes(key)) throw new CliError(`--contact: "${part}" is not name=…, email=… or role=…`, 2);
    contact[key] = part.slice(eq + 1).trim();
  }
  return contact;
}

const withCaseApiOptions = (command: Command) => withApiOptions(command, 'print the case (or document) as JSON');

/** `preflight cases triage|parties|status|exploitation|duplicate|publish|close|csaf`: operator actions on the ops API. */
export function registerCaseActionCommands(cases: Command): void {
  const act = async (caseId: string, action: string, body: unknown, opts: ApiOptions): Promise<void> => {
    const view = (await opsCall(opts, 'POST', `/ops/cases/${fingerprintOf(caseId)}/${action}`, body)) as CaseView;
    output(opts.json, view, () => renderCase(view));
  };

  withCaseApiOptions(
    cases
      .command('triage <caseId>')
      .description('triage a case: severity (sets the parties’ remediation due dates), CWE id, affected product')
      .requiredOption('--severity <severity>', 'CRITICAL, HIGH, MEDIUM, LOW or INFO')
      .option('--cwe <id>', 'CWE id, e.g. CWE-79')
      .option('--product <name>', 'the affected product as it will be published'),
  ).action(async (caseId: string, opts: ApiOptions & { severity: string; cwe?: string; product?: string }) =>
    act(
      caseId,
      'triage',
      { severity: opts.severity, ...(opts.cwe ? { cweId: opts.cwe } : {}), ...(opts.product ? { affectedProduct: opts.product } : {}) },
      opts,
    ),
  );

  withCaseApiOptions(
    cases
      .command('parties <caseId>')
      .description('add an affected party (notified now; remediation due date by severity); an agency party must be a registered agency')
      .requiredOption('--party <id>', 'the party id (for an agency: its registry id)')
      .requiredOption('--kind <kind>', 'agency, vendor, maintainer, coordinator or other')
      .option('--name <name>', 'the party’s name')
      .option('--contact <contact>', 'a contact, name=…,email=…,role=… (repeatable)', collect, [] as string[]),
  ).action(async (caseId: string, opts: ApiOptions & { party: string; kind: string; name?: string; contact: string[] }) =>
    act(caseId, 'parties', { partyId: opts.party, kind: opts.kind, ...(opts.name ? { name: opts.name } : {}), contacts: opts.contact.map(parseContact) }, opts),
  );

  withCaseApiOptions(
    cases.command('status <caseId>').description('move a PARTIES_NOTIFIED case to REMEDIATING').requiredOption('--state <state>', 'REMEDIATING'),
  ).action(async (caseId: string, opts: ApiOptions & { state: string }) => act(caseId, 'status', { state: opts.state }, opts));

  withCaseApiOptions(
    cases
      .command('exploitation <caseId>')
      .description('exploitation in the wild was reported: the disclosure deadline becomes 7 days from now')
      .option('--observed-at <time>', 'when it was observed (ISO-8601)'),
  ).action(async (caseId: string, opts: ApiOptions & { observedAt?: string }) =>
    act(caseId, 'exploitation', opts.observedAt ? { observedAt: opts.observedAt } : {}, opts),
  );

  withCaseApiOptions(
    cases
      .command('duplicate <caseId>')
      .description('mark the case a duplicate of another; its reports move to the primary')
      .requiredOption('--primary <caseId>', 'the primary case'),
  ).action(async (caseId: string, opts: ApiOptions & { primary: string }) => act(caseId, 'duplicate', { primaryCaseId: fingerprintOf(opts.primary) }, opts));

  withCaseApiOptions(
    cases
      .command('publish <caseId>')
      .description('publish the case (its CSAF 2.0 document: `cases csaf`); refused while the embargo holds unless --override-reason is given (audited)')
      .option('--advisory-ref <ref>', 'public advisory reference (CVE id or URL)')
      .option('--override-reason <reason>', 'publish under embargo, for this reason'),
  ).action(async (caseId: string, opts: ApiOptions & { advisoryRef?: string; overrideReason?: string }) =>
    act(
      caseId,
      'publish',
      {
        ...(opts.advisoryRef ? { advisoryRef: opts.advisoryRef } : {}),
        ...(opts.overrideReason !== undefined ? { override: { reason: opts.overrideReason } } : {}),
      },
      opts,
    ),
  );

  withCaseApiOptions(
    cases.command('close <caseId>').description('close the case').requiredOption('--reason <reason>', 'RESOLVED (after publication) or REJECTED'),
  ).action(async (caseId: string, opts: ApiOptions & { reason: string }) => act(caseId, 'close', { reason: opts.reason }, opts));

  cases
    .command('csaf <caseId>')
    .description('print the CSAF 2.0 document of a published case (JSON)')
    .option('--api <url>', 'the api (default: this machine’s, from the configuration)')
    .option('--token-file <path>', 'file holding the ops token (default: the local stack’s dev/ops.token)')
    .action(async (caseId: string, opts: ApiOptions) => {
      const doc = await opsCall(opts, 'GET', `/ops/cases/${fingerprintOf(caseId)}/csaf`);
      process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    });
}
