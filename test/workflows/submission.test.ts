import { WorkflowFailedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv, type TimeSkippingEnv } from '../helpers/time-skipping';
import {
  HAPPY_PATH_TRAIL,
  SIX_AGENCIES,
  finding,
  lifecycleTestActivities,
  registerSearchAttributes,
  submissionHandle,
  submissionInput,
  waitFor,
  waitForAgency,
  waitForParentAgencies,
  waitForStatus,
} from '../helpers/lifecycle';
import { DAY_MS } from '../../workflows/shared/time';
import {
  SUBMISSION_EVENT_TYPES,
  agencyWorkflowId,
  changeReleaseDateUpdate,
  clocksQuery,
  confirmMitigationUpdate,
  declareReleasedUpdate,
  findingResponsesQuery,
  rejectMitigationUpdate,
  findingsSummaryQuery,
  respondToFindingUpdate,
  respondToInfoRequestUpdate,
  submissionStateQuery,
  submissionWorkflowId,
  withdrawUpdate,
  type SubmissionInput,
} from '../../workflows/submission/contract';
import {
  acceptInvitationUpdate,
  completeAssessmentUpdate,
  declineInvitationUpdate,
  requestInfoUpdate,
  startAssessmentUpdate,
  submitFindingUpdate,
} from '../../workflows/assessment/contract';
import { FAILURES } from '../../workflows/shared/failures';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import '../helpers/quiet-runtime';

jest.setTimeout(240_000);

const taskQueue = 'lifecycle-ts';
let ts: TimeSkippingEnv;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const t = lifecycleTestActivities();
let cmd = 0;

beforeAll(async () => {
  ts = await createTimeSkippingEnv();
  client = ts.env.client;
  await registerSearchAttributes(ts.env);
  worker = await Worker.create({
    connection: ts.env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: t.activities,
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await ts?.teardown();
});

const started: string[] = [];

async function start(input: SubmissionInput) {
  started.push(input.submissionId);
  return client.workflow.start(submissionWorkflow, { taskQueue, workflowId: submissionWorkflowId(input.submissionId), args: [input] });
}

// Time skipping is shared by the whole server: a workflow a failed test left running must not move on under the next.
afterEach(async () => {
  for (const id of started.splice(0)) {
    await submissionHandle(client, id)
      .terminate('test over')
      .catch(() => undefined);
  }
});

/** Sends an agency command as the ingress does: an update on the agency child, the command id as update id. */
async function agency<R>(submissionId: string, agencyId: string, update: { name: string }, body: object = {}): Promise<R> {
  cmd += 1;
  return client.workflow
    .getHandle(agencyWorkflowId(submissionId, agencyId))
    .executeUpdate(update.name, { args: [{ agencyId, ...body }], updateId: `ce-${cmd}` }) as Promise<R>;
}

async function acceptAndStart(submissionId: string, agencyId: string) {
  await agency(submissionId, agencyId, acceptInvitationUpdate);
  await agency(submissionId, agencyId, startAssessmentUpdate);
}

async function expectRefused(p: Promise<unknown>, type: string, reason: RegExp) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause as { type?: string; message: string };
  expect(cause.type).toBe(type);
  expect(cause.message).toMatch(reason);
}

function eventsOf(submissionId: string) {
  return t.publisher.forSubject(submissionId);
}

function expectCleanSequence(submissionId: string) {
  const events = eventsOf(submissionId);
  expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
  for (const e of events) expect(e.id).toBe(`${submissionWorkflowId(submissionId)}/${e.sequence}`);
}

function statusTrail(submissionId: string): string[] {
  return eventsOf(submissionId)
    .filter((e) => e.type === SUBMISSION_EVENT_TYPES.submissionStatusChanged)
    .map((e) => String(e.data.status));
}

it('verified mitigations: a MITIGATED claim keeps CONCERNS_NOTED until the reporting agency confirms; another agency is refused', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 20, { requestedAgencies: ['nsa', 'cisa'] });
  const handle = await start(input);
  const id = input.submissionId;
  await waitForStatus(client, id, 'UNDER_ASSESSMENT');
  for (const a of ['nsa', 'cisa']) await acceptAndStart(id, a);
  const high = await agency<{ findingId: string }>(id, 'nsa', submitFindingUpdate, { finding: finding('HIGH', 'SECRET-NSA') });
  for (const a of ['nsa', 'cisa']) await agency(id, a, completeAssessmentUpdate);
  expect((await waitForStatus(client, id, 'CLEARANCE_ISSUED')).notice).toBe('CONCERNS_NOTED');

  // Nothing claimed yet: there is nothing to confirm.
  const review = (agencyId: string, update: { name: string }, body: object = {}) =>
    handle.executeUpdate(update.name, { args: [{ agencyId, findingId: high.findingId, ...body }], updateId: `review-${(cmd += 1)}` });
  await expectRefused(review('nsa', confirmMitigationUpdate), FAILURES.notAllowedInState.type, /has not reported finding "nsa-f1" MITIGATED/);

  await handle.executeUpdate(respondToFindingUpdate, { args: [{ findingId: high.findingId, response: 'MITIGATED', note: 'Retrained refusals' }] });
  const claimed = await handle.query(submissionStateQuery);
  expect(claimed).toMatchObject({ notice: 'CONCERNS_NOTED', mitigationsAwaitingConfirmation: ['nsa-f1'] });
  expect(await handle.query(findingsSummaryQuery)).toMatchObject({ unresolvedCriticalOrHigh: 1, mitigationsAwaitingConfirmation: ['nsa-f1'] });
  // Events go out through the publish activity, after the update returned: wait for the re-issued notice.
  const lastNotice = (notice: string, awaiting: string[]) =>
    waitFor(
      async () =>
        eventsOf(id)
          .filter((e) => e.type === SUBMISSION_EVENT_TYPES.clearanceIssued)
          .at(-1)?.data,
      (d) => d?.notice === notice && JSON.stringify(d?.mitigationsAwaitingConfirmation) === JSON.stringify(awaiting),
      `the notice ${notice} naming ${awaiting.join(', ') || 'no'} mitigation awaiting confirmation`,
    );
  await lastNotice('CONCERNS_NOTED', ['nsa-f1']);

  // Only the reporting agency reviews its finding.
  await expectRefused(review('cisa', confirmMitigationUpdate), FAILURES.wrongAgency.type, /only the reporting agency/);
  await expectRefused(
    handle.executeUpdate(confirmMitigationUpdate, { args: [{ agencyId: 'nsa', findingId: 'nsa-f9' }] }),
    FAILURES.unknownReference.type,
    /no finding "nsa-f9"/,
  );
  // A rejection keeps the finding open; the vendor claims again; the agency confirms.
  await expect(review('nsa', rejectMitigationUpdate, { reason: 'Still reproducible' })).resolves.toMatchObject({
    mitigation: 'REJECTED',
    notice: 'CONCERNS_NOTED',
  });
  expect((await handle.query(findingResponsesQuery)).find((r) => r.findingId === high.findingId)).toMatchObject({
    response: 'MITIGATED',
    note: 'Retrained refusals',
    mitigation: 'REJECTED',
    mitigationReviewNote: 'Still reproducible',
  });
  expect((await handle.query(submissionStateQuery)).mitigationsAwaitingConfirmation).toEqual([]);
  await handle.executeUpdate(respondToFindingUpdate, { args: [{ findingId: high.findingId, response: 'MITIGATED' }] });
  expect((await handle.query(submissionStateQuery)).mitigationsAwaitingConfirmation).toEqual(['nsa-f1']);
  await expect(review('nsa', confirmMitigationUpdate, { note: 'Re-tested' })).resolves.toEqual({
    findingId: 'nsa-f1',
    mitigation: 'CONFIRMED',
    notice: 'CLEAR',
  });
  expect(await handle.query(submissionStateQuery)).toMatchObject({ notice: 'CLEAR', mitigationsAwaitingConfirmation: [] });
  await lastNotice('CLEAR', []);
  await expectRefused(review('nsa', confirmMitigationUpdate), FAILURES.notAllowedInState.type, /already confirmed/);
  // Sensitive notes stay in workflow state, never in events.
  expect(JSON.stringify(eventsOf(id))).not.toMatch(/Retrained|Still reproducible|Re-tested/);
  expectCleanSequence(id);
});

it('happy path: six agencies assess in parallel, findings go to the vendor, clearance, release, close', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 20);
  const handle = await start(input);
  const id = input.submissionId;
  await waitForStatus(client, id, 'UNDER_ASSESSMENT');

  for (const a of SIX_AGENCIES) await acceptAndStart(id, a);
  const high = await agency<{ findingId: string }>(id, 'nsa', submitFindingUpdate, { finding: finding('HIGH', 'SECRET-NSA') });
  expect(high.findingId).toBe('nsa-f1');
  const low = await agency<{ findingId: string }>(id, 'cisa', submitFindingUpdate, {
    finding: finding('LOW', 'SECRET-CISA', { thirdPartyVulnerability: true }),
  });
  await ts.env.sleep(5 * DAY_MS);
  for (const a of SIX_AGENCIES) {
    const r = await agency<{ status: string }>(id, a, completeAssessmentUpdate);
    expect(r.status).toBe(a === 'nsa' || a === 'cisa' ? 'FINDINGS_SUBMITTED' : 'NO_FINDINGS');
  }

  const issued = await waitForStatus(client, id, 'CLEARANCE_ISSUED');
  expect(issued.notice).toBe('CONCERNS_NOTED');
  expect(issued.consolidationTrigger).toBe('ALL_AGENCIES_DONE');
  expect(issued.activeGrants).toEqual([]);
  expect(issued.revokedGrantIds).toHaveLength(6);

  const summary = await handle.query(findingsSummaryQuery);
  expect(summary).toMatchObject({ total: 2, unresolvedCriticalOrHigh: 1, bySeverity: { HIGH: 1, LOW: 1 } });
  expect(JSON.stringify(summary)).not.toMatch(/SECRET/);

  await handle.executeUpdate(respondToFindingUpdate, { args: [{ findingId: high.findingId, response: 'MITIGATED' }] });
  await handle.executeUpdate(respondToFindingUpdate, { args: [{ findingId: low.findingId, response: 'ACKNOWLEDGED' }] });
  // The vendor's MITIGATED is a claim: the notice counts it once the reporting agency confirms.
  expect((await handle.query(submissionStateQuery)).notice).toBe('CONCERNS_NOTED');
  await handle.executeUpdate(confirmMitigationUpdate, { args: [{ agencyId: 'nsa', findingId: high.findingId }], updateId: 'confirm-nsa-f1' });
  expect((await handle.query(submissionStateQuery)).notice).toBe('CLEAR_WITH_RECOMMENDATIONS');

  const released = await handle.executeUpdate(declareReleasedUpdate, { args: [{}] });
  expect(released).toMatchObject({ status: 'RELEASED', notice: 'CLEAR_WITH_RECOMMENDATIONS' });
  const outcome = await handle.result();
  expect(outcome).toMatchObject({ status: 'CLOSED', endReason: 'RELEASED_AND_CLOSED', notice: 'CLEAR_WITH_RECOMMENDATIONS' });
  expect(outcome.agencies.map((a) => a.status).sort()).toEqual([
    'FINDINGS_SUBMITTED',
    'FINDINGS_SUBMITTED',
    'NO_FINDINGS',
    'NO_FINDINGS',
    'NO_FINDINGS',
    'NO_FINDINGS',
  ]);

  expect(statusTrail(id)).toEqual(HAPPY_PATH_TRAIL);
  expectCleanSequence(id);
  const types = new Set(eventsOf(id).map((e) => e.type));
  for (const type of Object.values(SUBMISSION_EVENT_TYPES)) {
    if (type === SUBMISSION_EVENT_TYPES.assessmentReminder || type === SUBMISSION_EVENT_TYPES.assessmentDeadlineMissed) continue;
    expect(types).toContain(type);
  }
  // Finding text never leaves workflow state: not in events, not in search attributes.
  expect(JSON.stringify(eventsOf(id))).not.toMatch(/SECRET|title |detail |mitigation /);
  const description = await handle.describe();
  expect(JSON.stringify(description.searchAttributes)).not.toMatch(/SECRET/);
  expect(t.accessBroker.grantsOf(id)).toHaveLength(6);
  for (const g of t.accessBroker.grantsOf(id)) expect(t.accessBroker.revokedIds).toContain(g);
  // Only the finding flagged as a third-party vulnerability went to the clearinghouse.
  expect(t.caseReports.filter((r) => r.submissionId === id)).toEqual([{ submissionId: id, findingId: low.findingId, agencyId: 'cisa' }]);
});

it('a release 10 days out gives a 10-day window; unassessed agencies get reminders and a missed-deadline notice', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 10, { requestedAgencies: ['nist'] });
  const handle = await start(input);
  await waitForStatus(client, input.submissionId, 'UNDER_ASSESSMENT');
  const clocks = await handle.query(clocksQuery);
  expect(clocks.window?.totalDays).toBe(10);
  expect(Date.parse(clocks.window!.closesAt)).toBe(Date.parse(input.plannedReleaseAt));
  expect(t.accessBroker.granted.find((g) => g.submissionId === input.submissionId)?.expiresAt).toBe(clocks.window!.closesAt);

  const outcome = await handle.result();
  expect(outcome).toMatchObject({ status: 'CLOSED', endReason: 'RELEASE_NOT_DECLARED', notice: 'NOT_ASSESSED' });
  const events = eventsOf(input.submissionId);
  expect(events.filter((e) => e.type === SUBMISSION_EVENT_TYPES.assessmentReminder).map((e) => e.data.hoursBefore)).toEqual([168, 72, 24]);
  expect(events.filter((e) => e.type === SUBMISSION_EVENT_TYPES.assessmentDeadlineMissed).map((e) => e.data.agencyId)).toEqual(['nist']);
  expect(t.alerts.filter((a) => (a as { submissionId: string }).submissionId === input.submissionId)).toHaveLength(4);
  expectCleanSequence(input.submissionId);
});

it('a window moved after reminders went out sends each reminder once, timed against the new deadline', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 10, { requestedAgencies: ['nist'] });
  const handle = await start(input);
  await waitForStatus(client, input.submissionId, 'UNDER_ASSESSMENT');
  const reminders = () => eventsOf(input.submissionId).filter((e) => e.type === SUBMISSION_EVENT_TYPES.assessmentReminder);
  // T-168h (day 3) and T-72h (day 7) of the first deadline go out.
  await ts.env.sleep(8 * DAY_MS - ((await ts.env.currentTimeMs()) - now));
  await waitFor(
    async () => reminders().length,
    (n) => n >= 2,
    'the first two reminders',
  );
  expect(reminders().map((e) => e.data.hoursBefore)).toEqual([168, 72]);

  // Postponed by two days: the new T-72h instant (day 9) is still ahead, yet T-72h went out already; only T-24h is due.
  const newDeadline = new Date(now + 12 * DAY_MS).toISOString();
  const moved = await handle.executeUpdate(changeReleaseDateUpdate, { args: [{ plannedReleaseAt: newDeadline }] });
  expect(moved.windowClosesAt).toBe(newDeadline);
  const outcome = await handle.result();
  expect(outcome).toMatchObject({ status: 'CLOSED', notice: 'NOT_ASSESSED' });
  expect(reminders().map((e) => [e.data.hoursBefore, e.data.deadline])).toEqual([
    [168, input.plannedReleaseAt],
    [72, input.plannedReleaseAt],
    [24, newDeadline],
  ]);
  const t24 = reminders()[2]!;
  expect(Date.parse(t24.data.at as string)).toBeGreaterThanOrEqual(Date.parse(newDeadline) - 24 * 3600_000);
  expect(Date.parse(t24.data.at as string)).toBeLessThan(Date.parse(newDeadline) - 23 * 3600_000);
  const missed = eventsOf(input.submissionId).filter((e) => e.type === SUBMISSION_EVENT_TYPES.assessmentDeadlineMissed);
  expect(missed.map((e) => e.data.deadline)).toEqual([newDeadline]);
  expect(t.alerts.filter((a) => (a as { submissionId: string }).submissionId === input.submissionId)).toHaveLength(4);
  expectCleanSequence(input.submissionId);
});

it('45 days before release with access starting now gives exactly 30 days', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 45, { requestedAgencies: ['dod'] });
  const handle = await start(input);
  const view = await waitForStatus(client, input.submissionId, 'UNDER_ASSESSMENT');
  expect(Date.parse(view.window!.closesAt) - Date.parse(view.window!.opensAt)).toBe(30 * DAY_MS);
  expect((await handle.query(clocksQuery)).window?.totalDays).toBe(30);
  await handle.executeUpdate(withdrawUpdate, { args: [{}] });
  await handle.result();
});

it('a postponement past 30 days is accepted with the window capped at 30 days; one within the cap moves the window', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 10, { requestedAgencies: ['treasury'] });
  const handle = await start(input);
  const view = await waitForStatus(client, input.submissionId, 'UNDER_ASSESSMENT');
  const opens = Date.parse(view.window!.opensAt);

  // The release date is the vendor's: 31 days (and 120 days) from access start are accepted; the window stops at 30 days.
  const capped = await handle.executeUpdate(changeReleaseDateUpdate, { args: [{ plannedReleaseAt: new Date(opens + 31 * DAY_MS).toISOString() }] });
  expect(capped).toEqual({ plannedReleaseAt: new Date(opens + 31 * DAY_MS).toISOString(), windowClosesAt: new Date(opens + 30 * DAY_MS).toISOString() });
  const later = await handle.executeUpdate(changeReleaseDateUpdate, { args: [{ plannedReleaseAt: new Date(opens + 120 * DAY_MS).toISOString() }] });
  expect(later).toEqual({ plannedReleaseAt: new Date(opens + 120 * DAY_MS).toISOString(), windowClosesAt: new Date(opens + 30 * DAY_MS).toISOString() });
  const cappedView = await handle.query(submissionStateQuery);
  expect(cappedView.plannedReleaseAt).toBe(later.plannedReleaseAt);
  expect(cappedView.window).toEqual({ opensAt: view.window!.opensAt, closesAt: capped.windowClosesAt });
  expect((await handle.query(clocksQuery)).window?.totalDays).toBe(30);
  await waitFor(
    () => client.workflow.getHandle(agencyWorkflowId(input.submissionId, 'treasury')).query('agencyState') as Promise<{ windowClosesAt: string }>,
    (v) => v.windowClosesAt === capped.windowClosesAt,
    'child deadline capped',
  );
  const grantsOfThis = () => t.accessBroker.granted.filter((g) => g.submissionId === input.submissionId);
  await waitFor(
    async () => grantsOfThis().length,
    (n) => n === 2,
    're-grant for the capped window',
  );
  expect(grantsOfThis().map((g) => g.expiresAt)).toEqual([view.window!.closesAt, capped.windowClosesAt]);
  // Announced once: the second postponement left the capped window where it was.
  expect(
    eventsOf(input.submissionId)
      .filter((e) => e.type === SUBMISSION_EVENT_TYPES.accessWindowChanged)
      .map((e) => [e.data.windowClosesAt, e.data.plannedReleaseAt]),
  ).toEqual([
    [view.window!.closesAt, input.plannedReleaseAt],
    [capped.windowClosesAt, capped.plannedReleaseAt],
  ]);

  await expectRefused(handle.executeUpdate(changeReleaseDateUpdate, { args: [{ plannedReleaseAt: 'soon' }] }), FAILURES.invalidInput.type, /ISO-8601/);
  expect((await handle.query(submissionStateQuery)).window).toEqual(cappedView.window);

  const moved = await handle.executeUpdate(changeReleaseDateUpdate, { args: [{ plannedReleaseAt: new Date(opens + 25 * DAY_MS).toISOString() }] });
  expect(moved.windowClosesAt).toBe(new Date(opens + 25 * DAY_MS).toISOString());
  await waitForAgency(client, input.submissionId, 'treasury', 'INVITED').then((v) => v);
  await waitFor(
    () => client.workflow.getHandle(agencyWorkflowId(input.submissionId, 'treasury')).query('agencyState') as Promise<{ windowClosesAt: string }>,
    (v) => v.windowClosesAt === moved.windowClosesAt,
    'child deadline moved',
  );
  // The grant is re-issued with the new expiry and the old one revoked.
  await waitFor(
    async () => grantsOfThis().length,
    (n) => n === 3,
    're-grant',
  );
  expect(grantsOfThis().map((g) => g.expiresAt)).toEqual([view.window!.closesAt, capped.windowClosesAt, moved.windowClosesAt]);
  const windowEvents = eventsOf(input.submissionId).filter((e) => e.type === SUBMISSION_EVENT_TYPES.accessWindowChanged);
  expect(windowEvents.map((e) => e.data.windowClosesAt)).toEqual([view.window!.closesAt, capped.windowClosesAt, moved.windowClosesAt]);
  await handle.executeUpdate(withdrawUpdate, { args: [{}] });
  const outcome = await handle.result();
  expect(outcome.revokedGrantIds.sort()).toEqual(t.accessBroker.grantsOf(input.submissionId).sort());
});

it("an information request pauses only that agency's review clock; the window keeps running", async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 20, { requestedAgencies: ['nsa', 'cisa'] });
  const handle = await start(input);
  const id = input.submissionId;
  const view = await waitForStatus(client, id, 'UNDER_ASSESSMENT');
  await acceptAndStart(id, 'nsa');
  await acceptAndStart(id, 'cisa');
  await ts.env.sleep(2 * DAY_MS);
  const ir = await agency<{ requestId: string; status: string }>(id, 'nsa', requestInfoUpdate, { question: 'Which safety filters are on?' });
  expect(ir).toEqual({ requestId: 'nsa-ir-1', status: 'INFO_REQUESTED' });
  await waitFor(
    () => handle.query(submissionStateQuery),
    (v) => v.openInfoRequests.length === 1,
    'open info request',
  );
  await ts.env.sleep(3 * DAY_MS);
  await handle.executeUpdate(respondToInfoRequestUpdate, { args: [{ requestId: ir.requestId, response: 'All of them.' }] });
  await waitForAgency(client, id, 'nsa', 'IN_PROGRESS');
  await expectRefused(
    handle.executeUpdate(respondToInfoRequestUpdate, { args: [{ requestId: ir.requestId, response: 'again' }] }),
    FAILURES.notAllowedInState.type,
    /already answered/,
  );
  await ts.env.sleep(4 * DAY_MS);
  await agency(id, 'nsa', completeAssessmentUpdate, { noFindings: true });
  await agency(id, 'cisa', completeAssessmentUpdate);
  await waitForParentAgencies(client, id, { nsa: 'NO_FINDINGS', cisa: 'NO_FINDINGS' });

  const clocks = await handle.query(clocksQuery);
  const nsa = clocks.agencies.find((a) => a.agencyId === 'nsa')!;
  const cisa = clocks.agencies.find((a) => a.agencyId === 'cisa')!;
  expect({ active: nsa.activeDays, onHold: nsa.onHoldDays }).toEqual({ active: 6, onHold: 3 });
  expect({ active: cisa.activeDays, onHold: cisa.onHoldDays }).toEqual({ active: 9, onHold: 0 });
  // The access window did not pause: it still closes when it was going to.
  expect((await handle.query(submissionStateQuery)).window).toEqual(view.window);
  const statuses = eventsOf(id).filter((e) => e.type === SUBMISSION_EVENT_TYPES.assessmentStatusChanged && e.data.agencyId === 'nsa');
  expect(statuses.map((e) => [e.data.status, e.data.infoRequestId ?? null])).toEqual([
    ['INVITED', null],
    ['ACCEPTED', null],
    ['IN_PROGRESS', null],
    ['INFO_REQUESTED', 'nsa-ir-1'],
    ['IN_PROGRESS', 'nsa-ir-1'],
    ['NO_FINDINGS', null],
  ]);
  expect(JSON.stringify(eventsOf(id))).not.toMatch(/safety filters|All of them/);
  await handle.executeUpdate(withdrawUpdate, { args: [{}] });
  await handle.result();
});

it('every agency declines: consolidation at once, NOT_ASSESSED', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 20);
  const handle = await start(input);
  await waitForStatus(client, input.submissionId, 'UNDER_ASSESSMENT');
  for (const a of SIX_AGENCIES) await agency(input.submissionId, a, declineInvitationUpdate, { reason: 'no capacity' });
  // A declined assessment has ended (its workflow completed): a late acceptance is refused.
  await expect(agency(input.submissionId, 'nsa', acceptInvitationUpdate)).rejects.toThrow();
  const issued = await waitForStatus(client, input.submissionId, 'CLEARANCE_ISSUED');
  expect(issued).toMatchObject({ notice: 'NOT_ASSESSED', consolidationTrigger: 'ALL_AGENCIES_DONE', activeGrants: [] });
  expect(issued.agencies.every((a) => a.status === 'DECLINED')).toBe(true);
  expect(issued.revokedGrantIds).toHaveLength(6);
  const outcome = await handle.result();
  expect(outcome.endReason).toBe('RELEASE_NOT_DECLARED');
});

it('the window closes with 2 of 6 agencies incomplete: partial results, each status, the right notice', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 12);
  const handle = await start(input);
  const id = input.submissionId;
  await waitForStatus(client, id, 'UNDER_ASSESSMENT');
  for (const a of SIX_AGENCIES) await agency(id, a, acceptInvitationUpdate);
  for (const a of ['nsa', 'cisa', 'treasury', 'nist', 'dod']) await agency(id, a, startAssessmentUpdate);
  await agency(id, 'nsa', submitFindingUpdate, { finding: finding('CRITICAL', 'X1') });
  await agency(id, 'cisa', submitFindingUpdate, { finding: finding('MEDIUM', 'X2') });
  for (const a of ['nsa', 'cisa', 'treasury', 'nist']) await agency(id, a, completeAssessmentUpdate);
  // dod is in progress and dhs accepted but never started.
  await waitForParentAgencies(client, id, { nsa: 'FINDINGS_SUBMITTED', nist: 'NO_FINDINGS' });
  await ts.env.sleep(13 * DAY_MS);
  const issued = await waitForStatus(client, id, 'CLEARANCE_ISSUED');
  expect(issued.consolidationTrigger).toBe('WINDOW_CLOSED');
  expect(Object.fromEntries(issued.agencies.map((a) => [a.agencyId, a.status]))).toEqual({
    nsa: 'FINDINGS_SUBMITTED',
    cisa: 'FINDINGS_SUBMITTED',
    treasury: 'NO_FINDINGS',
    nist: 'NO_FINDINGS',
    dod: 'DID_NOT_COMPLETE',
    dhs: 'DID_NOT_COMPLETE',
  });
  expect(issued.notice).toBe('CONCERNS_NOTED');
  const clearance = eventsOf(id).find((e) => e.type === SUBMISSION_EVENT_TYPES.clearanceIssued)!;
  expect(clearance.data).toMatchObject({ notice: 'CONCERNS_NOTED', trigger: 'WINDOW_CLOSED' });
  expect((clearance.data.agencies as { status: string }[]).filter((a) => a.status === 'DID_NOT_COMPLETE')).toHaveLength(2);
  const missed = eventsOf(id).filter((e) => e.type === SUBMISSION_EVENT_TYPES.assessmentDeadlineMissed);
  expect(missed.map((e) => [e.data.agencyId, e.data.status]).sort()).toEqual([
    ['dhs', 'ACCEPTED'],
    ['dod', 'IN_PROGRESS'],
  ]);
  expect(issued.revokedGrantIds).toHaveLength(6);
  await handle.executeUpdate(withdrawUpdate, { args: [{}] });
  expect(await handle.result()).toMatchObject({ status: 'WITHDRAWN', notice: 'CONCERNS_NOTED' });
});

it('withdrawal mid-assessment ends every assessment and revokes every grant', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 20);
  const handle = await start(input);
  const id = input.submissionId;
  await waitForStatus(client, id, 'UNDER_ASSESSMENT');
  await acceptAndStart(id, 'nsa');
  await agency(id, 'cisa', acceptInvitationUpdate);
  await agency(id, 'dhs', declineInvitationUpdate);
  await ts.env.sleep(3 * DAY_MS);

  const withdrawn = await handle.executeUpdate(withdrawUpdate, { args: [{ reason: 'changed plans' }] });
  expect(withdrawn.status).toBe('WITHDRAWN');
  const outcome = await handle.result();
  expect(outcome).toMatchObject({ status: 'WITHDRAWN', endReason: 'VENDOR_WITHDREW' });
  expect(Object.fromEntries(outcome.agencies.map((a) => [a.agencyId, a.status]))).toMatchObject({
    nsa: 'WITHDRAWN',
    cisa: 'WITHDRAWN',
    dhs: 'DECLINED',
    nist: 'WITHDRAWN',
  });
  const granted = t.accessBroker.grantsOf(id);
  expect(granted).toHaveLength(6);
  expect(outcome.revokedGrantIds.sort()).toEqual([...granted].sort());
  for (const g of granted) expect(t.accessBroker.revokedIds).toContain(g);
  // History proves it: one revokeAccess activity per grant, before the workflow completed.
  const history = await handle.fetchHistory();
  const revokes = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'revokeAccess');
  expect(revokes).toHaveLength(6);
  expect(statusTrail(id).slice(-2)).toEqual(['UNDER_ASSESSMENT', 'WITHDRAWN']);
  await expect(handle.executeUpdate(withdrawUpdate, { args: [{}] })).rejects.toThrow();
  expectCleanSequence(id);
});

it('a declared release is accepted whatever the notice says, even mid-assessment', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 20, { requestedAgencies: ['nsa', 'cisa'] });
  const handle = await start(input);
  const id = input.submissionId;
  await waitForStatus(client, id, 'UNDER_ASSESSMENT');
  await acceptAndStart(id, 'nsa');
  await agency(id, 'nsa', submitFindingUpdate, { finding: finding('CRITICAL', 'R1') });
  await waitFor(
    () => handle.query(findingsSummaryQuery),
    (s) => s.total === 1,
    'finding reaches the parent',
  );

  const released = await handle.executeUpdate(declareReleasedUpdate, { args: [{}] });
  expect(released).toMatchObject({ status: 'RELEASED', notice: 'CONCERNS_NOTED' });
  const view = await handle.query(submissionStateQuery);
  expect(view).toMatchObject({ status: 'RELEASED', consolidationTrigger: 'RELEASE_DECLARED', activeGrants: [] });
  expect(Object.fromEntries(view.agencies.map((a) => [a.agencyId, a.status]))).toEqual({ nsa: 'DID_NOT_COMPLETE', cisa: 'DID_NOT_COMPLETE' });
  expect(await handle.result()).toMatchObject({ status: 'CLOSED', endReason: 'RELEASED_AND_CLOSED', notice: 'CONCERNS_NOTED' });
});

it('screening returns an incomplete submission; a resubmission passes; no resubmission withdraws it', async () => {
  const now = await ts.env.currentTimeMs();
  const good = submissionInput(now, 20, { requestedAgencies: ['nist'] });
  const bad = { ...good, contacts: [], model: { ...good.model, versionHash: 'nope' } };
  const handle = await start(bad);
  const returned = await waitForStatus(client, good.submissionId, 'RETURNED');
  expect(returned.returnIssues.map((i) => i.field)).toEqual(['model.versionHash', 'contacts']);
  const { submissionId: _s, vendorId: _v, ...details } = good;
  const again = await handle.executeUpdate('resubmit', { args: [{ ...details, contacts: [] }] });
  expect(again).toMatchObject({ status: 'RETURNED', issues: [{ field: 'contacts' }] });
  const ok = await handle.executeUpdate('resubmit', { args: [details] });
  expect(ok).toMatchObject({ status: 'ACCESS_PROVISIONING', issues: [] });
  await waitForStatus(client, good.submissionId, 'UNDER_ASSESSMENT');
  await handle.executeUpdate(withdrawUpdate, { args: [{}] });
  await handle.result();

  const lapsed = submissionInput(now, 20, { contacts: [], settings: { resubmissionDays: 7 } });
  const lapsedHandle = await start(lapsed);
  await waitForStatus(client, lapsed.submissionId, 'RETURNED');
  expect(await lapsedHandle.result()).toMatchObject({ status: 'WITHDRAWN', endReason: 'NOT_RESUBMITTED', revokedGrantIds: [] });
  expect(statusTrail(lapsed.submissionId)).toEqual(['RECEIVED', 'SCREENING', 'RETURNED', 'WITHDRAWN']);
});

it('refuses commands the state does not allow, and an agency acting on another agency, with reasons', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 20, { requestedAgencies: ['nsa'] });
  const handle = await start(input);
  const id = input.submissionId;
  await waitForStatus(client, id, 'UNDER_ASSESSMENT');
  const child = client.workflow.getHandle(agencyWorkflowId(id, 'nsa'));
  await expectRefused(
    child.executeUpdate(acceptInvitationUpdate, { args: [{ agencyId: 'cisa' }] }),
    FAILURES.wrongAgency.type,
    /belongs to agency "nsa"; agency "cisa" may not act on it/,
  );
  await expectRefused(agency(id, 'nsa', startAssessmentUpdate), FAILURES.notAllowedInState.type, /only after the invitation was accepted/);
  await acceptAndStart(id, 'nsa');
  await expectRefused(
    agency(id, 'nsa', submitFindingUpdate, { finding: finding('LOW', 'V', { modelVersionTested: '6.9' }) }),
    FAILURES.modelVersionMismatch.type,
    /"6.9".*"7.0.1"/,
  );
  await agency(id, 'nsa', submitFindingUpdate, { finding: finding('LOW', 'V') });
  await expectRefused(agency(id, 'nsa', completeAssessmentUpdate, { noFindings: true }), FAILURES.invalidInput.type, /1 finding/);
  await expectRefused(handle.executeUpdate('acknowledge', { args: [{}] }), FAILURES.notAllowedInState.type, /UNDER_ASSESSMENT/);
  await expectRefused(
    handle.executeUpdate(respondToFindingUpdate, { args: [{ findingId: 'nope', response: 'MITIGATED' }] }),
    FAILURES.unknownReference.type,
    /no finding "nope"/,
  );
  // A repeated command id (a redelivered Kafka message) has no second effect.
  await child.executeUpdate(submitFindingUpdate, { args: [{ agencyId: 'nsa', finding: finding('LOW', 'D') }], updateId: 'dup-1' });
  await child.executeUpdate(submitFindingUpdate, { args: [{ agencyId: 'nsa', finding: finding('LOW', 'D') }], updateId: 'dup-1' });
  await waitFor(
    () => handle.query(findingsSummaryQuery),
    (s) => s.total === 2,
    'two findings',
  );
  await handle.executeUpdate(withdrawUpdate, { args: [{}] });
  await handle.result();
  expect((await handle.query(findingsSummaryQuery)).total).toBe(2);
});

it('a failure while provisioning access revokes every grant already made, and the history shows it', async () => {
  const failing = lifecycleTestActivities();
  const grant = failing.activities.grantAccess;
  failing.activities.grantAccess = async (req) => {
    if (req.agencyId === 'dod') throw ApplicationFailure.nonRetryable('broker refused dod', 'BrokerRefused');
    return grant(req);
  };
  const failingQueue = 'lifecycle-ts-failing';
  const failingWorker = await Worker.create({
    connection: ts.env.nativeConnection,
    taskQueue: failingQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: failing.activities,
  });
  const input = submissionInput(await ts.env.currentTimeMs(), 20);
  const outcome = await failingWorker.runUntil(
    client.workflow.execute(submissionWorkflow, { taskQueue: failingQueue, workflowId: submissionWorkflowId(input.submissionId), args: [input] }).then(
      () => undefined,
      (err: unknown) => err,
    ),
  );
  expect(outcome).toBeInstanceOf(WorkflowFailedError);
  expect(((outcome as WorkflowFailedError).cause as ApplicationFailure).type).toBe(FAILURES.accessProvisioningFailed.type);
  const granted = failing.accessBroker.grantsOf(input.submissionId);
  expect(granted).toHaveLength(4); // nsa, cisa, treasury, nist before dod
  expect([...failing.accessBroker.revokedIds].sort()).toEqual([...granted].sort());
  const history = await submissionHandle(client, input.submissionId).fetchHistory();
  const scheduled = history.events!.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
  expect(scheduled.filter((n) => n === 'revokeAccess')).toHaveLength(4);
});

it('reminders and the missed-deadline notice that cannot be delivered never fail the assessment', async () => {
  const broken = lifecycleTestActivities();
  let attempts = 0;
  broken.activities.notifyAgency = async () => {
    attempts += 1;
    throw new Error('pager is down');
  };
  const brokenQueue = 'lifecycle-ts-alerts-down';
  const brokenWorker = await Worker.create({
    connection: ts.env.nativeConnection,
    taskQueue: brokenQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: broken.activities,
  });
  const input = submissionInput(await ts.env.currentTimeMs(), 10, { requestedAgencies: ['nist'] });
  const outcome = await brokenWorker.runUntil(
    client.workflow.execute(submissionWorkflow, { taskQueue: brokenQueue, workflowId: submissionWorkflowId(input.submissionId), args: [input] }),
  );
  expect(outcome).toMatchObject({ status: 'CLOSED', endReason: 'RELEASE_NOT_DECLARED', notice: 'NOT_ASSESSED' });
  expect(outcome.agencies).toEqual([expect.objectContaining({ agencyId: 'nist', status: 'DID_NOT_COMPLETE' })]);
  // Four alerts (T-7d, T-72h, T-24h, missed), each tried five times, then given up.
  expect(attempts).toBe(20);
  const events = broken.publisher.forSubject(input.submissionId);
  expect(events.filter((e) => e.type === SUBMISSION_EVENT_TYPES.assessmentReminder)).toHaveLength(3);
  expect(events.filter((e) => e.type === SUBMISSION_EVENT_TYPES.assessmentDeadlineMissed)).toHaveLength(1);
});

it('an agency that declines or completes loses its access at once while the others keep theirs', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 20);
  const handle = await start(input);
  const id = input.submissionId;
  const assessing = await waitForStatus(client, id, 'UNDER_ASSESSMENT');
  const grantOf = (agencyId: string) => assessing.activeGrants.find((g) => g.agencyId === agencyId)!.grantId;
  await agency(id, 'dhs', declineInvitationUpdate);
  await waitFor(
    () => handle.query(submissionStateQuery),
    (v) => !v.activeGrants.some((g) => g.agencyId === 'dhs'),
    'the grant of dhs to be revoked',
  );
  expect(t.accessBroker.revokedIds).toContain(grantOf('dhs'));
  await acceptAndStart(id, 'nsa');
  await agency(id, 'nsa', completeAssessmentUpdate);
  const after = await waitFor(
    () => handle.query(submissionStateQuery),
    (v) => !v.activeGrants.some((g) => g.agencyId === 'nsa'),
    'the grant of nsa to be revoked',
  );
  expect(t.accessBroker.revokedIds).toContain(grantOf('nsa'));
  expect(after.status).toBe('UNDER_ASSESSMENT');
  expect(after.activeGrants.map((g) => g.agencyId).sort()).toEqual(['cisa', 'dod', 'nist', 'treasury']);
  expect(after.revokedGrantIds.sort()).toEqual([grantOf('dhs'), grantOf('nsa')].sort());
  const history = await handle.fetchHistory();
  const revokes = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'revokeAccess');
  expect(revokes).toHaveLength(2);
  await handle.executeUpdate(withdrawUpdate, { args: [{}] });
  const outcome = await handle.result();
  // Each grant revoked exactly once: two when their assessments ended, four at the withdrawal.
  expect(outcome.revokedGrantIds.sort()).toEqual([...t.accessBroker.grantsOf(id)].sort());
  expect(new Set(outcome.revokedGrantIds).size).toBe(6);
});
