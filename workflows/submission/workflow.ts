import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  log,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { agencyAssessmentWorkflow } from '../assessment/workflow';
import {
  DAY_MS,
  FAILURE_TYPES,
  FINDING_RESPONSES,
  SUBMISSION_EVENT_SOURCE,
  SUBMISSION_EVENT_TYPES,
  acknowledgeUpdate,
  agencyReportSignal,
  agencyWorkflowId,
  changeReleaseDateUpdate,
  clocksQuery,
  declareReleasedUpdate,
  endAssessmentSignal,
  findingsSummaryQuery,
  infoResponseSignal,
  respondToFindingUpdate,
  respondToInfoRequestUpdate,
  resubmitUpdate,
  submissionStateQuery,
  windowChangedSignal,
  withdrawUpdate,
  type AccessGrantRef,
  type AccessWindowChangedData,
  type AgencyProgress,
  type AgencyReport,
  type AgencyStatus,
  type AssessmentEndReason,
  type AssessmentStatusChangedData,
  type ClearanceIssuedData,
  type ClearanceNotice,
  type ClocksView,
  type ConsolidationTrigger,
  type EndReason,
  type FindingRespondedData,
  type FindingSubmittedData,
  type FindingSummary,
  type InfoRequestSummary,
  type ReviewClock,
  type ScreeningIssue,
  type SubmissionDetails,
  type SubmissionEventMap,
  type SubmissionInput,
  type SubmissionOutcome,
  type SubmissionStatus,
  type SubmissionStatusChangedData,
  type SubmissionView,
} from './contract';
import {
  canTransitionSubmission,
  clockTotals,
  computeAccessWindow,
  deriveClearanceNotice,
  isAgencyTerminal,
  iso,
  msToDays,
  parseIsoTime,
  resolveSettings,
  screenSubmission,
  summarizeFindings,
  validateReleaseDateChange,
  vendorCommandRefusal,
  type Refusal,
  type VendorCommand,
} from './rules';
import { Outbox } from '../shared/outbox';
import { SA } from '../shared/search-attributes';

const { grantAccess } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10 },
});

// Revocation must get through: retried without limit.
const { revokeAccess } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '5 minutes' },
});

function reject(refusal: Refusal | undefined): void {
  if (refusal) throw ApplicationFailure.nonRetryable(refusal.reason, refusal.type);
}

interface AgencyState {
  status: AgencyStatus;
  updatedAt: string;
  clock: ReviewClock;
  findingsCount: number;
}

function detailsOf(input: SubmissionDetails): SubmissionDetails {
  const { model, plannedReleaseAt, accessMethod, contacts, requestedAgencies, accessStartAt } = input;
  return { model, plannedReleaseAt, accessMethod, contacts, requestedAgencies, ...(accessStartAt !== undefined ? { accessStartAt } : {}) };
}

/**
 * One vendor submission (`submission/<submissionId>`) from receipt to close or withdrawal. It is the event aggregate:
 * every change, its own and its agency children's, is published here with one strictly increasing sequence.
 * Preflight is advisory: nothing here approves, blocks or holds a release.
 */
export async function submissionWorkflow(input: SubmissionInput): Promise<SubmissionOutcome> {
  const { submissionId, vendorId } = input;
  const settings = resolveSettings(input.settings);

  let details = detailsOf(input);
  let status: SubmissionStatus = 'RECEIVED';
  const submittedAt = input.submittedAt ?? iso(Date.now());
  let plannedReleaseMs = parseIsoTime(details.plannedReleaseAt) ?? Number.NaN;
  let releaseVersion = 0;
  let returnIssues: ScreeningIssue[] = [];
  let resubmitBy: string | undefined;
  let resubmission: SubmissionDetails | undefined;
  let accessStartMs: number | undefined;
  let windowClosesMs: number | undefined;
  let windowOpen = false;
  let windowVersion = 0;
  const agencies = new Map<string, AgencyState>();
  const findings: FindingSummary[] = [];
  const findingNotes = new Map<string, string>();
  const infoRequests: InfoRequestSummary[] = [];
  const activeGrants: AccessGrantRef[] = [];
  const revokedGrantIds: string[] = [];
  const children = new Map<string, ChildWorkflowHandle<typeof agencyAssessmentWorkflow>>();
  let withdrawal: { reason?: string } | undefined;
  let release: { releasedAtMs: number } | undefined;
  let notice: ClearanceNotice | undefined;
  let noticeIssuedAt: string | undefined;
  let trigger: ConsolidationTrigger | undefined;
  let acknowledgedAt: string | undefined;
  let releasedAt: string | undefined;
  let endedAt: string | undefined;
  let endReason: EndReason | undefined;

  // ---- publishing: each event goes out as soon as the one before it is out
  const outbox = new Outbox<SubmissionEventMap>({ stream: 'submission', source: SUBMISSION_EVENT_SOURCE, subject: submissionId });
  const publish = <Type extends keyof SubmissionEventMap>(type: Type, data: SubmissionEventMap[Type]): void => {
    outbox.publish(type, data);
    void outbox.flush();
  };

  const setStatus = (to: SubmissionStatus, reason?: EndReason): void => {
    if (!canTransitionSubmission(status, to)) {
      // A bug, not a business outcome: failing the task (not the workflow) lets a fixed deployment continue.
      throw new Error(`illegal submission transition ${status} → ${to}`);
    }
    const previousStatus = status;
    status = to;
    upsertSearchAttributes([{ key: SA.status, value: to }]);
    const data: SubmissionStatusChangedData = { submissionId, vendorId, status: to, previousStatus, at: iso(Date.now()), ...(reason ? { endReason: reason } : {}) };
    publish(SUBMISSION_EVENT_TYPES.submissionStatusChanged, data);
  };

  // Screening may return a submission whose agency list is malformed; everything else reads it through here.
  const requested = (): string[] => (Array.isArray(details.requestedAgencies) ? details.requestedAgencies : []);

  const agencyList = (): AgencyProgress[] =>
    requested().map((agencyId) => {
      const a = agencies.get(agencyId);
      return { agencyId, status: a?.status ?? 'INVITED', updatedAt: a?.updatedAt ?? submittedAt, findingsCount: a?.findingsCount ?? 0 };
    });

  const allAgenciesTerminal = (): boolean => requested().every((a) => isAgencyTerminal(agencies.get(a)?.status ?? 'INVITED'));

  const currentNotice = (): ClearanceNotice => deriveClearanceNotice(agencyList().map((a) => a.status), findings);

  const view = (): SubmissionView => ({
    submissionId,
    vendorId,
    status,
    model: { ...details.model },
    plannedReleaseAt: iso(plannedReleaseMs),
    submittedAt,
    ...(accessStartMs !== undefined && windowClosesMs !== undefined ? { window: { opensAt: iso(accessStartMs), closesAt: iso(windowClosesMs) } } : {}),
    agencies: agencies.size > 0 ? agencyList() : [],
    returnIssues: [...returnIssues],
    ...(resubmitBy ? { resubmitBy } : {}),
    openInfoRequests: infoRequests.filter((r) => !r.respondedAt).map((r) => ({ ...r })),
    ...(notice ? { notice } : {}),
    ...(noticeIssuedAt ? { noticeIssuedAt } : {}),
    ...(trigger ? { consolidationTrigger: trigger } : {}),
    ...(acknowledgedAt ? { acknowledgedAt } : {}),
    ...(releasedAt ? { releasedAt } : {}),
    ...(endedAt ? { endedAt } : {}),
    ...(endReason ? { endReason } : {}),
    activeGrants: activeGrants.map((g) => ({ ...g })),
    revokedGrantIds: [...revokedGrantIds],
  });

  // ---- queries
  setHandler(submissionStateQuery, view);
  setHandler(findingsSummaryQuery, () => summarizeFindings(findings));
  setHandler(clocksQuery, (): ClocksView => {
    // Workflow time stands still between tasks; a read-only query may look at the real clock (never earlier).
    const now = Math.max(Date.now(), workflowInfo().unsafe.now());
    const window =
      accessStartMs !== undefined && windowClosesMs !== undefined
        ? {
            opensAt: iso(accessStartMs),
            closesAt: iso(windowClosesMs),
            remainingMs: windowOpen ? Math.max(0, windowClosesMs - now) : 0,
            remainingDays: windowOpen ? msToDays(Math.max(0, windowClosesMs - now)) : 0,
            totalDays: msToDays(windowClosesMs - accessStartMs),
          }
        : undefined;
    return {
      now: iso(now),
      ...(window ? { window } : {}),
      agencies: [...agencies.entries()].map(([agencyId, a]) => {
        const t = clockTotals(a.clock, now);
        return {
          agencyId,
          status: a.status,
          activeMs: t.activeMs,
          onHoldMs: t.onHoldMs,
          activeDays: msToDays(t.activeMs),
          onHoldDays: msToDays(t.onHoldMs),
          onHold: t.onHold,
        };
      }),
    };
  });

  // ---- vendor updates
  const guard = (command: VendorCommand): void => {
    reject(vendorCommandRefusal(command, status));
    if (withdrawal) reject({ type: FAILURE_TYPES.notAllowedInState, reason: 'The submission is being withdrawn.' });
    if (release && command !== 'respondToFinding' && command !== 'acknowledge') {
      reject({ type: FAILURE_TYPES.notAllowedInState, reason: 'The release has been declared; the submission is being consolidated.' });
    }
  };

  setHandler(
    resubmitUpdate,
    async (corrected) => {
      resubmission = detailsOf(corrected);
      await condition(() => resubmission === undefined && status !== 'SCREENING');
      return { status, issues: status === 'RETURNED' ? [...returnIssues] : [] };
    },
    {
      validator: (corrected) => {
        guard('resubmit');
        if (resubmission) reject({ type: FAILURE_TYPES.notAllowedInState, reason: 'A resubmission is already being screened.' });
        if (!corrected || typeof corrected !== 'object') reject({ type: FAILURE_TYPES.invalidInput, reason: 'The resubmission is empty.' });
      },
    },
  );

  setHandler(
    changeReleaseDateUpdate,
    ({ plannedReleaseAt }) => {
      const checked = validateReleaseDateChange({ nowMs: Date.now(), status, accessStartMs, windowOpen }, plannedReleaseAt);
      if (!checked.ok) throw ApplicationFailure.nonRetryable(checked.refusal.reason, checked.refusal.type);
      plannedReleaseMs = checked.releaseMs;
      details = { ...details, plannedReleaseAt: iso(plannedReleaseMs) };
      releaseVersion += 1;
      upsertSearchAttributes([{ key: SA.releaseAt, value: new Date(plannedReleaseMs) }]);
      if (checked.windowClosesAtMs !== undefined && checked.windowClosesAtMs !== windowClosesMs) {
        windowClosesMs = checked.windowClosesAtMs;
        windowVersion += 1;
        publishWindow();
        const closesAt = iso(windowClosesMs);
        for (const child of children.values()) void child.signal(windowChangedSignal, { windowClosesAt: closesAt }).catch(() => undefined);
      }
      return { plannedReleaseAt: iso(plannedReleaseMs), ...(windowClosesMs !== undefined ? { windowClosesAt: iso(windowClosesMs) } : {}) };
    },
    {
      validator: (i) => {
        guard('changeReleaseDate');
        const checked = validateReleaseDateChange({ nowMs: Date.now(), status, accessStartMs, windowOpen }, i?.plannedReleaseAt);
        if (!checked.ok) reject(checked.refusal);
      },
    },
  );

  setHandler(
    respondToInfoRequestUpdate,
    async ({ requestId, response }) => {
      const request = infoRequests.find((r) => r.requestId === requestId)!;
      const respondedAt = iso(Date.now());
      request.respondedAt = respondedAt;
      await children
        .get(request.agencyId)
        ?.signal(infoResponseSignal, { requestId, response, respondedAt })
        .catch(() => log.warn('info response reached an assessment that had already ended', { submissionId, agencyId: request.agencyId }));
      return { requestId, respondedAt };
    },
    {
      validator: (i) => {
        guard('respondToInfoRequest');
        const request = infoRequests.find((r) => r.requestId === i?.requestId);
        if (!request) reject({ type: FAILURE_TYPES.unknownReference, reason: `There is no information request "${String(i?.requestId)}" on this submission.` });
        if (request?.respondedAt) reject({ type: FAILURE_TYPES.notAllowedInState, reason: `Information request "${i.requestId}" was already answered.` });
        if (request && isAgencyTerminal(agencies.get(request.agencyId)?.status ?? 'INVITED')) {
          reject({ type: FAILURE_TYPES.notAllowedInState, reason: `Agency "${request.agencyId}" has already ended its assessment.` });
        }
        if (typeof i.response !== 'string' || !i.response.trim()) reject({ type: FAILURE_TYPES.invalidInput, reason: 'The response is empty.' });
      },
    },
  );

  setHandler(
    respondToFindingUpdate,
    ({ findingId, response, note }) => {
      const finding = findings.find((f) => f.findingId === findingId)!;
      finding.response = response;
      finding.respondedAt = iso(Date.now());
      if (note) findingNotes.set(findingId, note);
      const data: FindingRespondedData = { submissionId, vendorId, agencyId: finding.agencyId, findingId, response, at: finding.respondedAt };
      publish(SUBMISSION_EVENT_TYPES.findingResponded, data);
      // The notice follows the vendor's responses once issued (e.g. a HIGH finding reported MITIGATED).
      if (notice && currentNotice() !== notice) issueNotice(trigger ?? 'ALL_AGENCIES_DONE');
      return { findingId, response };
    },
    {
      validator: (i) => {
        reject(vendorCommandRefusal('respondToFinding', status));
        if (!findings.some((f) => f.findingId === i?.findingId)) {
          reject({ type: FAILURE_TYPES.unknownReference, reason: `There is no finding "${String(i?.findingId)}" on this submission.` });
        }
        if (!FINDING_RESPONSES.includes(i.response)) {
          reject({ type: FAILURE_TYPES.invalidInput, reason: `The response must be one of ${FINDING_RESPONSES.join(', ')}.` });
        }
      },
    },
  );

  setHandler(
    acknowledgeUpdate,
    (_input) => {
      acknowledgedAt ??= iso(Date.now());
      return { acknowledgedAt };
    },
    { validator: (_input) => reject(vendorCommandRefusal('acknowledge', status)) },
  );

  setHandler(
    withdrawUpdate,
    async ({ reason }) => {
      withdrawal = reason ? { reason } : {};
      await condition(() => status === 'WITHDRAWN');
      return { status: 'WITHDRAWN' as const, withdrawnAt: endedAt! };
    },
    { validator: (_input) => guard('withdraw') },
  );

  setHandler(
    declareReleasedUpdate,
    async ({ releasedAt: at }) => {
      release = { releasedAtMs: at ? parseIsoTime(at)! : Date.now() };
      await condition(() => status === 'RELEASED');
      return { status: 'RELEASED' as const, releasedAt: releasedAt!, notice: notice ?? 'NOT_ASSESSED' };
    },
    {
      validator: (i) => {
        guard('declareReleased');
        if (i?.releasedAt !== undefined && parseIsoTime(i.releasedAt) === undefined) {
          reject({ type: FAILURE_TYPES.invalidInput, reason: 'releasedAt must be an ISO-8601 date-time with a time zone.' });
        }
      },
    },
  );

  // ---- reports from agency children
  setHandler(agencyReportSignal, (r: AgencyReport) => {
    const a = agencies.get(r.agencyId);
    if (!a) return;
    switch (r.kind) {
      case 'STATUS': {
        a.status = r.status;
        a.updatedAt = r.at;
        a.clock = r.clock;
        if (r.infoRequestId && r.status === 'INFO_REQUESTED' && !infoRequests.some((q) => q.requestId === r.infoRequestId)) {
          infoRequests.push({ requestId: r.infoRequestId, agencyId: r.agencyId, requestedAt: r.at });
        }
        const data: AssessmentStatusChangedData = {
          submissionId,
          vendorId,
          agencyId: r.agencyId,
          status: r.status,
          previousStatus: r.previousStatus,
          at: r.at,
          ...(r.infoRequestId ? { infoRequestId: r.infoRequestId } : {}),
        };
        publish(SUBMISSION_EVENT_TYPES.assessmentStatusChanged, data);
        break;
      }
      case 'FINDING': {
        if (findings.some((f) => f.findingId === r.finding.findingId)) return;
        findings.push({ ...r.finding });
        a.findingsCount += 1;
        const data: FindingSubmittedData = {
          submissionId,
          vendorId,
          agencyId: r.agencyId,
          findingId: r.finding.findingId,
          severity: r.finding.severity,
          thirdPartyVulnerability: r.finding.thirdPartyVulnerability,
          at: r.at,
        };
        publish(SUBMISSION_EVENT_TYPES.findingSubmitted, data);
        break;
      }
      case 'REMINDER':
        publish(SUBMISSION_EVENT_TYPES.assessmentReminder, { submissionId, vendorId, agencyId: r.agencyId, deadline: r.deadline, hoursBefore: r.hoursBefore, at: r.at });
        break;
      case 'DEADLINE_MISSED':
        publish(SUBMISSION_EVENT_TYPES.assessmentDeadlineMissed, { submissionId, vendorId, agencyId: r.agencyId, deadline: r.deadline, status: r.status, at: r.at });
        break;
    }
  });

  function publishWindow(): void {
    if (accessStartMs === undefined || windowClosesMs === undefined) return;
    const data: AccessWindowChangedData = {
      submissionId,
      vendorId,
      windowOpensAt: iso(accessStartMs),
      windowClosesAt: iso(windowClosesMs),
      plannedReleaseAt: iso(plannedReleaseMs),
    };
    publish(SUBMISSION_EVENT_TYPES.accessWindowChanged, data);
  }

  function issueNotice(why: ConsolidationTrigger): void {
    notice = currentNotice();
    noticeIssuedAt = iso(Date.now());
    trigger = why;
    const data: ClearanceIssuedData = {
      submissionId,
      vendorId,
      notice,
      trigger: why,
      agencies: agencyList().map(({ agencyId, status: s }) => ({ agencyId, status: s })),
      at: noticeIssuedAt,
    };
    publish(SUBMISSION_EVENT_TYPES.clearanceIssued, data);
  }

  // ---- compensation and endings
  let grantSeq = 0;
  async function grantFor(agencyId: string): Promise<void> {
    grantSeq += 1;
    const grant = await grantAccess({
      grantId: `${submissionId}.${agencyId}.g${grantSeq}`,
      submissionId,
      agencyId,
      expiresAt: iso(windowClosesMs!),
    });
    activeGrants.push(grant);
  }

  /** Revokes every live grant; runs even while the workflow is being cancelled. */
  async function revokeAll(): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      while (activeGrants.length > 0) {
        const grant = activeGrants[0]!;
        await revokeAccess({ grantId: grant.grantId, submissionId, agencyId: grant.agencyId });
        activeGrants.shift();
        revokedGrantIds.push(grant.grantId);
      }
    });
  }

  async function endChildren(reason: AssessmentEndReason): Promise<void> {
    for (const [agencyId, child] of children) {
      if (isAgencyTerminal(agencies.get(agencyId)?.status ?? 'INVITED')) continue;
      // The child may have ended on its own deadline at this same instant; its result below is what counts.
      await child.signal(endAssessmentSignal, { reason }).catch(() => undefined);
    }
    const results = await Promise.all([...children.values()].map((c) => c.result()));
    for (const r of results) {
      const a = agencies.get(r.agencyId);
      if (a && a.status !== r.status) {
        a.status = r.status;
        a.updatedAt = r.endedAt;
      }
    }
  }

  async function finish(to: 'CLOSED' | 'WITHDRAWN', reason: EndReason): Promise<SubmissionOutcome> {
    await revokeAll();
    windowOpen = false;
    endedAt = iso(Date.now());
    endReason = reason;
    setStatus(to, reason);
    await outbox.flush();
    await condition(allHandlersFinished);
    return {
      submissionId,
      status: to,
      endReason: reason,
      ...(notice ? { notice } : {}),
      agencies: agencyList(),
      revokedGrantIds: [...revokedGrantIds],
    };
  }

  async function withdraw(reason: EndReason): Promise<SubmissionOutcome> {
    await endChildren('SUBMISSION_WITHDRAWN');
    return finish('WITHDRAWN', reason);
  }

  /** Post-clearance: wait for a declared release (or withdrawal), then keep taking responses until closing. */
  async function afterClearance(): Promise<SubmissionOutcome> {
    for (;;) {
      if (withdrawal) return withdraw('VENDOR_WITHDREW');
      if (release) break;
      const seen = releaseVersion;
      const deadline = plannedReleaseMs + settings.releaseDeclarationGraceDays * DAY_MS;
      const woke = await condition(() => withdrawal !== undefined || release !== undefined || releaseVersion !== seen, Math.max(1, deadline - Date.now()));
      if (!woke) return finish('CLOSED', 'RELEASE_NOT_DECLARED');
    }
    releasedAt = iso(release!.releasedAtMs);
    setStatus('RELEASED');
    await condition(() => false, Math.max(1, settings.closeAfterReleaseDays * DAY_MS));
    return finish('CLOSED', 'RELEASED_AND_CLOSED');
  }

  /** Consolidates partial or full results and issues the advisory notice. */
  async function consolidate(why: ConsolidationTrigger): Promise<void> {
    windowOpen = false;
    setStatus('CONSOLIDATING');
    await revokeAll();
    issueNotice(why);
    setStatus('CLEARANCE_ISSUED');
  }

  // ---- the lifecycle
  upsertSearchAttributes([
    { key: SA.kind, value: 'submission' },
    { key: SA.status, value: status },
    { key: SA.vendor, value: vendorId },
    { key: SA.submissionId, value: submissionId },
    { key: SA.agencies, value: [...requested()] },
    ...(Number.isFinite(plannedReleaseMs) ? [{ key: SA.releaseAt, value: new Date(plannedReleaseMs) }] : []),
  ]);
  publish(SUBMISSION_EVENT_TYPES.submissionStatusChanged, {
    submissionId,
    vendorId,
    status,
    previousStatus: null,
    at: iso(Date.now()),
  } satisfies SubmissionStatusChangedData);

  try {
    // Screening, with RETURNED ⇄ resubmit until it passes or the resubmission deadline passes.
    for (;;) {
      setStatus('SCREENING');
      returnIssues = screenSubmission(details, Date.now());
      resubmitBy = undefined;
      if (returnIssues.length === 0) break;
      resubmitBy = iso(Date.now() + settings.resubmissionDays * DAY_MS);
      setStatus('RETURNED');
      const resubmitted = await condition(
        () => resubmission !== undefined || withdrawal !== undefined || release !== undefined,
        Math.max(1, settings.resubmissionDays * DAY_MS),
      );
      if (withdrawal) return await withdraw('VENDOR_WITHDREW');
      if (release) break;
      if (!resubmitted) return await withdraw('NOT_RESUBMITTED');
      details = resubmission!;
      plannedReleaseMs = parseIsoTime(details.plannedReleaseAt) ?? Number.NaN;
      upsertSearchAttributes([
        { key: SA.agencies, value: [...requested()] },
        ...(Number.isFinite(plannedReleaseMs) ? [{ key: SA.releaseAt, value: new Date(plannedReleaseMs) }] : []),
      ]);
      resubmission = undefined;
    }
    if (release) {
      // Released before any assessment: accepted, with nothing assessed.
      issueNotice('RELEASE_DECLARED');
      return await afterClearance();
    }

    // Access provisioning: wait for the vendor's chosen access start, then grant each agency access.
    setStatus('ACCESS_PROVISIONING');
    const startAt = details.accessStartAt !== undefined ? (parseIsoTime(details.accessStartAt) ?? Date.now()) : Date.now();
    if (startAt > Date.now()) {
      await condition(() => withdrawal !== undefined || release !== undefined, startAt - Date.now());
    }
    if (withdrawal) return await withdraw('VENDOR_WITHDREW');
    if (release) {
      await consolidate('RELEASE_DECLARED');
      return await afterClearance();
    }
    accessStartMs = Date.now();
    windowClosesMs = computeAccessWindow(accessStartMs, plannedReleaseMs).closesAtMs;
    windowOpen = true;
    windowVersion += 1;
    publishWindow();
    let grantedForWindow = windowVersion;
    for (const agencyId of details.requestedAgencies) {
      agencies.set(agencyId, { status: 'INVITED', updatedAt: iso(Date.now()), clock: { onHoldMs: 0 }, findingsCount: 0 });
    }
    try {
      for (const agencyId of details.requestedAgencies) await grantFor(agencyId);
    } catch (err) {
      log.error('access provisioning failed; revoking every grant made', { submissionId });
      await revokeAll();
      throw ApplicationFailure.nonRetryable('Access could not be provisioned for every agency; all grants were revoked.', FAILURE_TYPES.accessProvisioningFailed, {
        cause: String(err),
      });
    }
    if (withdrawal) return await withdraw('VENDOR_WITHDREW');
    if (release) {
      await consolidate('RELEASE_DECLARED');
      return await afterClearance();
    }

    // Assessment: one child per agency, in parallel, until all are done, the window closes, or the vendor ends it.
    // The status changes once every child exists, so an agency acting on the event finds its assessment.
    for (const agencyId of details.requestedAgencies) {
      const child = await startChild(agencyAssessmentWorkflow, {
        workflowId: agencyWorkflowId(submissionId, agencyId),
        args: [
          {
            submissionId,
            agencyId,
            vendorId,
            modelVersion: details.model.version,
            invitedAt: iso(Date.now()),
            windowClosesAt: iso(windowClosesMs),
            reminderOffsetsHours: settings.reminderOffsetsHours,
          },
        ],
      });
      children.set(agencyId, child);
    }
    setStatus('UNDER_ASSESSMENT');
    for (const agencyId of details.requestedAgencies) {
      const data: AssessmentStatusChangedData = { submissionId, vendorId, agencyId, status: 'INVITED', previousStatus: null, at: iso(Date.now()) };
      publish(SUBMISSION_EVENT_TYPES.assessmentStatusChanged, data);
    }

    let why: ConsolidationTrigger | undefined;
    while (!why) {
      if (grantedForWindow !== windowVersion) {
        // The window moved: re-issue grants with the new expiry, then revoke the old ones.
        grantedForWindow = windowVersion;
        for (const g of [...activeGrants]) {
          await grantFor(g.agencyId);
          await revokeAccess({ grantId: g.grantId, submissionId, agencyId: g.agencyId });
          activeGrants.splice(activeGrants.indexOf(g), 1);
          revokedGrantIds.push(g.grantId);
        }
        continue;
      }
      const seen = windowVersion;
      const woke = await condition(
        () => allAgenciesTerminal() || withdrawal !== undefined || release !== undefined || windowVersion !== seen,
        Math.max(1, windowClosesMs - Date.now()),
      );
      if (withdrawal) return await withdraw('VENDOR_WITHDREW');
      // Children end themselves at the window close too; when both happen at that instant, the window is the cause.
      if (release) why = 'RELEASE_DECLARED';
      else if (!woke || Date.now() >= windowClosesMs) why = 'WINDOW_CLOSED';
      else if (allAgenciesTerminal()) why = 'ALL_AGENCIES_DONE';
    }
    await endChildren(why === 'RELEASE_DECLARED' ? 'SUBMISSION_RELEASED' : 'WINDOW_CLOSED');
    await consolidate(why);
    return await afterClearance();
  } catch (err) {
    // Any failure: access never outlives the workflow.
    await revokeAll();
    await outbox.flush();
    throw err;
  }
}
