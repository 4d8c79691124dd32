import crypto from 'node:crypto';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import {
  claimKeyUpdate,
  completeKeyUpdate,
  idempotencyWorkflowId,
  releaseKeyUpdate,
  type ClaimKeyResult,
  type StoredResponse,
} from '../workflows/idempotency/contract';
import type { idempotencyKeyWorkflow } from '../workflows/idempotency/workflow';

/** JSON with object keys sorted, so the same body sent with its keys in another order has the same fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The fingerprint of a request: method, path and canonical body. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return crypto
    .createHash('sha256')
    .update(`${method.toUpperCase()} ${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

/** The record of one vendor's idempotency key (`idempotency/<vendorId>/<sha256(key)>`). */
export class IdempotencyKeys {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  private workflowId(vendorId: string, key: string): string {
    return idempotencyWorkflowId(vendorId, crypto.createHash('sha256').update(key).digest('hex'));
  }

  /** Claims the key for this request, or says why not (stored answer, in progress, another request). */
  claim(vendorId: string, key: string, fingerprint: string, request: string): Promise<ClaimKeyResult> {
    const workflowId = this.workflowId(vendorId, key);
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof idempotencyKeyWorkflow>('idempotencyKeyWorkflow', {
      workflowId,
      taskQueue: this.taskQueue,
      args: [{ vendorId }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    return this.client.workflow.executeUpdateWithStart(claimKeyUpdate, { args: [{ fingerprint, request }], startWorkflowOperation });
  }

  complete(vendorId: string, key: string, fingerprint: string, response: StoredResponse): Promise<void> {
    return this.client.workflow.getHandle(this.workflowId(vendorId, key)).executeUpdate(completeKeyUpdate, { args: [{ fingerprint, response }] });
  }

  release(vendorId: string, key: string, fingerprint: string): Promise<void> {
    return this.client.workflow.getHandle(this.workflowId(vendorId, key)).executeUpdate(releaseKeyUpdate, { args: [{ fingerprint }] });
  }
}
