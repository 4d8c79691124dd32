import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv, type TimeSkippingEnv } from '../helpers/time-skipping';
import { longSleepWorkflow } from '../helpers/fixtures/workflows';

describe('time-skipping test server', () => {
  let ts: TimeSkippingEnv;
  beforeAll(async () => {
    ts = await createTimeSkippingEnv();
  });
  afterAll(async () => {
    await ts?.teardown();
  });

  it('fires a 30-day timer within seconds of wall time', async () => {
    const { env } = ts;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'time-skipping-smoke',
      workflowsPath: require.resolve('../helpers/fixtures/workflows'),
    });
    const wallStart = Date.now();
    const result = await worker.runUntil(() =>
      env.client.workflow.execute(longSleepWorkflow, { args: [30], taskQueue: 'time-skipping-smoke', workflowId: 'sleep-30-days' }),
    );
    const wallSeconds = (Date.now() - wallStart) / 1000;
    expect(result.wokeAt - result.sleptFrom).toBeGreaterThanOrEqual(30 * 24 * 60 * 60 * 1000);
    expect(wallSeconds).toBeLessThan(60);
  });
});
