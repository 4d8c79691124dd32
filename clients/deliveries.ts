import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { SA } from '../workflows/shared/search-attributes';
import { DELIVERY_STATUSES, ENDPOINT_ID_PATTERN, VENDOR_ID_PATTERN } from '../wire/enums';
import {
  deliveryStateQuery,
  parseDeliveryWorkflowId,
  type DeliveryPolicy,
  type DeliveryStatus,
  type DeliveryView,
  type WebhookDeliveryInput,
} from '../workflows/webhooks/contract';

export const DELIVERY_KIND = 'webhook-delivery';

/** Which deliveries: by event, by endpoint, by time range (start time of the delivery), by vendor or status. */
export interface DeliveryFilter {
  vendorId?: string;
  endpointId?: string;
  eventId?: string;
  status?: DeliveryStatus;
  /** ISO-8601, inclusive. */
  since?: string;
  /** ISO-8601, exclusive. */
  until?: string;
  limit?: number;
}

export interface DeliverySummary {
  workflowId: string;
  eventId: string;
  endpointId: string;
  vendorId?: string;
  status?: DeliveryStatus;
  startedAt: string;
  closedAt?: string;
  /** Temporal's execution status: RUNNING, COMPLETED, TIMED_OUT, … */
  execution: string;
}

/** A bad filter value; the message names the field. */
export class DeliveryFilterError extends Error {
  override readonly name = 'DeliveryFilterError';
}

const EVENT_ID = /^[\x21-\x7e]{1,128}$/;

function quote(value: string): string {
  // Every value is pattern-checked first; quoting is a second line of defence for the visibility query.
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function isoOrThrow(field: string, value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new DeliveryFilterError(`${field}: "${value}" is not an ISO-8601 time`);
  return new Date(ms).toISOString();
}

/** The visibility query for a filter. Throws DeliveryFilterError naming a bad field. */
export function deliveryQuery(filter: DeliveryFilter): string {
  const parts = [`WorkflowType = 'webhookDeliveryWorkflow'`, `${SA.kind.name} = ${quote(DELIVERY_KIND)}`];
  if (filter.vendorId !== undefined) {
    if (!VENDOR_ID_PATTERN.test(filter.vendorId)) throw new DeliveryFilterError(`vendor: "${filter.vendorId}" is not a vendor id`);
    parts.push(`${SA.vendor.name} = ${quote(filter.vendorId)}`);
  }
  if (filter.endpointId !== undefined) {
    if (!ENDPOINT_ID_PATTERN.test(filter.endpointId)) throw new DeliveryFilterError(`endpoint: "${filter.endpointId}" is not an endpoint id`);
    parts.push(`${SA.endpointId.name} = ${quote(filter.endpointId)}`);
  }
  if (filter.eventId !== undefined) {
    if (!EVENT_ID.test(filter.eventId)) throw new DeliveryFilterError(`event: "${filter.eventId}" is not an event id`);
    parts.push(`${SA.eventId.name} = ${quote(filter.eventId)}`);
  }
  if (filter.status !== undefined) {
    if (!DELIVERY_STATUSES.includes(filter.status)) throw new DeliveryFilterError(`status: must be one of ${DELIVERY_STATUSES.join(', ')}`);
    parts.push(`${SA.status.name} = ${quote(filter.status)}`);
  }
  if (filter.since !== undefined) parts.push(`StartTime >= ${quote(isoOrThrow('since', filter.since))}`);
  if (filter.until !== undefined) parts.push(`StartTime < ${quote(isoOrThrow('until', filter.until))}`);
  return parts.join(' AND ');
}

/** Deliveries matching the filter, newest first (the latest run of each delivery id). */
export async function listDeliveries(client: Client, filter: DeliveryFilter): Promise<DeliverySummary[]> {
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new DeliveryFilterError('limit: must be a whole number from 1 to 10000');
  const seen = new Set<string>();
  const out: DeliverySummary[] = [];
  for await (const wf of client.workflow.list({ query: deliveryQuery(filter) })) {
    // A replayed delivery has several runs under one id; the newest is listed first.
    if (seen.has(wf.workflowId)) continue;
    seen.add(wf.workflowId);
    const ids = parseDeliveryWorkflowId(wf.workflowId);
    if (!ids) continue;
    const summary: DeliverySummary = {
      workflowId: wf.workflowId,
      eventId: ids.eventId,
      endpointId: ids.endpointId,
      startedAt: wf.startTime.toISOString(),
      execution: wf.status.name,
    };
    const vendor = wf.typedSearchAttributes.get(SA.vendor);
    const status = wf.typedSearchAttributes.get(SA.status);
    if (vendor) summary.vendorId = vendor;
    if (status) summary.status = status as DeliveryStatus;
    if (wf.closeTime) summary.closedAt = wf.closeTime.toISOString();
    out.push(summary);
    if (out.length >= limit) break;
  }
  return out;
}

/** The attempt log and state of one delivery (its latest run). */
export async function getDelivery(client: Client, workflowId: string): Promise<DeliveryView> {
  return client.workflow.getHandle(workflowId).query(deliveryStateQuery);
}

export interface StartDeliveryOptions {
  taskQueue: string;
  policy?: Partial<DeliveryPolicy>;
  /** Called once with the number of matching deliveries, before the first replay (progress displays). */
  onMatched?(total: number): void;
  /** Called with each outcome as it happens. */
  onEach?(outcome: ReplayOutcome): void;
}

/** Search attributes of a delivery: opaque ids and its status only. */
export function deliverySearchAttributes(input: Pick<WebhookDeliveryInput, 'vendorId' | 'endpointId' | 'eventId'>) {
  return [
    { key: SA.kind, value: DELIVERY_KIND },
    { key: SA.vendor, value: input.vendorId },
    { key: SA.endpointId, value: input.endpointId },
    { key: SA.eventId, value: input.eventId },
    { key: SA.status, value: 'PENDING' },
  ];
}

export type ReplayOutcome = { workflowId: string; result: 'started' | 'in-progress' } | { workflowId: string; result: 'failed'; error: string };

/**
 * Replays deliveries: each matching delivery id gets a new run with the same body, so the receiver sees the same
 * `webhook-id` (it can de-duplicate) and the endpoint's current URL and secret. A delivery still running is left alone.
 */
export async function replayDeliveries(client: Client, filter: DeliveryFilter, options: StartDeliveryOptions): Promise<ReplayOutcome[]> {
  const matches = await listDeliveries(client, filter);
  options.onMatched?.(matches.length);
  const outcomes: ReplayOutcome[] = [];
  const record = (outcome: ReplayOutcome) => {
    outcomes.push(outcome);
    options.onEach?.(outcome);
  };
  for (const match of matches) {
    if (match.execution === 'RUNNING') {
      record({ workflowId: match.workflowId, result: 'in-progress' });
      continue;
    }
    try {
      const previous = await getDelivery(client, match.workflowId);
      const input: WebhookDeliveryInput = {
        eventId: previous.eventId,
        eventType: previous.eventType,
        vendorId: previous.vendorId,
        endpointId: previous.endpointId,
        body: previous.body,
        replayedAt: new Date().toISOString(),
      };
      const policy = options.policy ?? previous.policy;
      if (policy) input.policy = policy;
      await client.workflow.start('webhookDeliveryWorkflow', {
        workflowId: match.workflowId,
        taskQueue: options.taskQueue,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        typedSearchAttributes: deliverySearchAttributes(input),
      });
      record({ workflowId: match.workflowId, result: 'started' });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) record({ workflowId: match.workflowId, result: 'in-progress' });
      else record({ workflowId: match.workflowId, result: 'failed', error: (err as Error).message.slice(0, 300) });
    }
  }
  return outcomes;
}
