import { Worker } from '@temporalio/worker';
import { loadBinaryHistory } from './history-files';

jest.setTimeout(120_000);

// v1: claims (claimed, in progress, another request), the stored answer, a foreign release, the answer replayed, and
// the key's end after its lifetime (test/replay/record-idempotency-history.ts).
const histories: Array<[string, string]> = [['idempotency-key-v1.binpb', 'idempotency/acme-recorded/key-1']];

describe('idempotency key workflow replay', () => {
  it.each(histories)("replays %s with today's code", async (file, workflowId) => {
    const history = loadBinaryHistory(file);
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(started?.workflowType?.name).toBe('idempotencyKeyWorkflow');
    expect(history.events?.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    expect(history.events?.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes).length).toBeGreaterThanOrEqual(6);
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, workflowId);
  });
});
