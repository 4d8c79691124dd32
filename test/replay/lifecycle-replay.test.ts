import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { HISTORY_DIR, loadRecordedRuns } from './history-files';
import '../helpers/quiet-runtime';

jest.setTimeout(120_000);

// Recorded from test/integration/lifecycle.test.ts on the dev server (PREFLIGHT_RECORD_HISTORIES=1). The unversioned
// files predate both `assessment-reminders-once-per-offset` and `revoke-access-when-assessment-ends`; the -v2 files
// carry the first (its marker in every agency child), the -revoke files the second (an agency loses its access as its
// assessment ends, not when the submission ends it). The `-pre-inbox` files were recorded just before the agency inbox
// (patch `agency-inbox-v1`), the `-inbox` files after it. The `-pre-mitigations` files were recorded just before
// verified mitigations (a vendor's MITIGATED re-issued the notice at once), the `-mitigations` files with them (patch
// `submission-verified-mitigations`: the reporting agency confirms before the notice counts it).
const OLD_SHAPE = ['submission-happy-path.json', 'submission-withdrawal.json'];
const SCENARIOS = [
  ...OLD_SHAPE,
  'submission-happy-path-v2.json',
  'submission-withdrawal-v2.json',
  'submission-happy-path-revoke.json',
  'submission-withdrawal-revoke.json',
  'submission-happy-path-pre-inbox.json',
  'submission-withdrawal-pre-inbox.json',
  'submission-happy-path-inbox.json',
  'submission-withdrawal-inbox.json',
  'submission-happy-path-pre-mitigations.json',
  'submission-withdrawal-pre-mitigations.json',
  'submission-happy-path-mitigations.json',
  'submission-withdrawal-mitigations.json',
];

/** The parent's activity types and patch ids, in history order. */
function parentCommands(file: string): string[] {
  const [parent] = loadRecordedRuns(file);
  const out: string[] = [];
  for (const e of parent!.history.events ?? []) {
    const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (activity) out.push(activity);
    const patch = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
    if (patch) out.push(`patch:${(JSON.parse(Buffer.from(patch).toString('utf8')) as { id: string }).id}`);
  }
  return out.filter((c) => c !== 'publishEvent');
}

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

  it('the old shape revokes only when the submission ends; the patched shape revokes an agency whose assessment ended', () => {
    for (const file of OLD_SHAPE) expect(parentCommands(file).filter((c) => c.startsWith('patch:'))).toEqual([]);
    // Withdrawal: dhs declined first, so its grant is revoked before the withdrawal revokes the other five.
    expect(parentCommands('submission-withdrawal.json')).toEqual([...Array(6).fill('grantAccess'), ...Array(6).fill('revokeAccess')]);
    expect(parentCommands('submission-withdrawal-revoke.json')).toEqual([
      ...Array(6).fill('grantAccess'),
      'patch:revoke-access-when-assessment-ends',
      ...Array(6).fill('revokeAccess'),
    ]);
    const v2 = parentCommands('submission-happy-path-revoke.json');
    expect(v2.filter((c) => c === 'revokeAccess')).toHaveLength(6);
    expect(v2).toContain('patch:revoke-access-when-assessment-ends');
  });

  it('a deliberately changed submission workflow fails replay with a determinism violation', async () => {
    const [parent] = loadRecordedRuns('submission-happy-path-mitigations.json');
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
