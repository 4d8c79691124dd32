import {
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgencyStatus } from '../../wire/enums';
import { HOUR_MS, iso, msToDays } from '../shared/time';
import { submissionWorkflowId, type SubmissionActivities } from '../submission/contract';
import {
  acceptInvitationUpdate,
  agencyReportSignal,
  agencyStateQuery,
  completeAssessmentUpdate,
  declineInvitationUpdate,
  endAssessmentSignal,
  findingDetailQuery,
  infoRequestDetailQuery,
  infoResponseSignal,
  requestInfoUpdate,
  startAssessmentUpdate,
  submitFindingUpdate,
  windowChangedSignal,
  type AgencyAssessmentInput,
  type AgencyAssessmentResult,
  type AgencyAlert,
  type AgencyAssessmentView,
  type AgencyReport,
  type AssessmentEndReason,
  type FindingRecord,
  type InfoRequestRecord,
  type ReviewClock,
} from './contract';
import type { CaseActivities } from '../clearinghouse/contract';
import { FAILURES } from '../shared/failures';
import {
  agencyCommandRefusal,
  clockTotals,
  findingRefusal,
  holdClock,
  isAgencyTerminal,
  nextReminder,
  resumeClock,
  startClock,
  stopClock,
  type AgencyCommand,
  type Refusal,
} from '../submission/rules';
import { SA } from '../shared/search-attributes';

const { notifyAgency } = proxyActivities<SubmissionActivities>({
  startToCloseTimeout: '1 minute',
  // Alerts are best effort: a reminder that cannot go out must never fail or stall the assessment.
  retry: { maximumAttempts: 5, initialInterval: '5 seconds' },
});

const { openClearinghouseCase } = proxyActivities<CaseActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 20, initialInterval: '2 seconds', maximumInterval: '5 minutes' },
});

/** How long after the window close an assessment ends itself if its submission has not ended it. */
const DEADLINE_BACKSTOP_MS = HOUR_MS;

function reject(refusal: Refusal | undefined): void {
  if (refusal) throw ApplicationFailure.nonRetryable(refusal.reason, refusal.type);
}

/**
 * One agency's assessment of one submission (`submission/<id>/agency/<agencyId>`). Agency commands are updates; every
 * change is reported to the parent submission, which publishes it in the submission's single event sequence.
 */
export async function agencyAssessmentWorkflow(input: AgencyAssessmentInput): Promise<AgencyAssessmentResult> {
  const { submissionId, agencyId } = input;
  const parent = getExternalWorkflowHandle(workflowInfo().parent?.workflowId ?? submissionWorkflowId(submissionId));

  let status: AgencyStatus = 'INVITED';
  let clock: ReviewClock = { onHoldMs: 0 };
  let windowClosesAt = input.windowClosesAt;
  let deadlineVersion = 0;
  let endRequested: AssessmentEndReason | undefined;
  let deadlineMissed = false;
  const remindersSent: number[] = [];
  const findings: FindingRecord[] = [];
  const infoRequests: InfoRequestRecord[] = [];
  // Reports go out one at a time so the parent sees them in the order they happened.
  let reporting: Promise<void> = Promise.resolve();

  const report = (r: AgencyReport): void => {
    // A parent that has gone (terminated by an operator) cannot hear the report; the assessment carries on.
    reporting = reporting.then(() =>
      parent
        .signal(agencyReportSignal, r)
        .catch((err: unknown) => log.warn('report to the submission was not delivered', { submissionId, agencyId, kind: r.kind, error: (err as Error).name })),
    );
  };

  const transition = (to: AgencyStatus, infoRequestId?: string): void => {
    const previousStatus = status;
    const now = Date.now();
    if (to === 'IN_PROGRESS' && previousStatus === 'ACCEPTED') clock = startClock(clock, now);
    if (to === 'INFO_REQUESTED') clock = holdClock(clock, now);
    if (to === 'IN_PROGRESS' && previousStatus === 'INFO_REQUESTED') clock = resumeClock(clock, now);
    if (isAgencyTerminal(to)) clock = stopClock(clock, now);
    status = to;
    upsertSearchAttributes([{ key: SA.status, value: to }]);
    report({ kind: 'STATUS', agencyId, status: to, previousStatus, at: iso(now), clock, ...(infoRequestId ? { infoRequestId } : {}) });
  };

  const guard = (command: AgencyCommand, signer: unknown): void =>
    reject(agencyCommandRefusal(command, { status, ownerAgencyId: agencyId, signerAgencyId: signer }));

  const view = (): AgencyAssessmentView => {
    // Read-only: the real clock (never earlier than workflow time) keeps the running clock current between tasks.
    const totals = clockTotals(clock, Math.max(Date.now(), workflowInfo().unsafe.now()));
    return {
      submissionId,
      agencyId,
      status,
      windowClosesAt,
      clock: {
        agencyId,
        status,
        activeMs: totals.activeMs,
        onHoldMs: totals.onHoldMs,
        activeDays: msToDays(totals.activeMs),
        onHoldDays: msToDays(totals.onHoldMs),
        onHold: totals.onHold,
      },
      findings: findings.map(({ findingId, agencyId: a, severity, domain, modelVersionTested, thirdPartyVulnerability, submittedAt }) => ({
        findingId,
        agencyId: a,
        severity,
        domain,
        modelVersionTested,
        thirdPartyVulnerability,
        submittedAt,
      })),
      infoRequests: infoRequests.map(({ requestId, agencyId: a, requestedAt, respondedAt }) => ({
        requestId,
        agencyId: a,
        requestedAt,
        ...(respondedAt ? { respondedAt } : {}),
      })),
      remindersSent: [...remindersSent],
      deadlineMissed,
    };
  };

  upsertSearchAttributes([
    { key: SA.kind, value: 'agencyAssessment' },
    { key: SA.status, value: status },
    { key: SA.vendor, value: input.vendorId },
    { key: SA.agencies, value: [agencyId] },
    { key: SA.submissionId, value: submissionId },
  ]);

  setHandler(agencyStateQuery, view);
  setHandler(infoRequestDetailQuery, (requestId: string) => {
    const r = infoRequests.find((x) => x.requestId === requestId);
    return r ? { ...r } : null;
  });
  setHandler(findingDetailQuery, (findingId: string) => {
    const f = findings.find((x) => x.findingId === findingId);
    return f ? { ...f } : null;
  });

  setHandler(
    acceptInvitationUpdate,
    ({ agencyId: _signer }) => {
      transition('ACCEPTED');
      return { status };
    },
    { validator: ({ agencyId: signer }) => guard('accept', signer) },
  );

  setHandler(
    declineInvitationUpdate,
    () => {
      transition('DECLINED');
      return { status };
    },
    { validator: (i) => guard('decline', i?.agencyId) },
  );

  setHandler(
    startAssessmentUpdate,
    () => {
      transition('IN_PROGRESS');
      return { status };
    },
    { validator: (i) => guard('start', i?.agencyId) },
  );

  setHandler(
    requestInfoUpdate,
    ({ question }) => {
      const requestId = `${agencyId}-ir-${infoRequests.length + 1}`;
      infoRequests.push({ requestId, agencyId, requestedAt: iso(Date.now()), question });
      // A second question while one waits keeps the clock on hold; the status event still names the new request.
      if (status === 'INFO_REQUESTED') {
        report({ kind: 'STATUS', agencyId, status, previousStatus: status, at: iso(Date.now()), clock, infoRequestId: requestId });
      } else {
        transition('INFO_REQUESTED', requestId);
      }
      return { requestId, status };
    },
    {
      validator: (i) => {
        guard('requestInfo', i?.agencyId);
        if (typeof i.question !== 'string' || !i.question.trim()) {
          throw ApplicationFailure.nonRetryable('The information request has no question.', FAILURES.invalidInput.type);
        }
      },
    },
  );

  setHandler(
    submitFindingUpdate,
    ({ finding }) => {
      const findingId = `${agencyId}-f${findings.length + 1}`;
      const record: FindingRecord = { ...finding, findingId, agencyId, submittedAt: iso(Date.now()) };
      findings.push(record);
      report({
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
      if (finding.thirdPartyVulnerability) {
        // The clearinghouse opens or joins the case for this vulnerability; that never holds up or fails the finding.
        void openClearinghouseCase({ submissionId, findingId, agencyId, finding }).catch((err: unknown) =>
          log.warn('clearinghouse case not opened', { submissionId, findingId, error: (err as Error).name }),
        );
      }
      return { findingId };
    },
    {
      validator: (i) => {
        guard('submitFinding', i?.agencyId);
        reject(findingRefusal(i.finding, input.modelVersion));
      },
    },
  );

  setHandler(
    completeAssessmentUpdate,
    () => {
      const to = findings.length > 0 ? ('FINDINGS_SUBMITTED' as const) : ('NO_FINDINGS' as const);
      transition(to);
      return { status: to, findingsCount: findings.length };
    },
    {
      validator: (i) => {
        guard('complete', i?.agencyId);
        if (i.noFindings === true && findings.length > 0) {
          throw ApplicationFailure.nonRetryable(
            `"No findings" was declared, but ${findings.length} finding(s) were submitted for this assessment.`,
            FAILURES.invalidInput.type,
          );
        }
      },
    },
  );

  setHandler(infoResponseSignal, ({ requestId, response, respondedAt }) => {
    const request = infoRequests.find((r) => r.requestId === requestId);
    if (!request || request.respondedAt) return;
    request.respondedAt = respondedAt;
    request.response = response;
    if (status === 'INFO_REQUESTED' && infoRequests.every((r) => r.respondedAt)) transition('IN_PROGRESS', requestId);
  });

  setHandler(windowChangedSignal, ({ windowClosesAt: closesAt }) => {
    if (closesAt === windowClosesAt) return;
    windowClosesAt = closesAt;
    deadlineVersion += 1;
    remindersSent.length = 0;
  });

  setHandler(endAssessmentSignal, ({ reason }) => {
    endRequested ??= reason;
  });

  /** The window closed before this agency finished: a notice, never a failure. */
  async function missDeadline(): Promise<void> {
    deadlineMissed = true;
    const missedStatus = status;
    transition('DID_NOT_COMPLETE');
    report({ kind: 'DEADLINE_MISSED', agencyId, at: iso(Date.now()), deadline: windowClosesAt, status: missedStatus });
    await alert({ kind: 'DEADLINE_MISSED', submissionId, agencyId, deadline: windowClosesAt, status: missedStatus });
  }

  while (!isAgencyTerminal(status)) {
    const now = Date.now();
    const deadline = Date.parse(windowClosesAt);
    const reminder = nextReminder(deadline, now, input.reminderOffsetsHours, remindersSent);
    // The submission ends the assessment when its window closes; this run's own deadline timer is only a backstop,
    // set apart from that instant so two timers never race (a timer cancelled just as it fires strands the run on
    // the time-skipping test server, temporalio/sdk-java#3088).
    const wakeAt = reminder ? reminder.atMs : deadline + DEADLINE_BACKSTOP_MS;
    const seenVersion = deadlineVersion;
    const woken =
      wakeAt > now ? await condition(() => isAgencyTerminal(status) || endRequested !== undefined || deadlineVersion !== seenVersion, wakeAt - now) : false;
    if (isAgencyTerminal(status)) break;
    if (endRequested === 'WINDOW_CLOSED') {
      await missDeadline();
      break;
    }
    if (endRequested !== undefined) {
      transition(endRequested === 'SUBMISSION_WITHDRAWN' ? 'WITHDRAWN' : 'DID_NOT_COMPLETE');
      break;
    }
    if (woken) continue;
    if (reminder && Date.now() < deadline) {
      remindersSent.push(reminder.hoursBefore);
      const at = iso(Date.now());
      report({ kind: 'REMINDER', agencyId, at, deadline: windowClosesAt, hoursBefore: reminder.hoursBefore });
      await alert({ kind: 'REMINDER', submissionId, agencyId, deadline: windowClosesAt, hoursBefore: reminder.hoursBefore });
      continue;
    }
    if (Date.now() >= deadline + DEADLINE_BACKSTOP_MS) await missDeadline();
  }

  await reporting;
  const totals = clockTotals(clock, Date.now());
  return {
    agencyId,
    status,
    findingsCount: findings.length,
    activeMs: totals.activeMs,
    onHoldMs: totals.onHoldMs,
    endedAt: clock.stoppedAt ?? iso(Date.now()),
  };
}

async function alert(a: AgencyAlert): Promise<void> {
  try {
    await notifyAgency(a);
  } catch (err) {
    log.warn('agency alert could not be delivered', { agencyId: a.agencyId, kind: a.kind, error: (err as Error).name });
  }
}
