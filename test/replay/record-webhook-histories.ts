/**
 * Records the vendor registry and webhook delivery histories that test/replay/webhook-workflows.test.ts replays. Run
 * it again only when a new workflow shape ships (keeping the old files): `npx tsx test/replay/record-webhook-histories.ts`.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { record, saveBinaryHistory } from './history-files';
import {
  deleteEndpointUpdate,
  deliveryWorkflowId,
  disableEndpointUpdate,
  enableEndpointUpdate,
  endpointsQuery,
  registerEndpointUpdate,
  rotateSecretUpdate,
  updateEndpointUpdate,
  vendorWorkflowId,
  type AttemptInput,
  type AttemptResult,
} from '../../workflows/webhooks/contract';

/** The file name suffix for the current workflow shapes; earlier shapes' files stay, and every one is replayed. */
const taskQueue = 'record-webhooks';
const SHAPE = 'v2';
const VENDOR = 'acme-recorded';
const HEALTHY = 'ep_rec000001';
const GONE = 'ep_rec000002';
const SPARE = 'ep_rec000003';
/** v2: its first attempt made by the dispatcher (a 503), recorded by the delivery, then delivered by the activity. */
const DIRECT = 'ep_rec000004';
let published = 0;

/** Per endpoint, the attempt outcomes in order (the last one repeats). */
const scripts = new Map<string, Array<Partial<AttemptResult>>>([
  [
    HEALTHY,
    [
      { outcome: 'FAILED', status: 503, retryAfterMs: 30_000 },
      { outcome: 'DELIVERED', status: 200 },
    ],
  ],
  [DIRECT, [{ outcome: 'DELIVERED', status: 200 }]],
  [
    GONE,
    [
      { outcome: 'FAILED', status: 500 },
      { outcome: 'GONE', status: 410 },
    ],
  ],
]);

async function save(name: string, handle: WorkflowHandle): Promise<void> {
  saveBinaryHistory(`${name}-${SHAPE}.binpb`, await handle.fetchHistory());
}

record(
  {
    taskQueue,
    workflowsPath: require.resolve('../helpers/webhook-workflows'),
    activities: {
      publishEvent: async () => {
        published += 1;
      },
      attemptWebhookDelivery: async (input: AttemptInput): Promise<AttemptResult> => {
        const script = scripts.get(input.endpointId)!;
        const step = script.length > 1 ? script.shift()! : script[0]!;
        return { outcome: 'FAILED', latencyMs: 3, ...step };
      },
    },
  },
  async (env) => {
    const client = env.client;
    const vendor = await client.workflow.start('vendorWorkflow', { workflowId: vendorWorkflowId(VENDOR), taskQueue, args: [{ vendorId: VENDOR }] });
    await vendor.executeUpdate(registerEndpointUpdate, { args: [{ endpointId: HEALTHY, url: 'https://hooks.example.test/healthy' }] });
    await vendor.executeUpdate(registerEndpointUpdate, {
      args: [{ endpointId: GONE, url: 'https://hooks.example.test/gone', eventTypes: ['gov.preflight.submission.*'] }],
    });
    await vendor.executeUpdate(rotateSecretUpdate, { args: [{ endpointId: HEALTHY, overlapMs: 3_600_000 }] });
    await vendor.executeUpdate(updateEndpointUpdate, { args: [{ endpointId: HEALTHY, description: 'primary receiver' }] });
    await vendor.executeUpdate(registerEndpointUpdate, { args: [{ endpointId: SPARE, url: 'https://hooks.example.test/spare' }] });
    await vendor.executeUpdate(disableEndpointUpdate, { args: [{ endpointId: SPARE }] });
    await vendor.executeUpdate(enableEndpointUpdate, { args: [{ endpointId: SPARE }] });
    await vendor.executeUpdate(deleteEndpointUpdate, { args: [{ endpointId: SPARE }] });

    const deliveries = [HEALTHY, GONE].map((endpointId) => {
      const eventId = `submission/s-recorded/${endpointId === HEALTHY ? 1 : 2}`;
      return client.workflow.start('webhookDeliveryWorkflow', {
        workflowId: deliveryWorkflowId(eventId, endpointId),
        taskQueue,
        args: [{ eventId, eventType: 'gov.preflight.submission.status-changed.v1', vendorId: VENDOR, endpointId, body: '{}' }],
      });
    });
    const [healthy, gone] = await Promise.all(deliveries);
    await healthy!.result();
    await gone!.result();
    const directEvent = 'submission/s-recorded/3';
    const direct = await client.workflow.start('webhookDeliveryWorkflow', {
      workflowId: deliveryWorkflowId(directEvent, DIRECT),
      taskQueue,
      args: [
        {
          eventId: directEvent,
          eventType: 'gov.preflight.submission.status-changed.v1',
          vendorId: VENDOR,
          endpointId: DIRECT,
          body: '{}',
          firstAttempt: { result: { outcome: 'FAILED', status: 503, latencyMs: 4 }, at: new Date().toISOString() },
        },
      ],
    });
    await direct.result();
    // The registry hears of the 410 by signal and announces it; act on the endpoint once that is done.
    for (let i = 0; i < 100 && published === 0; i++) await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 100; i++) {
      const endpoints = await vendor.query(endpointsQuery);
      if (endpoints.find((e) => e.endpointId === GONE)?.status === 'DISABLED') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await save('webhook-delivery', healthy!);
    await save('webhook-delivery-gone', gone!);
    await save('webhook-delivery-first-attempt', direct);
    await save('vendor-registry', vendor);
    // The test server may already have ended the registry by the time it is saved.
    await vendor.terminate('recorded').catch(() => undefined);
  },
);
