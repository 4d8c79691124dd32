/**
 * Idempotency keys of the vendor API: one short-lived workflow per (vendor, key), id
 * `idempotency/<vendorId>/<sha256(key) hex>`, started with the first request that carries the key (update-with-start).
 * It remembers the request's fingerprint and, once the api answered it, the answer, for `IDEMPOTENCY_KEY_TTL_MS`; then
 * it ends and the key may be used again. Temporal's workflow-id uniqueness makes the claim atomic across api
 * processes, and the record survives an api restart.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export const IDEMPOTENCY_WORKFLOW_PREFIX = 'idempotency/';

/** How long a key and its stored answer are kept after the first request. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * A claim the api never completed (it crashed, or lost Temporal mid-request) is given up after this long, so a retry
 * can run the request; until then a concurrent retry is told the first request is still in progress.
 */
export const IDEMPOTENCY_PENDING_TIMEOUT_MS = 2 * 60 * 1000;

/** `idempotency/<vendorId>/<keyHash>`; `keyHash` is the hex SHA-256 of the key (keys are not ids). */
export function idempotencyWorkflowId(vendorId: string, keyHash: string): string {
  return `${IDEMPOTENCY_WORKFLOW_PREFIX}${vendorId}/${keyHash}`;
}

/** The answer stored for a key: status, JSON body (secrets removed by the route), and the headers worth repeating. */
export interface StoredResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ClaimKeyInput {
  /** Hex SHA-256 of the method, path and canonical JSON body. */
  fingerprint: string;
  /** `METHOD /path` of the request, to say which request a key belongs to when it is reused for another. */
  request: string;
}

export type ClaimKeyResult =
  { outcome: 'claimed' } | { outcome: 'replay'; response: StoredResponse } | { outcome: 'in-progress' } | { outcome: 'mismatch'; request: string };

export interface IdempotencyKeyInput {
  vendorId: string;
}

export const claimKeyUpdate = defineUpdate<ClaimKeyResult, [ClaimKeyInput]>('claimKey');
/** Stores the answer of the claimed request. */
export const completeKeyUpdate = defineUpdate<void, [{ fingerprint: string; response: StoredResponse }]>('completeKey');
/** Gives up a claim whose request failed without an answer worth repeating (5xx): a retry runs the request again. */
export const releaseKeyUpdate = defineUpdate<void, [{ fingerprint: string }]>('releaseKey');
export const idempotencyKeyQuery = defineQuery<{ request?: string; state: 'free' | 'pending' | 'done'; expiresAt: string }>('idempotencyKey');
