import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { loadBinaryHistory } from './history-files';
import '../helpers/quiet-runtime';

jest.setTimeout(120_000);

// Recorded by test/replay/record-window-move-histories.ts: a release postponed by two days after the T-168h and T-72h
// reminders. v1: before `assessment-reminders-once-per-offset` (the moved window sent T-72h again); v2: today's shape.
const SUBMISSION_ID = 'sub-window-move';
const runs = (shape: string) => [
  { workflowId: `submission/${SUBMISSION_ID}`, history: loadBinaryHistory(`submission-window-move-${shape}.binpb`) },
  { workflowId: `submission/${SUBMISSION_ID}/agency/nist`, history: loadBinaryHistory(`assessment-window-move-${shape}.binpb`) },
];

const scheduled = (history: temporal.api.history.v1.IHistory, name: string) =>
  history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).length;
const markers = (history: temporal.api.history.v1.IHistory) =>
  history.events!.filter((e) => e.markerRecordedEventAttributes).map((e) => e.markerRecordedEventAttributes!.markerName);

describe('a window moved after reminders went out', () => {
  it.each(['v1', 'v2'])('the %s histories replay on the current workflows without nondeterminism', async (shape) => {
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowsPath: require.resolve('../../workflows'), replayName: `window-move-${shape}` }, runs(shape))) {
      results.push(r);
    }
    expect(results.map((r) => ({ workflowId: r.workflowId, error: r.error }))).toEqual(
      runs(shape).map((r) => ({ workflowId: r.workflowId, error: undefined })),
    );
  });

  it('the histories are the two shapes: the old one sent T-72h twice and has no patch marker, the new one once', () => {
    const [, oldChild] = runs('v1');
    const [, newChild] = runs('v2');
    // T-168h, T-72h, T-72h again, T-24h and the missed deadline; then without the repeat.
    expect(scheduled(oldChild!.history, 'notifyAgency')).toBe(5);
    expect(scheduled(newChild!.history, 'notifyAgency')).toBe(4);
    expect(markers(oldChild!.history)).toEqual([]);
    expect(markers(newChild!.history)).toEqual(['core_patch']);
  });
});
