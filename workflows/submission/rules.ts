/**
 * Pure state-machine logic of the submission lifecycle: no Temporal calls, no clock reads. Workflows call these with
 * workflow time; unit tests call them directly.
 */
import { ACCESS_METHODS, ID_PATTERN, SEVERITIES, type AgencyStatus, type ClearanceNotice, type Severity, type SubmissionStatus } from '../../wire/enums';
import type { FindingSummary, ScreeningIssue, SubmissionDetails } from '../../wire/submission';
import { DAY_MS, HOUR_MS, iso, parseIsoTime } from '../shared/time';
import { AGENCY_TERMINAL_STATUSES, DEFAULT_SUBMISSION_SETTINGS, MAX_ACCESS_WINDOW_DAYS, type FindingsSummaryView, type SubmissionSettings } from './contract';
import { type ReviewClock } from '../assessment/contract';
import { FAILURES, type FailureType } from '../shared/failures';

/** A refusal: the failure type and a sentence a person understands. */
export interface Refusal {
  type: FailureType;
  reason: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Settings

/** Fills defaults and refuses nonsense (negative or non-finite durations). */
export function resolveSettings(partial: Partial<SubmissionSettings> | undefined): SubmissionSettings {
  const s: SubmissionSettings = { ...DEFAULT_SUBMISSION_SETTINGS, ...(partial ?? {}) };
  const nonNegative = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  if (!nonNegative(s.resubmissionDays)) throw new RangeError('settings.resubmissionDays must be a number ≥ 0');
  if (!nonNegative(s.releaseDeclarationGraceDays)) throw new RangeError('settings.releaseDeclarationGraceDays must be a number ≥ 0');
  if (!nonNegative(s.closeAfterReleaseDays)) throw new RangeError('settings.closeAfterReleaseDays must be a number ≥ 0');
  if (!Array.isArray(s.reminderOffsetsHours) || !s.reminderOffsetsHours.every((h) => nonNegative(h) && h > 0)) {
    throw new RangeError('settings.reminderOffsetsHours must be a list of positive numbers');
  }
  return { ...s, reminderOffsetsHours: [...new Set(s.reminderOffsetsHours)].sort((a, b) => b - a) };
}

// ---------------------------------------------------------------------------------------------------------------
// Screening

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const VERSION_HASH = /^sha(256|384|512):[0-9a-f]{64,128}$/;

/** Completeness checks; an empty list means the submission passes screening. */
export function screenSubmission(details: SubmissionDetails, nowMs: number): ScreeningIssue[] {
  const issues: ScreeningIssue[] = [];
  const d = (details ?? {}) as Partial<SubmissionDetails>;
  const model = d.model as Partial<SubmissionDetails['model']> | undefined;
  if (!model || typeof model !== 'object') {
    issues.push({ field: 'model', reason: 'The model identity (name, version, version hash) is missing.' });
  } else {
    if (typeof model.name !== 'string' || !model.name.trim()) issues.push({ field: 'model.name', reason: 'The model name is missing.' });
    if (typeof model.version !== 'string' || !model.version.trim()) {
      issues.push({ field: 'model.version', reason: 'The exact model version agencies will test is missing.' });
    }
    if (typeof model.versionHash !== 'string' || !VERSION_HASH.test(model.versionHash)) {
      issues.push({ field: 'model.versionHash', reason: 'The version hash must look like "sha256:<64 lowercase hex digits>".' });
    }
  }
  const release = parseIsoTime(d.plannedReleaseAt);
  if (release === undefined) {
    issues.push({ field: 'plannedReleaseAt', reason: 'The planned release time must be an ISO-8601 date-time with a time zone.' });
  } else if (release <= nowMs) {
    issues.push({ field: 'plannedReleaseAt', reason: 'The planned release time has already passed.' });
  }
  if (d.accessStartAt !== undefined) {
    const start = parseIsoTime(d.accessStartAt);
    if (start === undefined) {
      issues.push({ field: 'accessStartAt', reason: 'The access start must be an ISO-8601 date-time with a time zone.' });
    } else if (release !== undefined && start >= release) {
      issues.push({ field: 'accessStartAt', reason: 'Access must start before the planned release.' });
    }
  }
  if (!ACCESS_METHODS.includes(d.accessMethod as never)) {
    issues.push({ field: 'accessMethod', reason: `The access method must be one of ${ACCESS_METHODS.join(', ')}.` });
  }
  if (!Array.isArray(d.contacts) || d.contacts.length === 0) {
    issues.push({ field: 'contacts', reason: 'At least one contact is needed.' });
  } else {
    d.contacts.forEach((c, i) => {
      if (!c || typeof c.name !== 'string' || !c.name.trim()) issues.push({ field: `contacts[${i}].name`, reason: 'The contact has no name.' });
      if (!c || typeof c.email !== 'string' || !EMAIL.test(c.email)) {
        issues.push({ field: `contacts[${i}].email`, reason: 'The contact has no valid email address.' });
      }
    });
  }
  if (!Array.isArray(d.requestedAgencies) || d.requestedAgencies.length === 0) {
    issues.push({ field: 'requestedAgencies', reason: 'At least one agency must be requested.' });
  } else {
    const bad = d.requestedAgencies.filter((a) => typeof a !== 'string' || !ID_PATTERN.test(a));
    if (bad.length > 0) issues.push({ field: 'requestedAgencies', reason: `Not valid agency ids: ${bad.map(String).join(', ')}.` });
    if (new Set(d.requestedAgencies).size !== d.requestedAgencies.length) {
      issues.push({ field: 'requestedAgencies', reason: 'An agency is listed more than once.' });
    }
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------------------------
// Access window

/** The hard access window: opens at access start, closes at min(start + 30 days, planned release). */
export function computeAccessWindow(accessStartMs: number, plannedReleaseMs: number): { opensAtMs: number; closesAtMs: number } {
  const cap = accessStartMs + MAX_ACCESS_WINDOW_DAYS * DAY_MS;
  return { opensAtMs: accessStartMs, closesAtMs: Math.max(accessStartMs, Math.min(cap, plannedReleaseMs)) };
}

export interface ReleaseDateChangeContext {
  nowMs: number;
  status: SubmissionStatus;
  /** Set once access has started and until the window has closed. */
  accessStartMs?: number;
  windowOpen: boolean;
}

/**
 * Validates a planned-release change. The release date is the vendor's: any future date is accepted (only a malformed
 * or past date is refused). While the window is open it is recomputed as `min(accessStart + 30 days, release)`, so a
 * postponement past the cap leaves the window at 30 days and never lengthens it beyond.
 */
export function validateReleaseDateChange(
  ctx: ReleaseDateChangeContext,
  plannedReleaseAt: unknown,
): { ok: true; releaseMs: number; windowClosesAtMs?: number } | { ok: false; refusal: Refusal } {
  const refuse = (type: FailureType, reason: string) => ({ ok: false as const, refusal: { type, reason } });
  if (['RELEASED', 'CLOSED', 'WITHDRAWN'].includes(ctx.status)) {
    return refuse(FAILURES.notAllowedInState.type, `The release date cannot change: the submission is ${ctx.status}.`);
  }
  const releaseMs = parseIsoTime(plannedReleaseAt);
  if (releaseMs === undefined) {
    return refuse(FAILURES.invalidInput.type, 'The planned release time must be an ISO-8601 date-time with a time zone.');
  }
  if (releaseMs <= ctx.nowMs) return refuse(FAILURES.invalidInput.type, 'The new planned release time has already passed.');
  if (ctx.accessStartMs === undefined || !ctx.windowOpen) return { ok: true, releaseMs };
  return { ok: true, releaseMs, windowClosesAtMs: computeAccessWindow(ctx.accessStartMs, releaseMs).closesAtMs };
}

// ---------------------------------------------------------------------------------------------------------------
// Review clock (per agency): runs from start to a terminal status, on hold while an info request waits on the vendor

export function startClock(clock: ReviewClock, atMs: number): ReviewClock {
  return clock.startedAt ? clock : { ...clock, startedAt: iso(atMs) };
}

export function holdClock(clock: ReviewClock, atMs: number): ReviewClock {
  if (!clock.startedAt || clock.stoppedAt || clock.holdStartedAt) return clock;
  return { ...clock, holdStartedAt: iso(atMs) };
}

export function resumeClock(clock: ReviewClock, atMs: number): ReviewClock {
  if (!clock.holdStartedAt) return clock;
  const held = Math.max(0, atMs - Date.parse(clock.holdStartedAt));
  const { holdStartedAt: _ended, ...rest } = clock;
  return { ...rest, onHoldMs: clock.onHoldMs + held };
}

export function stopClock(clock: ReviewClock, atMs: number): ReviewClock {
  if (clock.stoppedAt) return clock;
  const resumed = resumeClock(clock, atMs);
  return clock.startedAt ? { ...resumed, stoppedAt: iso(atMs) } : resumed;
}

/** Active and on-hold milliseconds at `nowMs` (or at the stop time once stopped). */
export function clockTotals(clock: ReviewClock, nowMs: number): { activeMs: number; onHoldMs: number; onHold: boolean } {
  if (!clock.startedAt) return { activeMs: 0, onHoldMs: 0, onHold: false };
  const end = clock.stoppedAt ? Date.parse(clock.stoppedAt) : nowMs;
  const currentHold = clock.holdStartedAt ? Math.max(0, end - Date.parse(clock.holdStartedAt)) : 0;
  const onHoldMs = clock.onHoldMs + currentHold;
  const activeMs = Math.max(0, end - Date.parse(clock.startedAt) - onHoldMs);
  return { activeMs, onHoldMs, onHold: Boolean(clock.holdStartedAt) && !clock.stoppedAt };
}

// ---------------------------------------------------------------------------------------------------------------
// Transition tables

export const SUBMISSION_TRANSITIONS: Record<SubmissionStatus, readonly SubmissionStatus[]> = {
  RECEIVED: ['SCREENING', 'RELEASED', 'WITHDRAWN'],
  SCREENING: ['RETURNED', 'ACCESS_PROVISIONING', 'RELEASED', 'WITHDRAWN'],
  RETURNED: ['SCREENING', 'RELEASED', 'WITHDRAWN'],
  ACCESS_PROVISIONING: ['UNDER_ASSESSMENT', 'CONSOLIDATING', 'WITHDRAWN'],
  UNDER_ASSESSMENT: ['CONSOLIDATING', 'WITHDRAWN'],
  CONSOLIDATING: ['CLEARANCE_ISSUED', 'WITHDRAWN'],
  CLEARANCE_ISSUED: ['RELEASED', 'CLOSED', 'WITHDRAWN'],
  RELEASED: ['CLOSED'],
  CLOSED: [],
  WITHDRAWN: [],
};

export const AGENCY_TRANSITIONS: Record<AgencyStatus, readonly AgencyStatus[]> = {
  INVITED: ['ACCEPTED', 'DECLINED', 'DID_NOT_COMPLETE', 'WITHDRAWN'],
  ACCEPTED: ['IN_PROGRESS', 'DID_NOT_COMPLETE', 'WITHDRAWN'],
  IN_PROGRESS: ['INFO_REQUESTED', 'FINDINGS_SUBMITTED', 'NO_FINDINGS', 'DID_NOT_COMPLETE', 'WITHDRAWN'],
  INFO_REQUESTED: ['IN_PROGRESS', 'FINDINGS_SUBMITTED', 'NO_FINDINGS', 'DID_NOT_COMPLETE', 'WITHDRAWN'],
  FINDINGS_SUBMITTED: [],
  NO_FINDINGS: [],
  DECLINED: [],
  DID_NOT_COMPLETE: [],
  WITHDRAWN: [],
};

export function canTransitionSubmission(from: SubmissionStatus, to: SubmissionStatus): boolean {
  return SUBMISSION_TRANSITIONS[from].includes(to);
}

export function canTransitionAgency(from: AgencyStatus, to: AgencyStatus): boolean {
  return AGENCY_TRANSITIONS[from].includes(to);
}

export function isAgencyTerminal(status: AgencyStatus): boolean {
  return AGENCY_TERMINAL_STATUSES.includes(status);
}

export function isSubmissionEnded(status: SubmissionStatus): boolean {
  return status === 'CLOSED' || status === 'WITHDRAWN';
}

// ---------------------------------------------------------------------------------------------------------------
// Command permissions: undefined = allowed, otherwise the refusal

export type VendorCommand = 'resubmit' | 'changeReleaseDate' | 'respondToInfoRequest' | 'respondToFinding' | 'acknowledge' | 'withdraw' | 'declareReleased';

const VENDOR_COMMAND_STATES: Record<VendorCommand, readonly SubmissionStatus[]> = {
  resubmit: ['RETURNED'],
  changeReleaseDate: ['RECEIVED', 'SCREENING', 'RETURNED', 'ACCESS_PROVISIONING', 'UNDER_ASSESSMENT', 'CONSOLIDATING', 'CLEARANCE_ISSUED'],
  respondToInfoRequest: ['UNDER_ASSESSMENT'],
  respondToFinding: ['UNDER_ASSESSMENT', 'CONSOLIDATING', 'CLEARANCE_ISSUED', 'RELEASED'],
  acknowledge: ['CLEARANCE_ISSUED', 'RELEASED'],
  // Voluntary and non-gating: the vendor may leave, or release, at any time before release.
  withdraw: ['RECEIVED', 'SCREENING', 'RETURNED', 'ACCESS_PROVISIONING', 'UNDER_ASSESSMENT', 'CONSOLIDATING', 'CLEARANCE_ISSUED'],
  declareReleased: ['RECEIVED', 'SCREENING', 'RETURNED', 'ACCESS_PROVISIONING', 'UNDER_ASSESSMENT', 'CONSOLIDATING', 'CLEARANCE_ISSUED'],
};

const VENDOR_COMMAND_WORDS: Record<VendorCommand, string> = {
  resubmit: 'A resubmission is possible only after the submission was returned',
  changeReleaseDate: 'The release date cannot change',
  respondToInfoRequest: 'Information requests can be answered only while the assessment runs',
  respondToFinding: 'Findings can be responded to only once an assessment has started',
  acknowledge: 'The clearance notice can be acknowledged only once it has been issued',
  withdraw: 'The submission can no longer be withdrawn',
  declareReleased: 'The release cannot be declared',
};

export function vendorCommandRefusal(command: VendorCommand, status: SubmissionStatus): Refusal | undefined {
  if (VENDOR_COMMAND_STATES[command].includes(status)) return undefined;
  return { type: FAILURES.notAllowedInState.type, reason: `${VENDOR_COMMAND_WORDS[command]}: the submission is ${status}.` };
}

export type AgencyCommand = 'accept' | 'decline' | 'start' | 'requestInfo' | 'submitFinding' | 'complete';

const AGENCY_COMMAND_STATES: Record<AgencyCommand, readonly AgencyStatus[]> = {
  accept: ['INVITED'],
  decline: ['INVITED'],
  start: ['ACCEPTED'],
  requestInfo: ['IN_PROGRESS', 'INFO_REQUESTED'],
  submitFinding: ['IN_PROGRESS', 'INFO_REQUESTED'],
  complete: ['IN_PROGRESS', 'INFO_REQUESTED'],
};

const AGENCY_COMMAND_WORDS: Record<AgencyCommand, string> = {
  accept: 'The invitation can be accepted only while it is open',
  decline: 'The invitation can be declined only while it is open',
  start: 'The assessment can start only after the invitation was accepted',
  requestInfo: 'Information can be requested only while the assessment is in progress',
  submitFinding: 'Findings can be submitted only while the assessment is in progress',
  complete: 'The assessment can be completed only while it is in progress',
};

export function agencyCommandRefusal(
  command: AgencyCommand,
  ctx: { status: AgencyStatus; ownerAgencyId: string; signerAgencyId: unknown },
): Refusal | undefined {
  if (typeof ctx.signerAgencyId !== 'string' || ctx.signerAgencyId !== ctx.ownerAgencyId) {
    return {
      type: FAILURES.wrongAgency.type,
      reason: `This assessment belongs to agency "${ctx.ownerAgencyId}"; agency "${String(ctx.signerAgencyId)}" may not act on it.`,
    };
  }
  if (AGENCY_COMMAND_STATES[command].includes(ctx.status)) return undefined;
  return { type: FAILURES.notAllowedInState.type, reason: `${AGENCY_COMMAND_WORDS[command]}: it is ${ctx.status}.` };
}

/** Checks the agency-supplied finding: fields present, severity known, version equal to the submitted one. */
export function findingRefusal(finding: unknown, submittedModelVersion: string): Refusal | undefined {
  const invalid = (reason: string): Refusal => ({ type: FAILURES.invalidInput.type, reason });
  if (!finding || typeof finding !== 'object') return invalid('The finding is missing.');
  const f = finding as Record<string, unknown>;
  if (!SEVERITIES.includes(f.severity as Severity)) return invalid(`The severity must be one of ${SEVERITIES.join(', ')}.`);
  for (const field of ['domain', 'title', 'detail', 'recommendedMitigation', 'modelVersionTested']) {
    if (typeof f[field] !== 'string' || !(f[field] as string).trim()) return invalid(`The finding's ${field} is missing.`);
  }
  if (typeof f.thirdPartyVulnerability !== 'boolean') return invalid('The finding must say whether it is a third-party vulnerability.');
  for (const [field, max] of [
    ['affectedProduct', 200],
    ['weakness', 500],
    ['cweId', 20],
  ] as const) {
    const v = f[field];
    if (v !== undefined && (typeof v !== 'string' || !v.trim() || v.length > max))
      return invalid(`The finding's ${field} must be text of at most ${max} characters.`);
  }
  if (f.cweId !== undefined && !/^CWE-\d{1,6}$/.test(String(f.cweId))) return invalid('The finding\'s cweId must look like "CWE-79".');
  if (f.modelVersionTested !== submittedModelVersion) {
    return {
      type: FAILURES.modelVersionMismatch.type,
      reason: `The finding names model version "${String(f.modelVersionTested)}", but the submitted version is "${submittedModelVersion}".`,
    };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Reminders

/** The next reminder not yet sent whose time is still ahead, or undefined. Offsets are hours before the deadline. */
export function nextReminder(
  deadlineMs: number,
  nowMs: number,
  offsetsHours: readonly number[],
  sent: readonly number[],
): { hoursBefore: number; atMs: number } | undefined {
  return offsetsHours
    .filter((h) => !sent.includes(h))
    .map((h) => ({ hoursBefore: h, atMs: deadlineMs - h * HOUR_MS }))
    .filter((r) => r.atMs > nowMs)
    .sort((a, b) => a.atMs - b.atMs)[0];
}

// ---------------------------------------------------------------------------------------------------------------
// Findings and the advisory clearance notice

/**
 * Whether the notice counts a finding as mitigated. With verified mitigations (every run since
 * `VERIFIED_MITIGATIONS_PATCH`) the vendor's MITIGATED is a claim until the reporting agency confirms it; runs started
 * before take the vendor's word (`verified: false`).
 */
export function isResolved(finding: Pick<FindingSummary, 'response' | 'mitigation'>, verified = true): boolean {
  return finding.response === 'MITIGATED' && (!verified || finding.mitigation === 'CONFIRMED');
}

/** Findings reported MITIGATED that still await their reporting agency's confirmation. */
export function mitigationsAwaitingConfirmation(findings: readonly Pick<FindingSummary, 'findingId' | 'response' | 'mitigation'>[]): string[] {
  return findings.filter((f) => f.response === 'MITIGATED' && f.mitigation === 'AWAITING_CONFIRMATION').map((f) => f.findingId);
}

export function summarizeFindings(findings: readonly FindingSummary[], verified = true): FindingsSummaryView {
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) bySeverity[f.severity] += 1;
  return {
    total: findings.length,
    bySeverity,
    unresolvedCriticalOrHigh: findings.filter((f) => (f.severity === 'CRITICAL' || f.severity === 'HIGH') && !isResolved(f, verified)).length,
    mitigationsAwaitingConfirmation: verified ? mitigationsAwaitingConfirmation(findings) : [],
    findings: findings.map((f) => ({ ...f })),
  };
}

/**
 * The advisory release-clearance notice, from agency statuses, findings and vendor responses:
 * - CONCERNS_NOTED: a CRITICAL or HIGH finding not counted as mitigated (even from an agency that did not complete:
 *   a concern is never hidden behind "not assessed");
 * - NOT_ASSESSED: no agency completed an assessment;
 * - CLEAR_WITH_RECOMMENDATIONS: some finding is not yet counted as mitigated;
 * - CLEAR: otherwise.
 * A finding counts as mitigated once the vendor reported MITIGATED and the reporting agency confirmed it (`isResolved`).
 * It is advice to the vendor; nothing in Preflight approves, blocks or holds a release on it.
 */
export function deriveClearanceNotice(
  agencyStatuses: readonly AgencyStatus[],
  findings: readonly Pick<FindingSummary, 'severity' | 'response' | 'mitigation'>[],
  verified = true,
): ClearanceNotice {
  if (findings.some((f) => (f.severity === 'CRITICAL' || f.severity === 'HIGH') && !isResolved(f, verified))) return 'CONCERNS_NOTED';
  const completed = agencyStatuses.some((s) => s === 'FINDINGS_SUBMITTED' || s === 'NO_FINDINGS');
  if (!completed) return 'NOT_ASSESSED';
  if (findings.some((f) => !isResolved(f, verified))) return 'CLEAR_WITH_RECOMMENDATIONS';
  return 'CLEAR';
}

export type MitigationReviewCommand = 'confirmMitigation' | 'rejectMitigation';

/**
 * Refuses a mitigation review the signer may not make now: the finding must exist and be the signer's own (another
 * agency gets the same answer as for an unknown finding's owner: wrong agency), the vendor must have reported it
 * MITIGATED, and a confirmed mitigation is not reviewed again.
 */
export function mitigationReviewRefusal(
  command: MitigationReviewCommand,
  ctx: {
    status: SubmissionStatus;
    finding: Pick<FindingSummary, 'findingId' | 'agencyId' | 'response' | 'mitigation'> | undefined;
    findingId: unknown;
    signerAgencyId: unknown;
  },
): Refusal | undefined {
  const { finding } = ctx;
  if (!finding) return { type: FAILURES.unknownReference.type, reason: `There is no finding "${String(ctx.findingId)}" on this submission.` };
  if (typeof ctx.signerAgencyId !== 'string' || ctx.signerAgencyId !== finding.agencyId) {
    return {
      type: FAILURES.wrongAgency.type,
      reason: `Finding "${finding.findingId}" was reported by another agency; only the reporting agency may review its mitigation.`,
    };
  }
  if (isSubmissionEnded(ctx.status))
    return { type: FAILURES.notAllowedInState.type, reason: `Mitigations can no longer be reviewed: the submission is ${ctx.status}.` };
  if (finding.response !== 'MITIGATED' || finding.mitigation === undefined) {
    return { type: FAILURES.notAllowedInState.type, reason: `The vendor has not reported finding "${finding.findingId}" MITIGATED.` };
  }
  if (finding.mitigation === 'CONFIRMED') {
    return { type: FAILURES.notAllowedInState.type, reason: `The mitigation of finding "${finding.findingId}" is already confirmed.` };
  }
  if (command === 'rejectMitigation' && finding.mitigation === 'REJECTED') {
    return {
      type: FAILURES.notAllowedInState.type,
      reason: `The mitigation of finding "${finding.findingId}" is already rejected; the vendor may claim it again.`,
    };
  }
  return undefined;
}
