import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  CASE_EVENT_SOURCE,
  CASE_FAILURES,
  CASE_KIND,
  caseStateQuery,
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
  type CaseEventMap,
  type CaseReportResult,
  type CaseStatusEvent,
  type CaseView,
  type CaseWorkflowInput,
  type LinkDuplicateInput,
} from './contract';
import {
  DAY_MS,
  HOUR_MS,
  applyClose,
  applyLinkDuplicate,
  applyModelReleases,
  applyMarkDuplicate,
  applyMarkRemediating,
  applyPublish,
  applyReport,
  applyReportExploitation,
  applySetModelRelease,
  applySetPartyStatus,
  applyTriage,
  caseAlarms,
  caseView,
  dueAlarms,
  isLive,
  newCase,
  nextAlarmAt,
  resolvePolicy,
  trackedSubmissions,
  validateClose,
  validateLinkDuplicate,
  validateMarkDuplicate,
  validateMarkRemediating,
  validatePublish,
  validateReport,
  validateReportExploitation,
  validateSetModelRelease,
  validateSetPartyStatus,
  validateTriage,
  type PendingCaseEvent,
} from './rules';
import { Outbox } from '../shared/outbox';
import { SA } from '../shared/search-attributes';

/** The activities this workflow calls (registered by `createActivities`). */
export interface CaseWorkflowActivities {
  publishEvent(stream: 'clearinghouse', event: CaseStatusEvent): Promise<void>;
  linkDuplicateCase(input: { primaryCaseId: string; link: LinkDuplicateInput }): Promise<void>;
  currentModelReleases(submissionIds: string[]): Promise<Array<{ submissionId: string; releaseAt: string }>>;
}

const { currentModelReleases } = proxyActivities<CaseWorkflowActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
const { linkDuplicateCase } = proxyActivities<CaseWorkflowActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
});

const nowIso = (): string => new Date(Date.now()).toISOString();

/**
 * One clearinghouse case, id `case/<fingerprint>`. Reports from several agencies about the same vulnerability land
 * here (update-with-start); operators triage, notify parties, track remediation and publish; the embargo, the
 * disclosure deadline and remediation due dates run as timers, and every change goes out as a thin event.
 */
export async function clearinghouseCaseWorkflow(input: CaseWorkflowInput): Promise<CaseView> {
  const caseId = workflowInfo().workflowId;
  if (!isCaseId(caseId) || input.caseId !== caseId) {
    throw ApplicationFailure.create({ message: 'a case workflow runs under its own case id', type: CASE_FAILURES.invalidInput, nonRetryable: true });
  }
  const policy = resolvePolicy(input.policy);
  // Cases recorded before the embargo followed release-date changes replay without it.
  const followReleases = patched('clearinghouse-follow-model-releases');
  // Cases recorded before the loop woke on changes made while it awaited the release refresh replay without it.
  const wakeOnChangesDuringRefresh = patched('clearinghouse-wake-on-changes-during-refresh');
  const data = newCase(caseId, nowIso());
  const fired = new Set<string>();
  const outbox = new Outbox<CaseEventMap>({ stream: 'clearinghouse', source: CASE_EVENT_SOURCE, subject: caseId });
  let version = 0;
  let linking = false;
  let duplicateUntil: number | undefined;

  const emit = (events: PendingCaseEvent[]): void => {
    const time = nowIso();
    for (const event of events) outbox.publish(event.type, event.data, time);
    version += 1;
  };
  const notWhileLinking = (): void => {
    if (linking) {
      throw ApplicationFailure.create({ message: 'the case is being linked to its primary; retry shortly', type: CASE_FAILURES.invalidTransition, nonRetryable: true });
    }
  };
  const view = (): CaseView => caseView(data, policy, Date.now());

  setHandler(caseStateQuery, view);

  setHandler(
    reportCaseUpdate,
    (report): CaseReportResult => {
      const { outcome, events } = applyReport(data, policy, report, nowIso());
      emit(events);
      return {
        caseId,
        outcome,
        state: data.state,
        reporterCount: data.reporters.length,
        ...(outcome === 'REDIRECTED' && data.duplicateOf ? { primaryCaseId: data.duplicateOf } : {}),
      };
    },
    {
      validator: (report) => {
        notWhileLinking();
        validateReport(data, policy, report);
      },
    },
  );

  setHandler(
    triageCaseUpdate,
    (triage) => {
      emit(applyTriage(data, policy, triage, nowIso()));
      return view();
    },
    {
      validator: (triage) => {
        notWhileLinking();
        validateTriage(data, triage);
      },
    },
  );

  setHandler(
    setPartyStatusUpdate,
    (change) => {
      emit(applySetPartyStatus(data, policy, change, nowIso()));
      return view();
    },
    {
      validator: (change) => {
        notWhileLinking();
        validateSetPartyStatus(data, change);
      },
    },
  );

  setHandler(
    reportExploitationUpdate,
    (report) => {
      emit(applyReportExploitation(data, policy, report, nowIso()));
      return view();
    },
    {
      validator: (report) => {
        notWhileLinking();
        validateReportExploitation(data, report);
      },
    },
  );

  setHandler(
    markRemediatingUpdate,
    () => {
      emit(applyMarkRemediating(data, policy, nowIso()));
      return view();
    },
    {
      validator: (change) => {
        notWhileLinking();
        validateMarkRemediating(data, change);
      },
    },
  );

  setHandler(
    publishCaseUpdate,
    (publication) => {
      emit(applyPublish(data, policy, publication, nowIso()));
      return view();
    },
    {
      validator: (publication) => {
        notWhileLinking();
        validatePublish(data, publication, Date.now());
      },
    },
  );

  setHandler(
    closeCaseUpdate,
    (close) => {
      emit(applyClose(data, policy, close, nowIso()));
      return view();
    },
    {
      validator: (close) => {
        notWhileLinking();
        validateClose(data, close);
      },
    },
  );

  setHandler(
    markDuplicateUpdate,
    async (mark) => {
      linking = true;
      try {
        // The primary takes this case's reports first, so no reporter is lost if the link fails.
        await linkDuplicateCase({
          primaryCaseId: mark.primaryCaseId,
          link: { actor: { kind: 'system', component: 'clearinghouse' }, duplicateCaseId: caseId, reports: data.reports },
        });
      } finally {
        linking = false;
      }
      if (!isLive(data.state)) throw ApplicationFailure.create({ message: `the case became ${data.state}`, type: CASE_FAILURES.invalidTransition, nonRetryable: true });
      emit(applyMarkDuplicate(data, policy, mark, nowIso()));
      duplicateUntil = Date.now() + policy.duplicateRetentionDays * DAY_MS;
      return view();
    },
    {
      validator: (mark) => {
        notWhileLinking();
        validateMarkDuplicate(data, mark);
      },
    },
  );

  setHandler(
    linkDuplicateUpdate,
    (link) => {
      emit(applyLinkDuplicate(data, policy, link, nowIso()));
      return view();
    },
    {
      validator: (link) => {
        notWhileLinking();
        validateLinkDuplicate(data, policy, link);
      },
    },
  );

  setHandler(
    setModelReleaseUpdate,
    (release) => {
      emit(applySetModelRelease(data, release, nowIso()));
      return view();
    },
    {
      validator: (release) => {
        notWhileLinking();
        validateSetModelRelease(data, release);
      },
    },
  );

  // Events leave in sequence order, one at a time, whichever handler produced them.
  void outbox.keepSending((err, event) => {
    log.warn('case event not published; retrying', { caseId, sequence: event.sequence, error: (err as Error).name });
    return sleep('1 minute');
  });

  // openOrJoinCase sets the search attributes at start; a case started without them (tests) keeps none.
  const indexed = workflowInfo().typedSearchAttributes.get(SA.kind) !== undefined;
  let shownAttributes = '';
  const syncSearchAttributes = (): void => {
    if (!indexed) return;
    const attributes = {
      kind: CASE_KIND,
      status: data.state,
      agencies: [...data.reporters].sort(),
      parties: data.parties.map((p) => p.partyId).sort(),
      severity: data.severity ?? '',
    };
    const key = JSON.stringify(attributes);
    if (key === shownAttributes) return;
    shownAttributes = key;
    upsertSearchAttributes([
      { key: SA.kind, value: attributes.kind },
      { key: SA.status, value: attributes.status },
      { key: SA.agencies, value: attributes.agencies },
      { key: SA.caseParties, value: attributes.parties },
      ...(data.severity ? [{ key: SA.severity, value: data.severity }] : []),
    ]);
  };

  // While under embargo the case re-reads its models' release dates: periodically (a date moved earlier, a release
  // declared early) and right before lifting (a date moved later).
  let releasesReadAt = Number.NEGATIVE_INFINITY;
  const refreshReleases = async (): Promise<void> => {
    releasesReadAt = Date.now();
    const submissionIds = trackedSubmissions(data);
    if (submissionIds.length === 0) return;
    try {
      if (applyModelReleases(data, await currentModelReleases(submissionIds), nowIso())) version += 1;
    } catch (err) {
      log.warn('model release dates not refreshed', { caseId, error: (err as Error).name });
    }
  };

  for (;;) {
    // Taken before anything awaits, so a report that joins while the refresh is in flight wakes the loop again.
    const seenAtTop = version;
    syncSearchAttributes();
    let now = Date.now();
    if (data.state === 'CLOSED') break;
    if (data.state === 'DUPLICATE' && duplicateUntil !== undefined && now >= duplicateUntil) break;
    let alarms = caseAlarms(data, policy);
    const embargoing = followReleases && alarms.some((a) => a.key.startsWith('embargo:') && !fired.has(a.key));
    const refreshDueAt = releasesReadAt + policy.releaseRefreshHours * HOUR_MS;
    const liftDue = alarms.some((a) => a.key.startsWith('embargo:') && !fired.has(a.key) && a.at <= now);
    if (embargoing && (now >= refreshDueAt || (liftDue && now - releasesReadAt > 60_000))) {
      await refreshReleases();
      now = Date.now();
      alarms = caseAlarms(data, policy);
    }
    const { fire, spent } = dueAlarms(alarms, fired, now);
    for (const key of spent) fired.add(key);
    if (fire.length > 0) {
      emit(fire.map((a) => a.event));
      continue;
    }
    let next = nextAlarmAt(alarms, fired);
    if (data.state === 'DUPLICATE' && duplicateUntil !== undefined) next = Math.min(next ?? duplicateUntil, duplicateUntil);
    if (embargoing) next = Math.min(next ?? refreshDueAt, releasesReadAt + policy.releaseRefreshHours * HOUR_MS);
    const seen = wakeOnChangesDuringRefresh ? seenAtTop : version;
    if (next === undefined) await condition(() => version !== seen);
    else await condition(() => version !== seen, Math.max(1, next - now));
  }

  await condition(() => outbox.idle && allHandlersFinished());
  log.info('case ended', { caseId, state: data.state });
  return view();
}
