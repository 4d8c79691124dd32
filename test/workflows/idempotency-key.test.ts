import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import {
  IDEMPOTENCY_KEY_TTL_MS,
  IDEMPOTENCY_PENDING_TIMEOUT_MS,
  claimKeyUpdate,
  completeKeyUpdate,
  idempotencyKeyQuery,
  idempotencyWorkflowId,
  releaseKeyUpdate,
} from '../../workflows/idempotency/contract';
import { idempotencyKeyWorkflow } from '../../workflows/idempotency/workflow';
import { registerSearchAttributes } from '../helpers/lifecycle';
import { createTimeSkippingEnv, type TimeSkippingEnv } from '../helpers/time-skipping';
import '../helpers/quiet-runtime';

jest.setTimeout(180_000);

const taskQueue = 'idempotency-ts';
let ts: TimeSkippingEnv;
let client: Client;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  ts = await createTimeSkippingEnv();
  client = ts.env.client;
  await registerSearchAttributes(ts.env);
  worker = await Worker.create({ connection: ts.env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../workflows') });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await ts?.teardown();
});

it('a key holds one request and its answer for 24 hours, then ends and frees the key', async () => {
  const handle = await client.workflow.start(idempotencyKeyWorkflow, {
    taskQueue,
    workflowId: idempotencyWorkflowId('acme', 'k1'),
    args: [{ vendorId: 'acme' }],
  });
  const claim = (fingerprint: string) => handle.executeUpdate(claimKeyUpdate, { args: [{ fingerprint, request: 'POST /v1/webhook-endpoints' }] });

  await expect(claim('f1')).resolves.toEqual({ outcome: 'claimed' });
  // A retry while the first request runs; another request with the same key.
  await expect(claim('f1')).resolves.toEqual({ outcome: 'in-progress' });
  await expect(claim('f2')).resolves.toEqual({ outcome: 'mismatch', request: 'POST /v1/webhook-endpoints' });

  const response = { status: 201, body: { id: 'ep_1', secretVersion: 1 }, headers: { location: '/v1/webhook-endpoints/ep_1' } };
  await handle.executeUpdate(completeKeyUpdate, { args: [{ fingerprint: 'f1', response }] });
  await expect(claim('f1')).resolves.toEqual({ outcome: 'replay', response });
  // Another fingerprint can neither complete nor release the claim.
  await handle.executeUpdate(releaseKeyUpdate, { args: [{ fingerprint: 'f2' }] });
  await expect(claim('f1')).resolves.toEqual({ outcome: 'replay', response });
  expect(await handle.query(idempotencyKeyQuery)).toMatchObject({ state: 'done', request: 'POST /v1/webhook-endpoints' });

  const startedAt = await ts.env.currentTimeMs();
  await handle.result();
  expect((await ts.env.currentTimeMs()) - startedAt).toBeGreaterThanOrEqual(IDEMPOTENCY_KEY_TTL_MS - 60_000);
});

it('a claim released after a failure, or left pending too long, can be taken again', async () => {
  const handle = await client.workflow.start(idempotencyKeyWorkflow, {
    taskQueue,
    workflowId: idempotencyWorkflowId('acme', 'k2'),
    args: [{ vendorId: 'acme' }],
  });
  const claim = (fingerprint: string) => handle.executeUpdate(claimKeyUpdate, { args: [{ fingerprint, request: 'POST /v1/submissions' }] });
  await expect(claim('f1')).resolves.toEqual({ outcome: 'claimed' });
  await handle.executeUpdate(releaseKeyUpdate, { args: [{ fingerprint: 'f1' }] });
  // Released: the key is free again, even for another request.
  await expect(claim('f3')).resolves.toEqual({ outcome: 'claimed' });
  await ts.env.sleep(IDEMPOTENCY_PENDING_TIMEOUT_MS + 1000);
  await expect(claim('f3')).resolves.toEqual({ outcome: 'claimed' });
  await handle.terminate('test over');
});
