import { condition, log, patched, proxyActivities, setHandler } from '@temporalio/workflow';

import { HOUR_MS } from '../shared/time';
import { type SubmissionActivities } from '../submission/contract';
import {
  acceptInvitationUpdate,
  agencyStateQuery,
  completeAssessmentUpdate,
  declineInvitationUpdate,
  endAssessmentSignal,
  findingDetailQuery,
  findingRecordsQuery,
  infoRequestDetailQuery,
  infoResponseSignal,
  requestInfoUpdate,
  startAssessmentUpdate,
  submitFindingUpdate,
  windowChangedSignal,
  DURABLE_CASE_ROUTING_PATCH,
  type AgencyAssessmentInput,
  type AgencyAssessmentResult,
  type AgencyAlert,
} from './contract';
import type { CaseActivities } from '../clearinghouse/contract';

import { nextReminder } from '../submission/rules';
import { AgencyAssessment } from './state';

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

/**
 * One agency's assessment of one submission (`submission/<id>/agency/<agencyId>`). Agency commands are updates; every
 * change is reported to the parent submission, which publishes it in the submission's single event sequence.
 */
export async function agencyAssessmentWorkflow(input: AgencyAssessmentInput): Promise<AgencyAssessmentResult> {
  const { submissionId, agencyId } = input;
  const a = new AgencyAssessment(input);
  // Runs recorded before a moved window kept the reminders already sent replay without it (they sent them again).
  const remindOncePerOffset = patched('assessment-reminders-once-per-offset');
  // Runs recorded before it reported a third-party finding without waiting for the outcome; they replay that way.
  const durableRouting = patched(DURABLE_CASE_ROUTING_PATCH);

  setHandler(agencyStateQuery, () => a.view());
  setHandler(infoRequestDetailQuery, (requestId: string) => a.infoRequestDetail(requestId));
  setHandler(findingDetailQuery, (findingId: string) => a.findingDetail(findingId));
  setHandler(findingRecordsQuery, () => a.findings.map((f) => ({ ...f })));

  setHandler(
    acceptInvitationUpdate,
    ({ agencyId: _signer }) => {
      a.transition('ACCEPTED');
      return { status: a.status };
    },
    { validator: ({ agencyId: signer }) => a.guard('accept', signer) },
  );

  setHandler(
    declineInvitationUpdate,
    () => {
      a.transition('DECLINED');
      return { status: a.status };
    },
    { validator: (i) => a.guard('decline', i?.agencyId) },
  );

  setHandler(
    startAssessmentUpdate,
    () => {
      a.transition('IN_PROGRESS');
      return { status: a.status };
    },
    { validator: (i) => a.guard('start', i?.agencyId) },
  );

  setHandler(
    requestInfoUpdate,
    ({ question }) => {
      const requestId = a.requestInfo(question);
      return { requestId, status: a.status };
    },
    {
      validator: (i) => {
        a.guard('requestInfo', i?.agencyId);
        a.checkQuestion(i.question);
      },
    },
  );

  setHandler(
    submitFindingUpdate,
    ({ finding }) => {
      const { findingId } = a.submitFinding(finding);
      if (finding.thirdPartyVulnerability && durableRouting) {
        // The clearinghouse opens or joins the case for this vulnerability. The finding is accepted at once; the
        // report is tracked, and the assessment does not end before it reached its case or failed for good.
        a.routeStarted(findingId);
        void openClearinghouseCase({ submissionId, findingId, agencyId, finding }).then(
          (result) => a.routed(findingId, result),
          (err: unknown) => {
            log.warn('clearinghouse case not opened', { submissionId, findingId, error: (err as Error).name });
            a.routeFailed(findingId, err);
          },
        );
      } else if (finding.thirdPartyVulnerability) {
        void openClearinghouseCase({ submissionId, findingId, agencyId, finding }).catch((err: unknown) =>
          log.warn('clearinghouse case not opened', { submissionId, findingId, error: (err as Error).name }),
        );
      }
      return { findingId };
    },
    {
      validator: (i) => {
        a.guard('submitFinding', i?.agencyId);
        a.checkFinding(i.finding);
      },
    },
  );

  setHandler(
    completeAssessmentUpdate,
    () => {
      const to = a.complete();
      return { status: to, findingsCount: a.findings.length };
    },
    {
      validator: (i) => {
        a.guard('complete', i?.agencyId);
        a.checkCompletion(i.noFindings);
      },
    },
  );

  setHandler(infoResponseSignal, ({ requestId, response, respondedAt }) => a.infoAnswered(requestId, response, respondedAt));
  setHandler(windowChangedSignal, ({ windowClosesAt }) => a.windowMoved(windowClosesAt, remindOncePerOffset));
  setHandler(endAssessmentSignal, ({ reason }) => a.requestEnd(reason));

  async function missDeadline(): Promise<void> {
    const missedStatus = a.missDeadline();
    await alert({ kind: 'DEADLINE_MISSED', submissionId, agencyId, deadline: a.windowClosesAt, status: missedStatus });
  }

  while (!a.terminal) {
    const now = Date.now();
    const deadline = Date.parse(a.windowClosesAt);
    const reminder = nextReminder(deadline, now, input.reminderOffsetsHours, a.remindersSent);
    // The submission ends the assessment when its window closes; this run's own deadline timer is only a backstop,
    // set apart from that instant so two timers never race (a timer cancelled just as it fires strands the run on
    // the time-skipping test server, temporalio/sdk-java#3088).
    const wakeAt = reminder ? reminder.atMs : deadline + DEADLINE_BACKSTOP_MS;
    const seenVersion = a.deadlineVersion;
    const woken = wakeAt > now ? await condition(() => a.terminal || a.endRequested !== undefined || a.deadlineVersion !== seenVersion, wakeAt - now) : false;
    if (a.terminal) break;
    if (a.endRequested === 'WINDOW_CLOSED') {
      await missDeadline();
      break;
    }
    if (a.endRequested !== undefined) {
      a.transition(a.endRequested === 'SUBMISSION_WITHDRAWN' ? 'WITHDRAWN' : 'DID_NOT_COMPLETE');
      break;
    }
    if (woken) continue;
    if (reminder && Date.now() < deadline) {
      a.remind(reminder.hoursBefore);
      await alert({ kind: 'REMINDER', submissionId, agencyId, deadline: a.windowClosesAt, hoursBefore: reminder.hoursBefore });
      continue;
    }
    if (Date.now() >= deadline + DEADLINE_BACKSTOP_MS) await missDeadline();
  }

  // Completion, the window close and a withdrawal all wait here for the findings' case reports to settle (bounded
  // by the activity's retry policy).
  if (durableRouting) await condition(() => a.routesPending === 0);
  await a.reported();
  return a.result();
}

async function alert(a: AgencyAlert): Promise<void> {
  try {
    await notifyAgency(a);
  } catch (err) {
    log.warn('agency alert could not be delivered', { agencyId: a.agencyId, kind: a.kind, error: (err as Error).name });
  }
}
