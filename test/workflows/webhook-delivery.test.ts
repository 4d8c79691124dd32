import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv, type TimeSkippingEnv } from '../helpers/time-skipping';
import { HOUR_MS } from '../../workflows/shared/time';
import {
  DEFAULT_DELIVERY_POLICY,
  deliveryWorkflowId,
  endpointsQuery,
  registerEndpointUpdate,
  rotateSecretUpdate,
  deleteEndpointUpdate,
  disableEndpointUpdate,
  enableEndpointUpdate,
  endpointHealthSignal,
  vendorWorkflowId,
  type AttemptInput,
  type AttemptResult,
  type DeliveryView,
  type WebhookEndpoint,
} from '../../workflows/webhooks/contract';

jest.setTimeout(180_000);

interface Published {
  stream: string;
  event: { id: string; type: string; subject: string; sequence: number; data: Record<string, unknown> };
}

let ts: TimeSkippingEnv;
let worker: Worker;
let running: Promise<void>;
const taskQueue = 'webhooks-ts';
const published: Published[] = [];
/** Per endpoint: a script of attempt outcomes, consumed in order (the last one repeats). */
const scripts = new Map<string, Array<Partial<AttemptResult>>>();
const attemptsSeen: AttemptInput[] = [];

async function endpointOf(client: Client, vendorId: string, endpointId: string): Promise<WebhookEndpoint | undefined> {
  const list = await client.workflow.getHandle(vendorWorkflowId(vendorId)).query(endpointsQuery);
  return list.find((e) => e.endpointId === endpointId);
}

beforeAll(async () => {
  ts = await createTimeSkippingEnv();
  worker = await Worker.create({
    connection: ts.env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../helpers/webhook-workflows'),
    activities: {
      async publishEvent(stream: string, event: Published['event']) {
        published.push({ stream, event });
      },
      // Stands in for the HTTP attempt; pure and instant, so nothing but workflow timers moves the test clock.
      async attemptWebhookDelivery(input: AttemptInput): Promise<AttemptResult> {
        attemptsSeen.push(input);
        const script = scripts.get(input.endpointId) ?? [{ outcome: 'DELIVERED', status: 200 }];
        const step = script.length > 1 ? script.shift()! : script[0]!;
        return { outcome: 'FAILED', latencyMs: 3, ...step };
      },
    },
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await ts?.teardown();
});

let counter = 0;
async function setup(vendorId: string, script: Array<Partial<AttemptResult>>) {
  const client = ts.env.client;
  const endpointId = `ep_test${String(++counter).padStart(6, '0')}`;
  const vendor = await client.workflow.start('vendorWorkflow', {
    workflowId: vendorWorkflowId(vendorId),
    taskQueue,
    args: [{ vendorId }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  await vendor.executeUpdate(registerEndpointUpdate, { args: [{ endpointId, url: 'https://hooks.example.test/in' }] });
  scripts.set(endpointId, script);
  return { client, vendor, endpointId };
}

function gaps(view: DeliveryView): number[] {
  const times = view.attempts.map((a) => Date.parse(a.at));
  return times.slice(1).map((t, i) => t - times[i]!);
}

describe('webhookDeliveryWorkflow (time skipping)', () => {
  it('follows the Svix-like schedule with jitter, one event id on every attempt, then gives up', async () => {
    const { client, endpointId } = await setup('v-schedule', [{ outcome: 'FAILED', status: 500, excerpt: 'oops' }]);
    const eventId = 'submission/s-1/1';
    const view: DeliveryView = await client.workflow.execute('webhookDeliveryWorkflow', {
      workflowId: deliveryWorkflowId(eventId, endpointId),
      taskQueue,
      args: [{ eventId, eventType: 'gov.preflight.submission.status-changed.v1', vendorId: 'v-schedule', endpointId, body: '{}' }],
    });
    expect(view.status).toBe('FAILED');
    expect(view.attempts).toHaveLength(8);
    expect(view.attempts.map((a) => a.status)).toEqual(new Array(8).fill(500));
    expect(view.attempts[0]!.excerpt).toBe('oops');
    const expected = DEFAULT_DELIVERY_POLICY.delaysMs.slice(1);
    gaps(view).forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(expected[i]! * 0.8 - 1000);
      expect(gap).toBeLessThanOrEqual(expected[i]! * 1.2 + 5000);
    });
    // Jitter: the two 10 h gaps are not both exactly 10 h.
    expect(
      gaps(view)
        .slice(-2)
        .some((g) => Math.abs(g - 10 * HOUR_MS) > 1000),
    ).toBe(true);
    const mine = attemptsSeen.filter((a) => a.endpointId === endpointId);
    expect(new Set(mine.map((a) => a.eventId))).toEqual(new Set([eventId]));
    expect(mine.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // The registry saw the failing clock start; 27 h of failure is below the 5-day span, so it stays enabled.
    const endpoint = await endpointOf(client, 'v-schedule', endpointId);
    expect(endpoint).toMatchObject({ status: 'ENABLED' });
    expect(endpoint!.failingSince).toBe(view.attempts[0]!.at);
  });

  it('a 410 disables the endpoint and announces it once', async () => {
    const { client, endpointId } = await setup('v-gone', [
      { outcome: 'FAILED', status: 503 },
      { outcome: 'GONE', status: 410 },
    ]);
    const eventId = 'submission/s-2/1';
    const view: DeliveryView = await client.workflow.execute('webhookDeliveryWorkflow', {
      workflowId: deliveryWorkflowId(eventId, endpointId),
      taskQueue,
      args: [{ eventId, eventType: 'gov.preflight.submission.status-changed.v1', vendorId: 'v-gone', endpointId, body: '{}' }],
    });
    expect(view.status).toBe('ENDPOINT_DISABLED');
    expect(view.attempts.map((a) => a.status)).toEqual([503, 410]);
    await waitFor(async () => (await endpointOf(client, 'v-gone', endpointId))?.status === 'DISABLED');
    expect(await endpointOf(client, 'v-gone', endpointId)).toMatchObject({ status: 'DISABLED', disabledReason: 'GONE' });
    await waitFor(async () => published.some((p) => p.event.data.endpointId === endpointId));
    const announced = published.filter((p) => p.event.data.endpointId === endpointId);
    expect(announced).toHaveLength(1);
    expect(announced[0]).toMatchObject({
      stream: 'submission',
      event: {
        id: 'vendor/v-gone/1',
        type: 'gov.preflight.webhook-endpoint.disabled.v1',
        subject: 'vendor/v-gone',
        sequence: 1,
        data: { reason: 'GONE', eventId },
      },
    });
  });

  it('429 with Retry-After waits at least that long, then delivers', async () => {
    const { client, endpointId } = await setup('v-429', [
      { outcome: 'FAILED', status: 429, retryAfterMs: 3 * HOUR_MS },
      { outcome: 'DELIVERED', status: 200, endpointFailingSince: 'set' },
    ]);
    const eventId = 'submission/s-3/1';
    const view: DeliveryView = await client.workflow.execute('webhookDeliveryWorkflow', {
      workflowId: deliveryWorkflowId(eventId, endpointId),
      taskQueue,
      args: [{ eventId, eventType: 'gov.preflight.submission.status-changed.v1', vendorId: 'v-429', endpointId, body: '{}' }],
    });
    expect(view.status).toBe('DELIVERED');
    expect(view.attempts.map((a) => a.status)).toEqual([429, 200]);
    expect(gaps(view)[0]).toBeGreaterThanOrEqual(3 * HOUR_MS);
    expect(gaps(view)[0]).toBeLessThan(3 * HOUR_MS + 60_000);
    // The success clears the failing clock the 429 started.
    await waitFor(async () => (await endpointOf(client, 'v-429', endpointId))?.failingSince === undefined);
  });

  it('an endpoint failing past the span is disabled and announced; a shrunk schedule drives it', async () => {
    const { client, endpointId } = await setup('v-span', [{ outcome: 'FAILED', error: 'ECONNRESET' }]);
    const eventId = 'submission/s-4/1';
    const view: DeliveryView = await client.workflow.execute('webhookDeliveryWorkflow', {
      workflowId: deliveryWorkflowId(eventId, endpointId),
      taskQueue,
      args: [
        {
          eventId,
          eventType: 'gov.preflight.submission.status-changed.v1',
          vendorId: 'v-span',
          endpointId,
          body: '{}',
          policy: { delaysMs: [0, HOUR_MS, HOUR_MS, HOUR_MS, HOUR_MS, HOUR_MS], jitterRatio: 0, disableAfterMs: 2.5 * HOUR_MS },
        },
      ],
    });
    expect(view.status).toBe('ENDPOINT_DISABLED');
    expect(view.attempts).toHaveLength(4);
    expect(view.attempts.every((a) => a.error === 'ECONNRESET')).toBe(true);
    await waitFor(async () => (await endpointOf(client, 'v-span', endpointId))?.status === 'DISABLED');
    expect(await endpointOf(client, 'v-span', endpointId)).toMatchObject({ disabledReason: 'FAILING' });
    await waitFor(async () => published.some((p) => p.event.data.endpointId === endpointId));
    expect(published.filter((p) => p.event.data.endpointId === endpointId).map((p) => p.event.data.reason)).toEqual(['FAILING']);
  });

  it('the span counts from the endpoint’s earlier failures, not only this delivery’s', async () => {
    const { client, endpointId } = await setup('v-span2', []);
    // The endpoint has been failing for 2 h (other deliveries); the attempt reads that from the registry.
    const failingSince = new Date((await ts.env.currentTimeMs()) - 2 * HOUR_MS).toISOString();
    scripts.set(endpointId, [{ outcome: 'FAILED', status: 502, endpointFailingSince: failingSince }]);
    const policy = { delaysMs: [0, HOUR_MS, HOUR_MS], jitterRatio: 0, disableAfterMs: 2.5 * HOUR_MS };
    const view: DeliveryView = await client.workflow.execute('webhookDeliveryWorkflow', {
      workflowId: deliveryWorkflowId('submission/s-5/1', endpointId),
      taskQueue,
      args: [{ eventId: 'submission/s-5/1', eventType: 'a.b.v1', vendorId: 'v-span2', endpointId, body: '{}', policy }],
    });
    expect(view.status).toBe('ENDPOINT_DISABLED');
    expect(view.attempts).toHaveLength(2);
    const last = Date.parse(view.attempts.at(-1)!.at);
    expect(last - Date.parse(failingSince)).toBeGreaterThanOrEqual(policy.disableAfterMs);
    // This delivery alone failed for 1 h, less than the span.
    expect(last - Date.parse(view.attempts[0]!.at)).toBeLessThan(policy.disableAfterMs);
    await waitFor(async () => (await endpointOf(client, 'v-span2', endpointId))?.status === 'DISABLED');
  });
});

describe('vendorWorkflow (time skipping)', () => {
  it('registers, validates, rotates with an overlap, disables, enables and deletes', async () => {
    const { vendor, endpointId } = await setup('v-registry', []);
    await expect(vendor.executeUpdate(registerEndpointUpdate, { args: [{ endpointId, url: 'https://x.test/' }] })).rejects.toBeInstanceOf(
      WorkflowUpdateFailedError,
    );
    await expect(vendor.executeUpdate(registerEndpointUpdate, { args: [{ endpointId: 'ep_other0001', url: 'ftp://x.test/' }] })).rejects.toMatchObject(
      updateRefusal(/http/),
    );
    await expect(vendor.executeUpdate(registerEndpointUpdate, { args: [{ endpointId: 'bad', url: 'https://x.test/' }] })).rejects.toMatchObject(
      updateRefusal(/endpointId/),
    );
    await expect(
      vendor.executeUpdate(registerEndpointUpdate, { args: [{ endpointId: 'ep_other0001', url: 'https://x.test/', eventTypes: ['Not A Type'] }] }),
    ).rejects.toMatchObject(updateRefusal(/eventTypes/));
    const filtered = await vendor.executeUpdate(registerEndpointUpdate, {
      args: [{ endpointId: 'ep_other0001', url: 'https://x.test/', eventTypes: ['gov.preflight.finding.*', 'gov.preflight.clearance.issued.v1'] }],
    });
    expect(filtered.eventTypes).toEqual(['gov.preflight.clearance.issued.v1', 'gov.preflight.finding.*']);

    const before = Date.now();
    const rotated = await vendor.executeUpdate(rotateSecretUpdate, { args: [{ endpointId, overlapMs: HOUR_MS }] });
    expect(rotated).toMatchObject({ secretVersion: 2, previousSecretVersion: 1 });
    expect(Date.parse(rotated.previousSecretExpiresAt!)).toBeGreaterThan(before);
    await expect(vendor.executeUpdate(rotateSecretUpdate, { args: [{ endpointId, overlapMs: -1 }] })).rejects.toMatchObject(updateRefusal(/overlapMs/));
    // History holds versions only: nothing secret-looking anywhere in the registry's events.
    const history = JSON.stringify(await vendor.fetchHistory());
    expect(history).not.toMatch(/whsec_/);

    // Deliveries start and clear the failing clock; enabling clears it too.
    await vendor.signal(endpointHealthSignal, { endpointId, ok: false, at: '2026-11-27T00:00:00.000Z' });
    await vendor.signal(endpointHealthSignal, { endpointId, ok: false, at: '2026-11-27T01:00:00.000Z' });
    expect((await endpointOf(ts.env.client, 'v-registry', endpointId))?.failingSince).toBe('2026-11-27T00:00:00.000Z');
    await vendor.signal(endpointHealthSignal, { endpointId, ok: true, at: '2026-11-27T02:00:00.000Z' });
    expect((await endpointOf(ts.env.client, 'v-registry', endpointId))?.failingSince).toBeUndefined();
    await vendor.signal(endpointHealthSignal, { endpointId, ok: false, at: '2026-11-27T03:00:00.000Z' });

    expect((await vendor.executeUpdate(disableEndpointUpdate, { args: [{ endpointId }] })).status).toBe('DISABLED');
    const enabled = await vendor.executeUpdate(enableEndpointUpdate, { args: [{ endpointId }] });
    expect(enabled.status).toBe('ENABLED');
    expect(enabled.failingSince).toBeUndefined();
    await vendor.executeUpdate(deleteEndpointUpdate, { args: [{ endpointId }] });
    await expect(vendor.executeUpdate(disableEndpointUpdate, { args: [{ endpointId }] })).rejects.toMatchObject(updateRefusal(/unknown webhook endpoint/));
    expect((await vendor.query(endpointsQuery)).map((e) => e.endpointId)).toEqual(['ep_other0001']);
  });

  it('continues as new when history grows, keeping the endpoints', async () => {
    const client = ts.env.client;
    const handle = await client.workflow.start('vendorWorkflow', {
      workflowId: vendorWorkflowId('v-can'),
      taskQueue,
      args: [{ vendorId: 'v-can', historyLimit: 30 }],
    });
    for (let i = 0; i < 12; i++) {
      await handle.executeUpdate(registerEndpointUpdate, { args: [{ endpointId: `ep_can${String(i).padStart(6, '0')}`, url: `https://x.test/${i}` }] });
    }
    await waitFor(async () => (await handle.describe()).runId !== handle.firstExecutionRunId);
    const latest = client.workflow.getHandle(vendorWorkflowId('v-can'));
    expect((await latest.query(endpointsQuery)).map((e) => e.url)).toEqual(Array.from({ length: 12 }, (_, i) => `https://x.test/${i}`));
  });
});

function updateRefusal(message: RegExp) {
  return { name: 'WorkflowUpdateFailedError', cause: expect.objectContaining({ message: expect.stringMatching(message) }) };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('condition not met in time');
}
