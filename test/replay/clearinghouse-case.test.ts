import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { loadBinaryHistory } from './history-files';

jest.setTimeout(120_000);

const load = loadBinaryHistory;
// v1: before the embargo followed release-date changes; v2: before the loop woke on reports that joined during the
// release refresh (both replay through their patches); v3 (and v3-pre-inbox, recorded again just before the change):
// before the reporting agencies' inbox events (patch agency-inbox-cases-v1); v4 (and v4-pre-advisory and pre-routing,
// each recorded again just before its change): before publication announced the CSAF document (patch
// clearinghouse-advisory-published-event), and the case polled its models' release dates; v5: with an operator-added
// party and the advisory event, still polling; routing: the submission pushes its release (patch
// clearinghouse-releases-pushed) and a report's domain offers the case to matching agencies (patch
// clearinghouse-domain-offers), without the advisory event; v6: today's shape, all of these.
const shapes = [
  'clearinghouse-case-v1.binpb',
  'clearinghouse-case-v2.binpb',
  'clearinghouse-case-v3.binpb',
  'clearinghouse-case-v3-pre-inbox.binpb',
  'clearinghouse-case-v4.binpb',
  'clearinghouse-case-v4-pre-advisory.binpb',
  'clearinghouse-case-v5.binpb',
  'clearinghouse-case-pre-routing.binpb',
  'clearinghouse-case-routing.binpb',
  'clearinghouse-case-v6.binpb',
];
const history = load('clearinghouse-case-v6.binpb');

describe('clearinghouseCaseWorkflow replay', () => {
  it.each(shapes)("replays %s (reports, triage, exploitation, embargo, publication, close) with today's code", async (file) => {
    await Worker.runReplayHistory(
      { workflowsPath: require.resolve('../helpers/clearinghouse-workflows') },
      load(file),
      'case/0123456789abcdef0123456789abcdef',
    );
  });

  it('the pre-routing shape polls the release and offers nothing; the routing shape offers by domain and polls nothing', () => {
    const activities = (file: string) =>
      load(file)
        .events!.map((e) => e.activityTaskScheduledEventAttributes)
        .filter((a) => a)
        .map((a) => {
          const name = a!.activityType!.name!;
          const payload = a!.input?.payloads?.[1]?.data;
          const type = payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as { type?: string }).type : undefined;
          return name === 'publishEvent' ? `publishEvent:${type}` : name;
        });
    const before = activities('clearinghouse-case-pre-routing.binpb');
    const after = activities('clearinghouse-case-routing.binpb');
    expect(before).toContain('currentModelReleases');
    expect(before.filter((a) => a.endsWith('case-offered.v1'))).toEqual([]);
    expect(after).not.toContain('currentModelReleases');
    expect(after.filter((a) => a.endsWith('case-offered.v1'))).toHaveLength(2);
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
