import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';

import { agencyAssessmentWorkflow } from '../assessment/workflow';

import {
  acknowledgeUpdate,
  agencyWorkflowId,
  changeReleaseDateUpdate,
  clocksQuery,
  confirmMitigationUpdate,
  declareReleasedUpdate,
  findingResponseQuery,
  findingResponsesQuery,
  infoRequestsQuery,
  findingsSummaryQuery,
  rejectMitigationUpdate,
  REVOKE_ON_ASSESSMENT_END_PATCH,
  respondToFindingUpdate,
  respondToInfoRequestUpdate,
  resubmitUpdate,
  submissionStateQuery,
  withdrawUpdate,
  VERIFIED_MITIGATIONS_PATCH,
  PUSH_RELEASE_TO_CASES_PATCH,
  linkCaseSignal,
  type SubmissionInput,
  type SubmissionOutcome,
  type SubmissionActivities,
} from './contract';
import { isAgencyTerminal, summarizeFindings } from './rules';
import { SubmissionState } from './state';
import { DAY_MS, iso } from '../shared/time';
import { agencyReportSignal, type AssessmentEndReason, endAssessmentSignal, infoResponseSignal, windowChangedSignal } from '../assessment/contract';
import type { ConsolidationTrigger, EndReason } from '../../wire/enums';
import { FAILURES } from '../shared/failures';
import type { CaseActivities } from '../clearinghouse/contract';

const { grantAccess } = proxyActivities<SubmissionActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10 },
});

// Revocation must get through: retried without limit.
const { revokeAccess } = proxyActivities<SubmissionActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '5 minutes' },
});

// A case that cannot take the date (closed, gone) is told nothing more; the next change is pushed again.
const { setCaseModelRelease } = proxyActivities<CaseActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

/**
 * One vendor submission (`submission/<submissionId>`) from receipt to close or withdrawal. It is the event aggregate:
 * every change, its own and its agency children's, is published here with one strictly increasing sequence.
 * Preflight is advisory: nothing here approves, blocks or holds a release.
 */
export async function submissionWorkflow(input: SubmissionInput): Promise<SubmissionOutcome> {
  const { submissionId, vendorId } = input;
  // Decided once, at the start: a run keeps the notice rules it began with.
  const state = new SubmissionState(input, { verifiedMitigations: patched(VERIFIED_MITIGATIONS_PATCH) });
  const { settings } = state;
  const children = new Map<string, ChildWorkflowHandle<typeof agencyAssessmentWorkflow>>();
  // Runs recorded before it left the cases to poll the release date; they replay without pushing it.
  const pushReleases = patched(PUSH_RELEASE_TO_CASES_PATCH);
  let pushingReleases = false;

  setHandler(submissionStateQuery, () => state.view());
  setHandler(findingsSummaryQuery, () => summarizeFindings(state.findings, state.verifiedMitigations));
  setHandler(findingResponseQuery, (findingId: string) => state.findingResponse(findingId));
  setHandler(findingResponsesQuery, () => state.findingResponses());
  setHandler(infoRequestsQuery, () => state.infoRequests.map((r) => ({ ...r })));
  // Workflow time stands still between tasks; a read-only query may look at the real clock (never earlier).
  setHandler(clocksQuery, () => state.clocks(Math.max(Date.now(), workflowInfo().unsafe.now())));

  setHandler(
    resubmitUpdate,
    async (corrected) => {
      state.resubmit(corrected);
      await condition(() => state.resubmission === undefined && state.status !== 'SCREENING');
      return state.resubmitResult();
    },
    { validator: (corrected) => state.validateResubmit(corrected) },
  );

  setHandler(
    changeReleaseDateUpdate,
    (change) => {
      const { result, windowMovedTo } = state.changeReleaseDate(change);
      if (windowMovedTo !== undefined) {
        for (const child of children.values()) void child.signal(windowChangedSignal, { windowClosesAt: windowMovedTo }).catch(() => undefined);
      }
      return result;
    },
    { validator: (change) => state.validateReleaseDateChange(change) },
  );

  setHandler(
    respondToInfoRequestUpdate,
    async ({ requestId, response }) => {
      const { agencyId, respondedAt } = state.answerInfoRequest(requestId);
      await children
        .get(agencyId)
        ?.signal(infoResponseSignal, { requestId, response, respondedAt })
        .catch(() => log.warn('info response reached an assessment that had already ended', { submissionId, agencyId }));
      return { requestId, respondedAt };
    },
    { validator: (i) => state.validateInfoResponse(i) },
  );

  setHandler(
    respondToFindingUpdate,
    (i) => {
      state.respondToFinding(i);
      return { findingId: i.findingId, response: i.response };
    },
    { validator: (i) => state.validateFindingResponse(i) },
  );

  // Agency commands on the submission: the reporting agency reviews a vendor's MITIGATED claim.
  setHandler(confirmMitigationUpdate, (i) => state.reviewMitigation('confirmMitigation', i), {
    validator: (i) => state.validateMitigationReview('confirmMitigation', i),
  });
  setHandler(rejectMitigationUpdate, (i) => state.reviewMitigation('rejectMitigation', i), {
    validator: (i) => state.validateMitigationReview('rejectMitigation', i),
  });

  setHandler(acknowledgeUpdate, (_input) => ({ acknowledgedAt: state.acknowledge() }), { validator: (_input) => state.validateAcknowledge() });

  setHandler(
    withdrawUpdate,
    async ({ reason }) => {
      state.requestWithdrawal(reason);
      await condition(() => state.status === 'WITHDRAWN');
      return { status: 'WITHDRAWN' as const, withdrawnAt: state.endedAt! };
    },
    { validator: (_input) => state.guard('withdraw') },
  );

  setHandler(
    declareReleasedUpdate,
    async ({ releasedAt }) => {
      state.declareRelease(releasedAt);
      await condition(() => state.status === 'RELEASED');
      return { status: 'RELEASED' as const, releasedAt: state.releasedAt!, notice: state.notice ?? 'NOT_ASSESSED' };
    },
    { validator: (i) => state.validateReleaseDeclaration(i?.releasedAt) },
  );

  setHandler(agencyReportSignal, (r) => state.onAgencyReport(r));
  // Runs recorded before the release was pushed keep no linked cases: the signal changes nothing there.
  setHandler(linkCaseSignal, (input) => {
    if (pushReleases) state.linkCaseFromAgency(input);
  });

  /** Keeps the cases of this submission's third-party findings on the model's current release. */
  async function pushReleasesToCases(): Promise<void> {
    for (;;) {
      await condition(() => state.releasesToPush().length > 0);
      pushingReleases = true;
      for (const { caseId, releaseAt } of state.releasesToPush()) {
        try {
          await setCaseModelRelease({ caseId, submissionId, releaseAt });
        } catch (err) {
          log.warn('model release not pushed to its case', { submissionId, caseId, error: (err as Error).name });
        }
        state.releasePushed(caseId, releaseAt);
      }
      pushingReleases = false;
    }
  }
  if (pushReleases) {
    // A cancelled run stops pushing quietly (the cancellation is the run's outcome, not this loop's).
    void pushReleasesToCases().catch((err: unknown) => {
      if (!isCancellation(err)) log.warn('release pushes stopped', { submissionId, error: (err as Error).name });
    });
  }

  async function grantFor(agencyId: string): Promise<void> {
    state.granted(await grantAccess(state.nextGrant(agencyId)));
  }

  /** Revokes every live grant; runs even while the workflow is being cancelled. */
  async function revokeAll(): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      while (state.activeGrants.length > 0) {
        const grant = state.activeGrants[0]!;
        await revokeAccess({ grantId: grant.grantId, submissionId, agencyId: grant.agencyId });
        state.revoked(grant);
      }
    });
  }

  async function endChildren(reason: AssessmentEndReason): Promise<void> {
    for (const [agencyId, child] of children) {
      if (isAgencyTerminal(state.agencyStatus(agencyId))) continue;
      // The child may have ended on its own deadline at this same instant; its result below is what counts.
      await child.signal(endAssessmentSignal, { reason }).catch(() => undefined);
    }
    state.assessmentsEnded(await Promise.all([...children.values()].map((c) => c.result())));
  }

  async function finish(to: 'CLOSED' | 'WITHDRAWN', reason: EndReason): Promise<SubmissionOutcome> {
    await revokeAll();
    state.end(to, reason);
    await state.published();
    if (pushReleases) await condition(() => !pushingReleases && state.releasesToPush().length === 0);
    await condition(allHandlersFinished);
    return state.outcome(to, reason);
  }

  async function withdraw(reason: EndReason): Promise<SubmissionOutcome> {
    await endChildren('SUBMISSION_WITHDRAWN');
    return finish('WITHDRAWN', reason);
  }

  /** Post-clearance: wait for a declared release (or withdrawal), then keep taking responses until closing. */
  async function afterClearance(): Promise<SubmissionOutcome> {
    for (;;) {
      if (state.withdrawal) return withdraw('VENDOR_WITHDREW');
      if (state.release) break;
      const seen = state.releaseVersion;
      const deadline = state.plannedReleaseMs + settings.releaseDeclarationGraceDays * DAY_MS;
      const woke = await condition(
        () => state.withdrawal !== undefined || state.release !== undefined || state.releaseVersion !== seen,
        Math.max(1, deadline - Date.now()),
      );
      if (!woke) return finish('CLOSED', 'RELEASE_NOT_DECLARED');
    }
    state.markReleased();
    await condition(() => false, Math.max(1, settings.closeAfterReleaseDays * DAY_MS));
    return finish('CLOSED', 'RELEASED_AND_CLOSED');
  }

  /** Consolidates partial or full results and issues the advisory notice. */
  async function consolidate(why: ConsolidationTrigger): Promise<void> {
    state.startConsolidation();
    await revokeAll();
    state.issueClearance(why);
  }

  state.start();

  try {
    // Screening, with RETURNED ⇄ resubmit until it passes or the resubmission deadline passes.
    while (!state.screen()) {
      const resubmitted = await condition(
        () => state.resubmission !== undefined || state.withdrawal !== undefined || state.release !== undefined,
        Math.max(1, settings.resubmissionDays * DAY_MS),
      );
      if (state.withdrawal) return await withdraw('VENDOR_WITHDREW');
      if (state.release) break;
      if (!resubmitted) return await withdraw('NOT_RESUBMITTED');
      state.acceptResubmission();
    }
    if (state.release) {
      // Released before any assessment: accepted, with nothing assessed.
      state.issueNotice('RELEASE_DECLARED');
      return await afterClearance();
    }

    // Access provisioning: wait for the vendor's chosen access start, then grant each agency access.
    state.setStatus('ACCESS_PROVISIONING');
    const startAt = state.accessStartAtMs();
    if (startAt > Date.now()) {
      await condition(() => state.withdrawal !== undefined || state.release !== undefined, startAt - Date.now());
    }
    if (state.withdrawal) return await withdraw('VENDOR_WITHDREW');
    if (state.release) {
      await consolidate('RELEASE_DECLARED');
      return await afterClearance();
    }
    state.openWindow();
    let grantedForWindow = state.windowVersion;
    try {
      for (const agencyId of state.details.requestedAgencies) await grantFor(agencyId);
    } catch (err) {
      log.error('access provisioning failed; revoking every grant made', { submissionId });
      await revokeAll();
      throw ApplicationFailure.nonRetryable(
        'Access could not be provisioned for every agency; all grants were revoked.',
        FAILURES.accessProvisioningFailed.type,
        {
          cause: String(err),
        },
      );
    }
    if (state.withdrawal) return await withdraw('VENDOR_WITHDREW');
    if (state.release) {
      await consolidate('RELEASE_DECLARED');
      return await afterClearance();
    }

    // Assessment: one child per agency, in parallel, until all are done, the window closes, or the vendor ends it.
    // The status changes once every child exists, so an agency acting on the event finds its assessment.
    for (const agencyId of state.details.requestedAgencies) {
      const child = await startChild(agencyAssessmentWorkflow, {
        workflowId: agencyWorkflowId(submissionId, agencyId),
        args: [
          {
            submissionId,
            agencyId,
            vendorId,
            modelVersion: state.details.model.version,
            invitedAt: iso(Date.now()),
            windowClosesAt: iso(state.windowClosesMs!),
            reminderOffsetsHours: settings.reminderOffsetsHours,
          },
        ],
      });
      children.set(agencyId, child);
    }
    state.assessmentsStarted();

    // Runs started before this patch keep their agencies' access until the submission ends it (their histories replay).
    const revokeOnAssessmentEnd = patched(REVOKE_ON_ASSESSMENT_END_PATCH);
    let why: ConsolidationTrigger | undefined;
    while (!why) {
      if (revokeOnAssessmentEnd && state.grantsOfEndedAssessments().length > 0) {
        // An agency that declined or finished loses its access now, not when the window closes.
        for (const g of state.grantsOfEndedAssessments()) {
          await revokeAccess({ grantId: g.grantId, submissionId, agencyId: g.agencyId });
          state.revoked(g);
        }
        continue;
      }
      if (grantedForWindow !== state.windowVersion) {
        // The window moved: re-issue grants with the new expiry, then revoke the old ones.
        grantedForWindow = state.windowVersion;
        for (const g of [...state.activeGrants]) {
          await grantFor(g.agencyId);
          await revokeAccess({ grantId: g.grantId, submissionId, agencyId: g.agencyId });
          state.revoked(g);
        }
        continue;
      }
      const seen = state.windowVersion;
      const woke = await condition(
        () =>
          state.allAgenciesTerminal() ||
          state.withdrawal !== undefined ||
          state.release !== undefined ||
          state.windowVersion !== seen ||
          (revokeOnAssessmentEnd && state.grantsOfEndedAssessments().length > 0),
        Math.max(1, state.windowClosesMs! - Date.now()),
      );
      if (state.withdrawal) return await withdraw('VENDOR_WITHDREW');
      // Children end themselves at the window close too; when both happen at that instant, the window is the cause.
      if (state.release) why = 'RELEASE_DECLARED';
      else if (!woke || Date.now() >= state.windowClosesMs!) why = 'WINDOW_CLOSED';
      else if (state.allAgenciesTerminal()) why = 'ALL_AGENCIES_DONE';
    }
    await endChildren(why === 'RELEASE_DECLARED' ? 'SUBMISSION_RELEASED' : 'WINDOW_CLOSED');
    await consolidate(why);
    return await afterClearance();
  } catch (err) {
    // Any failure: access never outlives the workflow.
    await revokeAll();
    // With the inbox, the events of the revocations (and any status events queued) are published even during a
    // cancellation; runs before it published only what a cancelled scope still could.
    if (state.hasInbox) await CancellationScope.nonCancellable(() => state.published());
    else await state.published();
    throw err;
  }
}
