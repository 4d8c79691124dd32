import crypto from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv, type TimeSkippingEnv } from '../helpers/time-skipping';
import {
  CASE_EVENT_TYPES,
  caseStateQuery,
  caseWorkflowId,
  closeCaseUpdate,
  markDuplicateUpdate,
  publishCaseUpdate,
  reportCaseUpdate,
  reportExploitationUpdate,
  setModelReleaseUpdate,
  setPartyStatusUpdate,
  triageCaseUpdate,
  type CasePolicy,
  type CaseReportInput,
  type CaseStatusEvent,
  type CaseView,
} from '../../workflows/clearinghouse/contract';
import type { CaseWorkflowActivities } from '../../workflows/clearinghouse/workflow';
import { createClearinghouseActivities } from '../../activities/clearinghouse';
import { agencyMayReadCase } from '../../workflows/clearinghouse/rules';
import { createLogger } from '../../infra/logger';
import { encodeStatusEvent } from '../../events/producer';

jest.setTimeout(180_000);

const DAY = 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;
const taskQueue = 'clearinghouse-ts';
const ops = { kind: 'ops', operatorId: 'op-1' } as const;

let ts: TimeSkippingEnv;
let worker: Worker;
let running: Promise<void>;
const published: Array<{ stream: string; event: CaseStatusEvent }> = [];
const currentReleases = new Map<string, string>();
let releaseReads = 0;

/** A timer fires at its due time or a moment after it (workflow task latency), never before. */
function expectFiredAt(time: string, due: number): void {
  expect(Date.parse(time)).toBeGreaterThanOrEqual(due);
  expect(Date.parse(time)).toBeLessThan(due + 60_000);
}

beforeAll(async () => {
  ts = await createTimeSkippingEnv();
  const real = createClearinghouseActivities({ temporalClient: ts.env.client, masterKey: Buffer.alloc(32, 1), logger: createLogger({ level: 'silent' }) });
  const activities: CaseWorkflowActivities = {
    async publishEvent(stream, event) {
      published.push({ stream, event: event as CaseStatusEvent });
    },
    linkDuplicateCase: real.linkDuplicateCase,
    // Stands in for the submission workflows: the release each test says a model has now.
    async currentModelReleases(submissionIds) {
      releaseReads += 1;
      return submissionIds.filter((id) => currentReleases.has(id)).map((id) => ({ submissionId: id, releaseAt: currentReleases.get(id)! }));
    },
  };
  worker = await Worker.create({
    connection: ts.env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../helpers/clearinghouse-workflows'),
    activities,
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await ts?.teardown();
});

function eventsOf(caseId: string): CaseStatusEvent[] {
  return published.filter((p) => p.stream === 'clearinghouse' && p.event.subject === caseId).map((p) => p.event);
}

/** What the case sent the reporting agencies' inboxes. */
function inboxOf(caseId: string) {
  return published.filter((p) => p.stream === 'agency-inbox' && p.event.subject === caseId).map((p) => p.event);
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function report(agencyId: string, extra: Partial<CaseReportInput> = {}): CaseReportInput {
  return {
    reportId: `cmd-${agencyId}-${crypto.randomBytes(3).toString('hex')}`,
    agencyId,
    source: 'AGENCY_COMMAND',
    affectedProduct: 'Acme Inference Gateway 2.3',
    weakness: 'prompt injection',
    ...extra,
  };
}

async function openCase(policy?: Partial<CasePolicy>, first: CaseReportInput = report('nsa')) {
  const caseId = caseWorkflowId(crypto.randomBytes(16).toString('hex'));
  const handle = await ts.env.client.workflow.start('clearinghouseCaseWorkflow', {
    workflowId: caseId,
    taskQueue,
    args: [{ caseId, ...(policy ? { policy } : {}) }],
  });
  const result = await handle.executeUpdate(reportCaseUpdate, { args: [first], updateId: first.reportId });
  expect(result.outcome).toBe('OPENED');
  const view = await handle.query(caseStateQuery);
  return { caseId, handle, view };
}

const reminders = (caseId: string, kind: string, phase: string) =>
  eventsOf(caseId).filter((e) => e.type === CASE_EVENT_TYPES.reminder && e.data.kind === kind && e.data.phase === phase);

describe('clearinghouseCaseWorkflow (time skipping)', () => {
  it('three agencies reporting join one case with three reporters and one event sequence', async () => {
    const { caseId, handle } = await openCase();
    const joined = await handle.executeUpdate(reportCaseUpdate, { args: [report('cisa', { weakness: 'PROMPT-INJECTION' })] });
    expect(joined).toMatchObject({ caseId, outcome: 'JOINED', reporterCount: 2 });
    const third = report('treasury', { cweId: 'CWE-1427' });
    await handle.executeUpdate(reportCaseUpdate, { args: [third], updateId: third.reportId });
    const again = await handle.executeUpdate(reportCaseUpdate, { args: [third], updateId: `${third.reportId}-redelivered` });
    expect(again.outcome).toBe('ALREADY_REPORTED');
    const view = await handle.query(caseStateQuery);
    expect(view.reporters).toEqual(['nsa', 'cisa', 'treasury']);
    expect(view.reports).toHaveLength(3);
    const events = await waitFor('three events', () => (eventsOf(caseId).length >= 3 ? eventsOf(caseId) : undefined));
    expect(events.map((e) => e.type)).toEqual([CASE_EVENT_TYPES.opened, CASE_EVENT_TYPES.reporterJoined, CASE_EVENT_TYPES.reporterJoined]);
    expect(events.map((e) => e.sequence)).toEqual([1, 2, 3]);
    expect(events.map((e) => e.id)).toEqual([`${caseId}/1`, `${caseId}/2`, `${caseId}/3`]);
    // Thin events: no product, weakness or summary text.
    expect(JSON.stringify(events)).not.toMatch(/Acme|injection|summary/i);
    // Each reporting agency hears of each change from the time it reported, in its own inbox, in order.
    const inbox = await waitFor('six inbox events', () => (inboxOf(caseId).length >= 6 ? inboxOf(caseId) : undefined));
    expect(inbox.map((e) => [e.data.agencyId, e.data.caseEvent])).toEqual([
      ['nsa', CASE_EVENT_TYPES.opened],
      ['nsa', CASE_EVENT_TYPES.reporterJoined],
      ['cisa', CASE_EVENT_TYPES.reporterJoined],
      ['nsa', CASE_EVENT_TYPES.reporterJoined],
      ['cisa', CASE_EVENT_TYPES.reporterJoined],
      ['treasury', CASE_EVENT_TYPES.reporterJoined],
    ]);
    expect(inbox.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `${caseId}/inbox/${n}`));
    expect(JSON.stringify(inbox)).not.toMatch(/Acme|injection|summary/i);
  });

  it('90-day path: reminds before the disclosure deadline and marks it due at 90 days', async () => {
    const { caseId, handle, view } = await openCase();
    const deadline = Date.parse(view.openedAt) + 90 * DAY;
    expect(view.disclosureDeadline).toBe(new Date(deadline).toISOString());

    await ts.env.sleep(76 * DAY + HOUR);
    const upcoming = await waitFor('the T-14d reminder', () => reminders(caseId, 'DISCLOSURE_DEADLINE', 'UPCOMING')[0]);
    expectFiredAt(upcoming.time, deadline - 14 * DAY);
    expect(reminders(caseId, 'DISCLOSURE_DEADLINE', 'DUE')).toHaveLength(0);

    await ts.env.sleep(14 * DAY);
    const due = await waitFor('the deadline', () => reminders(caseId, 'DISCLOSURE_DEADLINE', 'DUE')[0]);
    expect(due.data.dueAt).toBe(view.disclosureDeadline);
    expectFiredAt(due.time, deadline);
    const minutesBefore = (time: string, due: number) => Math.round((due - Date.parse(time)) / 60_000);
    expect(reminders(caseId, 'DISCLOSURE_DEADLINE', 'UPCOMING').map((e) => minutesBefore(e.time, deadline))).toEqual([14 * 24 * 60, 7 * 24 * 60, 24 * 60]);
    expect((await handle.query(caseStateQuery)).state).toBe('OPEN');
  });

  it('7-day path: exploitation reported on day 10 moves the deadline to day 17', async () => {
    const { caseId, handle, view } = await openCase();
    await ts.env.sleep(10 * DAY);
    const outsider = handle.executeUpdate(reportExploitationUpdate, { args: [{ actor: { kind: 'agency', agencyId: 'dod' } }] });
    await expect(outsider).rejects.toThrow(WorkflowUpdateFailedError);
    const after = await handle.executeUpdate(reportExploitationUpdate, { args: [{ actor: { kind: 'agency', agencyId: 'nsa' } }] });
    const reportedAt = Date.parse(after.exploitation!.reportedAt);
    expect(reportedAt - Date.parse(view.openedAt)).toBeGreaterThanOrEqual(10 * DAY);
    expect(after.disclosureDeadline).toBe(new Date(reportedAt + 7 * DAY).toISOString());
    await waitFor('the exploitation event', () => eventsOf(caseId).find((e) => e.type === CASE_EVENT_TYPES.exploitationReported));

    await ts.env.sleep(7 * DAY + HOUR);
    const due = await waitFor('the 7-day deadline', () => reminders(caseId, 'DISCLOSURE_DEADLINE', 'DUE')[0]);
    expect(due.data.dueAt).toBe(after.disclosureDeadline);
    expectFiredAt(due.time, reportedAt + 7 * DAY);
    // The 90-day clock is gone: nothing about day 90 was or will be sent.
    expect(eventsOf(caseId).some((e) => e.data.dueAt === view.disclosureDeadline)).toBe(false);
  });

  it('remediation due dates follow severity, with reminders and a due notice per affected party', async () => {
    const critical = await openCase();
    const high = await openCase();
    const c = await critical.handle.executeUpdate(triageCaseUpdate, { args: [{ actor: ops, severity: 'CRITICAL', parties: ['acme', 'globex'] }] });
    const h = await high.handle.executeUpdate(triageCaseUpdate, { args: [{ actor: ops, severity: 'HIGH', parties: ['acme'] }] });
    expect(c.state).toBe('PARTIES_NOTIFIED');
    const notified = (v: CaseView) => Date.parse(v.parties[0]!.notifiedAt);
    expect(c.parties.map((p) => p.remediationDueAt)).toEqual([new Date(notified(c) + 7 * DAY).toISOString(), new Date(notified(c) + 7 * DAY).toISOString()]);
    expect(h.parties[0]!.remediationDueAt).toBe(new Date(notified(h) + 30 * DAY).toISOString());
    // globex fixed it: no more reminders for globex.
    await critical.handle.executeUpdate(setPartyStatusUpdate, {
      args: [{ actor: { kind: 'agency', agencyId: 'globex' }, partyId: 'globex', status: 'AFFECTED', remediated: true }],
    });

    await ts.env.sleep(7 * DAY + HOUR);
    const due = await waitFor('the CRITICAL due notice', () => reminders(critical.caseId, 'REMEDIATION_DUE', 'DUE')[0]);
    expect(due.data).toMatchObject({ partyId: 'acme', dueAt: c.parties[0]!.remediationDueAt });
    expectFiredAt(due.time, notified(c) + 7 * DAY);
    const hoursBefore = (time: string) => Math.round((notified(c) + 7 * DAY - Date.parse(time)) / HOUR);
    expect(reminders(critical.caseId, 'REMEDIATION_DUE', 'UPCOMING').map((e) => [e.data.partyId, hoursBefore(e.time)])).toEqual([
      ['acme', 72],
      ['acme', 24],
    ]);
    expect(reminders(critical.caseId, 'REMEDIATION_DUE', 'DUE').some((e) => e.data.partyId === 'globex')).toBe(false);
    expect(reminders(high.caseId, 'REMEDIATION_DUE', 'DUE')).toHaveLength(0);

    await ts.env.sleep(23 * DAY);
    const highDue = await waitFor('the HIGH due notice', () => reminders(high.caseId, 'REMEDIATION_DUE', 'DUE')[0]);
    expectFiredAt(highDue.time, notified(h) + 30 * DAY);
  });

  it('keeps the case under embargo until the model is released, then lets it be published and closed', async () => {
    const now = await ts.env.currentTimeMs();
    const releaseAt = new Date(now + 20 * DAY).toISOString();
    const { caseId, handle } = await openCase(
      undefined,
      report('nsa', { source: 'FINDING', submissionId: 'sub-1', findingId: 'nsa-f1', plannedReleaseAt: releaseAt, summary: 'sensitive detail' }),
    );
    const opened = await waitFor('the opened event', () => eventsOf(caseId).find((e) => e.type === CASE_EVENT_TYPES.opened));
    expect(opened.data.embargoUntil).toBe(releaseAt);
    await handle.executeUpdate(triageCaseUpdate, { args: [{ actor: ops, severity: 'HIGH', parties: ['acme'] }] });
    const early = handle.executeUpdate(publishCaseUpdate, { args: [{ actor: ops }] });
    await expect(early).rejects.toMatchObject({ cause: { type: 'CaseEmbargoed' } });

    await ts.env.sleep(20 * DAY + HOUR);
    const lifted = await waitFor('the embargo lifting', () => eventsOf(caseId).find((e) => e.type === CASE_EVENT_TYPES.embargoLifted));
    expectFiredAt(lifted.time, Date.parse(releaseAt));
    const publishedView = await handle.executeUpdate(publishCaseUpdate, { args: [{ actor: ops, advisoryRef: 'CVE-2026-0001' }] });
    expect(publishedView.state).toBe('PUBLISHED');
    expect(publishedView.embargoActive).toBe(false);
    await handle.executeUpdate(closeCaseUpdate, { args: [{ actor: ops, reason: 'RESOLVED' }] });
    const result = await handle.result();
    expect(result.state).toBe('CLOSED');
    const states = eventsOf(caseId)
      .filter((e) => e.type === CASE_EVENT_TYPES.statusChanged)
      .map((e) => e.data.state);
    expect(states).toEqual(['TRIAGED', 'PARTIES_NOTIFIED', 'PUBLISHED', 'CLOSED']);
    expect(JSON.stringify(eventsOf(caseId))).not.toContain('sensitive detail');
  });

  it('follows the release the submission pushes: a later planned date holds the embargo, an early declared release lifts it; no polling', async () => {
    const now = await ts.env.currentTimeMs();
    const planned = new Date(now + 10 * DAY).toISOString();
    const later = new Date(now + 15 * DAY).toISOString();
    // What a poll would read, were there one: the case must not follow it.
    currentReleases.set('sub-later', new Date(now + 2 * DAY).toISOString());
    const moved = await openCase(undefined, report('nsa', { submissionId: 'sub-later', plannedReleaseAt: planned }));
    const early = await openCase(undefined, report('nsa', { submissionId: 'sub-early', plannedReleaseAt: new Date(now + 20 * DAY).toISOString() }));
    const push = (handle: typeof moved.handle, submissionId: string, releaseAt: string) =>
      handle.executeUpdate(setModelReleaseUpdate, { args: [{ actor: { kind: 'system', component: 'submission' }, submissionId, releaseAt }] });

    await ts.env.sleep(3 * DAY);
    expect((await moved.handle.query(caseStateQuery)).embargoUntil).toBe(planned);
    // The vendor moves one release by five days and releases the other model today; the submissions push both.
    await push(moved.handle, 'sub-later', later);
    const releasedAt = new Date(await ts.env.currentTimeMs()).toISOString();
    await push(early.handle, 'sub-early', releasedAt);

    await ts.env.sleep(HOUR);
    const earlyLift = await waitFor('the early lift', () => eventsOf(early.caseId).find((e) => e.type === CASE_EVENT_TYPES.embargoLifted));
    expect(earlyLift.data.embargoUntil).toBe(releasedAt);
    expect((await early.handle.query(caseStateQuery)).embargoActive).toBe(false);

    await ts.env.sleep(8 * DAY);
    expect((await moved.handle.query(caseStateQuery)).embargoUntil).toBe(later);
    expect(eventsOf(moved.caseId).some((e) => e.type === CASE_EVENT_TYPES.embargoLifted)).toBe(false);
    await ts.env.sleep(5 * DAY);
    const lift = await waitFor('the later lift', () => eventsOf(moved.caseId).find((e) => e.type === CASE_EVENT_TYPES.embargoLifted));
    expectFiredAt(lift.time, Date.parse(later));
    expect(releaseReads).toBe(0);
  });

  it("offers the case to the agencies a report's domain matched, once each, never to its reporters", async () => {
    const { caseId, handle } = await openCase(undefined, report('nsa', { domain: 'critical-infrastructure', offerTo: ['cisa', 'dhs', 'nsa'] }));
    await handle.executeUpdate(reportCaseUpdate, { args: [report('dhs', { domain: 'critical-infrastructure', offerTo: ['cisa', 'dhs'] })] });
    const view = await handle.query(caseStateQuery);
    expect(view.domains).toEqual(['critical-infrastructure']);
    expect(view.offeredTo.map((o) => o.agencyId)).toEqual(['cisa', 'dhs']);
    expect(view.reports.some((r) => 'offerTo' in r)).toBe(false);
    const offers = await waitFor('the offers', () => {
      const found = published.filter(
        (p) => p.stream === 'agency-inbox' && p.event.subject === caseId && (p.event.type as string) === 'gov.preflight.agency.case-offered.v1',
      );
      return found.length === 2 ? found : undefined;
    });
    expect(offers.map((o) => o.event.data)).toEqual([
      expect.objectContaining({ caseId, agencyId: 'cisa', domain: 'critical-infrastructure', state: 'OPEN' }),
      expect.objectContaining({ caseId, agencyId: 'dhs', domain: 'critical-infrastructure', state: 'OPEN' }),
    ]);
    expect(agencyMayReadCase(view, 'cisa')).toBe(true);
    expect(agencyMayReadCase(view, 'treasury')).toBe(false);
  });

  it('uses configured periods', async () => {
    const { view } = await openCase({ disclosureDays: 30, remediationDays: { CRITICAL: 2 } as CasePolicy['remediationDays'] });
    expect(Date.parse(view.disclosureDeadline) - Date.parse(view.openedAt)).toBe(30 * DAY);
    expect(view.policy.remediationDays).toMatchObject({ CRITICAL: 2, HIGH: 30 });
  });

  it('a duplicate hands its reporters to the primary and redirects later reports', async () => {
    const primary = await openCase();
    const dup = await openCase(undefined, report('cisa'));
    const agencyTry = dup.handle.executeUpdate(markDuplicateUpdate, { args: [{ actor: { kind: 'agency', agencyId: 'cisa' }, primaryCaseId: primary.caseId }] });
    await expect(agencyTry).rejects.toMatchObject({ cause: { type: 'CaseForbidden' } });
    const marked = await dup.handle.executeUpdate(markDuplicateUpdate, { args: [{ actor: ops, primaryCaseId: primary.caseId }] });
    expect(marked).toMatchObject({ state: 'DUPLICATE', duplicateOf: primary.caseId });
    const p = await primary.handle.query(caseStateQuery);
    expect(p.reporters).toEqual(['nsa', 'cisa']);
    expect(p.duplicates).toEqual([dup.caseId]);
    const later = await dup.handle.executeUpdate(reportCaseUpdate, { args: [report('treasury')] });
    expect(later).toMatchObject({ outcome: 'REDIRECTED', primaryCaseId: primary.caseId });
    const cycle = primary.handle.executeUpdate(markDuplicateUpdate, { args: [{ actor: ops, primaryCaseId: dup.caseId }] });
    await expect(cycle).rejects.toThrow(WorkflowUpdateFailedError);
    expect((await primary.handle.query(caseStateQuery)).state).toBe('OPEN');
  });

  // Runs last: every event the cases above published, of every type, passes the strict wire schemas.
  it('publishes only events the clearinghouse topic contract accepts', () => {
    const types = new Set(published.filter((p) => p.stream === 'clearinghouse').map((p) => p.event.type));
    expect([...types].sort()).toEqual(Object.values(CASE_EVENT_TYPES).sort());
    for (const { stream, event } of published) {
      if (stream === 'agency-inbox') {
        expect(encodeStatusEvent('agency-inbox', event).topic).toBe(`preflight.agency-inbox.${String(event.data.agencyId)}.v1`);
        continue;
      }
      expect(stream).toBe('clearinghouse');
      expect(encodeStatusEvent('clearinghouse', event).topic).toBe('preflight.clearinghouse-events.v1');
    }
    expect(published.some((p) => p.stream === 'agency-inbox')).toBe(true);
  });
});
