import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { deriveFingerprintKey, openOrJoinCase } from '../../clients/cases';
import { createPublisherActivities } from '../../activities/publisher';
import { InMemoryEventPublisher } from '../../events/publisher';
import { caseStateQuery, type CaseReportInput } from '../../workflows/clearinghouse/contract';
import { SA } from '../../workflows/shared/search-attributes';
import { testClient, unique, startTestWorker, type TestWorker } from '../helpers/stack-env';
import { eventually } from '../helpers/agency-events';

// Reports that join an embargoed case must reach the search attributes that ops lists and `preflight cases list` read
// without waiting for the next alarm. Cases once read their models' release dates while embargoed, and a report that
// joined during that read could leave the attributes stale for hours (replayed from test/replay histories); since
// patch `clearinghouse-releases-pushed` the submission pushes the release and the case reads nothing: the read below
// would hang if it were ever made.

const DAY = 24 * 3600 * 1000;
const fingerprintKey = deriveFingerprintKey(crypto.randomBytes(32));
const taskQueue = unique('case-attributes');
const product = `Example Gateway ${crypto.randomBytes(3).toString('hex')}`;

let client: Client;
let testWorker: TestWorker | undefined;
let releaseReads = 0;
const never = new Promise<void>(() => undefined);
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
        releaseReads += 1;
        await never;
        return ids.map((submissionId) => ({ submissionId, releaseAt: plannedReleaseAt }));
      },
    },
  });
});

afterAll(async () => {
  await testWorker?.stop();
  await client?.connection.close();
});

function report(agencyId: string, extra: Partial<CaseReportInput> = {}): CaseReportInput {
  return { reportId: unique(`r-${agencyId}`), agencyId, source: 'AGENCY_COMMAND', affectedProduct: product, weakness: 'prompt injection', ...extra };
}

it('reports that join an embargoed case reach the search attributes at once; the case reads no release dates', async () => {
  const first = await openOrJoinCase(client, report('nsa', { submissionId: unique('sub'), plannedReleaseAt }), { taskQueue, fingerprintKey });
  await openOrJoinCase(client, report('cisa'), { taskQueue, fingerprintKey });
  await openOrJoinCase(client, report('nist'), { taskQueue, fingerprintKey });

  const handle = client.workflow.getHandle(first.caseId);
  const agencies = await eventually('all three reporters in the search attributes', async () => {
    const listed = (await handle.describe()).typedSearchAttributes.get(SA.agencies);
    return listed && listed.length === 3 ? listed : undefined;
  });
  expect([...agencies].sort()).toEqual(['cisa', 'nist', 'nsa']);
  expect((await handle.query(caseStateQuery)).embargoActive).toBe(true);
  expect(releaseReads).toBe(0);
  await handle.terminate('test over');
});
