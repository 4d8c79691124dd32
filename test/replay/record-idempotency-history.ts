/**
 * Records the idempotency key history that test/replay/idempotency-key.test.ts replays: a claim, a retry while it
 * runs, another request with the same key, the stored answer, a release by another fingerprint, the answer replayed,
 * and the key's end after its lifetime. Run it again only when a new workflow shape ships (keeping the old files):
 * `npx tsx test/replay/record-idempotency-history.ts`.
 */
import { record, saveBinaryHistory } from './history-files';
import { registerSearchAttributes } from '../helpers/lifecycle';
import { claimKeyUpdate, completeKeyUpdate, IDEMPOTENCY_KEY_TTL_MS, idempotencyWorkflowId, releaseKeyUpdate } from '../../workflows/idempotency/contract';

/** The file name suffix for the current workflow shape; earlier shapes' files stay, and every one is replayed. */
const SHAPE = 'v1';
const taskQueue = 'record-idempotency';

record({ taskQueue, workflowsPath: require.resolve('../../workflows'), activities: {} }, async (env) => {
  await registerSearchAttributes(env);
  const handle = await env.client.workflow.start('idempotencyKeyWorkflow', {
    taskQueue,
    workflowId: idempotencyWorkflowId('acme-recorded', 'key-1'),
    args: [{ vendorId: 'acme-recorded' }],
  });
  const claim = (fingerprint: string) => handle.executeUpdate(claimKeyUpdate, { args: [{ fingerprint, request: 'POST /v1/submissions' }] });
  await claim('f1');
  await claim('f1');
  await claim('f2');
  await handle.executeUpdate(completeKeyUpdate, {
    args: [{ fingerprint: 'f1', response: { status: 202, body: { submissionId: 'sub-recorded' }, headers: {} } }],
  });
  await handle.executeUpdate(releaseKeyUpdate, { args: [{ fingerprint: 'f2' }] });
  await claim('f1');
  await env.sleep(IDEMPOTENCY_KEY_TTL_MS + 60_000);
  await handle.result();
  saveBinaryHistory(`idempotency-key-${SHAPE}.binpb`, await handle.fetchHistory());
});
