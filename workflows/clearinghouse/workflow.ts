import { ApplicationFailure, allHandlersFinished, condition, log, patched, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import {
  CASE_ADVISORY_EVENT_PATCH,
  addCasePartyUpdate,
  caseStateQuery,
  CASE_DOMAIN_OFFERS_PATCH,
  closeCaseUpdate,
  isCaseId,
  linkDuplicateUpdate,
  markDuplicateUpdate,
  markRemediatingUpdate,
  publishCaseUpdate,
  reportCaseUpdate,
  reportExploitationUpdate,
  setModelReleaseUpdate,
  setPartyStatusUpdate,
  triageCaseUpdate,
  type CasePolicy,
  type CaseView,
  type CaseWorkflowInput,
  type CaseActivities,
} from './contract';
import {
  applyAddParty,
  applyClose,
  applyLinkDuplicate,
  applyMarkRemediating,
  applyPublish,
  applyReportExploitation,
  applySetModelRelease,
  applySetPartyStatus,
  applyTriage,
  resolvePolicy,
  validateAddParty,
  validateClose,
  validateLinkDuplicate,
  validateMarkRemediating,
  validatePublish,
  validateReportExploitation,
  validateSetModelRelease,
  validateSetPartyStatus,
  validateTriage,
  type CaseData,
  type PendingCaseEvent,
} from './rules';
import { ClearinghouseCase } from './state';
import { FAILURES } from '../shared/failures';
import type { OutboxActivities } from '../shared/outbox';

/** The activities this workflow calls (registered by `createActivities`). */
export type CaseWorkflowActivities = OutboxActivities & Pick<CaseActivities, 'linkDuplicateCase' | 'currentModelReleases'>;

const { currentModelReleases } = proxyActivities<CaseWorkflowActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
const { linkDuplicateCase } = proxyActivities<CaseWorkflowActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
});

/**
 * One clearinghouse case, id `case/<fingerprint>`. Reports from several agencies about the same vulnerability land
 * here (update-with-start); operators triage, notify parties, track remediation and publish; the embargo, the
 * disclosure deadline and remediation due dates run as timers, and every change goes out as a thin event.
 */
export async function clearinghouseCaseWorkflow(input: CaseWorkflowInput): Promise<CaseView> {
  const caseId = workflowInfo().workflowId;
  if (!isCaseId(caseId) || input.caseId !== caseId) {
    throw ApplicationFailure.create({ message: 'a case workflow runs under its own case id', type: FAILURES.caseInvalidInput.type, nonRetryable: true });
  }
  const policy = resolvePolicy(input.policy);
  // Cases recorded before the embargo followed release-date changes replay without it.
  const followReleases = patched('clearinghouse-follow-model-releases');
  // Cases recorded before the loop woke on changes made while it awaited the release refresh replay without it.
  const wakeOnChangesDuringRefresh = patched('clearinghouse-wake-on-changes-during-refresh');
  // Since the submission pushes its model's release to the case (declared, else planned), the case no longer polls
  // it; cases recorded before replay with their refresh.
  const pollReleases = !patched('clearinghouse-releases-pushed');
  // Cases recorded before reports' domains offered the case to matching agencies replay without offers.
  const kase = new ClearinghouseCase(caseId, policy, { offersByDomain: patched(CASE_DOMAIN_OFFERS_PATCH) });

  setHandler(caseStateQuery, () => kase.view());
  setHandler(reportCaseUpdate, (report) => kase.report(report), { validator: (report) => kase.validateReport(report) });

  /** Wires a command that returns the case view: its checks as the validator, its rule as the handler. */
  const command = <Input>(
    update: UpdateDefinition<CaseView, [Input]>,
    check: (data: CaseData, policy: CasePolicy, input: Input) => void,
    rule: (data: CaseData, policy: CasePolicy, input: Input, now: string) => PendingCaseEvent[],
  ): void =>
    setHandler(update, (input) => kase.apply((data, p, now) => rule(data, p, input, now)), {
      validator: (input) => kase.validate((data, p) => check(data, p, input)),
    });

  command(triageCaseUpdate, (data, _p, triage) => validateTriage(data, triage), applyTriage);
  command(addCasePartyUpdate, (data, _p, party) => validateAddParty(data, party), applyAddParty);
  command(setPartyStatusUpdate, (data, _p, change) => validateSetPartyStatus(data, change), applySetPartyStatus);
  command(reportExploitationUpdate, (data, _p, report) => validateReportExploitation(data, report), applyReportExploitation);
  command(
    markRemediatingUpdate,
    (data, _p, change) => validateMarkRemediating(data, change),
    (data, p, _change, now) => applyMarkRemediating(data, p, now),
  );
  command(
    publishCaseUpdate,
    (data, _p, publication) => validatePublish(data, publication, Date.now()),
    // Cases that published before the advisory-published event existed replay without it.
    (data, p, publication, now) => applyPublish(data, p, publication, now, patched(CASE_ADVISORY_EVENT_PATCH)),
  );
  command(closeCaseUpdate, (data, _p, close) => validateClose(data, close), applyClose);
  setHandler(
    markDuplicateUpdate,
    async (mark) => {
      const link = kase.startLinking();
      try {
        // The primary takes this case's reports first, so no reporter is lost if the link fails.
        await linkDuplicateCase({ primaryCaseId: mark.primaryCaseId, link });
      } finally {
        kase.linked();
      }
      return kase.markDuplicate(mark);
    },
    { validator: (mark) => kase.validateMarkDuplicate(mark) },
  );
  command(linkDuplicateUpdate, validateLinkDuplicate, applyLinkDuplicate);
  command(
    setModelReleaseUpdate,
    (data, _p, release) => validateSetModelRelease(data, release),
    (data, _p, release, now) => applySetModelRelease(data, release, now),
  );

  // Events leave in sequence order, one at a time, whichever handler produced them.
  void kase.outbox.keepSending((err, event) => {
    log.warn('case event not published; retrying', { caseId, sequence: event.sequence, error: (err as Error).name });
    return sleep('1 minute');
  });

  // While under embargo the case re-reads its models' release dates: periodically (a date moved earlier, a release
  // declared early) and right before lifting (a date moved later).
  const refreshReleases = async (): Promise<void> => {
    const submissionIds = kase.startReleaseRefresh();
    if (submissionIds.length === 0) return;
    try {
      kase.applyReleases(await currentModelReleases(submissionIds));
    } catch (err) {
      log.warn('model release dates not refreshed', { caseId, error: (err as Error).name });
    }
  };

  for (;;) {
    // Taken before anything awaits, so a report that joins while the refresh is in flight wakes the loop again.
    const seenAtTop = kase.version;
    kase.syncSearchAttributes();
    let now = Date.now();
    if (kase.ended(now)) break;
    let alarms = kase.alarms();
    const embargoing = followReleases && pollReleases && kase.embargoing(alarms);
    const refreshDueAt = kase.releaseRefreshDueAt();
    if (embargoing && (now >= refreshDueAt || (kase.embargoLiftDue(alarms, now) && now - kase.releasesReadAt > 60_000))) {
      await refreshReleases();
      now = Date.now();
      alarms = kase.alarms();
    }
    if (kase.fireDue(alarms, now)) continue;
    let next = kase.nextAlarmAt(alarms);
    if (embargoing) next = Math.min(next ?? refreshDueAt, kase.releaseRefreshDueAt());
    const seen = wakeOnChangesDuringRefresh ? seenAtTop : kase.version;
    if (next === undefined) await condition(() => kase.version !== seen);
    else await condition(() => kase.version !== seen, Math.max(1, next - now));
  }

  await condition(() => kase.idle && allHandlersFinished());
  log.info('case ended', { caseId, state: kase.data.state });
  return kase.view();
}
