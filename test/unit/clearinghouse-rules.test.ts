import { DAY_MS, HOUR_MS } from '../../workflows/shared/time';
import {
  agencyCaseView,
  applyAddParty,
  applyPublish,
  applyReport,
  applyReportExploitation,
  applySetModelRelease,
  applySetPartyStatus,
  applyTriage,
  caseAlarms,
  caseView,
  disclosureDeadline,
  dueAlarms,
  newCase,
  nextAlarmAt,
  remediationDueAt,
  resolvePolicy,
  validateAddParty,
  validateClose,
  validatePublish,
  validateReport,
  validateSetPartyStatus,
  validateTriage,
} from '../../workflows/clearinghouse/rules';
import { CASE_EVENT_TYPES, DEFAULT_CASE_POLICY, type CaseReportInput } from '../../workflows/clearinghouse/contract';

const T0 = '2026-12-01T00:00:00.000Z';
const at = (days: number): string => new Date(Date.parse(T0) + days * DAY_MS).toISOString();
const policy = resolvePolicy(undefined);
const ops = { kind: 'ops', operatorId: 'op-1' } as const;

function report(agencyId: string, extra: Partial<CaseReportInput> = {}): CaseReportInput {
  return { reportId: `r-${agencyId}`, agencyId, source: 'AGENCY_COMMAND', affectedProduct: 'Acme Gateway', weakness: 'prompt injection', ...extra };
}

function caseWithReports(...agencies: string[]) {
  const data = newCase('case/0123456789abcdef0123456789abcdef', T0);
  for (const a of agencies) applyReport(data, policy, report(a), T0);
  return data;
}

describe('case policy', () => {
  it('defaults to 90 days, 7 days once exploited, and severity-based remediation', () => {
    expect(policy).toEqual(DEFAULT_CASE_POLICY);
    expect(policy.remediationDays).toEqual({ CRITICAL: 7, HIGH: 30, MEDIUM: 60, LOW: 90, INFO: 180 });
  });
  it('takes overrides and refuses non-positive periods', () => {
    const p = resolvePolicy({ disclosureDays: 45, remediationDays: { CRITICAL: 3 } as never });
    expect(p.disclosureDays).toBe(45);
    expect(p.remediationDays.CRITICAL).toBe(3);
    expect(p.remediationDays.HIGH).toBe(30);
    expect(() => resolvePolicy({ exploitedDisclosureDays: 0 })).toThrow(/exploitedDisclosureDays/);
    expect(() => resolvePolicy({ disclosureReminderHours: [24, -1] })).toThrow(/disclosureReminderHours\[1\]/);
  });
});

describe('reports', () => {
  it('opens with the first report and records each further reporter once', () => {
    const data = newCase('case/0123456789abcdef0123456789abcdef', T0);
    const first = applyReport(data, policy, report('nsa'), T0);
    expect(first.outcome).toBe('OPENED');
    expect(first.events.map((e) => e.type)).toEqual([CASE_EVENT_TYPES.opened]);
    const second = applyReport(data, policy, report('cisa'), at(1));
    expect(second.outcome).toBe('JOINED');
    expect(second.events[0]?.data).toEqual({ caseId: data.caseId, state: 'OPEN', reporterCount: 2 });
    expect(applyReport(data, policy, report('cisa'), at(2)).outcome).toBe('ALREADY_REPORTED');
    expect(applyReport(data, policy, report('cisa', { reportId: 'r-cisa-2' }), at(2)).outcome).toBe('JOINED');
    expect(data.reporters).toEqual(['nsa', 'cisa']);
    expect(data.reports).toHaveLength(3);
  });

  it('refuses malformed reports with a clear reason', () => {
    const data = caseWithReports();
    expect(() => validateReport(data, policy, { ...report('nsa'), affectedProduct: '  ' })).toThrow(/affectedProduct/);
    expect(() => validateReport(data, policy, { ...report('nsa'), agencyId: "x' OR 1=1" })).toThrow(/agencyId/);
    expect(() => validateReport(data, policy, { ...report('nsa'), plannedReleaseAt: 'next week' })).toThrow(/ISO-8601/);
    expect(() => validateReport(data, policy, { ...report('nsa'), source: 'FINDING' })).toThrow(/submissionId and findingId/);
    expect(() => validateReport(data, policy, { ...report('nsa'), cweId: 'seventy' })).toThrow(/CWE-79/);
  });

  it('caps the number of reports', () => {
    const small = resolvePolicy({ maxReports: 2 });
    const data = newCase('case/0123456789abcdef0123456789abcdef', T0);
    applyReport(data, small, report('a'), T0);
    applyReport(data, small, report('b'), T0);
    expect(() => validateReport(data, small, report('c'))).toThrow(/maximum number of reports/);
    expect(() => validateReport(data, small, report('a'))).not.toThrow();
  });
});

describe('clocks', () => {
  it('sets the disclosure deadline 90 days after opening, 7 days after exploitation is reported', () => {
    const data = caseWithReports('nsa');
    expect(disclosureDeadline(data, policy)).toBe(at(90));
    applyReportExploitation(data, policy, { actor: ops }, at(10));
    expect(disclosureDeadline(data, policy)).toBe(at(17));
  });

  it('keeps the earlier deadline when exploitation is reported late', () => {
    const data = caseWithReports('nsa');
    applyReportExploitation(data, policy, { actor: ops }, at(88));
    expect(disclosureDeadline(data, policy)).toBe(at(90));
  });

  it('never puts the deadline before the embargo lifts', () => {
    const data = caseWithReports('nsa');
    applySetModelRelease(data, { actor: ops, submissionId: 's1', releaseAt: at(20) }, T0);
    applyReportExploitation(data, policy, { actor: ops }, at(1));
    expect(disclosureDeadline(data, policy)).toBe(at(20));
  });

  it('computes remediation due dates by severity from the notification', () => {
    const party = { status: 'AFFECTED' as const, notifiedAt: T0 };
    expect(remediationDueAt(party, 'CRITICAL', policy)).toBe(at(7));
    expect(remediationDueAt(party, 'HIGH', policy)).toBe(at(30));
    expect(remediationDueAt(party, 'MEDIUM', policy)).toBe(at(60));
    expect(remediationDueAt(party, 'LOW', policy)).toBe(at(90));
    expect(remediationDueAt(party, 'INFO', policy)).toBe(at(180));
    expect(remediationDueAt({ ...party, status: 'NOT_AFFECTED' }, 'CRITICAL', policy)).toBeUndefined();
  });

  it('lifts the embargo at the latest model release', () => {
    const data = caseWithReports('nsa');
    applyReport(data, policy, report('cisa', { submissionId: 's1', findingId: 'f1', source: 'FINDING', plannedReleaseAt: at(10) }), T0);
    applySetModelRelease(data, { actor: ops, submissionId: 's2', releaseAt: at(25) }, T0);
    expect(caseView(data, policy, Date.parse(at(24))).embargoActive).toBe(true);
    expect(caseView(data, policy, Date.parse(at(25))).embargoActive).toBe(false);
    expect(caseView(data, policy, 0).embargoUntil).toBe(at(25));
  });
});

describe('transitions', () => {
  it('triage with parties notifies them; agencies may set only their own party status', () => {
    const data = caseWithReports('nsa');
    expect(() => validateTriage(data, { actor: { kind: 'agency', agencyId: 'nsa' }, severity: 'HIGH' })).toThrow(/operators/);
    const events = applyTriage(data, policy, { actor: ops, severity: 'HIGH', parties: ['acme', 'dod'] }, at(1));
    expect(events.map((e) => [e.type, (e.data as { state: string }).state])).toEqual([
      [CASE_EVENT_TYPES.statusChanged, 'TRIAGED'],
      [CASE_EVENT_TYPES.statusChanged, 'PARTIES_NOTIFIED'],
    ]);
    expect(data.parties.map((p) => p.remediationDueAt)).toEqual([at(31), at(31)]);
    expect(() => validateSetPartyStatus(data, { actor: { kind: 'agency', agencyId: 'dod' }, partyId: 'acme', status: 'AFFECTED' })).toThrow(/own party/);
    validateSetPartyStatus(data, { actor: { kind: 'agency', agencyId: 'dod' }, partyId: 'dod', status: 'NOT_AFFECTED' });
    applySetPartyStatus(data, policy, { actor: { kind: 'agency', agencyId: 'dod' }, partyId: 'dod', status: 'NOT_AFFECTED' }, at(2));
    expect(data.parties.find((p) => p.partyId === 'dod')?.remediationDueAt).toBeUndefined();
  });

  it('re-triage to a higher severity moves due dates and tells the parties', () => {
    const data = caseWithReports('nsa');
    applyTriage(data, policy, { actor: ops, severity: 'LOW', parties: ['acme'] }, at(1));
    const events = applyTriage(data, policy, { actor: ops, severity: 'CRITICAL' }, at(2));
    expect(data.state).toBe('PARTIES_NOTIFIED');
    expect(data.parties[0]?.remediationDueAt).toBe(at(8));
    expect(events).toEqual([expect.objectContaining({ type: CASE_EVENT_TYPES.partyStatusChanged })]);
  });

  it('refuses publication under embargo and closing as resolved before publication', () => {
    const data = caseWithReports('nsa');
    applySetModelRelease(data, { actor: ops, submissionId: 's1', releaseAt: at(20) }, T0);
    applyTriage(data, policy, { actor: ops, severity: 'HIGH', parties: ['acme'] }, at(1));
    expect(() => validatePublish(data, { actor: ops }, Date.parse(at(19)))).toThrow(/embargo until/);
    expect(() => validateClose(data, { actor: ops, reason: 'RESOLVED' })).toThrow(/PUBLISHED/);
    validatePublish(data, { actor: ops }, Date.parse(at(20)));
    applyPublish(data, policy, { actor: ops, advisoryRef: 'CVE-2026-0001' }, at(20));
    expect(data.state).toBe('PUBLISHED');
    validateClose(data, { actor: ops, reason: 'RESOLVED' });
  });

  it('publishes under embargo only with an override and a reason, recorded on the case; announces the CSAF document when asked', () => {
    const data = caseWithReports('nsa');
    applySetModelRelease(data, { actor: ops, submissionId: 's1', releaseAt: at(20) }, T0);
    applyTriage(data, policy, { actor: ops, severity: 'HIGH', parties: ['acme'] }, at(1));
    expect(() => validatePublish(data, { actor: ops, override: { reason: '  ' } }, Date.parse(at(5)))).toThrow(/override.reason/);
    expect(() => validatePublish(data, { actor: ops, override: 'because' }, Date.parse(at(5)))).toThrow(/override/);
    const input = { actor: ops, override: { reason: 'Exploited widely; vendor agreed to early disclosure' } };
    expect(() => validatePublish(data, { ...input, actor: { kind: 'agency', agencyId: 'nsa' } }, Date.parse(at(5)))).toThrow(/operators/);
    validatePublish(data, input, Date.parse(at(5)));
    const events = applyPublish(data, policy, input, at(5), true);
    expect(data.publishOverride).toEqual({ reason: input.override.reason, by: 'ops:op-1', at: at(5), embargoUntil: at(20) });
    expect(events.map((e) => e.type)).toEqual([CASE_EVENT_TYPES.statusChanged, CASE_EVENT_TYPES.advisoryPublished]);
    expect(events[1]!.data).toEqual({
      caseId: data.caseId,
      state: 'PUBLISHED',
      documentId: 'PREFLIGHT-CASE-0123456789ABCDEF0123456789ABCDEF',
      version: '1',
      publishedAt: at(5),
    });
    // Without the announcement (cases from before it), only the status event, as before.
    const old = caseWithReports('nsa');
    applyTriage(old, policy, { actor: ops, severity: 'HIGH', parties: ['acme'] }, at(1));
    expect(applyPublish(old, policy, { actor: ops }, at(2)).map((e) => e.type)).toEqual([CASE_EVENT_TYPES.statusChanged]);
    expect(old.publishOverride).toBeUndefined();
  });

  it('an operator adds parties with contacts once the case is triaged; each gets its due date by severity', () => {
    const data = caseWithReports('nsa');
    const party = { actor: ops, partyId: 'cisa', kind: 'agency', name: 'CISA', contacts: [{ name: 'Desk', email: 'vuln@cisa.example.gov', role: 'PSIRT' }] };
    expect(() => validateAddParty(data, party)).toThrow(/triage the case/);
    applyTriage(data, policy, { actor: ops, severity: 'CRITICAL' }, at(1));
    expect(() => validateAddParty(data, { ...party, actor: { kind: 'agency', agencyId: 'cisa' } })).toThrow(/operators/);
    expect(() => validateAddParty(data, { ...party, kind: 'friend' })).toThrow(/kind must be one of/);
    expect(() => validateAddParty(data, { ...party, contacts: [{ email: 'not-an-address' }] })).toThrow(/e-mail/);
    expect(() => validateAddParty(data, { ...party, contacts: [{ phone: '1' }] })).toThrow(/not a contact field/);
    validateAddParty(data, party);
    const first = applyAddParty(data, policy, party as never, at(2));
    expect(data.state).toBe('PARTIES_NOTIFIED');
    expect(first).toEqual([expect.objectContaining({ type: CASE_EVENT_TYPES.statusChanged, data: expect.objectContaining({ partyIds: ['cisa'] }) })]);
    expect(data.parties[0]).toMatchObject({ partyId: 'cisa', kind: 'agency', name: 'CISA', status: 'UNKNOWN', notifiedAt: at(2), remediationDueAt: at(9) });
    const second = applyAddParty(data, policy, { ...party, partyId: 'treasury', contacts: [] } as never, at(3));
    expect(second).toEqual([expect.objectContaining({ type: CASE_EVENT_TYPES.partyStatusChanged, data: expect.objectContaining({ partyId: 'treasury' }) })]);
    // Adding a party again changes its contacts, not its dates; another agency does not see them.
    expect(applyAddParty(data, policy, { ...party, contacts: [] } as never, at(4))).toEqual([]);
    expect(data.parties[0]).toMatchObject({ notifiedAt: at(2), contacts: [] });
    applyAddParty(data, policy, party as never, at(4));
    const asTreasury = agencyCaseView(caseView(data, policy, Date.parse(at(4))), 'treasury');
    expect(asTreasury.parties.find((p) => p.partyId === 'cisa')).not.toHaveProperty('contacts');
    expect(agencyCaseView(caseView(data, policy, Date.parse(at(4))), 'cisa').parties[0]!.contacts).toHaveLength(1);
  });
});

describe('alarms', () => {
  it('fires only the latest overdue alarm of a group and nothing twice', () => {
    const data = caseWithReports('nsa');
    const fired = new Set<string>();
    const alarms = caseAlarms(data, policy);
    expect(nextAlarmAt(alarms, fired)).toBe(Date.parse(at(90)) - 14 * 24 * HOUR_MS);
    const late = dueAlarms(alarms, fired, Date.parse(at(89.5)));
    expect(late.fire).toHaveLength(1);
    expect(late.fire[0]?.event.data).toMatchObject({ kind: 'DISCLOSURE_DEADLINE', phase: 'UPCOMING', dueAt: at(90) });
    expect(late.spent).toHaveLength(3);
    for (const k of late.spent) fired.add(k);
    expect(dueAlarms(alarms, fired, Date.parse(at(89.6))).fire).toHaveLength(0);
    const due = dueAlarms(alarms, fired, Date.parse(at(90)));
    expect(due.fire[0]?.event.data).toMatchObject({ phase: 'DUE' });
  });
});

describe('agency view', () => {
  it('shows an agency its own reports in full, others only by who and when, and no model releases', () => {
    const data = caseWithReports('nsa');
    applyReport(
      data,
      policy,
      report('cisa', { source: 'FINDING', submissionId: 'sub-secret', findingId: 'cisa-f1', summary: 'detail', plannedReleaseAt: at(20) }),
      at(1),
    );
    const view = agencyCaseView(caseView(data, policy, Date.parse(T0)), 'nsa');
    expect(view.reports).toEqual([
      expect.objectContaining({ agencyId: 'nsa', reportId: 'r-nsa', affectedProduct: 'Acme Gateway' }),
      { agencyId: 'cisa', source: 'FINDING', reportedAt: at(1), redacted: true },
    ]);
    expect(JSON.stringify(view)).not.toMatch(/sub-secret|cisa-f1|detail/);
    expect(view).toMatchObject({ embargoUntil: at(20), embargoActive: true });
    expect('modelReleases' in view).toBe(false);
  });
});
