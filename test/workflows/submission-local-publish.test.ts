import type { Client } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv, type TimeSkippingEnv } from '../helpers/time-skipping';
import { lifecycleTestActivities, registerSearchAttributes, submissionHandle, submissionInput, waitFor, waitForStatus } from '../helpers/lifecycle';
import { SUBMISSION_EVENT_TYPES, submissionWorkflowId } from '../../workflows/submission/contract';
import type { EventStream, StatusEvent } from '../../workflows/shared/outbox';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import '../helpers/quiet-runtime';

jest.setTimeout(180_000);

const taskQueue = 'local-publish-ts';
let ts: TimeSkippingEnv;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const t = lifecycleTestActivities();
/** Every publishEvent attempt of a status event: which event, local or regular, and whether Kafka took it. */
const attempts: { id: string; local: boolean; ok: boolean }[] = [];
/** While set, status events cannot be published (a Kafka outage) until the regular activity takes over. */
let outage = false;

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
      async publishEvent(stream: EventStream, event: StatusEvent) {
        if (stream !== 'submission') return t.activities.publishEvent(stream, event);
        const local = Context.current().info.isLocal;
        // The outage ends once the regular activity is used: it is what the outbox falls back to.
        if (!local) outage = false;
        attempts.push({ id: event.id, local, ok: !outage });
        if (outage) throw new Error('broker unavailable');
        return t.activities.publishEvent(stream, event);
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

it('status events go out through the local activity, in order; one the local activity cannot publish goes through the regular one', async () => {
  const input = submissionInput(await ts.env.currentTimeMs(), 20);
  const id = input.submissionId;
  outage = true;
  await client.workflow.start(submissionWorkflow, { taskQueue, workflowId: submissionWorkflowId(id), args: [input] });
  try {
    // The first event (RECEIVED) is tried locally five times, then handed to the regular activity, which gets it out.
    await waitFor(
      async () => t.publisher.forSubject(id).length,
      (n) => n >= 3,
      'status events after the outage',
      90_000,
    );
    await waitForStatus(client, id, 'UNDER_ASSESSMENT');
    const first = attempts.filter((a) => a.id === `${submissionWorkflowId(id)}/1`);
    expect(first.filter((a) => a.local && !a.ok)).toHaveLength(5);
    expect(first.at(-1)).toEqual({ id: `${submissionWorkflowId(id)}/1`, local: false, ok: true });
    // The events after it are back on the local activity, each published once, in order.
    const later = attempts.filter((a) => a.id !== `${submissionWorkflowId(id)}/1`);
    expect(later.length).toBeGreaterThanOrEqual(2);
    expect(later.every((a) => a.local && a.ok)).toBe(true);
    const events = t.publisher.forSubject(id);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.id)).toEqual(events.map((e) => `${submissionWorkflowId(id)}/${e.sequence}`));
    expect(events[0]).toMatchObject({ type: SUBMISSION_EVENT_TYPES.submissionStatusChanged, data: { status: 'RECEIVED' } });
    // The history holds the local attempts as markers and only the fallback as an activity task.
    const history = await submissionHandle(client, id).fetchHistory();
    const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'publishEvent');
    const decode = (data: Uint8Array | null | undefined): unknown => JSON.parse(Buffer.from(data!).toString('utf8'));
    const regular = scheduled.map((e) => e.activityTaskScheduledEventAttributes!.input!.payloads!.map((p) => decode(p.data)) as [EventStream, StatusEvent]);
    expect(regular.filter(([stream]) => stream === 'submission').map(([, event]) => event.id)).toEqual([`${submissionWorkflowId(id)}/1`]);
  } finally {
    await submissionHandle(client, id)
      .terminate('test over')
      .catch(() => undefined);
  }
});
