import type { SubmissionDetails } from '../../wire/submission';
import { DAY_MS } from '../../workflows/shared/time';
import {
  AGENCY_STATUSES,
  type AgencyStatus,
  CLEARANCE_NOTICES,
  FINDING_RESPONSES,
  type FindingResponseKind,
  type MitigationReview,
  SEVERITIES,
  type Severity,
  SUBMISSION_STATUSES,
} from '../../wire/enums';
import { FAILURES } from '../../workflows/shared/failures';
import {
  agencyCommandRefusal,
  canTransitionAgency,
  canTransitionSubmission,
  clockTotals,
  computeAccessWindow,
  deriveClearanceNotice,
  findingRefusal,
  holdClock,
  mitigationReviewRefusal,
  mitigationsAwaitingConfirmation,
  nextReminder,
  resolveSettings,
  resumeClock,
  screenSubmission,
  startClock,
  stopClock,
  summarizeFindings,
  validateReleaseDateChange,
  vendorCommandRefusal,
} from '../../workflows/submission/rules';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const day = (n: number) => T0 + n * DAY_MS;

const goodDetails = (): SubmissionDetails => ({
  model: { name: 'frontier-7', version: '7.0.1', versionHash: `sha256:${'a'.repeat(64)}` },
  plannedReleaseAt: new Date(day(20)).toISOString(),
  accessMethod: 'API',
  contacts: [{ name: 'Ada', email: 'ada@vendor.example' }],
  requestedAgencies: ['nsa', 'cisa'],
});

describe('access window', () => {
  it('closes at the planned release when it is less than 30 days away', () => {
    const w = computeAccessWindow(day(0), day(10));
    expect(w.closesAtMs - w.opensAtMs).toBe(10 * DAY_MS);
  });
  it('never exceeds 30 days: 45 days before release gives exactly 30', () => {
    const w = computeAccessWindow(day(0), day(45));
    expect(w.closesAtMs - w.opensAtMs).toBe(30 * DAY_MS);
  });
  it('is empty rather than negative when release precedes access', () => {
    const w = computeAccessWindow(day(5), day(1));
    expect(w.closesAtMs).toBe(w.opensAtMs);
  });
});

describe('release-date change', () => {
  const open = { nowMs: day(2), status: 'UNDER_ASSESSMENT' as const, accessStartMs: day(0), windowOpen: true };
  it('recomputes the window within the cap', () => {
    const r = validateReleaseDateChange(open, new Date(day(25)).toISOString());
    expect(r).toEqual({ ok: true, releaseMs: day(25), windowClosesAtMs: day(25) });
  });
  it('accepts a postponement past the 30-day cap and keeps the window at 30 days', () => {
    expect(validateReleaseDateChange(open, new Date(day(31)).toISOString())).toEqual({ ok: true, releaseMs: day(31), windowClosesAtMs: day(30) });
    expect(validateReleaseDateChange(open, new Date(day(400)).toISOString())).toEqual({ ok: true, releaseMs: day(400), windowClosesAtMs: day(30) });
  });
  it('accepts exactly 30 days', () => {
    expect(validateReleaseDateChange(open, new Date(day(30)).toISOString()).ok).toBe(true);
  });
  it('refuses past dates and non-dates', () => {
    const past = validateReleaseDateChange(open, new Date(day(1)).toISOString());
    expect(!past.ok && past.refusal.type).toBe(FAILURES.invalidInput.type);
    const junk = validateReleaseDateChange(open, 'next tuesday');
    expect(!junk.ok && junk.refusal.reason).toMatch(/ISO-8601/);
    const noZone = validateReleaseDateChange(open, '2026-12-20T00:00:00');
    expect(noZone.ok).toBe(false);
  });
  it('has no cap before access starts or after the window closed', () => {
    expect(validateReleaseDateChange({ nowMs: day(0), status: 'SCREENING', windowOpen: false }, new Date(day(90)).toISOString()).ok).toBe(true);
    expect(
      validateReleaseDateChange({ nowMs: day(12), status: 'CLEARANCE_ISSUED', accessStartMs: day(0), windowOpen: false }, new Date(day(90)).toISOString()).ok,
    ).toBe(true);
  });
  it('is refused once released, closed or withdrawn', () => {
    for (const status of ['RELEASED', 'CLOSED', 'WITHDRAWN'] as const) {
      const r = validateReleaseDateChange({ nowMs: day(0), status, windowOpen: false }, new Date(day(9)).toISOString());
      expect(!r.ok && r.refusal.type).toBe(FAILURES.notAllowedInState.type);
    }
  });
});

describe('review clock', () => {
  it('counts active and on-hold time separately', () => {
    let c = startClock({ onHoldMs: 0 }, day(0));
    c = holdClock(c, day(3));
    expect(clockTotals(c, day(4))).toEqual({ activeMs: 3 * DAY_MS, onHoldMs: DAY_MS, onHold: true });
    c = resumeClock(c, day(5));
    c = holdClock(c, day(6));
    c = resumeClock(c, day(6.5));
    c = stopClock(c, day(10));
    expect(clockTotals(c, day(99))).toEqual({ activeMs: 7.5 * DAY_MS, onHoldMs: 2.5 * DAY_MS, onHold: false });
  });
  it('stopping while on hold ends the hold', () => {
    const c = stopClock(holdClock(startClock({ onHoldMs: 0 }, day(0)), day(1)), day(4));
    expect(clockTotals(c, day(50))).toEqual({ activeMs: DAY_MS, onHoldMs: 3 * DAY_MS, onHold: false });
  });
  it('is zero until started and ignores a hold before start', () => {
    const c = holdClock({ onHoldMs: 0 }, day(1));
    expect(clockTotals(c, day(3))).toEqual({ activeMs: 0, onHoldMs: 0, onHold: false });
  });
});

describe('screening', () => {
  it('passes complete details', () => {
    expect(screenSubmission(goodDetails(), day(0))).toEqual([]);
  });
  it('returns a reason per missing or bad field', () => {
    const d = { ...goodDetails(), model: { name: '', version: '7', versionHash: 'md5:x' }, contacts: [], requestedAgencies: ['nsa', 'nsa'] };
    const fields = screenSubmission(d, day(0)).map((i) => i.field);
    expect(fields).toEqual(['model.name', 'model.versionHash', 'contacts', 'requestedAgencies']);
  });
  it('refuses a release that already passed', () => {
    expect(screenSubmission(goodDetails(), day(21))).toEqual([{ field: 'plannedReleaseAt', reason: 'The planned release time has already passed.' }]);
  });
  it('survives a body that is not an object', () => {
    expect(screenSubmission(undefined as unknown as SubmissionDetails, day(0)).length).toBeGreaterThan(3);
  });
});

describe('transition tables and command permissions', () => {
  it('withdrawal is possible from every state before release, and not after', () => {
    for (const s of SUBMISSION_STATUSES) {
      const before = !['RELEASED', 'CLOSED', 'WITHDRAWN'].includes(s);
      expect(canTransitionSubmission(s, 'WITHDRAWN')).toBe(before);
      expect(vendorCommandRefusal('withdraw', s) === undefined).toBe(before);
    }
  });
  it('a release declaration is accepted in every state before release', () => {
    for (const s of SUBMISSION_STATUSES) {
      const before = !['RELEASED', 'CLOSED', 'WITHDRAWN'].includes(s);
      expect(vendorCommandRefusal('declareReleased', s) === undefined).toBe(before);
    }
  });
  it('terminal agency statuses have no way out', () => {
    for (const s of ['DECLINED', 'FINDINGS_SUBMITTED', 'NO_FINDINGS', 'DID_NOT_COMPLETE', 'WITHDRAWN'] as AgencyStatus[]) {
      for (const t of AGENCY_STATUSES) expect(canTransitionAgency(s, t)).toBe(false);
    }
  });
  it('refuses another agency, and commands out of order, with a reason', () => {
    const other = agencyCommandRefusal('accept', { status: 'INVITED', ownerAgencyId: 'nsa', signerAgencyId: 'cisa' });
    expect(other?.type).toBe(FAILURES.wrongAgency.type);
    expect(other?.reason).toContain('"nsa"');
    const early = agencyCommandRefusal('start', { status: 'INVITED', ownerAgencyId: 'nsa', signerAgencyId: 'nsa' });
    expect(early).toEqual({ type: FAILURES.notAllowedInState.type, reason: 'The assessment can start only after the invitation was accepted: it is INVITED.' });
    expect(agencyCommandRefusal('start', { status: 'ACCEPTED', ownerAgencyId: 'nsa', signerAgencyId: 'nsa' })).toBeUndefined();
  });
  it('checks findings, including the tested model version', () => {
    const f = {
      severity: 'HIGH',
      domain: 'cyber',
      title: 't',
      detail: 'd',
      modelVersionTested: '7.0.0',
      recommendedMitigation: 'm',
      thirdPartyVulnerability: false,
    };
    expect(findingRefusal(f, '7.0.1')?.type).toBe(FAILURES.modelVersionMismatch.type);
    expect(findingRefusal({ ...f, modelVersionTested: '7.0.1' }, '7.0.1')).toBeUndefined();
    expect(findingRefusal({ ...f, severity: 'SEVERE' }, '7.0.0')?.reason).toMatch(/CRITICAL, HIGH/);
  });
});

describe('reminders', () => {
  it('picks the earliest unsent reminder still ahead', () => {
    expect(nextReminder(day(10), day(0), [168, 72, 24], [])).toEqual({ hoursBefore: 168, atMs: day(3) });
    expect(nextReminder(day(10), day(4), [168, 72, 24], [])).toEqual({ hoursBefore: 72, atMs: day(7) });
    expect(nextReminder(day(10), day(4), [168, 72, 24], [72])).toEqual({ hoursBefore: 24, atMs: day(9) });
    expect(nextReminder(day(10), day(9.5), [168, 72, 24], [])).toBeUndefined();
  });
  it('settings default and refuse nonsense', () => {
    expect(resolveSettings(undefined).reminderOffsetsHours).toEqual([168, 72, 24]);
    expect(() => resolveSettings({ resubmissionDays: -1 })).toThrow(/resubmissionDays/);
  });
});

describe('advisory clearance notice', () => {
  const f = (severity: Severity, response?: FindingResponseKind, mitigation?: MitigationReview) => ({
    severity,
    ...(response ? { response } : {}),
    ...(mitigation ? { mitigation } : {}),
  });
  it('CONCERNS_NOTED for an unresolved CRITICAL or HIGH finding', () => {
    expect(deriveClearanceNotice(['FINDINGS_SUBMITTED'], [f('HIGH', 'ACKNOWLEDGED')])).toBe('CONCERNS_NOTED');
    expect(deriveClearanceNotice(['FINDINGS_SUBMITTED'], [f('CRITICAL', 'RISK_ACCEPTED')])).toBe('CONCERNS_NOTED');
    expect(deriveClearanceNotice(['DID_NOT_COMPLETE'], [f('CRITICAL')])).toBe('CONCERNS_NOTED');
  });
  it('CLEAR_WITH_RECOMMENDATIONS when findings remain but none is a serious unresolved one', () => {
    expect(deriveClearanceNotice(['FINDINGS_SUBMITTED'], [f('HIGH', 'MITIGATED', 'CONFIRMED'), f('LOW')])).toBe('CLEAR_WITH_RECOMMENDATIONS');
  });
  it('CLEAR when nothing is left open', () => {
    expect(deriveClearanceNotice(['NO_FINDINGS', 'DECLINED'], [])).toBe('CLEAR');
    expect(deriveClearanceNotice(['FINDINGS_SUBMITTED'], [f('CRITICAL', 'MITIGATED', 'CONFIRMED')])).toBe('CLEAR');
  });
  it('a MITIGATED claim counts only once the reporting agency confirmed it', () => {
    expect(deriveClearanceNotice(['FINDINGS_SUBMITTED'], [f('HIGH', 'MITIGATED', 'AWAITING_CONFIRMATION')])).toBe('CONCERNS_NOTED');
    expect(deriveClearanceNotice(['FINDINGS_SUBMITTED'], [f('HIGH', 'MITIGATED', 'REJECTED')])).toBe('CONCERNS_NOTED');
    expect(deriveClearanceNotice(['FINDINGS_SUBMITTED'], [f('LOW', 'MITIGATED', 'AWAITING_CONFIRMATION')])).toBe('CLEAR_WITH_RECOMMENDATIONS');
    // Runs started before verified mitigations take the vendor's word.
    expect(deriveClearanceNotice(['FINDINGS_SUBMITTED'], [f('HIGH', 'MITIGATED', 'AWAITING_CONFIRMATION')], false)).toBe('CLEAR');
    expect(
      mitigationsAwaitingConfirmation([
        { findingId: 'nsa-f1', response: 'MITIGATED', mitigation: 'AWAITING_CONFIRMATION' },
        { findingId: 'nsa-f2', response: 'MITIGATED', mitigation: 'CONFIRMED' },
        { findingId: 'cisa-f1', response: 'ACKNOWLEDGED' },
      ]),
    ).toEqual(['nsa-f1']);
  });
  it('only the reporting agency reviews a claimed mitigation, once', () => {
    const finding = { findingId: 'nsa-f1', agencyId: 'nsa', response: 'MITIGATED' as const, mitigation: 'AWAITING_CONFIRMATION' as const };
    const ctx = { status: 'CLEARANCE_ISSUED' as const, finding, findingId: 'nsa-f1', signerAgencyId: 'nsa' };
    expect(mitigationReviewRefusal('confirmMitigation', ctx)).toBeUndefined();
    expect(mitigationReviewRefusal('confirmMitigation', { ...ctx, signerAgencyId: 'cisa' })?.type).toBe(FAILURES.wrongAgency.type);
    expect(mitigationReviewRefusal('confirmMitigation', { ...ctx, finding: undefined })?.type).toBe(FAILURES.unknownReference.type);
    expect(mitigationReviewRefusal('confirmMitigation', { ...ctx, finding: { ...finding, response: 'DISPUTED' } })?.type).toBe(FAILURES.notAllowedInState.type);
    expect(mitigationReviewRefusal('confirmMitigation', { ...ctx, finding: { ...finding, mitigation: 'CONFIRMED' } })?.reason).toMatch(/already confirmed/);
    expect(mitigationReviewRefusal('rejectMitigation', { ...ctx, status: 'CLOSED' })?.type).toBe(FAILURES.notAllowedInState.type);
  });
  it('NOT_ASSESSED when no agency completed', () => {
    expect(deriveClearanceNotice(['DECLINED', 'DID_NOT_COMPLETE', 'WITHDRAWN'], [f('LOW')])).toBe('NOT_ASSESSED');
    expect(deriveClearanceNotice([], [])).toBe('NOT_ASSESSED');
  });
  it('summarizes findings without their text', () => {
    const s = summarizeFindings([
      { findingId: 'nsa-f1', agencyId: 'nsa', severity: 'HIGH', domain: 'cyber', modelVersionTested: '1', thirdPartyVulnerability: false, submittedAt: 'x' },
      {
        findingId: 'nsa-f2',
        agencyId: 'nsa',
        severity: 'LOW',
        domain: 'cyber',
        modelVersionTested: '1',
        thirdPartyVulnerability: true,
        submittedAt: 'x',
        response: 'ACKNOWLEDGED',
      },
    ]);
    expect(s.total).toBe(2);
    expect(s.bySeverity).toEqual({ CRITICAL: 0, HIGH: 1, MEDIUM: 0, LOW: 1, INFO: 0 });
    expect(s.unresolvedCriticalOrHigh).toBe(1);
  });
  it('over every combination of agency statuses, severities and responses yields only an advisory notice', () => {
    const responses: (FindingResponseKind | undefined)[] = [undefined, ...FINDING_RESPONSES];
    const seen = new Set<string>();
    for (const a of AGENCY_STATUSES) {
      for (const b of AGENCY_STATUSES) {
        for (const sev of SEVERITIES) {
          for (const r of responses) {
            const n1 = deriveClearanceNotice([a, b], [f(sev, r)]);
            const n2 = deriveClearanceNotice([a, b], []);
            seen.add(n1).add(n2);
          }
        }
      }
    }
    expect([...seen].sort()).toEqual([...CLEARANCE_NOTICES].sort());
  });
});

describe('third-party finding fields', () => {
  const base = {
    severity: 'HIGH',
    domain: 'cyber',
    title: 't',
    detail: 'd',
    modelVersionTested: '1',
    recommendedMitigation: 'm',
    thirdPartyVulnerability: true,
  };
  it('accepts product, weakness and a CWE id, and refuses a malformed CWE id', () => {
    expect(findingRefusal({ ...base, affectedProduct: 'Acme Gateway 2.3', weakness: 'prompt injection', cweId: 'CWE-1427' }, '1')).toBeUndefined();
    expect(findingRefusal({ ...base, cweId: '1427' }, '1')?.reason).toMatch(/CWE-79/);
    expect(findingRefusal({ ...base, affectedProduct: 'x'.repeat(201) }, '1')?.reason).toMatch(/affectedProduct/);
  });
});
