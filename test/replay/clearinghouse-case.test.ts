import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { loadBinaryHistory } from './history-files';

jest.setTimeout(120_000);

const load = loadBinaryHistory;
// v1: before the embargo followed release-date changes; v2: before the loop woke on reports that joined during the
// release refresh (both replay through their patches); v3 (and v3-pre-inbox, recorded again just before the change):
// before the reporting agencies' inbox events (patch agency-inbox-cases-v1); v4 (and v4-pre-advisory, recorded again
// just before the change): before publication announced the CSAF document (patch clearinghouse-advisory-published-event);
// v5: today's shape (with an operator-added party).
const shapes = [
  'clearinghouse-case-v1.binpb',
  'clearinghouse-case-v2.binpb',
  'clearinghouse-case-v3.binpb',
  'clearinghouse-case-v3-pre-inbox.binpb',
  'clearinghouse-case-v4.binpb',
  'clearinghouse-case-v4-pre-advisory.binpb',
  'clearinghouse-case-v5.binpb',
];
const history = load('clearinghouse-case-v5.binpb');

describe('clearinghouseCaseWorkflow replay', () => {
  it.each(shapes)("replays %s (reports, triage, exploitation, embargo, publication, close) with today's code", async (file) => {
    await Worker.runReplayHistory(
      { workflowsPath: require.resolve('../helpers/clearinghouse-workflows') },
      load(file),
      'case/0123456789abcdef0123456789abcdef',
    );
  });

  it('fails on an incompatible change, so the test above can fail', async () => {
    await expect(
      Worker.runReplayHistory(
        { workflowsPath: require.resolve('../helpers/clearinghouse-workflows-changed') },
        history,
        'case/0123456789abcdef0123456789abcdef',
      ),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
