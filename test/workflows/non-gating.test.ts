import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv, type TimeSkippingEnv } from '../helpers/time-skipping';
import { finding, lifecycleTestActivities, registerSearchAttributes, submissionInput, waitForStatus } from '../helpers/lifecycle';
import type { FindingInput } from '../../wire/submission';
import type { ClearanceNotice } from '../../wire/enums';
import { agencyWorkflowId, declareReleasedUpdate, submissionWorkflowId } from '../../workflows/submission/contract';
import {
  acceptInvitationUpdate,
  completeAssessmentUpdate,
  declineInvitationUpdate,
  startAssessmentUpdate,
  submitFindingUpdate,
} from '../../workflows/assessment/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import '../helpers/quiet-runtime';

jest.setTimeout(180_000);

const GATING = /APPROV|BLOCK|DENIED|DENY|PRECLEAR|RELEASE_HOLD|ON_HOLD|CLEARED_FOR_RELEASE|NOT_CLEARED/i;
const taskQueue = 'non-gating-ts';
let ts: TimeSkippingEnv;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const t = lifecycleTestActivities();
const ids: string[] = [];

beforeAll(async () => {
  ts = await createTimeSkippingEnv();
  client = ts.env.client;
  await registerSearchAttributes(ts.env);
  worker = await Worker.create({ connection: ts.env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../workflows'), activities: t.activities });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await ts?.teardown();
});

async function act(submissionId: string, agencyId: string, update: { name: string }, body: object = {}) {
  await client.workflow.getHandle(agencyWorkflowId(submissionId, agencyId)).executeUpdate(update.name, { args: [{ agencyId, ...body }] });
}

const scenarios: [ClearanceNotice, (id: string) => Promise<void>][] = [
  ['NOT_ASSESSED', (id) => act(id, 'nsa', declineInvitationUpdate)],
  [
    'CLEAR',
    async (id) => {
      await act(id, 'nsa', acceptInvitationUpdate);
      await act(id, 'nsa', startAssessmentUpdate);
      await act(id, 'nsa', completeAssessmentUpdate, { noFindings: true });
    },
  ],
  ...(['LOW', 'CRITICAL'] as FindingInput['severity'][]).map((severity): [ClearanceNotice, (id: string) => Promise<void>] => [
    severity === 'LOW' ? 'CLEAR_WITH_RECOMMENDATIONS' : 'CONCERNS_NOTED',
    async (id) => {
      await act(id, 'nsa', acceptInvitationUpdate);
      await act(id, 'nsa', startAssessmentUpdate);
      await act(id, 'nsa', submitFindingUpdate, { finding: finding(severity, 'NG') });
      await act(id, 'nsa', completeAssessmentUpdate);
    },
  ]),
];

it.each(scenarios)('a release declared after a %s notice is accepted and the submission closes normally', async (notice, assess) => {
  const input = submissionInput(await ts.env.currentTimeMs(), 20, { requestedAgencies: ['nsa'] });
  ids.push(input.submissionId);
  const handle = await client.workflow.start(submissionWorkflow, { taskQueue, workflowId: submissionWorkflowId(input.submissionId), args: [input] });
  await waitForStatus(client, input.submissionId, 'UNDER_ASSESSMENT');
  await assess(input.submissionId);
  expect((await waitForStatus(client, input.submissionId, 'CLEARANCE_ISSUED')).notice).toBe(notice);
  await expect(handle.executeUpdate(declareReleasedUpdate, { args: [{}] })).resolves.toMatchObject({ status: 'RELEASED', notice });
  await expect(handle.result()).resolves.toMatchObject({ status: 'CLOSED', endReason: 'RELEASED_AND_CLOSED', notice });
});

it('a release declared while the submission is returned from screening is accepted too', async () => {
  const input = submissionInput(await ts.env.currentTimeMs(), 20, { contacts: [] });
  ids.push(input.submissionId);
  const handle = await client.workflow.start(submissionWorkflow, { taskQueue, workflowId: submissionWorkflowId(input.submissionId), args: [input] });
  await waitForStatus(client, input.submissionId, 'RETURNED');
  await expect(handle.executeUpdate(declareReleasedUpdate, { args: [{}] })).resolves.toMatchObject({ status: 'RELEASED', notice: 'NOT_ASSESSED' });
  await expect(handle.result()).resolves.toMatchObject({ status: 'CLOSED', endReason: 'RELEASED_AND_CLOSED' });
});

it('across all of these runs, no event and no search attribute carries a gating outcome', async () => {
  expect(ids).toHaveLength(5);
  const values: string[] = [];
  for (const id of ids) {
    for (const e of t.publisher.forSubject(id)) values.push(e.type, ...Object.values(e.data).map((v) => JSON.stringify(v)));
    const d = await client.workflow.getHandle(submissionWorkflowId(id)).describe();
    values.push(JSON.stringify(d.searchAttributes));
  }
  expect(values.length).toBeGreaterThan(50);
  expect(values.filter((v) => GATING.test(v))).toEqual([]);
});
