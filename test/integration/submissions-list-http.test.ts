import type { Client } from '@temporalio/client';
import { listSubmissions } from '../../workers/api/lookup';
import { listSubmissionsOverHttp, listItemFromHttp, type SubmissionListItem } from '../../workers/api/submission-list';
import { SA } from '../../workflows/shared/search-attributes';
import { preflightCli } from '../helpers/cli';
import { testClient, unique } from '../helpers/stack-env';

/**
 * `preflight submissions list` reads visibility through the Temporal frontend's HTTP API when it can (no gRPC client
 * to load) and through gRPC otherwise. Both readers must give the same rows and interchangeable page tokens.
 */
const httpAddress = process.env.PREFLIGHT_TEST_TEMPORAL_HTTP_ADDRESS;

describe('submission list over the Temporal HTTP API', () => {
  const vendor = unique('listhttp');
  const taskQueue = unique('list-http-unpolled');
  const ids = [1, 2, 3].map((n) => `${unique('sub-lh')}${n}`);
  let client: Client;

  beforeAll(async () => {
    if (!httpAddress) throw new Error('No Temporal HTTP API for the test stack: with an external TEMPORAL_ADDRESS, set TEMPORAL_HTTP_ADDRESS too');
    client = await testClient();
    // Three submissions as visibility sees them (their workflows are never run: no worker polls this queue).
    for (const [i, id] of ids.entries()) {
      await client.workflow.start('submissionWorkflow', {
        workflowId: `submission/${id}`,
        taskQueue,
        args: [],
        typedSearchAttributes: [
          { key: SA.kind, value: 'submission' },
          { key: SA.vendor, value: vendor },
          { key: SA.submissionId, value: id },
          { key: SA.status, value: i === 0 ? 'UNDER_ASSESSMENT' : 'ACCESS_PROVISIONING' },
          { key: SA.agencies, value: ['nsa', `agency${i}`] },
          { key: SA.releaseAt, value: new Date(Date.UTC(2027, 0, 10 + i, 12)) },
        ],
      });
    }
    const deadline = Date.now() + 60_000;
    while ((await client.workflow.count(`PreflightVendor = '${vendor}'`)).count < ids.length) {
      if (Date.now() > deadline) throw new Error('visibility did not show the three submissions within 60 s');
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 90_000);

  afterAll(async () => {
    for (const id of ids)
      await client.workflow
        .getHandle(`submission/${id}`)
        .terminate('test over')
        .catch(() => undefined);
    await client.connection.close();
  });

  const byId = (items: SubmissionListItem[]) => [...items].sort((a, b) => a.submissionId.localeCompare(b.submissionId));

  it('gives the same rows as the gRPC reader, and the page tokens of either continue the other', async () => {
    const grpc = await listSubmissions(client, { vendor });
    const http = await listSubmissionsOverHttp(httpAddress!, 'default', { vendor });
    expect(http.items).toHaveLength(3);
    expect(byId(http.items)).toEqual(byId(grpc.items));
    const first = http.items.find((i) => i.submissionId === ids[0]);
    expect(first).toMatchObject({
      vendorId: vendor,
      status: 'UNDER_ASSESSMENT',
      agencies: ['nsa', 'agency0'],
      plannedReleaseAt: '2027-01-10T12:00:00.000Z',
      running: true,
    });

    const filtered = await listSubmissionsOverHttp(httpAddress!, 'default', { vendor, status: 'ACCESS_PROVISIONING' });
    expect(filtered.items.map((i) => i.submissionId).sort()).toEqual([ids[1], ids[2]].sort());

    const httpFirst = await listSubmissionsOverHttp(httpAddress!, 'default', { vendor }, { pageSize: 2 });
    expect(httpFirst.items).toHaveLength(2);
    expect(httpFirst.nextPageToken).toBeDefined();
    const grpcSecond = await listSubmissions(client, { vendor }, { pageSize: 2, nextPageToken: httpFirst.nextPageToken });
    const grpcFirst = await listSubmissions(client, { vendor }, { pageSize: 2 });
    const httpSecond = await listSubmissionsOverHttp(httpAddress!, 'default', { vendor }, { pageSize: 2, nextPageToken: grpcFirst.nextPageToken });
    expect(byId([...httpFirst.items, ...grpcSecond.items]).map((i) => i.submissionId)).toEqual([...ids].sort());
    expect(byId([...grpcFirst.items, ...httpSecond.items]).map((i) => i.submissionId)).toEqual([...ids].sort());
  });

  it('the CLI answers through the HTTP API, and through gRPC with the same output when the HTTP API is unreachable', async () => {
    const viaHttp = await preflightCli(['submissions', 'list', '--vendor', vendor, '--json'], { TEMPORAL_HTTP_ADDRESS: httpAddress });
    expect(viaHttp.stderr).toBe('');
    expect(viaHttp.code).toBe(0);
    const viaGrpc = await preflightCli(['submissions', 'list', '--vendor', vendor, '--json'], { TEMPORAL_HTTP_ADDRESS: 'http://127.0.0.1:1' });
    expect(viaGrpc.code).toBe(0);
    // The HTTP API alone answers: the gRPC address given here is closed.
    const httpOnly = await preflightCli(['submissions', 'list', '--vendor', vendor, '--json'], {
      TEMPORAL_HTTP_ADDRESS: httpAddress,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    expect(httpOnly.code).toBe(0);
    expect(httpOnly.stdout).toBe(viaHttp.stdout);
    const parse = (out: string) => byId((JSON.parse(out) as { items: SubmissionListItem[] }).items);
    expect(parse(viaHttp.stdout)).toHaveLength(3);
    expect(parse(viaHttp.stdout)).toEqual(parse(viaGrpc.stdout));
  }, 120_000);

  it('reads only plain JSON search attributes and skips rows that are not submissions', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    expect(listItemFromHttp({ startTime: '2026-12-07T00:00:00Z', searchAttributes: { indexedFields: {} } })).toBeUndefined();
    const row = listItemFromHttp({
      execution: { workflowId: 'submission/sub-x' },
      startTime: '2026-12-07T00:00:00.123456Z',
      status: 'WORKFLOW_EXECUTION_STATUS_COMPLETED',
      closeTime: '2026-12-08T00:00:00Z',
      searchAttributes: {
        indexedFields: {
          PreflightVendor: { metadata: { encoding: b64('json/plain') }, data: b64('"acme"') },
          PreflightStatus: { metadata: { encoding: b64('binary/encrypted') }, data: b64('"CLOSED"') },
        },
      },
    });
    expect(row).toEqual({
      submissionId: 'sub-x',
      vendorId: 'acme',
      status: 'UNKNOWN',
      agencies: [],
      startedAt: '2026-12-07T00:00:00.123Z',
      closedAt: '2026-12-08T00:00:00.000Z',
      running: false,
    });
  });
});
