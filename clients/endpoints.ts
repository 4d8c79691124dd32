import { randomBytes } from 'node:crypto';
import { WorkflowIdConflictPolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { SA } from '../workflows/shared/search-attributes';
import { endpointSubscribes, endpointsQuery, vendorWorkflowId, type WebhookEndpoint } from '../workflows/webhooks/contract';

/** A fresh endpoint id, `ep_` + 24 hex characters. */
export function newEndpointId(): string {
  return `ep_${randomBytes(12).toString('hex')}`;
}

/**
 * Makes sure the vendor's registry workflow runs (start, or use the running one) and returns its handle. Safe to
 * call on every request: concurrent callers all end up on the same execution.
 */
export async function ensureVendorWorkflow(client: Client, vendorId: string, taskQueue: string) {
  return client.workflow.start('vendorWorkflow', {
    workflowId: vendorWorkflowId(vendorId),
    taskQueue,
    args: [{ vendorId }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    typedSearchAttributes: [
      { key: SA.kind, value: 'vendor' },
      { key: SA.vendor, value: vendorId },
    ],
  });
}

/** The vendor's endpoints; empty when the vendor never registered one. */
export async function listEndpoints(client: Client, vendorId: string): Promise<WebhookEndpoint[]> {
  try {
    return await client.workflow.getHandle(vendorWorkflowId(vendorId)).query(endpointsQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err as { name?: string }).name === 'WorkflowNotFoundError') return [];
    throw err;
  }
}

export async function getEndpoint(client: Client, vendorId: string, endpointId: string): Promise<WebhookEndpoint | undefined> {
  return (await listEndpoints(client, vendorId)).find((e) => e.endpointId === endpointId);
}

/** Enabled endpoints of the vendor that take this event type. */
export async function subscribedEndpoints(client: Client, vendorId: string, eventType: string): Promise<WebhookEndpoint[]> {
  return (await listEndpoints(client, vendorId)).filter((e) => e.status === 'ENABLED' && endpointSubscribes(e, eventType));
}
