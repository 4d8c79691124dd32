import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';

jest.setTimeout(120_000);

const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(__dirname, 'histories', 'clearinghouse-case-v1.binpb')));

describe('clearinghouseCaseWorkflow replay', () => {
  it('replays a recorded case (reports, triage, exploitation, embargo, publication, close) with today\'s code', async () => {
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../helpers/clearinghouse-workflows') }, history, 'case/0123456789abcdef0123456789abcdef');
  });

  it('fails on an incompatible change, so the test above can fail', async () => {
    await expect(
      Worker.runReplayHistory({ workflowsPath: require.resolve('../helpers/clearinghouse-workflows-changed') }, history, 'case/0123456789abcdef0123456789abcdef'),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
