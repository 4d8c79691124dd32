import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { loadBinaryHistory } from './history-files';
import '../helpers/quiet-runtime';

jest.setTimeout(120_000);

// Recorded by test/replay/record-case-routing-histories.ts: one agency reports a third-party finding and completes at
// once; the vendor moves the release, then declares it. `pre-routing`: the report was fire-and-forget and the cases
// polled the release; `routing`: patches `assessment-durable-case-routing` (the report is awaited and its case id kept)
// and `submission-push-release-to-cases` (the submission pushes each release change to the case).
const SUBMISSION_ID = 'sub-case-routing';
const runs = (shape: string) => [
  { workflowId: `submission/${SUBMISSION_ID}`, history: loadBinaryHistory(`submission-case-routing-${shape}.binpb`) },
  { workflowId: `submission/${SUBMISSION_ID}/agency/nsa`, history: loadBinaryHistory(`assessment-case-routing-${shape}.binpb`) },
];

const scheduled = (history: temporal.api.history.v1.IHistory, name: string) =>
  history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).length;
const signalsSent = (history: temporal.api.history.v1.IHistory) =>
  history
    .events!.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)
    .map((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes!.signalName);

describe('a third-party finding routed to its case, and the release pushed to the case', () => {
  it.each(['pre-routing', 'routing'])('the %s histories replay on the current workflows without nondeterminism', async (shape) => {
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowsPath: require.resolve('../../workflows'), replayName: `case-routing-${shape}` }, runs(shape))) {
      results.push(r);
    }
    expect(results.map((r) => ({ workflowId: r.workflowId, error: r.error }))).toEqual(
      runs(shape).map((r) => ({ workflowId: r.workflowId, error: undefined })),
    );
  });

  it('the histories are the two shapes: the new one reports the routing to the parent, which pushes each release', () => {
    const [oldParent, oldChild] = runs('pre-routing');
    const [newParent, newChild] = runs('routing');
    expect(scheduled(oldChild!.history, 'openClearinghouseCase')).toBe(1);
    expect(scheduled(newChild!.history, 'openClearinghouseCase')).toBe(1);
    expect(scheduled(oldParent!.history, 'setCaseModelRelease')).toBe(0);
    // The planned date when the case became known, the moved date, then the declared release.
    expect(scheduled(newParent!.history, 'setCaseModelRelease')).toBe(3);
    // Status reports and the finding in both; the routing outcome only in the new shape.
    expect(signalsSent(newChild!.history).length).toBe(signalsSent(oldChild!.history).length + 1);
  });
});
