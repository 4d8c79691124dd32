import type { Client } from '@temporalio/client';
import { problemFromUpdateFailure } from '../../workers/api/problems';
import { noteUpdate, type updateLimitWorkflow } from '../helpers/update-limit-workflow';
import { startTestWorker, testClient, unique, type TestWorker } from '../helpers/stack-env';

jest.setTimeout(600_000);

/**
 * Measures what README's growth bound rests on: how many updates the dev server Preflight runs on accepts in one
 * workflow execution (every finding is one `submitFinding` update on its agency's assessment; every vendor response
 * and mitigation review one update on the submission), and what the caller gets past it.
 */
describe('the per-execution update cap of the dev server', () => {
  let client: Client;
  let worker: TestWorker;
  const taskQueue = unique('update-limit');

  beforeAll(async () => {
    client = await testClient();
    worker = await startTestWorker({ taskQueue, workflowsPath: require.resolve('../helpers/update-limit-workflow') });
  });
  afterAll(async () => {
    await worker?.stop();
    await client?.connection.close();
  });

  it('accepts 2,000 updates in one execution and fails the next (FAILED_PRECONDITION naming the limit)', async () => {
    const handle = await client.workflow.start<typeof updateLimitWorkflow>('updateLimitWorkflow', { taskQueue, workflowId: unique('update-limit') });
    let accepted = 0;
    let refusal: Error | undefined;
    // Ten at a time: the server also caps in-flight updates per execution at 10.
    while (!refusal && accepted < 5000) {
      const batch = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => handle.executeUpdate(noteUpdate, { args: [accepted + i] })));
      for (const r of batch) {
        if (r.status === 'fulfilled') accepted += 1;
        else refusal ??= r.reason as Error;
      }
    }
    await handle.terminate('measured');
    process.stderr.write(`updates accepted in one execution: ${accepted}; then: ${refusal?.message}\n`);
    expect(accepted).toBe(2000);
    // A gRPC error from the server, not an update failure from the workflow: the api answers it 409 `update-limit-reached`.
    const cause = (refusal as Error & { cause?: Error & { code?: number } }).cause;
    expect([refusal?.name, cause?.code]).toEqual(['ServiceError', 9]); // 9: FAILED_PRECONDITION
    expect(problemFromUpdateFailure(refusal)).toMatchObject({ status: 409, code: 'update-limit-reached' });
    expect(cause?.message).toMatch(/FAILED_PRECONDITION: The limit on the total number of distinct updates in this workflow has been reached \(2000\)/);
  });
});
