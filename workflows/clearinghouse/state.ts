import { ApplicationFailure, log, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  CASE_EVENT_SOURCE,
  CASE_KIND,
  type CaseEventMap,
  type CasePolicy,
  type CaseReportInput,
  type CaseReportResult,
  type CaseView,
  type LinkDuplicateInput,
  type MarkDuplicateInput,
} from './contract';
import {
  applyDomainOffer,
  applyModelReleases,
  applyMarkDuplicate,
  applyReport,
  caseAlarms,
  caseView,
  dueAlarms,
  isLive,
  newCase,
  nextAlarmAt,
  trackedSubmissions,
  validateMarkDuplicate,
  validateReport,
  type CaseAlarm,
  type CaseData,
  type PendingCaseEvent,
} from './rules';
import { Outbox } from '../shared/outbox';
import { AGENCY_INBOX_CASE_PATCH, AGENCY_INBOX_EVENT_SOURCE, AGENCY_INBOX_EVENT_TYPES, type AgencyInboxEventMap } from '../shared/agency-inbox';
import { SA } from '../shared/search-attributes';
import { DAY_MS, HOUR_MS } from '../shared/time';
import { FAILURES } from '../shared/failures';

const nowIso = (): string => new Date(Date.now()).toISOString();

/**
 * The state of one clearinghouse case: its data and policy (changed only through the pure rules), the events each
 * change publishes, the alarms already fired, the search attributes shown, and the view. The workflow reads
 * `version` to wake on changes; timers and activities stay in the workflow.
 */
export class ClearinghouseCase {
  readonly caseId: string;
  readonly policy: CasePolicy;
  readonly data: CaseData;
  readonly outbox: Outbox<CaseEventMap>;
  /** The reporting agencies' inboxes (absent in histories from before them). */
  private readonly inbox: Outbox<AgencyInboxEventMap> | undefined;
  /** Bumped by every change, so the workflow wakes on it. */
  version = 0;
  /** When the models' release dates were last read (workflow ms). */
  releasesReadAt = Number.NEGATIVE_INFINITY;
  private readonly fired = new Set<string>();
  private linking = false;
  private duplicateUntil: number | undefined;
  // openOrJoinCase sets the search attributes at start; a case started without them (tests) keeps none.
  private readonly indexed = workflowInfo().typedSearchAttributes.get(SA.kind) !== undefined;
  private shownAttributes = '';
  /** Whether reports' domains offer the case to matching agencies (runs since `clearinghouse-domain-offers`). */
  private readonly offersByDomain: boolean;

  constructor(caseId: string, policy: CasePolicy, opts: { offersByDomain?: boolean } = {}) {
    this.caseId = caseId;
    this.policy = policy;
    this.offersByDomain = opts.offersByDomain ?? false;
    this.data = newCase(caseId, nowIso());
    this.outbox = new Outbox<CaseEventMap>({ stream: 'clearinghouse', source: CASE_EVENT_SOURCE, subject: caseId });
    if (patched(AGENCY_INBOX_CASE_PATCH)) {
      this.inbox = new Outbox<AgencyInboxEventMap>({ stream: 'agency-inbox', source: AGENCY_INBOX_EVENT_SOURCE, subject: caseId, idPrefix: '/inbox' });
      // Best effort: only a contract error drops an inbox event (a broker outage is retried by the activity).
      void this.inbox.keepSending((err, event) => {
        log.warn('agency inbox event dropped', { caseId, eventId: event.id, type: event.type, error: (err as Error).name });
        return undefined;
      });
    }
  }

  /** Nothing waits to go out, on the case topic or to the reporting agencies. */
  get idle(): boolean {
    return this.outbox.idle && (this.inbox?.idle ?? true);
  }

  private emit(events: PendingCaseEvent[]): void {
    const time = nowIso();
    for (const event of events) {
      this.outbox.publish(event.type, event.data, time);
      // Each agency that reported the case hears of the change in its inbox (ids, the case event and state only).
      const state = (event.data as { state?: CaseData['state'] }).state ?? this.data.state;
      for (const agencyId of this.data.reporters) {
        this.inbox?.publish(AGENCY_INBOX_EVENT_TYPES.caseUpdated, { caseId: this.caseId, agencyId, caseEvent: event.type, state, at: time }, time);
      }
    }
    this.version += 1;
  }

  private notWhileLinking(): void {
    if (this.linking) {
      throw ApplicationFailure.create({
        message: 'the case is being linked to its primary; retry shortly',
        type: FAILURES.caseInvalidTransition.type,
        nonRetryable: true,
      });
    }
  }

  view(): CaseView {
    return caseView(this.data, this.policy, Date.now());
  }

  /** Refuses every command while the case is being linked to its primary, then runs the command's own checks. */
  validate(check: (data: CaseData, policy: CasePolicy) => void): void {
    this.notWhileLinking();
    check(this.data, this.policy);
  }

  /** Applies one command through its rule, publishes the events it yields and returns the new view. */
  apply(rule: (data: CaseData, policy: CasePolicy, now: string) => PendingCaseEvent[]): CaseView {
    this.emit(rule(this.data, this.policy, nowIso()));
    return this.view();
  }

  validateReport(report: CaseReportInput): void {
    this.notWhileLinking();
    validateReport(this.data, this.policy, report);
  }

  report(report: CaseReportInput): CaseReportResult {
    const { data } = this;
    const now = nowIso();
    const { outcome, events } = applyReport(data, this.policy, report, now);
    this.emit(events);
    if (this.offersByDomain && (outcome === 'OPENED' || outcome === 'JOINED')) {
      // Each agency whose registry domains match hears of the case in its inbox, once; it may then read the case.
      for (const offer of applyDomainOffer(data, report, now)) {
        this.inbox?.publish(
          AGENCY_INBOX_EVENT_TYPES.caseOffered,
          { caseId: this.caseId, agencyId: offer.agencyId, domain: offer.domain, state: data.state, at: now },
          now,
        );
      }
    }
    return {
      caseId: this.caseId,
      outcome,
      state: data.state,
      reporterCount: data.reporters.length,
      ...(outcome === 'REDIRECTED' && data.duplicateOf ? { primaryCaseId: data.duplicateOf } : {}),
    };
  }

  validateMarkDuplicate(mark: MarkDuplicateInput): void {
    this.notWhileLinking();
    validateMarkDuplicate(this.data, mark);
  }

  /** Refuses other commands until `linked`; the link hands this case's reports to the primary. */
  startLinking(): LinkDuplicateInput {
    this.linking = true;
    return { actor: { kind: 'system', component: 'clearinghouse' }, duplicateCaseId: this.caseId, reports: this.data.reports };
  }

  linked(): void {
    this.linking = false;
  }

  markDuplicate(mark: MarkDuplicateInput): CaseView {
    if (!isLive(this.data.state))
      throw ApplicationFailure.create({ message: `the case became ${this.data.state}`, type: FAILURES.caseInvalidTransition.type, nonRetryable: true });
    this.emit(applyMarkDuplicate(this.data, this.policy, mark, nowIso()));
    this.duplicateUntil = Date.now() + this.policy.duplicateRetentionDays * DAY_MS;
    return this.view();
  }

  // The workflow's loop: search attributes, the end, alarms and the models' release dates.

  syncSearchAttributes(): void {
    if (!this.indexed) return;
    const { data } = this;
    const attributes = {
      kind: CASE_KIND,
      status: data.state,
      agencies: [...data.reporters].sort(),
      parties: data.parties.map((p) => p.partyId).sort(),
      severity: data.severity ?? '',
    };
    const key = JSON.stringify(attributes);
    if (key === this.shownAttributes) return;
    this.shownAttributes = key;
    upsertSearchAttributes([
      { key: SA.kind, value: attributes.kind },
      { key: SA.status, value: attributes.status },
      { key: SA.agencies, value: attributes.agencies },
      { key: SA.caseParties, value: attributes.parties },
      ...(data.severity ? [{ key: SA.severity, value: data.severity }] : []),
    ]);
  }

  /** Closed, or a duplicate kept past its retention. */
  ended(now: number): boolean {
    if (this.data.state === 'CLOSED') return true;
    return this.data.state === 'DUPLICATE' && this.duplicateUntil !== undefined && now >= this.duplicateUntil;
  }

  alarms(): CaseAlarm[] {
    return caseAlarms(this.data, this.policy);
  }

  /** An embargo alarm has not fired yet: the embargo is still in force. */
  embargoing(alarms: CaseAlarm[]): boolean {
    return alarms.some((a) => a.key.startsWith('embargo:') && !this.fired.has(a.key));
  }

  embargoLiftDue(alarms: CaseAlarm[], now: number): boolean {
    return alarms.some((a) => a.key.startsWith('embargo:') && !this.fired.has(a.key) && a.at <= now);
  }

  releaseRefreshDueAt(): number {
    return this.releasesReadAt + this.policy.releaseRefreshHours * HOUR_MS;
  }

  /** Starts a read of the models' release dates; returns the submissions to read. */
  startReleaseRefresh(): string[] {
    this.releasesReadAt = Date.now();
    return trackedSubmissions(this.data);
  }

  applyReleases(releases: Array<{ submissionId: string; releaseAt: string }>): void {
    if (applyModelReleases(this.data, releases, nowIso())) this.version += 1;
  }

  /** Publishes the alarms due at `now`; true when any fired. */
  fireDue(alarms: CaseAlarm[], now: number): boolean {
    const { fire, spent } = dueAlarms(alarms, this.fired, now);
    for (const key of spent) this.fired.add(key);
    if (fire.length === 0) return false;
    this.emit(fire.map((a) => a.event));
    return true;
  }

  /** The next alarm, or the end of a duplicate's retention, whichever comes first. */
  nextAlarmAt(alarms: CaseAlarm[]): number | undefined {
    const next = nextAlarmAt(alarms, this.fired);
    if (this.data.state === 'DUPLICATE' && this.duplicateUntil !== undefined) return Math.min(next ?? this.duplicateUntil, this.duplicateUntil);
    return next;
  }
}
