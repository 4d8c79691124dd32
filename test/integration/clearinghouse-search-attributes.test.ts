import crypto from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { deriveFingerprintKey, openOrJoinCase } from '../../clients/cases';
import { createPublisherActivities } from '../../activities/publisher';
import { InMemoryEventPublisher } from '../../events/publisher';
import type { CaseReportInput } from '../../workflows/clearinghouse/contract';
import { SA } from '../../workflows/shared/search-attributes';
import { testClient, testStack, unique } from '../helpers/stack-env';

// Reports that join while the case is reading its models' release dates must still reach the search attributes that
// ops lists and `preflight cases list` read. The refresh is held open until the other reports have joined, so the
// interleaving that once left the attributes stale for hours happens on every run.

const DAY = 24 * 3600 * 1000;
const fingerprintKey = deriveFingerprintKey(crypto.randomBytes(32));
const taskQueue = unique('case-attributes');
const product = `Example Gateway ${crypto.randomBytes(3).toString('hex')}`;

let client: Client;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let refreshStarted!: () => void;
const refreshCalled = new Promise<void>((resolve) => (refreshStarted = resolve));
let releaseRefresh!: () => void;
const refreshMayReturn = new Promise<void>((resolve) => (releaseRefresh = resolve));
const plannedReleaseAt = new Date(Date.now() + 10 * DAY).toISOString();

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  client = await testClient();
  connection = await NativeConnection.connect({ address: testStack().temporalAddress });
  worker = await Worker.create({
    connection,
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
  running = worker.run();
});

afterAll(async () => {
  releaseRefresh?.();
  worker?.shutdown();
  await running;
  await connection?.close();
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
