/**
 * The agency assessment's own alerts in the agency inbox (time-skipping server, in a file of its own: it lets the
 * server skip weeks): reminders and the missed deadline, with ids that name the alert, then the assessment's end.
 */
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createLifecycleActivities } from '../../activities/lifecycle';
import { createPublisherActivities } from '../../activities/publisher';
import { InMemoryEventPublisher } from '../../events/publisher';
import { createLogger } from '../../infra/logger';
import { AGENCY_INBOX_EVENT_TYPES as T } from '../../workflows/shared/agency-inbox';
import { acceptInvitationUpdate } from '../../workflows/assessment/contract';
import { agencyWorkflowId, submissionWorkflowId } from '../../workflows/submission/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import { RecordingAccessBroker, registerSearchAttributes, submissionInput, waitForStatus } from '../helpers/lifecycle';
import { createTimeSkippingEnv, type TimeSkippingEnv } from '../helpers/time-skipping';
import '../helpers/quiet-runtime';

jest.setTimeout(240_000);

const taskQueue = 'agency-inbox-alerts-ts';
let ts: TimeSkippingEnv;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const publisher = new InMemoryEventPublisher();
let cmd = 0;

beforeAll(async () => {
  ts = await createTimeSkippingEnv();
  client = ts.env.client;
  await registerSearchAttributes(ts.env);
  const logger = createLogger({ level: 'silent' });
  worker = await Worker.create({
    connection: ts.env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: {
      ...createPublisherActivities({ publisher }),
      ...createLifecycleActivities({ logger, accessBroker: new RecordingAccessBroker(), publisher }),
      async openClearinghouseCase() {
        return { caseId: 'case/test', outcome: 'OPENED' };
      },
      async setCaseModelRelease() {
        return undefined;
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

async function agency<R>(submissionId: string, agencyId: string, update: { name: string }, body: object = {}): Promise<R> {
  cmd += 1;
  return client.workflow
    .getHandle(agencyWorkflowId(submissionId, agencyId))
    .executeUpdate(update.name, { args: [{ agencyId, ...body }], updateId: `alerts-ce-${cmd}` }) as Promise<R>;
}

it('reminders and a missed deadline reach the agency inbox with ids that name the alert', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 10, { requestedAgencies: ['nsa'] });
  const id = input.submissionId;
  const handle = await client.workflow.start(submissionWorkflow, { taskQueue, workflowId: submissionWorkflowId(id), args: [input] });
  const view = await waitForStatus(client, id, 'UNDER_ASSESSMENT');
  await agency(id, 'nsa', acceptInvitationUpdate);
  await handle.result();
  const inbox = publisher.inbox('nsa', id);
  const base = agencyWorkflowId(id, 'nsa');
  expect(inbox.filter((e) => e.type === T.deadlineReminder).map((e) => e.id)).toEqual([`${base}/reminder/168`, `${base}/reminder/72`, `${base}/reminder/24`]);
  const missed = inbox.find((e) => e.type === T.deadlineMissed)!;
  expect(missed).toMatchObject({ id: `${base}/deadline-missed`, time: view.window!.closesAt, data: { deadline: view.window!.closesAt, status: 'ACCEPTED' } });
  expect(inbox.find((e) => e.type === T.assessmentEnded)!.data).toMatchObject({ status: 'DID_NOT_COMPLETE' });
  expect(inbox.at(-1)!.type).toBe(T.accessRevoked);
});
