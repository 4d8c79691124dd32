import { allHandlersFinished, condition, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { SA } from '../shared/search-attributes';
import { iso } from '../shared/time';
import {
  IDEMPOTENCY_KEY_TTL_MS,
  IDEMPOTENCY_PENDING_TIMEOUT_MS,
  claimKeyUpdate,
  completeKeyUpdate,
  idempotencyKeyQuery,
  releaseKeyUpdate,
  type ClaimKeyResult,
  type IdempotencyKeyInput,
  type StoredResponse,
} from './contract';

/**
 * One vendor idempotency key (`idempotency/<vendorId>/<keyHash>`): the first request claims it with its fingerprint;
 * its answer is stored; a retry with the same fingerprint gets that answer, another request with the same key is told
 * so. It lives `IDEMPOTENCY_KEY_TTL_MS` from its start and then ends, freeing the key.
 */
export async function idempotencyKeyWorkflow(input: IdempotencyKeyInput): Promise<void> {
  const expiresAtMs = Date.now() + IDEMPOTENCY_KEY_TTL_MS;
  upsertSearchAttributes([
    { key: SA.kind, value: 'idempotencyKey' },
    { key: SA.vendor, value: input.vendorId },
  ]);
  let record: { fingerprint: string; request: string; claimedAtMs: number; response?: StoredResponse } | undefined;

  setHandler(claimKeyUpdate, ({ fingerprint, request }): ClaimKeyResult => {
    const now = Date.now();
    if (record && record.fingerprint !== fingerprint) return { outcome: 'mismatch', request: record.request };
    if (record?.response) return { outcome: 'replay', response: record.response };
    if (record && now - record.claimedAtMs < IDEMPOTENCY_PENDING_TIMEOUT_MS) return { outcome: 'in-progress' };
    record = { fingerprint, request, claimedAtMs: now };
    return { outcome: 'claimed' };
  });
  setHandler(completeKeyUpdate, ({ fingerprint, response }) => {
    if (record && record.fingerprint === fingerprint && !record.response) record.response = response;
  });
  setHandler(releaseKeyUpdate, ({ fingerprint }) => {
    if (record && record.fingerprint === fingerprint && !record.response) record = undefined;
  });
  setHandler(idempotencyKeyQuery, () => ({
    ...(record ? { request: record.request } : {}),
    state: record?.response ? 'done' : record ? 'pending' : 'free',
    expiresAt: iso(expiresAtMs),
  }));

  await condition(() => false, IDEMPOTENCY_KEY_TTL_MS);
  await condition(allHandlersFinished);
}
