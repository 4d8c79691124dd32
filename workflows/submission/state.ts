import { ApplicationFailure, CancellationScope, condition, log, patched, upsertSearchAttributes } from '@temporalio/workflow';
import {
  SUBMISSION_EVENT_SOURCE,
  SUBMISSION_EVENT_TYPES,
  type ChangeReleaseDateResult,
  type FindingResponseView,
  type MitigationReviewResult,
  type ResubmitInput,
  type ResubmitResult,
  type SubmissionEventMap,
  type SubmissionInput,
  type SubmissionOutcome,
  type SubmissionSettings,
} from './contract';
import {
  canTransitionSubmission,
  clockTotals,
  computeAccessWindow,
  deriveClearanceNotice,
  isAgencyTerminal,
  mitigationReviewRefusal,
  mitigationsAwaitingConfirmation,
  resolveSettings,
  screenSubmission,
  validateReleaseDateChange,
  vendorCommandRefusal,
  type MitigationReviewCommand,
  type Refusal,
  type VendorCommand,
} from './rules';
import { Outbox } from '../shared/outbox';
import { AGENCY_INBOX_EVENT_SOURCE, AGENCY_INBOX_EVENT_TYPES, AGENCY_INBOX_PATCH, type AgencyInboxEventMap } from '../shared/agency-inbox';
import { SA } from '../shared/search-attributes';
import { DAY_MS, iso, msToDays, parseIsoTime } from '../shared/time';
import { type AgencyStatus, type ClearanceNotice, type ConsolidationTrigger, type EndReason, FINDING_RESPONSES, type SubmissionStatus } from '../../wire/enums';
import type {
  AccessGrantRef,
  AgencyProgress,
  ChangeReleaseDateInput,
  ClocksView,
  ConfirmMitigationInput,
  FindingSummary,
  InfoRequestSummary,
  RejectMitigationInput,
  RespondToFindingInput,
  RespondToInfoRequestInput,
  ScreeningIssue,
  SubmissionDetails,
  SubmissionView,
} from '../../wire/submission';
import type { AgencyReport, ReviewClock } from '../assessment/contract';
import { FAILURES } from '../shared/failures';

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
 * The state of one submission: its transitions (through the pure rules), the events and search attributes each one
 * publishes, the vendor commands' validation, and the query views. The workflow reads the fields; only these methods
 * change them. Nothing here waits: timers, activities and child workflows stay in the workflow.
 */
export class SubmissionState {
  readonly submissionId: string;
  readonly vendorId: string;
  readonly settings: SubmissionSettings;
  readonly submittedAt: string;
  details: SubmissionDetails;
  status: SubmissionStatus = 'RECEIVED';
  plannedReleaseMs: number;
  releaseVersion = 0;
  returnIssues: ScreeningIssue[] = [];
  resubmitBy: string | undefined;
  resubmission: SubmissionDetails | undefined;
  accessStartMs: number | undefined;
  windowClosesMs: number | undefined;
  windowOpen = false;
  windowVersion = 0;
  readonly agencies = new Map<string, AgencyState>();
  readonly findings: FindingSummary[] = [];
  readonly findingNotes = new Map<string, string>();
  /** The reporting agency's note (confirmed) or reason (rejected) per finding, for the vendor. */
  readonly mitigationReviewNotes = new Map<string, string>();
  readonly infoRequests: InfoRequestSummary[] = [];
  readonly activeGrants: AccessGrantRef[] = [];
  readonly revokedGrantIds: string[] = [];
  withdrawal: { reason?: string } | undefined;
  release: { releasedAtMs: number } | undefined;
  /** Cases holding this submission's third-party findings, with the release last pushed to each. */
  readonly linkedCases = new Map<string, string | undefined>();
  notice: ClearanceNotice | undefined;
  /** The mitigations awaiting confirmation when the notice was last issued. */
  noticeAwaiting: string[] = [];
  noticeIssuedAt: string | undefined;
  trigger: ConsolidationTrigger | undefined;
  acknowledgedAt: string | undefined;
  releasedAt: string | undefined;
  endedAt: string | undefined;
  endReason: EndReason | undefined;
  private grantSeq = 0;
  private readonly outbox: Outbox<SubmissionEventMap>;
  /** Each agency's inbox (absent in histories from before the inbox, which never publish to it). */
  private readonly inbox: Outbox<AgencyInboxEventMap> | undefined;
  /** Agencies told of their invitation; only they hear of grants, window moves and their assessment's end. */
  private readonly invited = new Set<string>();
  private readonly announcedGrants = new Set<string>();
  private readonly announcedEnds = new Set<string>();
  /** False for runs started before `VERIFIED_MITIGATIONS_PATCH`: they count the vendor's MITIGATED at once. */
  readonly verifiedMitigations: boolean;

  constructor(input: SubmissionInput, options: { verifiedMitigations: boolean } = { verifiedMitigations: true }) {
    this.verifiedMitigations = options.verifiedMitigations;
    this.submissionId = input.submissionId;
    this.vendorId = input.vendorId;
    this.settings = resolveSettings(input.settings);
    this.details = detailsOf(input);
    this.submittedAt = input.submittedAt ?? iso(Date.now());
    this.plannedReleaseMs = parseIsoTime(this.details.plannedReleaseAt) ?? Number.NaN;
    this.outbox = new Outbox<SubmissionEventMap>({ stream: 'submission', source: SUBMISSION_EVENT_SOURCE, subject: this.submissionId });
    if (patched(AGENCY_INBOX_PATCH)) {
      this.inbox = new Outbox<AgencyInboxEventMap>({
        stream: 'agency-inbox',
        source: AGENCY_INBOX_EVENT_SOURCE,
        subject: this.submissionId,
        idPrefix: '/inbox',
      });
      // Best effort: an inbox event that cannot be published (a contract error; Kafka outages are retried) is dropped
      // with a warning, and never fails or holds up the submission. The sender is not cancelled with the workflow: the
      // revocations a cancellation makes still reach the agencies (`published` waits for them).
      const inbox = this.inbox;
      void CancellationScope.nonCancellable(() =>
        inbox.keepSending((err, event) => {
          log.warn('agency inbox event dropped', { submissionId: this.submissionId, eventId: event.id, type: event.type, error: (err as Error).name });
          return undefined;
        }),
      );
    }
  }

  /** Queues one event for an agency's inbox; sent in order, after the inbox events before it. */
  private notify<Type extends keyof AgencyInboxEventMap>(type: Type, data: AgencyInboxEventMap[Type]): void {
    this.inbox?.publish(type, data);
  }

  /** Each event goes out as soon as the one before it is out. */
  private publish<Type extends keyof SubmissionEventMap>(type: Type, data: SubmissionEventMap[Type]): void {
    this.outbox.publish(type, data);
    void this.outbox.flush();
  }

  /** Settles once every event published so far is out; rejects if one could not be published. */
  async published(): Promise<void> {
    await this.outbox.flush();
    if (this.inbox) await condition(() => this.inbox!.idle);
  }

  /** Runs with the agency inbox (patch `agency-inbox-v1`): their last events go out even while being cancelled. */
  get hasInbox(): boolean {
    return this.inbox !== undefined;
  }

  setStatus(to: SubmissionStatus, reason?: EndReason): void {
    if (!canTransitionSubmission(this.status, to)) {
      // A bug, not a business outcome: failing the task (not the workflow) lets a fixed deployment continue.
      throw new Error(`illegal submission transition ${this.status} → ${to}`);
    }
    const previousStatus = this.status;
    this.status = to;
    upsertSearchAttributes([{ key: SA.status, value: to }]);
    const { submissionId, vendorId } = this;
    this.publish(SUBMISSION_EVENT_TYPES.submissionStatusChanged, {
      submissionId,
      vendorId,
      status: to,
      previousStatus,
      at: iso(Date.now()),
      ...(reason ? { endReason: reason } : {}),
    });
  }

  /** Indexes the new submission and announces it RECEIVED. */
  start(): void {
    const { submissionId, vendorId } = this;
    upsertSearchAttributes([
      { key: SA.kind, value: 'submission' },
      { key: SA.status, value: this.status },
      { key: SA.vendor, value: vendorId },
      { key: SA.submissionId, value: submissionId },
      { key: SA.agencies, value: [...this.requested()] },
      ...(Number.isFinite(this.plannedReleaseMs) ? [{ key: SA.releaseAt, value: new Date(this.plannedReleaseMs) }] : []),
    ]);
    this.publish(SUBMISSION_EVENT_TYPES.submissionStatusChanged, { submissionId, vendorId, status: this.status, previousStatus: null, at: iso(Date.now()) });
  }

  // Screening may return a submission whose agency list is malformed; everything else reads it through here.
  requested(): string[] {
    return Array.isArray(this.details.requestedAgencies) ? this.details.requestedAgencies : [];
  }

  agencyStatus(agencyId: string): AgencyStatus {
    return this.agencies.get(agencyId)?.status ?? 'INVITED';
  }

  agencyList(): AgencyProgress[] {
    return this.requested().map((agencyId) => {
      const a = this.agencies.get(agencyId);
      return { agencyId, status: a?.status ?? 'INVITED', updatedAt: a?.updatedAt ?? this.submittedAt, findingsCount: a?.findingsCount ?? 0 };
    });
  }

  allAgenciesTerminal(): boolean {
    return this.requested().every((a) => isAgencyTerminal(this.agencyStatus(a)));
  }

  private currentNotice(): ClearanceNotice {
    return deriveClearanceNotice(
      this.agencyList().map((a) => a.status),
      this.findings,
      this.verifiedMitigations,
    );
  }

  awaitingConfirmation(): string[] {
    return this.verifiedMitigations ? mitigationsAwaitingConfirmation(this.findings) : [];
  }

  /** Re-issues an issued notice when its value, or the mitigations it says await confirmation, changed. */
  private refreshNotice(): void {
    if (!this.notice) return;
    const awaiting = this.awaitingConfirmation();
    if (this.currentNotice() !== this.notice || awaiting.join() !== this.noticeAwaiting.join()) this.issueNotice(this.trigger ?? 'ALL_AGENCIES_DONE');
  }

  view(): SubmissionView {
    const { accessStartMs, windowClosesMs, resubmitBy, notice, noticeIssuedAt, trigger, acknowledgedAt, releasedAt, endedAt, endReason } = this;
    return {
      submissionId: this.submissionId,
      vendorId: this.vendorId,
      status: this.status,
      model: { ...this.details.model },
      plannedReleaseAt: iso(this.plannedReleaseMs),
      submittedAt: this.submittedAt,
      ...(accessStartMs !== undefined && windowClosesMs !== undefined ? { window: { opensAt: iso(accessStartMs), closesAt: iso(windowClosesMs) } } : {}),
      agencies: this.agencies.size > 0 ? this.agencyList() : [],
      returnIssues: [...this.returnIssues],
      ...(resubmitBy ? { resubmitBy } : {}),
      openInfoRequests: this.infoRequests.filter((r) => !r.respondedAt).map((r) => ({ ...r })),
      ...(notice ? { notice } : {}),
      mitigationsAwaitingConfirmation: this.awaitingConfirmation(),
      ...(noticeIssuedAt ? { noticeIssuedAt } : {}),
      ...(trigger ? { consolidationTrigger: trigger } : {}),
      ...(acknowledgedAt ? { acknowledgedAt } : {}),
      ...(releasedAt ? { releasedAt } : {}),
      ...(endedAt ? { endedAt } : {}),
      ...(endReason ? { endReason } : {}),
      activeGrants: this.activeGrants.map((g) => ({ ...g })),
      revokedGrantIds: [...this.revokedGrantIds],
    };
  }

  /** The access window and every agency's review clock as of `now`. */
  clocks(now: number): ClocksView {
    const { accessStartMs, windowClosesMs, windowOpen } = this;
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
      agencies: [...this.agencies.entries()].map(([agencyId, a]) => {
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
  }

  // Vendor commands: each `validate…` refuses with an ApplicationFailure; the matching method applies it.

  guard(command: VendorCommand): void {
    reject(vendorCommandRefusal(command, this.status));
    if (this.withdrawal) reject({ type: FAILURES.notAllowedInState.type, reason: 'The submission is being withdrawn.' });
    if (this.release && command !== 'respondToFinding' && command !== 'acknowledge') {
      reject({ type: FAILURES.notAllowedInState.type, reason: 'The release has been declared; the submission is being consolidated.' });
    }
  }

  validateResubmit(corrected: ResubmitInput): void {
    this.guard('resubmit');
    if (this.resubmission) reject({ type: FAILURES.notAllowedInState.type, reason: 'A resubmission is already being screened.' });
    if (!corrected || typeof corrected !== 'object') reject({ type: FAILURES.invalidInput.type, reason: 'The resubmission is empty.' });
  }

  resubmit(corrected: ResubmitInput): void {
    this.resubmission = detailsOf(corrected);
  }

  resubmitResult(): ResubmitResult {
    return { status: this.status, issues: this.status === 'RETURNED' ? [...this.returnIssues] : [] };
  }

  private checkReleaseDateChange(plannedReleaseAt: unknown) {
    return validateReleaseDateChange(
      { nowMs: Date.now(), status: this.status, accessStartMs: this.accessStartMs, windowOpen: this.windowOpen },
      plannedReleaseAt,
    );
  }

  validateReleaseDateChange(i: ChangeReleaseDateInput): void {
    this.guard('changeReleaseDate');
    const checked = this.checkReleaseDateChange(i?.plannedReleaseAt);
    if (!checked.ok) reject(checked.refusal);
  }

  /** Moves the planned release, and with it the window when it is open; `windowMovedTo` is the new close, if any. */
  changeReleaseDate({ plannedReleaseAt }: ChangeReleaseDateInput): { result: ChangeReleaseDateResult; windowMovedTo?: string } {
    const checked = this.checkReleaseDateChange(plannedReleaseAt);
    if (!checked.ok) throw ApplicationFailure.nonRetryable(checked.refusal.reason, checked.refusal.type);
    this.plannedReleaseMs = checked.releaseMs;
    this.details = { ...this.details, plannedReleaseAt: iso(this.plannedReleaseMs) };
    this.releaseVersion += 1;
    upsertSearchAttributes([{ key: SA.releaseAt, value: new Date(this.plannedReleaseMs) }]);
    let windowMovedTo: string | undefined;
    if (checked.windowClosesAtMs !== undefined && checked.windowClosesAtMs !== this.windowClosesMs) {
      this.windowClosesMs = checked.windowClosesAtMs;
      this.windowVersion += 1;
      this.publishWindow();
      windowMovedTo = iso(this.windowClosesMs);
      for (const agencyId of this.invited) {
        if (isAgencyTerminal(this.agencyStatus(agencyId))) continue;
        this.notify(AGENCY_INBOX_EVENT_TYPES.windowChanged, {
          submissionId: this.submissionId,
          agencyId,
          windowOpensAt: iso(this.accessStartMs!),
          windowClosesAt: windowMovedTo,
          at: iso(Date.now()),
        });
      }
    }
    const result = { plannedReleaseAt: iso(this.plannedReleaseMs), ...(this.windowClosesMs !== undefined ? { windowClosesAt: iso(this.windowClosesMs) } : {}) };
    return { result, ...(windowMovedTo !== undefined ? { windowMovedTo } : {}) };
  }

  validateInfoResponse(i: RespondToInfoRequestInput): void {
    this.guard('respondToInfoRequest');
    const request = this.infoRequests.find((r) => r.requestId === i?.requestId);
    if (!request) reject({ type: FAILURES.unknownReference.type, reason: `There is no information request "${String(i?.requestId)}" on this submission.` });
    if (request?.respondedAt) reject({ type: FAILURES.notAllowedInState.type, reason: `Information request "${i.requestId}" was already answered.` });
    if (request && isAgencyTerminal(this.agencyStatus(request.agencyId))) {
      reject({ type: FAILURES.notAllowedInState.type, reason: `Agency "${request.agencyId}" has already ended its assessment.` });
    }
    if (typeof i.response !== 'string' || !i.response.trim()) reject({ type: FAILURES.invalidInput.type, reason: 'The response is empty.' });
  }

  /** Marks the request answered; the workflow forwards the answer to the asking agency. */
  answerInfoRequest(requestId: string): { agencyId: string; respondedAt: string } {
    const request = this.infoRequests.find((r) => r.requestId === requestId)!;
    const respondedAt = iso(Date.now());
    request.respondedAt = respondedAt;
    this.notify(AGENCY_INBOX_EVENT_TYPES.infoRequestAnswered, {
      submissionId: this.submissionId,
      agencyId: request.agencyId,
      infoRequestId: requestId,
      at: respondedAt,
    });
    return { agencyId: request.agencyId, respondedAt };
  }

  validateFindingResponse(i: RespondToFindingInput): void {
    reject(vendorCommandRefusal('respondToFinding', this.status));
    if (!this.findings.some((f) => f.findingId === i?.findingId)) {
      reject({ type: FAILURES.unknownReference.type, reason: `There is no finding "${String(i?.findingId)}" on this submission.` });
    }
    if (!FINDING_RESPONSES.includes(i.response)) {
      reject({ type: FAILURES.invalidInput.type, reason: `The response must be one of ${FINDING_RESPONSES.join(', ')}.` });
    }
  }

  respondToFinding({ findingId, response, note }: RespondToFindingInput): void {
    const finding = this.findings.find((f) => f.findingId === findingId)!;
    const confirmedBefore = finding.response === 'MITIGATED' && finding.mitigation === 'CONFIRMED';
    finding.response = response;
    finding.respondedAt = iso(Date.now());
    if (note) this.findingNotes.set(findingId, note);
    // MITIGATED is a claim the reporting agency confirms; a repeated claim keeps a confirmation, any other response drops it.
    if (response !== 'MITIGATED') {
      delete finding.mitigation;
      delete finding.mitigationReviewedAt;
      this.mitigationReviewNotes.delete(findingId);
    } else if (!confirmedBefore) {
      finding.mitigation = 'AWAITING_CONFIRMATION';
      delete finding.mitigationReviewedAt;
      this.mitigationReviewNotes.delete(findingId);
    }
    const { submissionId, vendorId } = this;
    this.publish(SUBMISSION_EVENT_TYPES.findingResponded, { submissionId, vendorId, agencyId: finding.agencyId, findingId, response, at: finding.respondedAt });
    this.notify(AGENCY_INBOX_EVENT_TYPES.findingResponded, { submissionId, agencyId: finding.agencyId, findingId, response, at: finding.respondedAt });
    // MITIGATED is the vendor's claim; the agency that reported the finding hears of it to check it.
    if (response === 'MITIGATED')
      this.notify(AGENCY_INBOX_EVENT_TYPES.mitigationClaimed, { submissionId, agencyId: finding.agencyId, findingId, at: finding.respondedAt });
    if (this.verifiedMitigations) {
      this.refreshNotice();
    } else if (this.notice && this.currentNotice() !== this.notice) {
      // Runs started before verified mitigations: the notice follows the vendor's responses alone.
      this.issueNotice(this.trigger ?? 'ALL_AGENCIES_DONE');
    }
  }

  validateMitigationReview(command: MitigationReviewCommand, i: ConfirmMitigationInput | RejectMitigationInput): void {
    const findingId = i?.findingId;
    reject(
      mitigationReviewRefusal(command, {
        status: this.status,
        finding: this.findings.find((f) => f.findingId === findingId),
        findingId,
        signerAgencyId: i?.agencyId,
      }),
    );
  }

  /** The reporting agency confirms (or rejects) the vendor's MITIGATED claim; the notice follows. */
  reviewMitigation(command: MitigationReviewCommand, i: ConfirmMitigationInput | RejectMitigationInput): MitigationReviewResult {
    const finding = this.findings.find((f) => f.findingId === i.findingId)!;
    finding.mitigation = command === 'confirmMitigation' ? 'CONFIRMED' : 'REJECTED';
    finding.mitigationReviewedAt = iso(Date.now());
    const text = 'reason' in i ? i.reason : i.note;
    if (text) this.mitigationReviewNotes.set(finding.findingId, text);
    else this.mitigationReviewNotes.delete(finding.findingId);
    if (this.verifiedMitigations) this.refreshNotice();
    return { findingId: finding.findingId, mitigation: finding.mitigation, ...(this.notice ? { notice: this.notice } : {}) };
  }

  /** Every finding's response and review with their notes (the vendor API's findings). */
  findingResponses(): FindingResponseView[] {
    return this.findings.map((f) => this.responseView(f));
  }

  private responseView(f: FindingSummary): FindingResponseView {
    const { findingId } = f;
    const note = this.findingNotes.get(findingId);
    const reviewNote = this.mitigationReviewNotes.get(findingId);
    return {
      findingId,
      agencyId: f.agencyId,
      ...(f.response ? { response: f.response } : {}),
      ...(f.respondedAt ? { respondedAt: f.respondedAt } : {}),
      ...(note ? { note } : {}),
      ...(f.mitigation ? { mitigation: f.mitigation } : {}),
      ...(f.mitigationReviewedAt ? { mitigationReviewedAt: f.mitigationReviewedAt } : {}),
      ...(reviewNote ? { mitigationReviewNote: reviewNote } : {}),
    };
  }

  validateAcknowledge(): void {
    reject(vendorCommandRefusal('acknowledge', this.status));
  }

  acknowledge(): string {
    this.acknowledgedAt ??= iso(Date.now());
    return this.acknowledgedAt;
  }

  requestWithdrawal(reason: string | undefined): void {
    this.withdrawal = reason ? { reason } : {};
  }

  validateReleaseDeclaration(releasedAt: string | undefined): void {
    this.guard('declareReleased');
    if (releasedAt !== undefined && parseIsoTime(releasedAt) === undefined) {
      reject({ type: FAILURES.invalidInput.type, reason: 'releasedAt must be an ISO-8601 date-time with a time zone.' });
    }
  }

  declareRelease(releasedAt: string | undefined): void {
    this.release = { releasedAtMs: releasedAt ? parseIsoTime(releasedAt)! : Date.now() };
  }

  /** A report from an agency child: its status, a finding, a reminder or a missed deadline, published here. */
  onAgencyReport(r: AgencyReport): void {
    const a = this.agencies.get(r.agencyId);
    if (!a) return;
    const { submissionId, vendorId } = this;
    switch (r.kind) {
      case 'STATUS': {
        a.status = r.status;
        a.updatedAt = r.at;
        a.clock = r.clock;
        if (r.infoRequestId && r.status === 'INFO_REQUESTED' && !this.infoRequests.some((q) => q.requestId === r.infoRequestId)) {
          this.infoRequests.push({ requestId: r.infoRequestId, agencyId: r.agencyId, requestedAt: r.at });
        }
        this.publish(SUBMISSION_EVENT_TYPES.assessmentStatusChanged, {
          submissionId,
          vendorId,
          agencyId: r.agencyId,
          status: r.status,
          previousStatus: r.previousStatus,
          at: r.at,
          ...(r.infoRequestId ? { infoRequestId: r.infoRequestId } : {}),
        });
        if (isAgencyTerminal(r.status)) this.announceEnd(r.agencyId, r.status, r.at);
        break;
      }
      case 'FINDING': {
        if (this.findings.some((f) => f.findingId === r.finding.findingId)) return;
        this.findings.push({ ...r.finding });
        a.findingsCount += 1;
        this.publish(SUBMISSION_EVENT_TYPES.findingSubmitted, {
          submissionId,
          vendorId,
          agencyId: r.agencyId,
          findingId: r.finding.findingId,
          severity: r.finding.severity,
          thirdPartyVulnerability: r.finding.thirdPartyVulnerability,
          at: r.at,
        });
        break;
      }
      case 'REMINDER':
        this.publish(SUBMISSION_EVENT_TYPES.assessmentReminder, {
          submissionId,
          vendorId,
          agencyId: r.agencyId,
          deadline: r.deadline,
          hoursBefore: r.hoursBefore,
          at: r.at,
        });
        break;
      case 'CASE_ROUTING':
        if (r.routing.caseId && !this.linkedCases.has(r.routing.caseId)) this.linkedCases.set(r.routing.caseId, undefined);
        break;
      case 'DEADLINE_MISSED':
        this.publish(SUBMISSION_EVENT_TYPES.assessmentDeadlineMissed, {
          submissionId,
          vendorId,
          agencyId: r.agencyId,
          deadline: r.deadline,
          status: r.status,
          at: r.at,
        });
        break;
    }
  }

  /** The model's release as the cases follow it: the declared release, else the current planned date. */
  currentRelease(): string {
    return iso(this.release ? this.release.releasedAtMs : this.plannedReleaseMs);
  }

  /** The linked cases that have not been told the current release yet. */
  releasesToPush(): Array<{ caseId: string; releaseAt: string }> {
    if (!Number.isFinite(this.release?.releasedAtMs ?? this.plannedReleaseMs)) return [];
    const releaseAt = this.currentRelease();
    return [...this.linkedCases].filter(([, pushed]) => pushed !== releaseAt).map(([caseId]) => ({ caseId, releaseAt }));
  }

  /** A case an invited agency opened or joined naming this submission: it follows the model's release too. */
  linkCaseFromAgency({ caseId, agencyId }: { caseId: string; agencyId: string }): void {
    if (!this.agencies.has(agencyId) || typeof caseId !== 'string' || !caseId.startsWith('case/')) return;
    if (!this.linkedCases.has(caseId)) this.linkedCases.set(caseId, undefined);
  }

  releasePushed(caseId: string, releaseAt: string): void {
    this.linkedCases.set(caseId, releaseAt);
  }

  /** Tells an invited agency once that its assessment reached a terminal status. */
  private announceEnd(agencyId: string, status: AgencyStatus, at: string): void {
    if (!this.invited.has(agencyId) || this.announcedEnds.has(agencyId)) return;
    this.announcedEnds.add(agencyId);
    this.notify(AGENCY_INBOX_EVENT_TYPES.assessmentEnded, { submissionId: this.submissionId, agencyId, status, at });
  }

  private announceGrant(grant: AccessGrantRef): void {
    if (!this.invited.has(grant.agencyId) || this.announcedGrants.has(grant.grantId)) return;
    this.announcedGrants.add(grant.grantId);
    this.notify(AGENCY_INBOX_EVENT_TYPES.accessGranted, {
      submissionId: this.submissionId,
      agencyId: grant.agencyId,
      grantId: grant.grantId,
      expiresAt: grant.expiresAt,
      at: iso(Date.now()),
    });
  }

  private publishWindow(): void {
    if (this.accessStartMs === undefined || this.windowClosesMs === undefined) return;
    this.publish(SUBMISSION_EVENT_TYPES.accessWindowChanged, {
      submissionId: this.submissionId,
      vendorId: this.vendorId,
      windowOpensAt: iso(this.accessStartMs),
      windowClosesAt: iso(this.windowClosesMs),
      plannedReleaseAt: iso(this.plannedReleaseMs),
    });
  }

  issueNotice(why: ConsolidationTrigger): void {
    const notice = this.currentNotice();
    const at = iso(Date.now());
    const awaiting = this.awaitingConfirmation();
    this.notice = notice;
    this.noticeAwaiting = awaiting;
    this.noticeIssuedAt = at;
    this.trigger = why;
    this.publish(SUBMISSION_EVENT_TYPES.clearanceIssued, {
      submissionId: this.submissionId,
      vendorId: this.vendorId,
      notice,
      trigger: why,
      agencies: this.agencyList().map(({ agencyId, status: s }) => ({ agencyId, status: s })),
      ...(this.verifiedMitigations ? { mitigationsAwaitingConfirmation: awaiting } : {}),
      at,
    });
  }

  // Lifecycle steps, in the order the workflow takes them.

  /** Screens the current details: true when they pass, otherwise RETURNED with a resubmission deadline. */
  screen(): boolean {
    this.setStatus('SCREENING');
    this.returnIssues = screenSubmission(this.details, Date.now());
    this.resubmitBy = undefined;
    if (this.returnIssues.length === 0) return true;
    this.resubmitBy = iso(Date.now() + this.settings.resubmissionDays * DAY_MS);
    this.setStatus('RETURNED');
    return false;
  }

  /** Takes the vendor's corrected details for the next screening. */
  acceptResubmission(): void {
    this.details = this.resubmission!;
    this.plannedReleaseMs = parseIsoTime(this.details.plannedReleaseAt) ?? Number.NaN;
    upsertSearchAttributes([
      { key: SA.agencies, value: [...this.requested()] },
      ...(Number.isFinite(this.plannedReleaseMs) ? [{ key: SA.releaseAt, value: new Date(this.plannedReleaseMs) }] : []),
    ]);
    this.resubmission = undefined;
  }

  /** The vendor's chosen access start (now when none or unreadable). */
  accessStartAtMs(): number {
    return this.details.accessStartAt !== undefined ? (parseIsoTime(this.details.accessStartAt) ?? Date.now()) : Date.now();
  }

  /** Opens the access window now and invites every requested agency. */
  openWindow(): void {
    this.accessStartMs = Date.now();
    this.windowClosesMs = computeAccessWindow(this.accessStartMs, this.plannedReleaseMs).closesAtMs;
    this.windowOpen = true;
    this.windowVersion += 1;
    this.publishWindow();
    for (const agencyId of this.details.requestedAgencies) {
      this.agencies.set(agencyId, { status: 'INVITED', updatedAt: iso(Date.now()), clock: { onHoldMs: 0 }, findingsCount: 0 });
    }
  }

  /** The next grant for an agency, expiring when the window closes. */
  nextGrant(agencyId: string): { grantId: string; submissionId: string; agencyId: string; expiresAt: string } {
    this.grantSeq += 1;
    return { grantId: `${this.submissionId}.${agencyId}.g${this.grantSeq}`, submissionId: this.submissionId, agencyId, expiresAt: iso(this.windowClosesMs!) };
  }

  /** Live grants of agencies whose assessment has ended (declined, completed, did not complete, withdrawn). */
  grantsOfEndedAssessments(): AccessGrantRef[] {
    return this.activeGrants.filter((g) => isAgencyTerminal(this.agencyStatus(g.agencyId)));
  }

  /** The vendor's response to a finding with its note and the agency's review; null for an unknown finding. */
  findingResponse(findingId: string): FindingResponseView | null {
    const f = this.findings.find((x) => x.findingId === findingId);
    return f ? this.responseView(f) : null;
  }

  granted(grant: AccessGrantRef): void {
    this.activeGrants.push(grant);
    this.announceGrant(grant);
  }

  revoked(grant: AccessGrantRef): void {
    this.activeGrants.splice(this.activeGrants.indexOf(grant), 1);
    this.revokedGrantIds.push(grant.grantId);
    if (this.announcedGrants.has(grant.grantId)) {
      this.notify(AGENCY_INBOX_EVENT_TYPES.accessRevoked, {
        submissionId: this.submissionId,
        agencyId: grant.agencyId,
        grantId: grant.grantId,
        at: iso(Date.now()),
      });
    }
  }

  /** Every agency's assessment has started: UNDER_ASSESSMENT, and each agency announced INVITED. */
  assessmentsStarted(): void {
    this.setStatus('UNDER_ASSESSMENT');
    const { submissionId, vendorId } = this;
    for (const agencyId of this.details.requestedAgencies) {
      this.publish(SUBMISSION_EVENT_TYPES.assessmentStatusChanged, {
        submissionId,
        vendorId,
        agencyId,
        status: 'INVITED',
        previousStatus: null,
        at: iso(Date.now()),
      });
    }
    // Each agency's inbox: its invitation, then the grant it already holds (fetched, never broadcast).
    for (const agencyId of this.details.requestedAgencies) {
      this.invited.add(agencyId);
      this.notify(AGENCY_INBOX_EVENT_TYPES.invited, {
        submissionId,
        agencyId,
        vendorId,
        model: { name: this.details.model.name, version: this.details.model.version, versionHash: this.details.model.versionHash },
        windowOpensAt: iso(this.accessStartMs!),
        windowClosesAt: iso(this.windowClosesMs!),
        // Filled in from the agency registry when published.
        domains: [],
        at: iso(Date.now()),
      });
      for (const grant of this.activeGrants) if (grant.agencyId === agencyId) this.announceGrant(grant);
    }
  }

  /** The agency children's final statuses. */
  assessmentsEnded(results: { agencyId: string; status: AgencyStatus; endedAt: string }[]): void {
    for (const r of results) {
      const a = this.agencies.get(r.agencyId);
      if (a && a.status !== r.status) {
        a.status = r.status;
        a.updatedAt = r.endedAt;
      }
      if (isAgencyTerminal(r.status)) this.announceEnd(r.agencyId, r.status, r.endedAt);
    }
  }

  startConsolidation(): void {
    this.windowOpen = false;
    this.setStatus('CONSOLIDATING');
  }

  issueClearance(why: ConsolidationTrigger): void {
    this.issueNotice(why);
    this.setStatus('CLEARANCE_ISSUED');
  }

  markReleased(): void {
    this.releasedAt = iso(this.release!.releasedAtMs);
    this.setStatus('RELEASED');
  }

  end(to: 'CLOSED' | 'WITHDRAWN', reason: EndReason): void {
    this.windowOpen = false;
    this.endedAt = iso(Date.now());
    this.endReason = reason;
    this.setStatus(to, reason);
  }

  outcome(to: 'CLOSED' | 'WITHDRAWN', reason: EndReason): SubmissionOutcome {
    return {
      submissionId: this.submissionId,
      status: to,
      endReason: reason,
      ...(this.notice ? { notice: this.notice } : {}),
      agencies: this.agencyList(),
      revokedGrantIds: [...this.revokedGrantIds],
    };
  }
}
