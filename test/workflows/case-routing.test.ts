import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv, type TimeSkippingEnv } from '../helpers/time-skipping';
import { finding, lifecycleTestActivities, registerSearchAttributes, submissionInput, waitFor, waitForAgency, waitForStatus } from '../helpers/lifecycle';
import { DAY_MS } from '../../workflows/shared/time';
import { agencyWorkflowId, changeReleaseDateUpdate, linkCaseSignal, submissionWorkflowId, withdrawUpdate } from '../../workflows/submission/contract';
import {
  acceptInvitationUpdate,
  findingDetailQuery,
  startAssessmentUpdate,
  submitFindingUpdate,
  type FindingRecord,
} from '../../workflows/assessment/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import '../helpers/quiet-runtime';

jest.setTimeout(240_000);

const taskQueue = 'case-routing-ts';
const CASE_ID = 'case/0123456789abcdef0123456789abcdef';
let ts: TimeSkippingEnv;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const t = lifecycleTestActivities();
/** How the clearinghouse answers each finding's report: a gate to hold it, or a refusal. */
const answers = new Map<string, { gate?: Promise<void>; refuse?: string }>();
const reportsSeen: string[] = [];
const pushed: Array<{ caseId: string; submissionId: string; releaseAt: string }> = [];
let cmd = 0;

beforeAll(async () => {
  ts = await createTimeSkippingEnv();
  client = ts.env.client;
  await registerSearchAttributes(ts.env);
  worker = await Worker.create({
    connection: ts.env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: {
      ...t.activities,
      async openClearinghouseCase(input: { submissionId: string; findingId: string }) {
        reportsSeen.push(`${input.submissionId}/${input.findingId}`);
        const answer = answers.get(input.submissionId);
        await answer?.gate;
        if (answer?.refuse) {
          throw ApplicationFailure.create({ message: `the case refused the report: ${answer.refuse}`, type: 'CaseTooManyReports', nonRetryable: true });
        }
        return { caseId: CASE_ID, outcome: 'OPENED', state: 'OPEN', reporterCount: 1 };
      },
      async setCaseModelRelease(input: { caseId: string; submissionId: string; releaseAt: string }) {
        pushed.push(input);
      },
    },
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await ts?.teardown();
});

async function assessing(submissionId: string, releaseInDays: number) {
  const input = submissionInput(await ts.env.currentTimeMs(), releaseInDays, { submissionId, requestedAgencies: ['nsa'] });
  const handle = await client.workflow.start(submissionWorkflow, { taskQueue, workflowId: submissionWorkflowId(submissionId), args: [input] });
  await waitForStatus(client, submissionId, 'UNDER_ASSESSMENT');
  const child = client.workflow.getHandle(agencyWorkflowId(submissionId, 'nsa'));
  const send = (update: { name: string }, body: object = {}) =>
    child.executeUpdate(update.name, { args: [{ agencyId: 'nsa', ...body }], updateId: `${submissionId}-${(cmd += 1)}` });
  await send(acceptInvitationUpdate);
  await send(startAssessmentUpdate);
  return { handle, child, send };
}

const routingOf = async (submissionId: string, findingId = 'nsa-f1') =>
  ((await client.workflow.getHandle(agencyWorkflowId(submissionId, 'nsa')).query(findingDetailQuery, findingId)) as FindingRecord).caseRouting;

it('a withdrawal waits for the pending report: the assessment ends only after it reached its case, whose id stays on the finding', async () => {
  const id = 'sub-routing-withdraw';
  let open!: () => void;
  answers.set(id, { gate: new Promise<void>((r) => (open = r)) });
  const { handle, child, send } = await assessing(id, 20);
  await send(submitFindingUpdate, { finding: finding('HIGH', 'W', { thirdPartyVulnerability: true }) });
  await waitFor(
    async () => reportsSeen.includes(`${id}/nsa-f1`),
    (v) => v,
    'the report under way',
  );
  expect(await routingOf(id)).toEqual({ status: 'PENDING' });

  const withdrawal = handle.executeUpdate(withdrawUpdate, { args: [{ reason: 'plans changed' }] });
  await waitForAgency(client, id, 'nsa', 'WITHDRAWN');
  // Withdrawn, but the run waits on the report (and so does the submission).
  expect((await child.describe()).status.name).toBe('RUNNING');
  expect((await handle.describe()).status.name).toBe('RUNNING');

  open();
  await withdrawal;
  expect((await handle.result()).status).toBe('WITHDRAWN');
  expect((await child.describe()).status.name).toBe('COMPLETED');
  expect(await routingOf(id)).toMatchObject({ status: 'ROUTED', caseId: CASE_ID, outcome: 'OPENED' });
  // The submission learnt the case and told it the planned release before ending.
  expect(pushed.filter((p) => p.submissionId === id).map((p) => p.caseId)).toEqual([CASE_ID]);
});

it('a refused report fails for good, with the reason on the finding; the window close does not wait for retries', async () => {
  const id = 'sub-routing-refused';
  answers.set(id, { refuse: 'the case holds the maximum number of reports' });
  const { handle, send } = await assessing(id, 10);
  await send(submitFindingUpdate, { finding: finding('HIGH', 'R', { thirdPartyVulnerability: true }) });
  const routing = await waitFor(
    () => routingOf(id),
    (r) => r?.status === 'FAILED',
    'the refusal on the finding',
  );
  expect(routing).toMatchObject({ status: 'FAILED', failureType: 'CaseTooManyReports', reason: expect.stringMatching(/maximum number of reports/) });
  expect(reportsSeen.filter((r) => r === `${id}/nsa-f1`)).toHaveLength(1);
  // No case: nothing to push when the release moves.
  await handle.executeUpdate(changeReleaseDateUpdate, { args: [{ plannedReleaseAt: new Date((await ts.env.currentTimeMs()) + 9 * DAY_MS).toISOString() }] });
  await waitForAgency(client, id, 'nsa', 'IN_PROGRESS');
  await ts.env.sleep(10 * DAY_MS);
  await waitForStatus(client, id, 'CLEARANCE_ISSUED');
  expect(pushed.filter((p) => p.submissionId === id)).toEqual([]);
});

it('the case follows each release change, pushed by the submission: the moved date, then the declared release', async () => {
  const id = 'sub-routing-release';
  const { handle, send } = await assessing(id, 20);
  await send(submitFindingUpdate, { finding: finding('HIGH', 'P', { thirdPartyVulnerability: true }) });
  await waitFor(
    () => routingOf(id),
    (r) => r?.status === 'ROUTED',
    'the finding routed',
  );
  const moved = new Date((await ts.env.currentTimeMs()) + 25 * DAY_MS).toISOString();
  await handle.executeUpdate(changeReleaseDateUpdate, { args: [{ plannedReleaseAt: moved }] });
  await waitFor(
    async () => pushed.filter((p) => p.submissionId === id).map((p) => p.releaseAt),
    (r) => r.includes(moved),
    'the moved date pushed',
  );
  await handle.executeUpdate('declareReleased', { args: [{}] });
  // The declared release (today, before both planned dates) is the last date the case hears.
  const dates = await waitFor(
    async () => pushed.filter((p) => p.submissionId === id).map((p) => p.releaseAt),
    (r) => Date.parse(r[r.length - 1]!) < Date.parse(moved),
    'the declared release pushed',
  );
  expect(dates).toContain(moved);
  expect(Date.parse(dates[dates.length - 1]!)).toBeLessThanOrEqual(await ts.env.currentTimeMs());
});

it('a case an invited agency opened naming the submission follows its release; one named by an agency not invited is ignored', async () => {
  const id = 'sub-routing-linked';
  const { handle } = await assessing(id, 20);
  const invitedCase = 'case/11111111111111111111111111111111';
  const strangerCase = 'case/22222222222222222222222222222222';
  await handle.signal(linkCaseSignal, { caseId: strangerCase, agencyId: 'dod' });
  await handle.signal(linkCaseSignal, { caseId: invitedCase, agencyId: 'nsa' });
  await handle.signal(linkCaseSignal, { caseId: 'not-a-case', agencyId: 'nsa' });
  const first = await waitFor(
    async () => pushed.filter((p) => p.submissionId === id),
    (r) => r.some((p) => p.caseId === invitedCase),
    'the linked case told the planned release',
  );
  // The planned release, 20 days out when the submission started.
  expect(Date.parse(first.find((p) => p.caseId === invitedCase)!.releaseAt)).toBeGreaterThan((await ts.env.currentTimeMs()) + 19 * DAY_MS);
  const moved = new Date((await ts.env.currentTimeMs()) + 25 * DAY_MS).toISOString();
  await handle.executeUpdate(changeReleaseDateUpdate, { args: [{ plannedReleaseAt: moved }] });
  await waitFor(
    async () => pushed.filter((p) => p.submissionId === id && p.caseId === invitedCase).map((p) => p.releaseAt),
    (r) => r.includes(moved),
    'the moved date pushed to the linked case',
  );
  // Only the invited agency's case ever heard from this submission.
  expect(new Set(pushed.filter((p) => p.submissionId === id).map((p) => p.caseId))).toEqual(new Set([invitedCase]));
});
