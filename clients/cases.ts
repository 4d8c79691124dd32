import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from '../infra/logger';
import type { clearinghouseCaseWorkflow } from '../workflows/clearinghouse/workflow';
import { type CaseState, OPAQUE_ID_PATTERN, type Severity } from '../wire/enums';
import {
  addCasePartyUpdate,
  closeCaseUpdate,
  markDuplicateUpdate,
  markRemediatingUpdate,
  publishCaseUpdate,
  triageCaseUpdate,
  CASE_COMMAND_TYPES,
  CASE_KIND,
  CASE_WORKFLOW_TYPE,
  caseStateQuery,
  isCaseId,
  reportCaseUpdate,
  reportExploitationUpdate,
  setPartyStatusUpdate,
  type AddCasePartyInput,
  type AgencyCaseView,
  type CaseActor,
  type CloseCaseInput,
  type MarkDuplicateInput,
  type PublishCaseInput,
  type TriageCaseInput,
  type CasePolicy,
  type CaseReportInput,
  type CaseReportResult,
  type CaseView,
  type ReportExploitationInput,
  type SetPartyStatusInput,
} from '../workflows/clearinghouse/contract';
import { FAILURES } from '../workflows/shared/failures';
import { agencyCaseView, agencyMayReadCase, checkReport } from '../workflows/clearinghouse/rules';

import { SA } from '../workflows/shared/search-attributes';
import { caseIdFor, deriveFingerprintKey } from './case-fingerprint';

export interface OpenOrJoinCaseOptions {
  /** The task queue the worker running `clearinghouseCaseWorkflow` polls. */
  taskQueue: string;
  /** From {@link deriveFingerprintKey}(masterKey); every process must use the same master key. */
  fingerprintKey: Buffer;
  /** Periods for a case this report opens (ignored when it joins an existing case). */
  policy?: Partial<CasePolicy>;
  /** The agencies whose registry domains include a domain: a report naming its domain offers the case to them. */
  agenciesInDomain?: (domain: string) => string[];
}

const MAX_REDIRECTS = 3;

/**
 * Opens the case for a report, or joins the case another agency already opened for the same vulnerability: the case
 * id is the report's fingerprint, and one update-with-start both starts the workflow if needed and records the
 * report (the report id is the update id, so a redelivered command or retried activity has no second effect).
 * A report on a case marked DUPLICATE goes to its primary. Invalid input raises ApplicationFailure CaseInvalidInput;
 * a refused report raises WorkflowUpdateFailedError whose cause says why.
 */
export async function openOrJoinCase(client: Client, input: CaseReportInput, opts: OpenOrJoinCaseOptions): Promise<CaseReportResult> {
  checkReport(input);
  // Preflight, not the reporter, says which agencies the weakness's domain reaches.
  const { offerTo: _stated, ...body } = input;
  const offerTo =
    body.domain && opts.agenciesInDomain
      ? opts
          .agenciesInDomain(body.domain)
          .filter((a) => a !== body.agencyId)
          .slice(0, 100)
      : [];
  input = { ...body, ...(offerTo.length ? { offerTo } : {}) };
  let caseId: string;
  try {
    caseId = caseIdFor(input, opts.fingerprintKey);
  } catch (err) {
    throw ApplicationFailure.create({ message: (err as Error).message, type: FAILURES.caseInvalidInput.type, nonRetryable: true });
  }
  let result = await reportToCase(client, caseId, input, opts);
  for (let hop = 0; result.outcome === 'REDIRECTED' && result.primaryCaseId && hop < MAX_REDIRECTS; hop++) {
    result = await reportToCase(client, result.primaryCaseId, input, opts);
  }
  return result;
}

async function reportToCase(client: Client, caseId: string, input: CaseReportInput, opts: OpenOrJoinCaseOptions): Promise<CaseReportResult> {
  const start = new WithStartWorkflowOperation<typeof clearinghouseCaseWorkflow>(CASE_WORKFLOW_TYPE, {
    workflowId: caseId,
    taskQueue: opts.taskQueue,
    args: [{ caseId, ...(opts.policy ? { policy: opts.policy } : {}) }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    // A case id names one case: a closed case is not silently reopened by a late report.
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: SA.kind, value: CASE_KIND },
      { key: SA.status, value: 'OPEN' },
    ],
  });
  try {
    return await client.workflow.executeUpdateWithStart(reportCaseUpdate, { args: [input], updateId: input.reportId, startWorkflowOperation: start });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  // The case ran to its end: follow a duplicate to its primary, otherwise say it is closed.
  const ended = await client.workflow.getHandle<typeof clearinghouseCaseWorkflow>(caseId).result();
  if (ended.duplicateOf && ended.duplicateOf !== caseId) {
    return client.workflow.getHandle(ended.duplicateOf).executeUpdate(reportCaseUpdate, { args: [input], updateId: input.reportId });
  }
  return { caseId, outcome: 'CASE_CLOSED', state: ended.state, reporterCount: ended.reporters.length };
}

/** A verified agency command on an existing case, other than `case.open` (which goes to {@link openOrJoinCase}). */
export interface AgencyCaseCommand {
  type: string;
  caseId: string;
  /** The verified signer. */
  agencyId: string;
  /** The command's `ce_id`: the update id, so a redelivered command has no second effect. */
  commandId: string;
  body: unknown;
}

/**
 * Applies an agency's case command as an update whose actor is the signer; the workflow's validators decide
 * whether that agency may (reporters and parties may report exploitation; a party sets only its own status).
 * Returns thin data for the reply. Raises CaseNotFoundError for a missing case, WorkflowUpdateFailedError if refused.
 */
export async function applyAgencyCaseCommand(client: Client, command: AgencyCaseCommand): Promise<{ caseId: string; state: CaseState }> {
  if (!isCaseId(command.caseId)) throw new CaseNotFoundError(String(command.caseId).slice(0, 80));
  const actor = { kind: 'agency' as const, agencyId: command.agencyId };
  const body = (typeof command.body === 'object' && command.body !== null ? command.body : {}) as Record<string, unknown>;
  const handle = client.workflow.getHandle(command.caseId);
  try {
    let view: CaseView;
    if (command.type === CASE_COMMAND_TYPES.reportExploitation) {
      const input: ReportExploitationInput = { actor, ...(body.observedAt !== undefined ? { observedAt: body.observedAt as string } : {}) };
      view = await handle.executeUpdate(reportExploitationUpdate, { args: [input], updateId: command.commandId });
    } else if (command.type === CASE_COMMAND_TYPES.setPartyStatus) {
      const input: SetPartyStatusInput = {
        actor,
        partyId: command.agencyId,
        status: body.status as SetPartyStatusInput['status'],
        ...(body.remediated !== undefined ? { remediated: body.remediated as boolean } : {}),
      };
      view = await handle.executeUpdate(setPartyStatusUpdate, { args: [input], updateId: command.commandId });
    } else {
      throw new TypeError(`${command.type} is not a case command`);
    }
    return { caseId: view.caseId, state: view.state };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CaseNotFoundError(command.caseId);
    throw err;
  }
}

// ---- operator actions ----------------------------------------------------------------------------------------

/** One operator action on a case, as the ops API and CLI send it (the actor is added from the caller). */
export type OpsCaseAction =
  | { action: 'triage'; input: Omit<TriageCaseInput, 'actor'> }
  | { action: 'add-party'; input: Omit<AddCasePartyInput, 'actor'> }
  | { action: 'remediating'; input: Record<string, never> }
  | { action: 'exploitation'; input: Omit<ReportExploitationInput, 'actor'> }
  | { action: 'duplicate'; input: Omit<MarkDuplicateInput, 'actor'> }
  | { action: 'publish'; input: Omit<PublishCaseInput, 'actor'> }
  | { action: 'close'; input: Omit<CloseCaseInput, 'actor'> };

/**
 * Applies an operator's action as the case's update (the workflow's validators decide; a refusal raises
 * WorkflowUpdateFailedError whose cause carries the failure type and a sentence). Returns the new case view.
 * Raises CaseNotFoundError for a missing case.
 */
export async function applyOpsCaseAction(client: Client, caseId: string, operatorId: string, op: OpsCaseAction): Promise<CaseView> {
  if (!isCaseId(caseId)) throw new CaseNotFoundError(String(caseId).slice(0, 80));
  const actor: CaseActor = { kind: 'ops', operatorId };
  const handle = client.workflow.getHandle(caseId);
  try {
    switch (op.action) {
      case 'triage':
        return await handle.executeUpdate(triageCaseUpdate, { args: [{ ...op.input, actor }] });
      case 'add-party':
        return await handle.executeUpdate(addCasePartyUpdate, { args: [{ ...op.input, actor }] });
      case 'remediating':
        return await handle.executeUpdate(markRemediatingUpdate, { args: [{ actor }] });
      case 'exploitation':
        return await handle.executeUpdate(reportExploitationUpdate, { args: [{ ...op.input, actor }] });
      case 'duplicate':
        return await handle.executeUpdate(markDuplicateUpdate, { args: [{ ...op.input, actor }] });
      case 'publish':
        return await handle.executeUpdate(publishCaseUpdate, { args: [{ ...op.input, actor }] });
      case 'close':
        return await handle.executeUpdate(closeCaseUpdate, { args: [{ ...op.input, actor }] });
    }
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CaseNotFoundError(caseId);
    throw err;
  }
}

// ---- read access ---------------------------------------------------------------------------------------------

/** Who reads: an operator sees every case; an agency only cases it reported or is a party to. */
export type CaseCaller = { kind: 'ops'; operatorId?: string } | { kind: 'agency'; agencyId: string };

/** Raised for a case that does not exist and for one the caller may not see, so existence does not leak. */
export class CaseNotFoundError extends Error {
  override readonly name = 'CaseNotFoundError';
  readonly code = 'CASE_NOT_FOUND';
  constructor(readonly caseId: string) {
    super(`no case ${caseId}`);
  }
}

export function isCaseNotFoundError(err: unknown): err is CaseNotFoundError {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'CASE_NOT_FOUND';
}

export interface CaseListItem {
  caseId: string;
  state: CaseState;
  severity?: Severity;
  reporters: string[];
  parties: string[];
  openedAt: string;
  closedAt?: string;
}

function keywordList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Lists cases from Temporal visibility (search attributes only: ids and enums). With `agencyId`, only cases that
 * agency reported or is a party to; without, every case (ops).
 */
export async function listCases(client: Client, filter: { agencyId?: string; state?: CaseState; limit?: number } = {}): Promise<CaseListItem[]> {
  const clauses = [`${SA.kind.name} = '${CASE_KIND}'`];
  if (filter.agencyId !== undefined) {
    if (!OPAQUE_ID_PATTERN.test(filter.agencyId)) throw new TypeError('agencyId is not a valid id');
    clauses.push(`(${SA.agencies.name} = '${filter.agencyId}' OR ${SA.caseParties.name} = '${filter.agencyId}')`);
  }
  if (filter.state !== undefined) {
    if (!/^[A-Z_]+$/.test(filter.state)) throw new TypeError('state is not a case state');
    clauses.push(`${SA.status.name} = '${filter.state}'`);
  }
  const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
  const items: CaseListItem[] = [];
  for await (const wf of client.workflow.list({ query: clauses.join(' AND '), pageSize: Math.min(limit, 100) })) {
    if (!isCaseId(wf.workflowId)) continue;
    const sa = wf.typedSearchAttributes;
    const severity = sa.get(SA.severity);
    items.push({
      caseId: wf.workflowId,
      state: (sa.get(SA.status) ?? 'OPEN') as CaseState,
      ...(severity ? { severity: severity as Severity } : {}),
      reporters: keywordList(sa.get(SA.agencies)),
      parties: keywordList(sa.get(SA.caseParties)),
      openedAt: wf.startTime.toISOString(),
      ...(wf.closeTime ? { closedAt: wf.closeTime.toISOString() } : {}),
    });
    if (items.length >= limit) break;
  }
  return items;
}

/**
 * Reads one case for a caller: ops get the whole case; an agency that reported, is a party or was offered the case
 * (its registry domains match the weakness's domain) gets its
 * {@link AgencyCaseView}; any other agency gets CaseNotFoundError, exactly as for a missing case, and the refusal is
 * audited.
 */
export async function getCase(client: Client, caseId: string, caller: { kind: 'ops'; operatorId?: string }, opts?: { logger?: Logger }): Promise<CaseView>;
export async function getCase(client: Client, caseId: string, caller: CaseCaller, opts?: { logger?: Logger }): Promise<CaseView | AgencyCaseView>;
export async function getCase(client: Client, caseId: string, caller: CaseCaller, opts: { logger?: Logger } = {}): Promise<CaseView | AgencyCaseView> {
  if (!isCaseId(caseId)) throw new CaseNotFoundError(String(caseId).slice(0, 80));
  let view: CaseView;
  try {
    view = await client.workflow.getHandle(caseId).query(caseStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CaseNotFoundError(caseId);
    throw err;
  }
  if (caller.kind === 'agency') {
    if (!agencyMayReadCase(view, caller.agencyId)) {
      opts.logger?.warn({ audit: 'case-read-refused', caseId, agencyId: caller.agencyId }, 'agency refused a case it is not part of');
      throw new CaseNotFoundError(caseId);
    }
    return agencyCaseView(view, caller.agencyId);
  }
  return view;
}

export { deriveFingerprintKey };
