import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { HISTORY_DIR, loadRecordedRuns } from './history-files';
import '../helpers/quiet-runtime';

jest.setTimeout(120_000);

// Recorded from test/integration/lifecycle.test.ts on the dev server (PREFLIGHT_RECORD_HISTORIES=1). The `-pre-inbox`
// files were recorded from the workflows just before the agency inbox (patch `agency-inbox-v1`), the `-inbox` files after.
const SCENARIOS = [
  'submission-happy-path.json',
  'submission-withdrawal.json',
  'submission-happy-path-pre-inbox.json',
  'submission-withdrawal-pre-inbox.json',
  'submission-happy-path-inbox.json',
  'submission-withdrawal-inbox.json',
];

describe('lifecycle histories recorded on the dev server', () => {
  it.each(SCENARIOS)('%s replays on the current workflows without nondeterminism', async (file) => {
    const runs = loadRecordedRuns(file);
    expect(runs.map((r) => r.workflowId.split('/').length)).toEqual([2, 4, 4, 4, 4, 4, 4]);
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowsPath: require.resolve('../../workflows'), replayName: file }, runs)) {
      results.push(result);
    }
    expect(results).toHaveLength(7);
    for (const r of results) expect({ workflowId: r.workflowId, error: r.error }).toEqual({ workflowId: r.workflowId, error: undefined });
  });

  it('a deliberately changed submission workflow fails replay with a determinism violation', async () => {
    const [parent] = loadRecordedRuns('submission-happy-path.json');
    await expect(
      Worker.runReplayHistory({ workflowsPath: require.resolve('./fixtures/changed-workflows'), replayName: 'changed' }, parent!.history, parent!.workflowId),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });

  it('the recorded histories hold no access token: grants come back as ids and expiries only', () => {
    for (const file of SCENARIOS) {
      const decoded: string[] = [];
      const walk = (v: unknown, key = ''): void => {
        if (typeof v === 'string' && key === 'data') decoded.push(Buffer.from(v, 'base64').toString('utf8'));
        else if (Array.isArray(v)) v.forEach((x) => walk(x));
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
      };
      walk(JSON.parse(fs.readFileSync(path.join(HISTORY_DIR, file), 'utf8')));
      const grants = decoded.filter((d) => d.includes('"grantId"') && d.includes('"expiresAt"') && !d.includes('"submissionId"'));
      expect(grants.length).toBeGreaterThanOrEqual(6);
      for (const g of grants) expect(Object.keys(JSON.parse(g)).sort()).toEqual(['agencyId', 'expiresAt', 'grantId']);
      expect(decoded.join('\n')).not.toMatch(/pfa1\./);
    }
  });
});
