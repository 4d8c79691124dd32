import { ApplicationFailure, getExternalWorkflowHandle, log, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AgencyStatus } from '../../wire/enums';
import type { CaseRouting, FindingInput } from '../../wire/submission';
import type { CaseReportResult } from '../clearinghouse/contract';
import { FAILURES } from '../shared/failures';
import { SA } from '../shared/search-attributes';
import { iso, msToDays } from '../shared/time';
import { submissionWorkflowId } from '../submission/contract';
import {
  agencyCommandRefusal,
  clockTotals,
  findingRefusal,
  holdClock,
  isAgencyTerminal,
  resumeClock,
  startClock,
  stopClock,
  type AgencyCommand,
  type Refusal,
} from '../submission/rules';
import {
  agencyReportSignal,
  type AgencyAssessmentInput,
  type AgencyAssessmentResult,
  type AgencyAssessmentView,
  type AgencyReport,
  type CompleteAssessmentResult,
  type AssessmentEndReason,
  type FindingRecord,
  type InfoRequestRecord,
  type ReviewClock,
} from './contract';

export function reject(refusal: Refusal | undefined): void {
  if (refusal) throw ApplicationFailure.nonRetryable(refusal.reason, refusal.type);
}

/**
 * One agency's assessment: its status, review clock, findings and information requests, the transitions between
 * them and the view the agency and vendor APIs read. Every change is reported to the parent submission, one report at
 * a time, in the order it happened. The workflow wires handlers and timers to it; the fields are read there and
 * changed only here.
 */
export class AgencyAssessment {
  readonly submissionId: string;
  readonly agencyId: string;
  status: AgencyStatus = 'INVITED';
  clock: ReviewClock = { onHoldMs: 0 };
  windowClosesAt: string;
  /** Bumped whenever the window moves, so the deadline loop recomputes its timer. */
  deadlineVersion = 0;
  endRequested: AssessmentEndReason | undefined;
  deadlineMissed = false;
  readonly remindersSent: number[] = [];
  readonly findings: FindingRecord[] = [];
  readonly infoRequests: InfoRequestRecord[] = [];
  /** Third-party findings whose case report has not settled yet; the assessment does not end before they do. */
  routesPending = 0;
  readonly #parent: ReturnType<typeof getExternalWorkflowHandle>;
  readonly #modelVersion: string;
  #reporting: Promise<void> = Promise.resolve();

  constructor(input: AgencyAssessmentInput) {
    this.submissionId = input.submissionId;
    this.agencyId = input.agencyId;
    this.windowClosesAt = input.windowClosesAt;
    this.#modelVersion = input.modelVersion;
    this.#parent = getExternalWorkflowHandle(workflowInfo().parent?.workflowId ?? submissionWorkflowId(input.submissionId));
    upsertSearchAttributes([
      { key: SA.kind, value: 'agencyAssessment' },
      { key: SA.status, value: this.status },
      { key: SA.vendor, value: input.vendorId },
      { key: SA.agencies, value: [this.agencyId] },
      { key: SA.submissionId, value: this.submissionId },
    ]);
  }

  get terminal(): boolean {
    return isAgencyTerminal(this.status);
  }

  report(r: AgencyReport): void {
    const { submissionId, agencyId } = this;
    // A parent that has gone (terminated by an operator) cannot hear the report; the assessment carries on.
    this.#reporting = this.#reporting.then(() =>
      this.#parent
        .signal(agencyReportSignal, r)
        .catch((err: unknown) => log.warn('report to the submission was not delivered', { submissionId, agencyId, kind: r.kind, error: (err as Error).name })),
    );
  }

  /** Resolves once every report so far has been handed to the parent. */
  reported(): Promise<void> {
    return this.#reporting;
  }

  transition(to: AgencyStatus, infoRequestId?: string): void {
    const previousStatus = this.status;
    const now = Date.now();
    if (to === 'IN_PROGRESS' && previousStatus === 'ACCEPTED') this.clock = startClock(this.clock, now);
    if (to === 'INFO_REQUESTED') this.clock = holdClock(this.clock, now);
    if (to === 'IN_PROGRESS' && previousStatus === 'INFO_REQUESTED') this.clock = resumeClock(this.clock, now);
    if (isAgencyTerminal(to)) this.clock = stopClock(this.clock, now);
    this.status = to;
    upsertSearchAttributes([{ key: SA.status, value: to }]);
    this.report({
      kind: 'STATUS',
      agencyId: this.agencyId,
      status: to,
      previousStatus,
      at: iso(now),
      clock: this.clock,
      ...(infoRequestId ? { infoRequestId } : {}),
    });
  }

  /** Refuses a command this agency may not send now (or that another agency signed). */
  guard(command: AgencyCommand, signer: unknown): void {
    reject(agencyCommandRefusal(command, { status: this.status, ownerAgencyId: this.agencyId, signerAgencyId: signer }));
  }

  requestInfo(question: string): string {
    const { agencyId } = this;
    const requestId = `${agencyId}-ir-${this.infoRequests.length + 1}`;
    this.infoRequests.push({ requestId, agencyId, requestedAt: iso(Date.now()), question });
    // A second question while one waits keeps the clock on hold; the status event still names the new request.
    if (this.status === 'INFO_REQUESTED') {
      this.report({
        kind: 'STATUS',
        agencyId,
        status: this.status,
        previousStatus: this.status,
        at: iso(Date.now()),
        clock: this.clock,
        infoRequestId: requestId,
      });
    } else {
      this.transition('INFO_REQUESTED', requestId);
    }
    return requestId;
  }

  checkQuestion(question: unknown): void {
    if (typeof question !== 'string' || !question.trim()) {
      throw ApplicationFailure.nonRetryable('The information request has no question.', FAILURES.invalidInput.type);
    }
  }

  submitFinding(finding: FindingInput): FindingRecord {
    const { agencyId } = this;
    const findingId = `${agencyId}-f${this.findings.length + 1}`;
    const record: FindingRecord = { ...finding, findingId, agencyId, submittedAt: iso(Date.now()) };
    this.findings.push(record);
    this.report({
      kind: 'FINDING',
      agencyId,
      at: record.submittedAt,
      finding: {
        findingId,
        agencyId,
        severity: finding.severity,
        domain: finding.domain,
        modelVersionTested: finding.modelVersionTested,
        thirdPartyVulnerability: finding.thirdPartyVulnerability,
        submittedAt: record.submittedAt,
      },
    });
    return record;
  }

  checkFinding(finding: unknown): void {
    reject(findingRefusal(finding, this.#modelVersion));
  }

  complete(): CompleteAssessmentResult['status'] {
    const to = this.findings.length > 0 ? ('FINDINGS_SUBMITTED' as const) : ('NO_FINDINGS' as const);
    this.transition(to);
    return to;
  }

  checkCompletion(noFindings: unknown): void {
    if (noFindings === true && this.findings.length > 0) {
      throw ApplicationFailure.nonRetryable(
        `"No findings" was declared, but ${this.findings.length} finding(s) were submitted for this assessment.`,
        FAILURES.invalidInput.type,
      );
    }
  }

  /** A third-party finding's report to the clearinghouse is on its way. */
  routeStarted(findingId: string): void {
    const record = this.findings.find((f) => f.findingId === findingId);
    if (record) record.caseRouting = { status: 'PENDING' };
    this.routesPending += 1;
  }

  /** The report reached its case: the case id goes on the finding and to the submission's timeline. */
  routed(findingId: string, result: CaseReportResult): void {
    const caseId = result.outcome === 'REDIRECTED' && result.primaryCaseId ? result.primaryCaseId : result.caseId;
    this.settleRoute(findingId, { status: 'ROUTED', caseId, outcome: result.outcome, at: iso(Date.now()) });
  }

  /** The report failed for good (refused by the case, or out of retries): the reason goes on the finding. */
  routeFailed(findingId: string, err: unknown): void {
    const cause = (err as { cause?: { message?: string; type?: string } }).cause;
    const reason = cause?.message || (err as Error).message || 'the clearinghouse could not be reached';
    const failureType = cause?.type ?? (err as { type?: string }).type;
    this.settleRoute(findingId, { status: 'FAILED', reason: reason.slice(0, 500), ...(failureType ? { failureType } : {}), at: iso(Date.now()) });
  }

  private settleRoute(findingId: string, routing: CaseRouting): void {
    const record = this.findings.find((f) => f.findingId === findingId);
    if (record) record.caseRouting = routing;
    this.routesPending -= 1;
    this.report({ kind: 'CASE_ROUTING', agencyId: this.agencyId, at: routing.at ?? iso(Date.now()), findingId, routing });
  }

  infoAnswered(requestId: string, response: string, respondedAt: string): void {
    const request = this.infoRequests.find((r) => r.requestId === requestId);
    if (!request || request.respondedAt) return;
    request.respondedAt = respondedAt;
    request.response = response;
    if (this.status === 'INFO_REQUESTED' && this.infoRequests.every((r) => r.respondedAt)) this.transition('IN_PROGRESS', requestId);
  }

  /**
   * The submission moved the window close. The deadline loop re-times the reminders not yet sent against the new
   * close; with `keepSentReminders` (every run since `assessment-reminders-once-per-offset`) a reminder offset that
   * already went out is never sent again, so a moved window does not double reminders. Earlier runs forgot them.
   */
  windowMoved(closesAt: string, keepSentReminders: boolean): void {
    if (closesAt === this.windowClosesAt) return;
    this.windowClosesAt = closesAt;
    this.deadlineVersion += 1;
    if (!keepSentReminders) this.remindersSent.length = 0;
  }

  requestEnd(reason: AssessmentEndReason): void {
    this.endRequested ??= reason;
  }

  /** The window closed before this agency finished: a notice, never a failure. Returns the status it was in. */
  missDeadline(): AgencyStatus {
    this.deadlineMissed = true;
    const missedStatus = this.status;
    this.transition('DID_NOT_COMPLETE');
    this.report({ kind: 'DEADLINE_MISSED', agencyId: this.agencyId, at: iso(Date.now()), deadline: this.windowClosesAt, status: missedStatus });
    return missedStatus;
  }

  remind(hoursBefore: number): void {
    this.remindersSent.push(hoursBefore);
    this.report({ kind: 'REMINDER', agencyId: this.agencyId, at: iso(Date.now()), deadline: this.windowClosesAt, hoursBefore });
  }

  findingDetail(findingId: string): FindingRecord | null {
    const f = this.findings.find((x) => x.findingId === findingId);
    return f ? { ...f } : null;
  }

  infoRequestDetail(requestId: string): InfoRequestRecord | null {
    const r = this.infoRequests.find((x) => x.requestId === requestId);
    return r ? { ...r } : null;
  }

  view(): AgencyAssessmentView {
    const { submissionId, agencyId, status } = this;
    // Read-only: the real clock (never earlier than workflow time) keeps the running clock current between tasks.
    const totals = clockTotals(this.clock, Math.max(Date.now(), workflowInfo().unsafe.now()));
    return {
      submissionId,
      agencyId,
      status,
      windowClosesAt: this.windowClosesAt,
      clock: {
        agencyId,
        status,
        activeMs: totals.activeMs,
        onHoldMs: totals.onHoldMs,
        activeDays: msToDays(totals.activeMs),
        onHoldDays: msToDays(totals.onHoldMs),
        onHold: totals.onHold,
      },
      findings: this.findings.map(({ findingId, agencyId: a, severity, domain, modelVersionTested, thirdPartyVulnerability, submittedAt }) => ({
        findingId,
        agencyId: a,
        severity,
        domain,
        modelVersionTested,
        thirdPartyVulnerability,
        submittedAt,
      })),
      infoRequests: this.infoRequests.map(({ requestId, agencyId: a, requestedAt, respondedAt }) => ({
        requestId,
        agencyId: a,
        requestedAt,
        ...(respondedAt ? { respondedAt } : {}),
      })),
      remindersSent: [...this.remindersSent],
      deadlineMissed: this.deadlineMissed,
    };
  }

  result(): AgencyAssessmentResult {
    const totals = clockTotals(this.clock, Date.now());
    return {
      agencyId: this.agencyId,
      status: this.status,
      findingsCount: this.findings.length,
      activeMs: totals.activeMs,
      onHoldMs: totals.onHoldMs,
      endedAt: this.clock.stoppedAt ?? iso(Date.now()),
    };
  }
}
