/**
 * Pure rules of a clearinghouse case: validation, state transitions, clocks (embargo, disclosure deadline,
 * remediation due dates) and reminder alarms. No Temporal calls, so unit tests run them directly and the workflow
 * stays a thin shell around them.
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  CASE_CLOSE_REASONS,
  OPAQUE_ID_PATTERN,
  PARTY_KINDS,
  PARTY_STATUSES,
  SEVERITIES,
  type CaseState,
  type PartyKind,
  type Severity,
  DOMAIN_PATTERN,
} from '../../wire/enums';
import { type CaseStatusChangedData } from '../../wire/clearinghouse';
import { DAY_MS, HOUR_MS, iso, isIsoTime } from '../shared/time';
import {
  CASE_EVENT_TYPES,
  DEFAULT_CASE_POLICY,
  isCaseId,
  type AddCasePartyInput,
  type AgencyCaseView,
  type CaseActor,
  type CaseEventMap,
  type CaseEventType,
  type CaseParty,
  type CasePolicy,
  type CaseReportInput,
  type CaseReportOutcome,
  type CaseReportRecord,
  type CaseView,
  type CloseCaseInput,
  type LinkDuplicateInput,
  type MarkDuplicateInput,
  type PublishCaseInput,
  type ReportExploitationInput,
  type SetModelReleaseInput,
  type SetPartyStatusInput,
  type TriageCaseInput,
} from './contract';
import { FAILURES } from '../shared/failures';
import { CSAF_INITIAL_VERSION, csafDocumentId } from './csaf';

/** Mutable case state held by the workflow; derived clocks are computed by {@link caseView}. */
export type CaseData = Omit<CaseView, 'embargoUntil' | 'embargoActive' | 'disclosureDeadline' | 'policy'>;

/** An event the case's outbox publishes: each type with its own data. */
export type PendingCaseEvent = { [Type in CaseEventType]: { type: Type; data: CaseEventMap[Type] } }[CaseEventType];

const LIVE_STATES: readonly CaseState[] = ['OPEN', 'TRIAGED', 'PARTIES_NOTIFIED', 'REMEDIATING'];
const TERMINAL_STATES: readonly CaseState[] = ['CLOSED', 'DUPLICATE'];
const CWE_PATTERN = /^CWE-[1-9]\d{0,5}$/;
const LIMITS = {
  product: 200,
  weakness: 500,
  summary: 8000,
  reportId: 128,
  advisoryRef: 256,
  parties: 100,
  partyName: 200,
  contacts: 20,
  contactField: 200,
  overrideReason: 1000,
} as const;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FAILURES.caseInvalidInput.type, nonRetryable: true });
}
function transition(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FAILURES.caseInvalidTransition.type, nonRetryable: true });
}
function forbidden(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FAILURES.caseForbidden.type, nonRetryable: true });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkText(value: unknown, field: string, max: number, required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || value.trim().length === 0) throw invalid(`${field} must be a non-empty string`);
  if (value.length > max) throw invalid(`${field} is longer than ${max} characters`);
}

function checkOpaqueId(value: unknown, field: string, required = true): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || !OPAQUE_ID_PATTERN.test(value)) {
    throw invalid(`${field} must be an id of letters, digits and . _ : - (at most 128 characters)`);
  }
}

function checkIso(value: unknown, field: string, required = true): void {
  if (value === undefined && !required) return;
  if (!isIsoTime(value)) throw invalid(`${field} must be an ISO-8601 time with a zone, e.g. 2026-12-01T00:00:00Z`);
}

/** "cwe 79", "CWE_079" and "cwe-79" all become "CWE-79"; anything else is refused. */
export function normalizeCweId(value: string): string {
  const match = /^\s*cwe[\s_-]*0*(\d{1,6})\s*$/i.exec(value);
  const id = match ? `CWE-${match[1]}` : '';
  if (!CWE_PATTERN.test(id)) throw invalid('cweId must look like CWE-79');
  return id;
}

export function checkActor(actor: unknown): asserts actor is CaseActor {
  if (!isObject(actor)) throw invalid('actor is required');
  if (actor.kind === 'agency') checkOpaqueId(actor.agencyId, 'actor.agencyId');
  else if (actor.kind === 'ops') checkOpaqueId(actor.operatorId, 'actor.operatorId');
  else if (actor.kind === 'system') checkOpaqueId(actor.component, 'actor.component');
  else throw invalid('actor.kind must be agency, ops or system');
}

function requireOperator(actor: CaseActor, action: string): void {
  if (actor.kind === 'agency') throw forbidden(`an agency may not ${action}; clearinghouse operators do`);
}

export function actorLabel(actor: CaseActor): string {
  if (actor.kind === 'agency') return `agency:${actor.agencyId}`;
  if (actor.kind === 'ops') return `ops:${actor.operatorId}`;
  return `system:${actor.component}`;
}

/** Merges a partial policy over the defaults and refuses periods that are not positive finite numbers. */
export function resolvePolicy(partial: Partial<CasePolicy> | undefined): CasePolicy {
  if (partial !== undefined && !isObject(partial)) throw invalid('policy must be an object');
  const p = partial ?? {};
  const positive = (value: unknown, field: string, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalid(`policy.${field} must be a positive number`);
    return value;
  };
  const hours = (value: unknown, field: string, fallback: number[]): number[] => {
    if (value === undefined) return [...fallback];
    if (!Array.isArray(value) || value.length > 10) throw invalid(`policy.${field} must be a list of at most 10 hour offsets`);
    return value.map((h, i) => positive(h, `${field}[${i}]`, 0));
  };
  if (p.remediationDays !== undefined && !isObject(p.remediationDays)) throw invalid('policy.remediationDays must be an object');
  const remediation = (p.remediationDays ?? {}) as Partial<Record<Severity, number>>;
  const remediationDays = {} as Record<Severity, number>;
  for (const s of SEVERITIES) remediationDays[s] = positive(remediation[s], `remediationDays.${s}`, DEFAULT_CASE_POLICY.remediationDays[s]);
  const maxReports = positive(p.maxReports, 'maxReports', DEFAULT_CASE_POLICY.maxReports);
  if (!Number.isInteger(maxReports) || maxReports > 1000) throw invalid('policy.maxReports must be an integer up to 1000');
  return {
    disclosureDays: positive(p.disclosureDays, 'disclosureDays', DEFAULT_CASE_POLICY.disclosureDays),
    exploitedDisclosureDays: positive(p.exploitedDisclosureDays, 'exploitedDisclosureDays', DEFAULT_CASE_POLICY.exploitedDisclosureDays),
    remediationDays,
    disclosureReminderHours: hours(p.disclosureReminderHours, 'disclosureReminderHours', DEFAULT_CASE_POLICY.disclosureReminderHours),
    remediationReminderHours: hours(p.remediationReminderHours, 'remediationReminderHours', DEFAULT_CASE_POLICY.remediationReminderHours),
    releaseRefreshHours: positive(p.releaseRefreshHours, 'releaseRefreshHours', DEFAULT_CASE_POLICY.releaseRefreshHours),
    duplicateRetentionDays: positive(p.duplicateRetentionDays, 'duplicateRetentionDays', DEFAULT_CASE_POLICY.duplicateRetentionDays),
    maxReports,
  };
}

export function newCase(caseId: string, openedAt: string): CaseData {
  return {
    caseId,
    state: 'OPEN',
    openedAt,
    updatedAt: openedAt,
    reports: [],
    reporters: [],
    parties: [],
    duplicates: [],
    modelReleases: [],
    domains: [],
    offeredTo: [],
  };
}

/** The embargo lasts until the latest planned release among the models tied to the case. */
export function embargoUntil(data: CaseData): string | undefined {
  let latest: number | undefined;
  for (const r of data.modelReleases) {
    const t = Date.parse(r.releaseAt);
    if (latest === undefined || t > latest) latest = t;
  }
  return latest === undefined ? undefined : iso(latest);
}

/**
 * Disclosure deadline: opening + disclosureDays, or exploitation report + exploitedDisclosureDays if earlier;
 * never before the embargo lifts, since nothing may be published while the model is unreleased.
 */
export function disclosureDeadline(data: CaseData, policy: CasePolicy): string {
  let deadline = Date.parse(data.openedAt) + policy.disclosureDays * DAY_MS;
  if (data.exploitation) deadline = Math.min(deadline, Date.parse(data.exploitation.reportedAt) + policy.exploitedDisclosureDays * DAY_MS);
  const embargo = embargoUntil(data);
  if (embargo !== undefined) deadline = Math.max(deadline, Date.parse(embargo));
  return iso(deadline);
}

/** A party's remediation due date: its notification + the period for the case severity; none if not affected. */
export function remediationDueAt(party: Pick<CaseParty, 'status' | 'notifiedAt'>, severity: Severity | undefined, policy: CasePolicy): string | undefined {
  if (severity === undefined || party.status === 'NOT_AFFECTED') return undefined;
  return iso(Date.parse(party.notifiedAt) + policy.remediationDays[severity] * DAY_MS);
}

export function caseView(data: CaseData, policy: CasePolicy, nowMs: number): CaseView {
  const embargo = embargoUntil(data);
  return {
    ...data,
    reports: data.reports.map((r) => ({ ...r })),
    reporters: [...data.reporters],
    parties: data.parties.map((p) => ({ ...p })),
    duplicates: [...data.duplicates],
    modelReleases: data.modelReleases.map((r) => ({ ...r })),
    domains: [...(data.domains ?? [])],
    offeredTo: (data.offeredTo ?? []).map((o) => ({ ...o })),
    embargoUntil: embargo,
    embargoActive: embargo !== undefined && nowMs < Date.parse(embargo),
    disclosureDeadline: disclosureDeadline(data, policy),
    policy,
  };
}

/** The case as `agencyId` may read it (see {@link AgencyCaseView}); the caller has checked the agency is involved. */
export function agencyCaseView(view: CaseView, agencyId: string): AgencyCaseView {
  const { modelReleases: _releases, reports, ...rest } = view;
  return {
    ...rest,
    reports: reports.map((r) => (r.agencyId === agencyId ? r : { agencyId: r.agencyId, source: r.source, reportedAt: r.reportedAt, redacted: true as const })),
    // Another party's contacts are the operators' business, not another agency's.
    parties: rest.parties.map((p) => {
      if (p.partyId === agencyId) return p;
      const { contacts: _contacts, ...party } = p;
      return party;
    }),
  };
}

export function isLive(state: CaseState): boolean {
  return LIVE_STATES.includes(state);
}
export function isTerminal(state: CaseState): boolean {
  return TERMINAL_STATES.includes(state);
}

function statusChanged(data: CaseData, policy: CasePolicy, previousState: CaseState, extra: Record<string, unknown> = {}): PendingCaseEvent {
  return {
    type: CASE_EVENT_TYPES.statusChanged,
    data: {
      caseId: data.caseId,
      state: data.state,
      previousState,
      ...(data.severity ? { severity: data.severity } : {}),
      disclosureDeadline: disclosureDeadline(data, policy),
      ...(embargoUntil(data) ? { embargoUntil: embargoUntil(data) } : {}),
      ...extra,
    } as CaseStatusChangedData,
  };
}

function partyEvent(data: CaseData, party: CaseParty): PendingCaseEvent {
  return {
    type: CASE_EVENT_TYPES.partyStatusChanged,
    data: {
      caseId: data.caseId,
      state: data.state,
      partyId: party.partyId,
      status: party.status,
      remediated: party.remediatedAt !== undefined,
      ...(party.remediationDueAt ? { remediationDueAt: party.remediationDueAt } : {}),
    },
  };
}

// ---- reports -------------------------------------------------------------------------------------------------

/** Shape checks of a report; raises CaseInvalidInput with the first problem. */
export function checkReport(input: unknown): asserts input is CaseReportInput {
  if (!isObject(input)) throw invalid('report must be an object');
  checkText(input.reportId, 'reportId', LIMITS.reportId, true);
  if (!/^[\x20-\x7e]+$/.test(input.reportId as string)) throw invalid('reportId must be printable ASCII');
  checkOpaqueId(input.agencyId, 'agencyId');
  if (input.source !== 'AGENCY_COMMAND' && input.source !== 'FINDING') throw invalid('source must be AGENCY_COMMAND or FINDING');
  checkText(input.affectedProduct, 'affectedProduct', LIMITS.product, true);
  checkText(input.weakness, 'weakness', LIMITS.weakness, true);
  if (input.cweId !== undefined) {
    if (typeof input.cweId !== 'string') throw invalid('cweId must look like CWE-79');
    normalizeCweId(input.cweId);
  }
  if (input.severity !== undefined && !SEVERITIES.includes(input.severity as Severity)) throw invalid(`severity must be one of ${SEVERITIES.join(', ')}`);
  checkText(input.summary, 'summary', LIMITS.summary, false);
  checkOpaqueId(input.submissionId, 'submissionId', false);
  checkOpaqueId(input.findingId, 'findingId', false);
  if (input.domain !== undefined && (typeof input.domain !== 'string' || !DOMAIN_PATTERN.test(input.domain))) {
    throw invalid('domain must be a registry domain such as "critical-infrastructure"');
  }
  if (input.offerTo !== undefined) {
    if (!Array.isArray(input.offerTo) || input.offerTo.length > 100) throw invalid('offerTo must be a list of at most 100 agency ids');
    for (const agencyId of input.offerTo) checkOpaqueId(agencyId, 'offerTo');
  }
  checkIso(input.plannedReleaseAt, 'plannedReleaseAt', false);
  if (input.exploited !== undefined && typeof input.exploited !== 'boolean') throw invalid('exploited must be true or false');
  if (input.source === 'FINDING' && (input.submissionId === undefined || input.findingId === undefined)) {
    throw invalid('a report from a finding carries submissionId and findingId');
  }
}

export function validateReport(data: CaseData, policy: CasePolicy, input: unknown): void {
  checkReport(input);
  if (data.state === 'DUPLICATE' || data.reports.some((r) => r.reportId === input.reportId)) return;
  if (data.state === 'CLOSED') throw transition('the case is closed');
  if (data.reports.length >= policy.maxReports) {
    throw ApplicationFailure.create({ message: 'the case holds the maximum number of reports', type: FAILURES.caseTooManyReports.type, nonRetryable: true });
  }
}

function upsertRelease(data: CaseData, submissionId: string, releaseAt: string): boolean {
  const normalized = iso(Date.parse(releaseAt));
  const existing = data.modelReleases.find((r) => r.submissionId === submissionId);
  if (existing) {
    if (existing.releaseAt === normalized) return false;
    existing.releaseAt = normalized;
    return true;
  }
  data.modelReleases.push({ submissionId, releaseAt: normalized });
  return true;
}

function recordExploitation(data: CaseData, policy: CasePolicy, now: string, reportedBy: string, observedAt: string | undefined): PendingCaseEvent[] {
  if (data.exploitation) return [];
  data.exploitation = { reportedAt: now, reportedBy, ...(observedAt ? { observedAt } : {}) };
  return [
    {
      type: CASE_EVENT_TYPES.exploitationReported,
      data: { caseId: data.caseId, state: data.state, disclosureDeadline: disclosureDeadline(data, policy) },
    },
  ];
}

function addReport(data: CaseData, policy: CasePolicy, record: CaseReportRecord): PendingCaseEvent[] {
  const events: PendingCaseEvent[] = [];
  const first = data.reports.length === 0;
  data.reports.push(record);
  if (first) {
    data.affectedProduct = record.affectedProduct.trim();
    data.weakness = record.weakness.trim();
    if (record.cweId) data.cweId = normalizeCweId(record.cweId);
  } else if (!data.cweId && record.cweId) {
    data.cweId = normalizeCweId(record.cweId);
  }
  if (!data.reporters.includes(record.agencyId)) data.reporters.push(record.agencyId);
  if (record.domain && !data.domains.includes(record.domain)) data.domains.push(record.domain);
  if (record.plannedReleaseAt) upsertRelease(data, record.submissionId ?? `report:${record.reportId}`, record.plannedReleaseAt);
  if (record.exploited) events.push(...recordExploitation(data, policy, record.reportedAt, `agency:${record.agencyId}`, undefined));
  return events;
}

/** Records a report (validated first). The first report opens the case; later ones join it. */
export function applyReport(
  data: CaseData,
  policy: CasePolicy,
  input: CaseReportInput,
  now: string,
): { outcome: CaseReportOutcome; events: PendingCaseEvent[] } {
  if (data.state === 'DUPLICATE') return { outcome: 'REDIRECTED', events: [] };
  if (data.reports.some((r) => r.reportId === input.reportId)) return { outcome: 'ALREADY_REPORTED', events: [] };
  const first = data.reports.length === 0;
  const reportersBefore = data.reporters.length;
  // Who the report's domain matched is the case's business (its offers), not part of the report.
  const { offerTo: _offerTo, ...report } = input;
  const record: CaseReportRecord = { ...report, reportedAt: now };
  const events = addReport(data, policy, record);
  data.updatedAt = now;
  const view = { caseId: data.caseId, state: data.state, reporterCount: data.reporters.length };
  if (first) {
    const embargo = embargoUntil(data);
    events.unshift({
      type: CASE_EVENT_TYPES.opened,
      data: { ...view, disclosureDeadline: disclosureDeadline(data, policy), ...(embargo ? { embargoUntil: embargo } : {}) },
    });
  } else if (data.reporters.length > reportersBefore) {
    events.unshift({ type: CASE_EVENT_TYPES.reporterJoined, data: view });
  }
  return { outcome: first ? 'OPENED' : 'JOINED', events };
}

// ---- triage and parties --------------------------------------------------------------------------------------

export function validateTriage(data: CaseData, input: unknown): asserts input is TriageCaseInput {
  if (!isObject(input)) throw invalid('triage input must be an object');
  checkActor(input.actor);
  requireOperator(input.actor, 'triage a case');
  if (!SEVERITIES.includes(input.severity as Severity)) throw invalid(`severity must be one of ${SEVERITIES.join(', ')}`);
  if (input.cweId !== undefined) {
    if (typeof input.cweId !== 'string') throw invalid('cweId must look like CWE-79');
    normalizeCweId(input.cweId);
  }
  checkText(input.affectedProduct, 'affectedProduct', LIMITS.product, false);
  if (input.parties !== undefined) {
    if (!Array.isArray(input.parties) || input.parties.length > LIMITS.parties) throw invalid(`parties must be a list of at most ${LIMITS.parties} ids`);
    input.parties.forEach((p, i) => checkOpaqueId(p, `parties[${i}]`));
  }
  if (!isLive(data.state)) throw transition(`a ${data.state} case cannot be triaged`);
  if (data.parties.length + (input.parties?.length ?? 0) > LIMITS.parties) throw invalid(`a case has at most ${LIMITS.parties} parties`);
}

function addParty(data: CaseData, policy: CasePolicy, partyId: string, now: string): CaseParty {
  const party: CaseParty = { partyId, status: 'UNKNOWN', notifiedAt: now, updatedAt: now };
  const due = remediationDueAt(party, data.severity, policy);
  if (due) party.remediationDueAt = due;
  data.parties.push(party);
  return party;
}

/** Once a triaged case has parties they are notified: TRIAGED → PARTIES_NOTIFIED. */
function notifyIfReady(data: CaseData, policy: CasePolicy, now: string): PendingCaseEvent[] {
  if (data.state !== 'TRIAGED' || data.parties.length === 0) return [];
  data.state = 'PARTIES_NOTIFIED';
  data.notifiedAt = now;
  return [statusChanged(data, policy, 'TRIAGED', { partyIds: data.parties.map((p) => p.partyId) })];
}

export function applyTriage(data: CaseData, policy: CasePolicy, input: TriageCaseInput, now: string): PendingCaseEvent[] {
  const events: PendingCaseEvent[] = [];
  const severityChanged = data.severity !== input.severity;
  data.severity = input.severity;
  if (input.cweId) data.cweId = normalizeCweId(input.cweId);
  if (input.affectedProduct) data.affectedProduct = input.affectedProduct.trim();
  if (data.state === 'OPEN') {
    data.state = 'TRIAGED';
    data.triagedAt = now;
    events.push(statusChanged(data, policy, 'OPEN'));
  }
  const changed: CaseParty[] = [];
  if (severityChanged) {
    for (const party of data.parties) {
      const due = remediationDueAt(party, data.severity, policy);
      if (due !== party.remediationDueAt) {
        if (due) party.remediationDueAt = due;
        else delete party.remediationDueAt;
        changed.push(party);
      }
    }
  }
  const wasTriaged = data.state === 'TRIAGED';
  const added: CaseParty[] = [];
  for (const partyId of input.parties ?? []) {
    if (!data.parties.some((p) => p.partyId === partyId)) added.push(addParty(data, policy, partyId, now));
  }
  events.push(...notifyIfReady(data, policy, now));
  // Parties added after notification are told one by one; those in the notification event already were.
  if (!wasTriaged) changed.push(...added);
  for (const party of changed) events.push(partyEvent(data, party));
  data.updatedAt = now;
  return events;
}

export function validateAddParty(data: CaseData, input: unknown): asserts input is AddCasePartyInput {
  if (!isObject(input)) throw invalid('party input must be an object');
  checkActor(input.actor);
  requireOperator(input.actor, 'add a party');
  checkOpaqueId(input.partyId, 'partyId');
  if (!PARTY_KINDS.includes(input.kind as PartyKind)) throw invalid(`kind must be one of ${PARTY_KINDS.join(', ')}`);
  checkText(input.name, 'name', LIMITS.partyName, false);
  if (!Array.isArray(input.contacts) || input.contacts.length > LIMITS.contacts) throw invalid(`contacts must be a list of at most ${LIMITS.contacts}`);
  input.contacts.forEach((c: unknown, i) => {
    if (!isObject(c)) throw invalid(`contacts[${i}] must be an object`);
    for (const key of Object.keys(c)) if (!['name', 'email', 'role'].includes(key)) throw invalid(`contacts[${i}].${key} is not a contact field`);
    checkText(c.name, `contacts[${i}].name`, LIMITS.contactField, false);
    checkText(c.role, `contacts[${i}].role`, LIMITS.contactField, false);
    checkText(c.email, `contacts[${i}].email`, LIMITS.contactField, false);
    if (c.email !== undefined && !EMAIL_PATTERN.test(c.email as string)) throw invalid(`contacts[${i}].email is not an e-mail address`);
  });
  if (data.state === 'OPEN') throw transition('triage the case (severity) before adding parties: their remediation due dates follow the severity');
  if (!isLive(data.state)) throw transition(`a ${data.state} case takes no new parties`);
  if (!data.parties.some((p) => p.partyId === input.partyId) && data.parties.length >= LIMITS.parties) {
    throw invalid(`a case has at most ${LIMITS.parties} parties`);
  }
}

/** Adds the party (notified now, due date by severity) or updates its kind, name and contacts. */
export function applyAddParty(data: CaseData, policy: CasePolicy, input: AddCasePartyInput, now: string): PendingCaseEvent[] {
  const events: PendingCaseEvent[] = [];
  const wasTriaged = data.state === 'TRIAGED';
  let party = data.parties.find((p) => p.partyId === input.partyId);
  const added = party === undefined;
  party ??= addParty(data, policy, input.partyId, now);
  party.kind = input.kind;
  if (input.name !== undefined) party.name = input.name;
  party.contacts = input.contacts.map((c) => ({
    ...(c.name ? { name: c.name } : {}),
    ...(c.email ? { email: c.email } : {}),
    ...(c.role ? { role: c.role } : {}),
  }));
  events.push(...notifyIfReady(data, policy, now));
  // The notification event names the first parties; a party added later is told by its own event.
  if (added && !wasTriaged) events.push(partyEvent(data, party));
  data.updatedAt = now;
  return events;
}

export function validateSetPartyStatus(data: CaseData, input: unknown): asserts input is SetPartyStatusInput {
  if (!isObject(input)) throw invalid('party status input must be an object');
  checkActor(input.actor);
  checkOpaqueId(input.partyId, 'partyId');
  if (!PARTY_STATUSES.includes(input.status as (typeof PARTY_STATUSES)[number])) throw invalid(`status must be one of ${PARTY_STATUSES.join(', ')}`);
  if (input.remediated !== undefined && typeof input.remediated !== 'boolean') throw invalid('remediated must be true or false');
  if (input.remediated === true && input.status !== 'AFFECTED') throw invalid('only an AFFECTED party can be remediated');
  if (input.actor.kind === 'agency' && input.actor.agencyId !== input.partyId) throw forbidden('an agency may set only its own party status');
  if (data.state === 'OPEN') throw transition('triage the case before setting party status');
  if (data.state === 'CLOSED' || data.state === 'DUPLICATE') throw transition(`a ${data.state} case takes no party status`);
  if (!data.parties.some((p) => p.partyId === input.partyId)) {
    if (input.actor.kind === 'agency') throw forbidden('the agency is not a party to this case');
    if (data.parties.length >= LIMITS.parties) throw invalid(`a case has at most ${LIMITS.parties} parties`);
  }
}

export function applySetPartyStatus(data: CaseData, policy: CasePolicy, input: SetPartyStatusInput, now: string): PendingCaseEvent[] {
  const events: PendingCaseEvent[] = [];
  let party = data.parties.find((p) => p.partyId === input.partyId);
  if (!party) party = addParty(data, policy, input.partyId, now);
  party.status = input.status;
  party.updatedAt = now;
  const due = remediationDueAt(party, data.severity, policy);
  if (due) party.remediationDueAt = due;
  else delete party.remediationDueAt;
  if (input.remediated === true && party.remediatedAt === undefined) party.remediatedAt = now;
  if (input.remediated === false || input.status !== 'AFFECTED') delete party.remediatedAt;
  events.push(...notifyIfReady(data, policy, now));
  events.push(partyEvent(data, party));
  data.updatedAt = now;
  return events;
}

// ---- exploitation, remediation, publication, closing ----------------------------------------------------------

export function validateReportExploitation(data: CaseData, input: unknown): asserts input is ReportExploitationInput {
  if (!isObject(input)) throw invalid('exploitation input must be an object');
  checkActor(input.actor);
  checkIso(input.observedAt, 'observedAt', false);
  if (input.actor.kind === 'agency') {
    const agencyId = input.actor.agencyId;
    if (!data.reporters.includes(agencyId) && !data.parties.some((p) => p.partyId === agencyId)) {
      throw forbidden('only a reporter, a party or an operator may report exploitation');
    }
  }
  if (!isLive(data.state)) throw transition(`exploitation cannot be reported on a ${data.state} case`);
}

export function applyReportExploitation(data: CaseData, policy: CasePolicy, input: ReportExploitationInput, now: string): PendingCaseEvent[] {
  const events = recordExploitation(data, policy, now, actorLabel(input.actor), input.observedAt);
  if (events.length > 0) data.updatedAt = now;
  return events;
}

export function validateMarkRemediating(data: CaseData, input: unknown): void {
  if (!isObject(input)) throw invalid('input must be an object');
  checkActor(input.actor);
  requireOperator(input.actor, 'mark a case remediating');
  if (data.state !== 'PARTIES_NOTIFIED') throw transition(`only a PARTIES_NOTIFIED case can start remediating (it is ${data.state})`);
}

export function applyMarkRemediating(data: CaseData, policy: CasePolicy, now: string): PendingCaseEvent[] {
  data.state = 'REMEDIATING';
  data.remediatingAt = now;
  data.updatedAt = now;
  return [statusChanged(data, policy, 'PARTIES_NOTIFIED')];
}

export function validatePublish(data: CaseData, input: unknown, nowMs: number): asserts input is PublishCaseInput {
  if (!isObject(input)) throw invalid('publish input must be an object');
  checkActor(input.actor);
  requireOperator(input.actor, 'publish a case');
  checkText(input.advisoryRef, 'advisoryRef', LIMITS.advisoryRef, false);
  if (input.override !== undefined) {
    if (!isObject(input.override)) throw invalid('override must be an object with a reason');
    checkText(input.override.reason, 'override.reason', LIMITS.overrideReason, true);
  }
  if (data.state !== 'PARTIES_NOTIFIED' && data.state !== 'REMEDIATING') {
    throw transition(`only a PARTIES_NOTIFIED or REMEDIATING case can be published (it is ${data.state})`);
  }
  const embargo = embargoUntil(data);
  if (embargo !== undefined && nowMs < Date.parse(embargo) && input.override === undefined) {
    throw ApplicationFailure.create({
      message: `the case is under embargo until the model's release at ${embargo}; publish after that, or give an override with a reason`,
      type: FAILURES.caseEmbargoed.type,
      nonRetryable: true,
    });
  }
}

/**
 * Publishes the case. An override is recorded only when the embargo still held; with `announce` (cases started after
 * the advisory event existed) the CSAF document's id and version go out as `advisory-published`.
 */
export function applyPublish(data: CaseData, policy: CasePolicy, input: PublishCaseInput, now: string, announce = false): PendingCaseEvent[] {
  const previous = data.state;
  const embargo = embargoUntil(data);
  if (input.override && embargo !== undefined && Date.parse(now) < Date.parse(embargo)) {
    data.publishOverride = { reason: input.override.reason, by: actorLabel(input.actor), at: now, embargoUntil: embargo };
  }
  data.state = 'PUBLISHED';
  data.publishedAt = now;
  if (input.advisoryRef) data.advisoryRef = input.advisoryRef;
  data.updatedAt = now;
  const events = [statusChanged(data, policy, previous)];
  if (announce) {
    events.push({
      type: CASE_EVENT_TYPES.advisoryPublished,
      data: { caseId: data.caseId, state: data.state, documentId: csafDocumentId(data.caseId), version: CSAF_INITIAL_VERSION, publishedAt: now },
    });
  }
  return events;
}

export function validateClose(data: CaseData, input: unknown): asserts input is CloseCaseInput {
  if (!isObject(input)) throw invalid('close input must be an object');
  checkActor(input.actor);
  requireOperator(input.actor, 'close a case');
  if (!CASE_CLOSE_REASONS.includes(input.reason as CloseCaseInput['reason'])) throw invalid(`reason must be one of ${CASE_CLOSE_REASONS.join(', ')}`);
  if (data.state === 'CLOSED') throw transition('the case is already closed');
  if (data.state === 'DUPLICATE') return;
  if (input.reason === 'RESOLVED' && data.state !== 'PUBLISHED') throw transition('only a PUBLISHED case closes as RESOLVED');
  if (input.reason === 'REJECTED' && !isLive(data.state)) throw transition(`a ${data.state} case cannot be rejected`);
}

export function applyClose(data: CaseData, policy: CasePolicy, input: CloseCaseInput, now: string): PendingCaseEvent[] {
  const previous = data.state;
  data.state = 'CLOSED';
  data.closedAt = now;
  data.closeReason = input.reason;
  data.updatedAt = now;
  return [statusChanged(data, policy, previous, { closeReason: input.reason })];
}

// ---- duplicates and model releases ---------------------------------------------------------------------------

export function validateMarkDuplicate(data: CaseData, input: unknown): asserts input is MarkDuplicateInput {
  if (!isObject(input)) throw invalid('duplicate input must be an object');
  checkActor(input.actor);
  requireOperator(input.actor, 'mark a case duplicate');
  if (!isCaseId(input.primaryCaseId)) throw invalid('primaryCaseId must be a case id (case/<fingerprint>)');
  if (input.primaryCaseId === data.caseId) throw invalid('a case cannot duplicate itself');
  if (!isLive(data.state)) throw transition(`a ${data.state} case cannot be marked duplicate`);
}

export function applyMarkDuplicate(data: CaseData, policy: CasePolicy, input: MarkDuplicateInput, now: string): PendingCaseEvent[] {
  const previous = data.state;
  data.state = 'DUPLICATE';
  data.duplicateOf = input.primaryCaseId;
  data.updatedAt = now;
  return [statusChanged(data, policy, previous, { primaryCaseId: input.primaryCaseId })];
}

export function validateLinkDuplicate(data: CaseData, policy: CasePolicy, input: unknown): asserts input is LinkDuplicateInput {
  if (!isObject(input)) throw invalid('link input must be an object');
  checkActor(input.actor);
  requireOperator(input.actor, 'link cases');
  if (!isCaseId(input.duplicateCaseId) || input.duplicateCaseId === data.caseId) throw invalid('duplicateCaseId must be another case id');
  if (!Array.isArray(input.reports)) throw invalid('reports must be a list');
  input.reports.forEach((r) => checkReport(r));
  if (data.state === 'DUPLICATE') throw transition(`this case is itself a duplicate of ${data.duplicateOf}; link to that case`);
  if (!isLive(data.state) && data.state !== 'PUBLISHED') throw transition(`a ${data.state} case cannot take duplicates`);
  const fresh = input.reports.filter((r) => !data.reports.some((x) => x.reportId === (r as CaseReportRecord).reportId));
  if (data.reports.length + fresh.length > policy.maxReports) {
    throw ApplicationFailure.create({
      message: 'the case would exceed the maximum number of reports',
      type: FAILURES.caseTooManyReports.type,
      nonRetryable: true,
    });
  }
}

export function applyLinkDuplicate(data: CaseData, policy: CasePolicy, input: LinkDuplicateInput, now: string): PendingCaseEvent[] {
  const events: PendingCaseEvent[] = [];
  const reportersBefore = data.reporters.length;
  if (!data.duplicates.includes(input.duplicateCaseId)) data.duplicates.push(input.duplicateCaseId);
  for (const r of input.reports) {
    if (data.reports.some((x) => x.reportId === r.reportId)) continue;
    events.push(...addReport(data, policy, { ...r, reportedAt: isIsoTime(r.reportedAt) ? r.reportedAt : now, viaCaseId: input.duplicateCaseId }));
  }
  if (data.reporters.length > reportersBefore) {
    events.unshift({ type: CASE_EVENT_TYPES.reporterJoined, data: { caseId: data.caseId, state: data.state, reporterCount: data.reporters.length } });
  }
  data.updatedAt = now;
  return events;
}

export function validateSetModelRelease(data: CaseData, input: unknown): asserts input is SetModelReleaseInput {
  if (!isObject(input)) throw invalid('release input must be an object');
  checkActor(input.actor);
  requireOperator(input.actor, 'set a model release');
  checkOpaqueId(input.submissionId, 'submissionId');
  checkIso(input.releaseAt, 'releaseAt');
  if (isTerminal(data.state)) throw transition(`a ${data.state} case takes no release dates`);
  if (!data.modelReleases.some((r) => r.submissionId === input.submissionId) && data.modelReleases.length >= 100) {
    throw invalid('a case tracks at most 100 model releases');
  }
}

export function applySetModelRelease(data: CaseData, input: SetModelReleaseInput, now: string): PendingCaseEvent[] {
  if (upsertRelease(data, input.submissionId, input.releaseAt)) data.updatedAt = now;
  return [];
}

/** Submissions whose release dates the case follows (reports without a submission keep the date they gave). */
export function trackedSubmissions(data: CaseData): string[] {
  return data.modelReleases.map((r) => r.submissionId).filter((id) => !id.startsWith('report:'));
}

/** Applies fresh release dates read from the submissions; true when any changed. */
export function applyModelReleases(data: CaseData, releases: Array<{ submissionId: string; releaseAt: string }>, now: string): boolean {
  let changed = false;
  for (const r of releases) {
    if (!isIsoTime(r.releaseAt) || !data.modelReleases.some((m) => m.submissionId === r.submissionId)) continue;
    if (upsertRelease(data, r.submissionId, r.releaseAt)) changed = true;
  }
  if (changed) data.updatedAt = now;
  return changed;
}

// ---- alarms: embargo lifting, reminders, due dates ------------------------------------------------------------

export interface CaseAlarm {
  /** Unique per (clock, due time, offset): a moved due time makes new alarms, so nothing fires twice. */
  key: string;
  /** Alarms of one clock and due time; when several are past, only the latest fires. */
  group: string;
  at: number;
  event: PendingCaseEvent;
}

function reminderAlarms(
  data: CaseData,
  group: string,
  dueAt: string,
  offsetsHours: number[],
  kind: 'DISCLOSURE_DEADLINE' | 'REMEDIATION_DUE',
  partyId?: string,
): CaseAlarm[] {
  const due = Date.parse(dueAt);
  const base = { caseId: data.caseId, state: data.state, kind, dueAt, ...(partyId ? { partyId } : {}) };
  const alarms: CaseAlarm[] = offsetsHours.map((h) => ({
    key: `${group}:-${h}h`,
    group,
    at: due - h * HOUR_MS,
    event: { type: CASE_EVENT_TYPES.reminder, data: { ...base, phase: 'UPCOMING' } },
  }));
  alarms.push({ key: `${group}:due`, group, at: due, event: { type: CASE_EVENT_TYPES.reminder, data: { ...base, phase: 'DUE' } } });
  return alarms;
}

/** Every alarm the case currently has, fired or not. */
export function caseAlarms(data: CaseData, policy: CasePolicy): CaseAlarm[] {
  if (isTerminal(data.state)) return [];
  const alarms: CaseAlarm[] = [];
  const embargo = embargoUntil(data);
  if (embargo !== undefined) {
    const key = `embargo:${embargo}`;
    alarms.push({
      key,
      group: key,
      at: Date.parse(embargo),
      event: { type: CASE_EVENT_TYPES.embargoLifted, data: { caseId: data.caseId, state: data.state, embargoUntil: embargo } },
    });
  }
  if (isLive(data.state)) {
    const deadline = disclosureDeadline(data, policy);
    alarms.push(...reminderAlarms(data, `disclosure:${deadline}`, deadline, policy.disclosureReminderHours, 'DISCLOSURE_DEADLINE'));
  }
  for (const party of data.parties) {
    if (!party.remediationDueAt || party.status === 'NOT_AFFECTED' || party.remediatedAt) continue;
    alarms.push(
      ...reminderAlarms(
        data,
        `remediation:${party.partyId}:${party.remediationDueAt}`,
        party.remediationDueAt,
        policy.remediationReminderHours,
        'REMEDIATION_DUE',
        party.partyId,
      ),
    );
  }
  return alarms;
}

/**
 * Which alarms to fire now: per group, only the latest past-due one (a reminder that a later reminder or the due
 * time has overtaken is skipped, not sent late). Returns the alarms to fire and every key now spent.
 */
export function dueAlarms(alarms: CaseAlarm[], fired: ReadonlySet<string>, nowMs: number): { fire: CaseAlarm[]; spent: string[] } {
  const latest = new Map<string, CaseAlarm>();
  const spent: string[] = [];
  for (const alarm of alarms) {
    if (fired.has(alarm.key) || alarm.at > nowMs) continue;
    spent.push(alarm.key);
    const current = latest.get(alarm.group);
    if (!current || alarm.at > current.at) latest.set(alarm.group, alarm);
  }
  const fire = [...latest.values()].sort((a, b) => a.at - b.at || a.key.localeCompare(b.key));
  return { fire, spent };
}

/** The next time an unfired alarm is due, if any. */
export function nextAlarmAt(alarms: CaseAlarm[], fired: ReadonlySet<string>): number | undefined {
  let next: number | undefined;
  for (const alarm of alarms) {
    if (fired.has(alarm.key)) continue;
    if (next === undefined || alarm.at < next) next = alarm.at;
  }
  return next;
}

// ---- domain routing ---------------------------------------------------------------------------------------------

/**
 * Offers the case to the agencies a report's domain matched that are not already part of it (reporters, parties,
 * earlier offers); returns the agencies newly offered. The report's own agency never gets an offer.
 */
export function applyDomainOffer(data: CaseData, report: CaseReportInput, now: string): Array<{ agencyId: string; domain: string }> {
  if (!report.domain || !report.offerTo?.length) return [];
  const offered: Array<{ agencyId: string; domain: string }> = [];
  for (const agencyId of report.offerTo) {
    if (agencyId === report.agencyId || data.reporters.includes(agencyId) || data.parties.some((p) => p.partyId === agencyId)) continue;
    if (data.offeredTo.some((o) => o.agencyId === agencyId) || data.offeredTo.length >= 100) continue;
    data.offeredTo.push({ agencyId, domain: report.domain, offeredAt: now });
    offered.push({ agencyId, domain: report.domain });
  }
  return offered;
}

/** Whether an agency may read the case (its agency view): a reporter, a party, or an agency the case was offered to. */
export function agencyMayReadCase(view: Pick<CaseView, 'reporters' | 'parties'> & { offeredTo?: CaseView['offeredTo'] }, agencyId: string): boolean {
  return view.reporters.includes(agencyId) || view.parties.some((p) => p.partyId === agencyId) || (view.offeredTo ?? []).some((o) => o.agencyId === agencyId);
}
