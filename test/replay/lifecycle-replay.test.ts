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
// `submission-verified-mitigations`: the reporting agency confirms before the notice counts it). The
// `-pre-local-publish` files were recorded just before status events went out through a local activity, the
// `-local-publish` files after it (patch `submission-events-local-publish`).
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
  'submission-happy-path-pre-local-publish.json',
  'submission-withdrawal-pre-local-publish.json',
  'submission-happy-path-local-publish.json',
  'submission-withdrawal-local-publish.json',
];
const PRE_LOCAL_PUBLISH = ['submission-happy-path-pre-local-publish.json', 'submission-withdrawal-pre-local-publish.json'];
const LOCAL_PUBLISH = ['submission-happy-path-local-publish.json', 'submission-withdrawal-local-publish.json'];

/** How the parent published: the stream of each regular `publishEvent`, the count of local ones, its patch ids. */
function parentPublishing(file: string): { regular: string[]; local: number; patches: string[] } {
  const [parent] = loadRecordedRuns(file);
  const decode = (data: Uint8Array | null | undefined): unknown => JSON.parse(Buffer.from(data!).toString('utf8'));
  const out = { regular: [] as string[], local: 0, patches: [] as string[] };
  for (const e of parent!.history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'publishEvent') out.regular.push(decode(scheduled.input?.payloads?.[0]?.data) as string);
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      expect(decode(marker.details?.data?.payloads?.[0]?.data)).toMatchObject({ activity_type: 'publishEvent' });
      out.local += 1;
    }
    const patch = marker?.details?.['patch-data']?.payloads?.[0]?.data;
    if (patch) out.patches.push((decode(patch) as { id: string }).id);
  }
  return out;
}

/** Replays with the submission workflow's local-publish decision pinned (see the loader). */
async function replayPinned(file: string, mode: 'before' | 'regular' | 'local'): Promise<void> {
  const [parent] = loadRecordedRuns(file);
  const loader = { loader: require.resolve('./fixtures/without-local-publish-loader'), options: { mode } };
  await Worker.runReplayHistory(
    {
      workflowsPath: require.resolve('../../workflows'),
      replayName: `pinned-${mode}-${file}`,
      bundlerOptions: {
        webpackConfigHook: (config) => {
          config.module?.rules?.push({ test: /workflows[\\/]submission[\\/]workflow\.ts$/, enforce: 'pre', use: [loader] });
          return config;
        },
      },
    },
    parent!.history,
    parent!.workflowId,
  );
}

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

  it('before the patch every status event went through the regular activity; with it, through the local one', () => {
    for (const file of PRE_LOCAL_PUBLISH) {
      const { regular, local, patches } = parentPublishing(file);
      expect(patches).not.toContain('submission-events-local-publish');
      expect(local).toBe(0);
      expect(regular.filter((s) => s === 'submission').length).toBeGreaterThanOrEqual(10);
    }
    for (const file of LOCAL_PUBLISH) {
      const { regular, local, patches } = parentPublishing(file);
      expect(patches).toContain('submission-events-local-publish');
      expect(local).toBeGreaterThanOrEqual(10);
      // The agency inbox keeps the regular activity.
      expect(new Set(regular)).toEqual(new Set(['agency-inbox']));
    }
  });

  it('the local-publish shape fails replay on code before the patch or publishing regularly; the old shape on code publishing locally unasked', async () => {
    const NEW = 'submission-happy-path-local-publish.json';
    const OLD = 'submission-happy-path-pre-local-publish.json';
    await expect(replayPinned(NEW, 'before')).rejects.toBeInstanceOf(DeterminismViolationError);
    // The patch marker alone matches: the local activities are what the old code cannot replay.
    await expect(replayPinned(NEW, 'regular')).rejects.toBeInstanceOf(DeterminismViolationError);
    await expect(replayPinned(OLD, 'local')).rejects.toBeInstanceOf(DeterminismViolationError);
    // The pinning itself breaks nothing: each shape replays on the code it was recorded with.
    await expect(replayPinned(OLD, 'regular')).resolves.toBeUndefined();
    await expect(replayPinned(NEW, 'local')).resolves.toBeUndefined();
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
