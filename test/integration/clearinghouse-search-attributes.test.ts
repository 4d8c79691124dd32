import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { deriveFingerprintKey, openOrJoinCase } from '../../clients/cases';
import { createPublisherActivities } from '../../activities/publisher';
import { InMemoryEventPublisher } from '../../events/publisher';
import type { CaseReportInput } from '../../workflows/clearinghouse/contract';
import { SA } from '../../workflows/shared/search-attributes';
import { testClient, unique, startTestWorker, type TestWorker } from '../helpers/stack-env';
import { eventually } from '../helpers/agency-events';

// Reports that join while the case is reading its models' release dates must still reach the search attributes that
// ops lists and `preflight cases list` read. The refresh is held open until the other reports have joined, so the
// interleaving that once left the attributes stale for hours happens on every run.

const DAY = 24 * 3600 * 1000;
const fingerprintKey = deriveFingerprintKey(crypto.randomBytes(32));
const taskQueue = unique('case-attributes');
const product = `Example Gateway ${crypto.randomBytes(3).toString('hex')}`;

let client: Client;
let testWorker: TestWorker | undefined;
let refreshStarted!: () => void;
const refreshCalled = new Promise<void>((resolve) => (refreshStarted = resolve));
let releaseRefresh!: () => void;
const refreshMayReturn = new Promise<void>((resolve) => (releaseRefresh = resolve));
const plannedReleaseAt = new Date(Date.now() + 10 * DAY).toISOString();

beforeAll(async () => {
  client = await testClient();
  testWorker = await startTestWorker({
    taskQueue,
    workflowsPath: require.resolve('../helpers/clearinghouse-workflows'),
    activities: {
      ...createPublisherActivities({ publisher: new InMemoryEventPublisher() }),
      linkDuplicateCase: async () => undefined,
      currentModelReleases: async (ids: string[]) => {
        refreshStarted();
        await refreshMayReturn;
        return ids.map((submissionId) => ({ submissionId, releaseAt: plannedReleaseAt }));
      },
    },
  });
});

afterAll(async () => {
  releaseRefresh?.();
  await testWorker?.stop();
  await client?.connection.close();
});

function report(agencyId: string, extra: Partial<CaseReportInput> = {}): CaseReportInput {
  return { reportId: unique(`r-${agencyId}`), agencyId, source: 'AGENCY_COMMAND', affectedProduct: product, weakness: 'prompt injection', ...extra };
}

it('reports that join while the release dates are read reach the search attributes without waiting for the next alarm', async () => {
  const first = await openOrJoinCase(client, report('nsa', { submissionId: unique('sub'), plannedReleaseAt }), { taskQueue, fingerprintKey });
  // The first report starts an embargo, so the case reads its model's release date at once; hold that read open.
  await refreshCalled;
  await openOrJoinCase(client, report('cisa'), { taskQueue, fingerprintKey });
  await openOrJoinCase(client, report('nist'), { taskQueue, fingerprintKey });
  releaseRefresh();

  const handle = client.workflow.getHandle(first.caseId);
  const agencies = await eventually('all three reporters in the search attributes', async () => {
    const listed = (await handle.describe()).typedSearchAttributes.get(SA.agencies);
    return listed && listed.length === 3 ? listed : undefined;
  });
  expect([...agencies].sort()).toEqual(['cisa', 'nist', 'nsa']);
  await handle.terminate('test over');
});
