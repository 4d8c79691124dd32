import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { HISTORY_DIR, loadRecordedRuns } from './history-files';
import '../helpers/quiet-runtime';

jest.setTimeout(120_000);

// Recorded from test/integration/lifecycle.test.ts on the dev server (PREFLIGHT_RECORD_HISTORIES=1), one pair per
// shape: v1 and v2 before verified mitigations (a vendor's MITIGATED re-issues the notice at once), v3 with them
// (patch `submission-verified-mitigations`: the reporting agency confirms before the notice counts it).
const SCENARIOS = [
  'submission-happy-path-v1.json',
  'submission-withdrawal-v1.json',
  'submission-happy-path-v2.json',
  'submission-withdrawal-v2.json',
  'submission-happy-path-v3.json',
  'submission-withdrawal-v3.json',
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
    const [parent] = loadRecordedRuns('submission-happy-path-v3.json');
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
