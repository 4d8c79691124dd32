import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import Fastify, { type FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { createPublisherActivities } from '../../activities/publisher';
import { type StatusEvent } from '../../workflows/shared/outbox';
import type { Resolver } from '../../infra/ssrf-guard';
import { ensureVendorWorkflow } from '../../clients/endpoints';
import { listDeliveries, replayDeliveries } from '../../clients/deliveries';
import { createWebhookActivities } from '../../activities/webhooks';
import { createKafka } from '../../events/kafka';
import { TOPICS } from '../../events/topics';
import { readAuditTopic } from '../../events/audit-trail';
import { createKafkaEventPublisher, type KafkaEventPublisher } from '../../events/producer';
import { createLogger } from '../../infra/logger';
import { runDispatcher } from '../../workers/dispatcher';
import { webhookEndpointRoutes } from '../../workers/api/webhook-endpoints';
import {
  deliveryStateQuery,
  deliveryWorkflowId,
  registerEndpointUpdate,
  WEBHOOK_EVENT_TYPES,
  type DeliveryPolicy,
  type DeliveryView,
} from '../../workflows/webhooks/contract';
import { startGroupAtEnd } from '../helpers/agency-events';
import { preflightCli } from '../helpers/cli';
import { Receiver, type Reply } from '../helpers/webhook-receiver';
import { testClient, testConfig, testDataConverter, testKafka, testStack, unique } from '../helpers/stack-env';

jest.setTimeout(180_000);

const logger = createLogger({ level: 'error' });
const masterKey = crypto.randomBytes(32);
const allowlist = ['127.0.0.1/32'];
/** Host names resolve through this table only, so no test depends on (or reaches) real DNS. */
const hosts: Record<string, string> = { 'receiver.test': '127.0.0.1', 'canary4.test': '127.0.0.2', 'canary6.test': '::1' };
const resolver: Resolver = async (host) => {
  const address = hosts[host];
  if (!address) throw new Error(`unknown test host ${host}`);
  return [{ address, family: address.includes(':') ? 6 : 4 }];
};
const policy: Partial<DeliveryPolicy> = {
  delaysMs: [0, 300, 300, 300, 300, 300, 300, 300],
  jitterRatio: 0.1,
  requestTimeoutMs: 1000,
  maxResponseBytes: 1024,
  disableAfterMs: 10 * 60_000,
};

let client: Client;
let publisher: KafkaEventPublisher;
let app: FastifyInstance;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
let workerConnection: NativeConnection | undefined;
let dispatcher: { stop(): Promise<void> } | undefined;
const taskQueue = unique('webhooks');
const dispatcherGroup = unique('dispatcher');
const receivers: Receiver[] = [];
const vendorKeys = new Map<string, string>();

async function receiver(host: string, script?: Reply[]): Promise<Receiver> {
  const r = new Receiver(script);
  await r.listen(host);
  receivers.push(r);
  return r;
}

function newVendor(): { vendorId: string; key: string } {
  const vendorId = unique('vendor');
  const key = `pfk_${crypto.randomBytes(16).toString('hex')}`;
  vendorKeys.set(key, vendorId);
  return { vendorId, key };
}

let apiBase = '';
async function api(key: string | undefined, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${apiBase}${url}`, { method, headers, ...(payload === undefined ? {} : { body: JSON.stringify(payload) }) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined, headers: Object.fromEntries(res.headers) };
}

let sequence = 0;
/** Publishes a submission status event through the real Kafka publisher (binary-mode CloudEvent). */
async function publishStatus(vendorId: string, submissionId: string, status: string, previousStatus: string | null = null): Promise<StatusEvent> {
  sequence += 1;
  const at = new Date().toISOString();
  const event: StatusEvent = {
    id: `submission/${submissionId}/${sequence}`,
    type: 'gov.preflight.submission.status-changed.v1',
    source: '/preflight/submissions',
    subject: submissionId,
    sequence,
    time: at,
    data: { submissionId, vendorId, status, previousStatus, at },
  };
  await publisher.publish('submission', event);
  return event;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

async function deliveryState(eventId: string, endpointId: string): Promise<DeliveryView> {
  return client.workflow.getHandle(deliveryWorkflowId(eventId, endpointId)).query(deliveryStateQuery);
}

async function finished(eventId: string, endpointId: string, status?: DeliveryView['status'], timeoutMs = 60_000): Promise<DeliveryView> {
  return waitFor(
    `delivery of ${eventId} to ${endpointId}`,
    async () => {
      const view = await deliveryState(eventId, endpointId);
      if (view.status === 'PENDING') return undefined;
      if (status && view.status !== status) throw new Error(`delivery ended ${view.status}, expected ${status}`);
      return view;
    },
    timeoutMs,
  );
}

async function startWorker(): Promise<void> {
  workerConnection = await NativeConnection.connect({ address: testStack().temporalAddress });
  worker = await Worker.create({
    connection: workerConnection,
    taskQueue,
    workflowsPath: require.resolve('../helpers/webhook-workflows'),
    // The dispatcher encrypts workflow inputs with the deployment's codec, as every Preflight process does.
    dataConverter: testDataConverter(),
    activities: {
      ...createWebhookActivities({ logger, masterKey, temporalClient: client, webhookAllowlist: allowlist, webhookResolver: resolver }),
      ...createPublisherActivities({ publisher }),
    },
  });
  workerRun = worker.run();
}

async function stopInProcess(): Promise<void> {
  await dispatcher?.stop();
  dispatcher = undefined;
  if (worker && worker.getState() === 'RUNNING') worker.shutdown();
  await workerRun;
  await workerConnection?.close().catch(() => undefined);
  workerConnection = undefined;
  worker = undefined;
}

beforeAll(async () => {
  client = await testClient({ encrypted: true });
  const config = testConfig();
  publisher = createKafkaEventPublisher(createKafka(config.kafka, logger, testStack().kafkaBrokers, 'webhook-test'), logger);
  await publisher.connect();
  // The dispatcher reads only this file's events. Earlier files' events name vendors whose registry workflows ran on
  // task queues nobody polls any more: a query to them fails only after ~30 s, and their partition waits on it.
  await startGroupAtEnd(testKafka(logger), dispatcherGroup, TOPICS.submissionEvents);
  await startWorker();
  dispatcher = await runDispatcher(config, logger, {
    temporalAddress: testStack().temporalAddress,
    kafkaBrokers: testStack().kafkaBrokers,
    groupId: dispatcherGroup,
    taskQueue,
    deliveryPolicy: policy,
    masterKey,
    webhookAllowlist: allowlist,
    webhookResolver: resolver,
  });
  app = Fastify({ logger: false });
  await app.register(
    webhookEndpointRoutes({
      client,
      taskQueue,
      logger,
      masterKey,
      webhookAllowlist: allowlist,
      authenticator: (secret) => {
        const vendorId = vendorKeys.get(secret);
        return vendorId ? { kind: 'vendor', vendorId } : undefined;
      },
    }),
  );
  // The API listens on loopback only; the SSRF allowlist does not matter for inbound requests.
  apiBase = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await stopInProcess();
  await app?.close();
  await publisher?.disconnect();
  for (const r of receivers) await r.close();
  await client?.connection.close();
});

describe('webhook endpoints API', () => {
  it('creates, lists, filters, patches, disables, enables, rotates and deletes, refusing bad URLs', async () => {
    const { key } = newVendor();
    expect((await api(undefined, 'GET', '/v1/webhook-endpoints')).status).toBe(401);

    for (const url of [
      'http://10.0.0.1/x',
      'http://169.254.169.254/latest/meta-data/',
      'http://2130706433/',
      'http://[::ffff:127.0.0.1]/',
      'ftp://receiver.test/',
      'http://u:p@receiver.test/',
    ]) {
      const refused = await api(key, 'POST', '/v1/webhook-endpoints', { url });
      expect({ url, status: refused.status }).toEqual({ url, status: 422 });
      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      // The top level says what was refused and why, not only that the request is not valid.
      expect(refused.body).toMatchObject({ code: 'webhook-url-refused', detail: expect.stringMatching(/^The webhook URL was refused: .+ \([a-z0-9-]+\)\.$/) });
    }
    const privateAddress = await api(key, 'POST', '/v1/webhook-endpoints', { url: 'http://10.0.0.1/x' });
    expect(privateAddress.body!.detail).toBe('The webhook URL was refused: the address 10.0.0.1 is a private address, which webhooks may not reach (private).');
    const metadata = await api(key, 'POST', '/v1/webhook-endpoints', { url: 'http://169.254.169.254/latest/meta-data/' });
    expect(metadata.body!.detail).toContain('a cloud metadata address');
    expect((await api(key, 'POST', '/v1/webhook-endpoints', { url: 'https://receiver.test/', extra: 1 })).status).toBe(422);

    const all = await api(key, 'POST', '/v1/webhook-endpoints', { url: 'https://receiver.test/all', description: 'everything' });
    expect(all.status).toBe(201);
    expect(all.body).toMatchObject({ url: 'https://receiver.test/all', status: 'ENABLED', eventTypes: [], secretVersion: 1 });
    expect(all.body!.secret).toMatch(/^whsec_/);
    const findings = await api(key, 'POST', '/v1/webhook-endpoints', { url: 'https://receiver.test/f', eventTypes: ['gov.preflight.finding.*'] });
    const allId = all.body!.id as string;
    const findingsId = findings.body!.id as string;

    const listed = await api(key, 'GET', '/v1/webhook-endpoints');
    expect((listed.body!.items as Array<{ id: string }>).map((e) => e.id).sort()).toEqual([allId, findingsId].sort());
    const filtered = await api(key, 'GET', '/v1/webhook-endpoints?eventType=gov.preflight.submission.status-changed.v1');
    expect((filtered.body!.items as Array<{ id: string }>).map((e) => e.id)).toEqual([allId]);

    expect((await api(key, 'PATCH', `/v1/webhook-endpoints/${allId}`, { disabled: true })).body).toMatchObject({
      status: 'DISABLED',
      disabledReason: 'VENDOR',
    });
    expect((await api(key, 'PATCH', `/v1/webhook-endpoints/${allId}`, { disabled: false, url: 'https://receiver.test/v2' })).body).toMatchObject({
      status: 'ENABLED',
      url: 'https://receiver.test/v2',
    });
    expect((await api(key, 'PATCH', `/v1/webhook-endpoints/${allId}`, { url: 'http://192.168.0.1/' })).status).toBe(422);

    const rotated = await api(key, 'POST', `/v1/webhook-endpoints/${allId}/rotate-secret`, { overlapSeconds: 600 });
    expect(rotated.body).toMatchObject({ secretVersion: 2 });
    expect(rotated.body!.secret).not.toBe(all.body!.secret);
    expect(rotated.body!.previousSecretExpiresAt).toBeDefined();
    expect((await api(key, 'GET', `/v1/webhook-endpoints/${allId}/secret`)).body!.secret).toBe(rotated.body!.secret);

    // Another vendor sees nothing of these endpoints.
    const other = newVendor();
    expect((await api(other.key, 'GET', `/v1/webhook-endpoints/${allId}`)).status).toBe(404);
    expect((await api(other.key, 'DELETE', `/v1/webhook-endpoints/${allId}`)).status).toBe(404);

    expect((await api(key, 'DELETE', `/v1/webhook-endpoints/${allId}`)).status).toBe(204);
    expect((await api(key, 'GET', `/v1/webhook-endpoints/${allId}`)).status).toBe(404);

    // Secrets never enter the registry's history.
    const history = JSON.stringify(await client.workflow.getHandle(`vendor/${vendorKeys.get(key)}`).fetchHistory());
    expect(history).not.toContain(String(all.body!.secret).slice(6));
    expect(history).not.toContain(String(rotated.body!.secret).slice(6));
  });
});

describe('delivery', () => {
  it('survives 500, reset, a hang past the timeout, a redirect and a 429 with Retry-After, then delivers once it recovers', async () => {
    const canary = await receiver('127.0.0.2');
    const target = await receiver('127.0.0.1', [
      { status: 500, body: 'internal trouble' },
      'reset',
      'hang',
      { status: 302, headers: { location: `http://127.0.0.2:${canary.port}/stolen` } },
      { status: 429, headers: { 'retry-after': '1' }, body: 'slow down' },
      { status: 200, body: 'ok' },
    ]);
    const { vendorId, key } = newVendor();
    const created = await api(key, 'POST', '/v1/webhook-endpoints', { url: `http://receiver.test:${target.port}/hooks` });
    expect(created.status).toBe(201);
    const endpointId = created.body!.id as string;
    const secret = created.body!.secret as string;

    const event = await publishStatus(vendorId, unique('sub'), 'RECEIVED');
    const view = await finished(event.id, endpointId, 'DELIVERED');

    expect(view.attempts.map((a) => [a.outcome, a.status ?? a.error])).toEqual([
      ['FAILED', 500],
      ['FAILED', 'ECONNRESET'],
      ['FAILED', 'timeout'],
      ['FAILED', 302],
      ['FAILED', 429],
      ['DELIVERED', 200],
    ]);
    expect(view.attempts[0]!.excerpt).toBe('internal trouble');
    expect(view.attempts[3]!.error).toBe('redirect');
    expect(view.attempts[4]!.retryAfterMs).toBe(1000);
    expect(view.attempts[2]!.latencyMs).toBeGreaterThanOrEqual(1000);
    // Retry-After: 1 is honoured although the schedule says ~300 ms.
    expect(Date.parse(view.attempts[5]!.at) - Date.parse(view.attempts[4]!.at)).toBeGreaterThanOrEqual(1000);

    expect(target.requests).toHaveLength(6);
    expect(new Set(target.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([event.id]));
    for (const r of target.requests) {
      expect(new Webhook(secret).verify(r.body, r.headers as Record<string, string>)).toEqual({ type: event.type, timestamp: event.time, data: event.data });
      expect(r.headers.host).toBe(`receiver.test:${target.port}`);
    }
    // The redirect was not followed.
    expect(canary.connections).toBe(0);

    // The same Kafka message again (a redelivery) starts nothing new.
    const runId = (await client.workflow.getHandle(deliveryWorkflowId(event.id, endpointId)).describe()).runId;
    await publisher.publish('submission', { ...event, id: event.id });
    await new Promise((r) => setTimeout(r, 3000));
    expect((await client.workflow.getHandle(deliveryWorkflowId(event.id, endpointId)).describe()).runId).toBe(runId);
    expect(target.requests).toHaveLength(6);
  });

  it('signs every delivery of a lifecycle so standardwebhooks verifies it, across a secret rotation; a tampered body fails', async () => {
    const target = await receiver('127.0.0.1');
    const { vendorId, key } = newVendor();
    const created = await api(key, 'POST', '/v1/webhook-endpoints', {
      url: `http://receiver.test:${target.port}/`,
      eventTypes: ['gov.preflight.submission.*'],
    });
    const endpointId = created.body!.id as string;
    const secret1 = created.body!.secret as string;
    const submissionId = unique('sub');
    const statuses = ['RECEIVED', 'SCREENING', 'ACCESS_PROVISIONING', 'UNDER_ASSESSMENT', 'CONSOLIDATING', 'CLEARANCE_ISSUED', 'RELEASED', 'CLOSED'];

    const phase1: StatusEvent[] = [];
    for (const [i, s] of statuses.slice(0, 3).entries()) phase1.push(await publishStatus(vendorId, submissionId, s, statuses[i - 1] ?? null));
    for (const e of phase1) await finished(e.id, endpointId, 'DELIVERED');

    const rotated = await api(key, 'POST', `/v1/webhook-endpoints/${endpointId}/rotate-secret`, { overlapSeconds: 3600 });
    const secret2 = rotated.body!.secret as string;
    const phase2: StatusEvent[] = [];
    for (const s of statuses.slice(3, 6)) phase2.push(await publishStatus(vendorId, submissionId, s));
    for (const e of phase2) await finished(e.id, endpointId, 'DELIVERED');

    const ended = await api(key, 'POST', `/v1/webhook-endpoints/${endpointId}/rotate-secret`, { overlapSeconds: 0 });
    const secret3 = ended.body!.secret as string;
    const phase3: StatusEvent[] = [];
    for (const s of statuses.slice(6)) phase3.push(await publishStatus(vendorId, submissionId, s));
    for (const e of phase3) await finished(e.id, endpointId, 'DELIVERED');

    const byId = new Map(target.requests.map((r) => [r.headers['webhook-id'] as string, r]));
    expect(byId.size).toBe(8);
    const verifies = (secret: string, body: string, headers: Record<string, string>) => {
      try {
        new Webhook(secret).verify(body, headers);
        return true;
      } catch {
        return false;
      }
    };
    const table = [...phase1, ...phase2, ...phase3].map((e) => {
      const r = byId.get(e.id)!;
      const h = r.headers as Record<string, string>;
      const payload = JSON.parse(r.body) as { type: string; data: { status: string } };
      expect(Object.keys(payload).sort()).toEqual(['data', 'timestamp', 'type']);
      return [
        payload.data.status,
        verifies(secret1, r.body, h),
        verifies(secret2, r.body, h),
        verifies(secret3, r.body, h),
        verifies(secret3, r.body.replace('"status"', '"Status"'), h),
      ];
    });
    expect(table).toEqual([
      ['RECEIVED', true, false, false, false],
      ['SCREENING', true, false, false, false],
      ['ACCESS_PROVISIONING', true, false, false, false],
      ['UNDER_ASSESSMENT', true, true, false, false],
      ['CONSOLIDATING', true, true, false, false],
      ['CLEARANCE_ISSUED', true, true, false, false],
      ['RELEASED', false, false, true, false],
      ['CLOSED', false, false, true, false],
    ]);
  });

  it('the SSRF guard: canaries on non-allowlisted loopback addresses see no connection while the allowlisted receiver gets every delivery', async () => {
    const good = await receiver('127.0.0.1');
    const canary4 = await receiver('127.0.0.2');
    const canary6 = await receiver('::1');
    const { vendorId, key } = newVendor();
    const goodId = (await api(key, 'POST', '/v1/webhook-endpoints', { url: `http://receiver.test:${good.port}/` })).body!.id as string;
    const c4 = (await api(key, 'POST', '/v1/webhook-endpoints', { url: `http://canary4.test:${canary4.port}/` })).body!.id as string;
    const c6 = (await api(key, 'POST', '/v1/webhook-endpoints', { url: `http://canary6.test:${canary6.port}/` })).body!.id as string;
    // Spellings the API refuses are put straight into the registry, to prove the delivery-time guard holds on its own.
    const registry = await ensureVendorWorkflow(client, vendorId, taskQueue);
    const sneaky = [
      ['ep_mapped0001', `http://[::ffff:127.0.0.1]:${good.port}/`],
      ['ep_decimal0001', `http://2130706433:${good.port}/`],
      ['ep_literal0001', `http://127.0.0.2:${canary4.port}/`],
      ['ep_v6literal01', `http://[::1]:${canary6.port}/`],
    ] as const;
    for (const [endpointId, url] of sneaky) await registry.executeUpdate(registerEndpointUpdate, { args: [{ endpointId, url }] });

    const events: StatusEvent[] = [];
    for (const s of ['RECEIVED', 'SCREENING', 'RETURNED']) events.push(await publishStatus(vendorId, unique('sub'), s));
    for (const e of events) {
      await finished(e.id, goodId, 'DELIVERED');
      for (const refusedId of [c4, c6, ...sneaky.map(([id]) => id)]) {
        const view = await finished(e.id, refusedId);
        expect(view.attempts.length).toBeGreaterThan(0);
        expect(view.attempts.every((a) => a.outcome === 'REFUSED')).toBe(true);
      }
    }
    const reasons = Object.fromEntries(
      await Promise.all([c4, c6, ...sneaky.map(([id]) => id)].map(async (id) => [id, (await deliveryState(events[0]!.id, id)).attempts[0]!.error])),
    );
    expect(reasons).toEqual({
      [c4]: 'ssrf:loopback',
      [c6]: 'ssrf:loopback',
      ep_mapped0001: 'ssrf:ipv4-mapped',
      ep_decimal0001: 'ssrf:non-canonical-ipv4',
      ep_literal0001: 'ssrf:loopback',
      ep_v6literal01: 'ssrf:loopback',
    });
    expect(canary4.connections).toBe(0);
    expect(canary6.connections).toBe(0);
    // Exactly one request per event: nothing arrived through the mapped or decimal spellings of the same address.
    expect(good.requests.map((r) => r.headers['webhook-id']).sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('the deliveries CLI lists, shows and replays deliveries, and refuses bad arguments in one line', async () => {
    const target = await receiver('127.0.0.1');
    const { vendorId, key } = newVendor();
    const endpointId = (await api(key, 'POST', '/v1/webhook-endpoints', { url: `http://receiver.test:${target.port}/` })).body!.id as string;
    const submissionId = unique('sub');
    const events = [await publishStatus(vendorId, submissionId, 'RECEIVED'), await publishStatus(vendorId, submissionId, 'SCREENING')];
    for (const e of events) await finished(e.id, endpointId, 'DELIVERED');

    const auditTopic = unique('preflight.audit.deliveries-it');
    const cli = (...args: string[]) =>
      preflightCli(['deliveries', ...args], {
        PREFLIGHT_TASK_QUEUE: taskQueue,
        PREFLIGHT_AUDIT_TOPIC: auditTopic,
        KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
      });

    // Visibility catches up with the two deliveries.
    const listed = await waitFor('both deliveries in the CLI list', async () => {
      const out = await cli('list', '--vendor', vendorId, '--json');
      const items = JSON.parse(out.stdout) as Array<{ eventId: string; endpointId: string; status?: string }>;
      return items.length === 2 && items.every((d) => d.status === 'DELIVERED') ? items : undefined;
    });
    expect(listed.map((d) => d.eventId).sort()).toEqual(events.map((e) => e.id).sort());
    const table = await cli('list', '--vendor', vendorId, '--status', 'DELIVERED');
    expect(table.stdout.split('\n')[0]).toMatch(/^EVENT\s+ENDPOINT\s+VENDOR\s+STATUS\s+STARTED$/);
    expect(table.stdout).toContain(events[0]!.id);

    const shown = await cli('show', events[0]!.id, endpointId);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^Status +DELIVERED`, 'm'));
    expect(shown.stdout).toMatch(/^ {2}#1 \S+ DELIVERED +200 /m);

    const replayed = await cli('replay', '--event', events[0]!.id, '--json');
    expect(replayed.code).toBe(0);
    expect((JSON.parse(replayed.stdout) as Array<{ result: string }>).map((o) => o.result)).toEqual(['started']);
    await waitFor('the replayed delivery', async () => (target.requests.length === 3 ? true : undefined));
    // The replay is the same event again, with the same webhook-id.
    expect(target.requests.map((r) => r.headers['webhook-id'] as string).sort()).toEqual([events[0]!.id, events[0]!.id, events[1]!.id].sort());
    // The replay is in the audit trail, with its filter and counts.
    const { entries } = await readAuditTopic(testKafka(), auditTopic);
    expect(entries.map((e) => e.value)).toContainEqual(
      expect.objectContaining({
        actor: { kind: 'ops', id: expect.stringMatching(/^os:/) as string },
        action: 'CLI deliveries replay',
        outcome: 'ok',
        details: { eventId: events[0]!.id, matched: 1, started: 1, failed: 0 },
      }),
    );

    const missing = await cli('show', 'submission/nope/1', endpointId);
    expect({ code: missing.code, stderr: missing.stderr.trim() }).toEqual({ code: 1, stderr: `preflight: no delivery of submission/nope/1 to ${endpointId}` });
    const badStatus = await cli('list', '--status', 'BOGUS');
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr.trim().split('\n')).toHaveLength(1);
    const unbounded = await cli('replay');
    expect(unbounded.code).toBe(2);
    expect(unbounded.stderr).toContain('replay needs --event, --endpoint or a time range');
  });

  it('a 410 disables the endpoint, and the vendor hears of it on another endpoint', async () => {
    const gone = await receiver('127.0.0.1', [{ status: 410, body: 'gone' }]);
    const watcher = await receiver('127.0.0.1');
    const { vendorId, key } = newVendor();
    const goneId = (await api(key, 'POST', '/v1/webhook-endpoints', { url: `http://receiver.test:${gone.port}/` })).body!.id as string;
    await api(key, 'POST', '/v1/webhook-endpoints', { url: `http://receiver.test:${watcher.port}/`, eventTypes: [WEBHOOK_EVENT_TYPES.endpointDisabled] });

    const event = await publishStatus(vendorId, unique('sub'), 'RECEIVED');
    const view = await finished(event.id, goneId, 'ENDPOINT_DISABLED');
    expect(view.attempts.map((a) => a.status)).toEqual([410]);
    expect(gone.requests).toHaveLength(1);
    await waitFor('endpoint disabled', async () => {
      const res = await api(key, 'GET', `/v1/webhook-endpoints/${goneId}`);
      return res.body!.status === 'DISABLED' ? res : undefined;
    });
    expect((await api(key, 'GET', `/v1/webhook-endpoints/${goneId}`)).body).toMatchObject({ status: 'DISABLED', disabledReason: 'GONE' });

    const notice = await waitFor('the endpoint-disabled webhook', async () => watcher.requests[0]);
    const payload = JSON.parse(notice.body) as { type: string; data: Record<string, unknown> };
    expect(payload).toMatchObject({ type: WEBHOOK_EVENT_TYPES.endpointDisabled, data: { vendorId, endpointId: goneId, reason: 'GONE', eventId: event.id } });
    expect(notice.headers['webhook-id']).toBe(`vendor/${vendorId}/1`);

    // Replay by endpoint (from the CLI/API functions) after the vendor fixes and re-enables it.
    gone.script = [{ status: 204 }];
    await api(key, 'PATCH', `/v1/webhook-endpoints/${goneId}`, { disabled: false });
    const listed = await waitFor('the delivery in visibility', async () => {
      const items = await listDeliveries(client, { vendorId, endpointId: goneId });
      return items.length > 0 && items[0]!.status === 'ENDPOINT_DISABLED' ? items : undefined;
    });
    expect(listed.map((d) => d.eventId)).toEqual([event.id]);
    const outcomes = await replayDeliveries(client, { vendorId, endpointId: goneId }, { taskQueue });
    expect(outcomes).toEqual([{ workflowId: deliveryWorkflowId(event.id, goneId), result: 'started' }]);
    const replayed = await finished(event.id, goneId, 'DELIVERED');
    expect(replayed.replayedAt).toBeDefined();
    expect(gone.requests.map((r) => r.headers['webhook-id'])).toEqual([event.id, event.id]);
  });
});

describe('a registry that cannot answer', () => {
  it('holds its event while the dispatcher keeps its group membership, and delivers it once a worker answers again', async () => {
    const target = await receiver('127.0.0.1');
    const { vendorId } = newVendor();
    // The vendor's registry runs on a task queue of its own, whose only worker stops after the registration.
    const orphanQueue = unique('orphan-registry');
    const orphanWorker = async () => {
      const connection = await NativeConnection.connect({ address: testStack().temporalAddress });
      const w = await Worker.create({
        connection,
        taskQueue: orphanQueue,
        workflowsPath: require.resolve('../helpers/webhook-workflows'),
        dataConverter: testDataConverter(),
        activities: createPublisherActivities({ publisher }),
      });
      const running = w.run();
      return async () => {
        w.shutdown();
        await running;
        await connection.close();
      };
    };
    let stopOrphan = await orphanWorker();
    const registry = await ensureVendorWorkflow(client, vendorId, orphanQueue);
    const endpointId = 'ep_orphanreg01';
    await registry.executeUpdate(registerEndpointUpdate, { args: [{ endpointId, url: `http://receiver.test:${target.port}/` }] });
    await stopOrphan();

    const admin = testKafka(logger).admin();
    await admin.connect();
    try {
      const members = async () => {
        const [group] = (await admin.describeGroups([dispatcherGroup])).groups;
        return { state: group!.state, ids: group!.members.map((m) => m.memberId).sort() };
      };
      const before = await members();
      expect(before.state).toBe('Stable');

      const event = await publishStatus(vendorId, unique('sub'), 'RECEIVED');
      // A query to the registry now waits ~30 s for a poller that never comes, three times the session timeout.
      const seen = new Set<string>();
      for (let i = 0; i < 36; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const now = await members();
        seen.add(`${now.state} ${now.ids.join(',')}`);
      }
      expect([...seen]).toEqual([`Stable ${before.ids.join(',')}`]);
      await expect(deliveryState(event.id, endpointId)).rejects.toThrow(/not found/i);

      stopOrphan = await orphanWorker();
      try {
        const view = await finished(event.id, endpointId, 'DELIVERED', 90_000);
        expect(view.attempts.at(-1)!.outcome).toBe('DELIVERED');
        expect(target.requests.map((r) => r.headers['webhook-id'])).toEqual([event.id]);
      } finally {
        await stopOrphan();
      }
    } finally {
      await admin.disconnect();
    }
  });
});

describe('crashes', () => {
  const children: ChildProcess[] = [];
  const groupId = unique('dispatcher-crash');

  function spawnChild(mode: 'worker' | 'dispatcher'): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, '..', 'helpers', 'webhook-process.ts'), mode], {
      cwd: path.join(__dirname, '..', '..'),
      env: {
        ...process.env,
        PF_WH_TEMPORAL: testStack().temporalAddress,
        PF_WH_KAFKA: testStack().kafkaBrokers.join(','),
        PF_WH_TASK_QUEUE: taskQueue,
        PF_WH_GROUP: groupId,
        PF_WH_MASTER_KEY: masterKey.toString('base64'),
        PF_WH_ALLOWLIST: allowlist.join(','),
        PF_WH_POLICY: JSON.stringify(policy),
        PREFLIGHT_MASTER_KEY: process.env.PREFLIGHT_TEST_MASTER_KEY,
        PREFLIGHT_DATA_DIR: process.env.PREFLIGHT_TEST_DATA_DIR,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${mode} did not start: ${stderr}`)), 90_000);
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve(child);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${mode} exited with ${code}: ${stderr}`));
      });
    });
  }

  function kill(child: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  afterAll(async () => {
    for (const c of children) await kill(c);
  });

  it('killing the dispatcher and the worker mid-delivery loses no delivery', async () => {
    const target = await receiver('127.0.0.1', ['hang', 'hang', { status: 503 }, { status: 200 }]);
    const { vendorId, key } = newVendor();
    // The children resolve names with the system resolver: the literal allowlisted address it is.
    const endpointId = (await api(key, 'POST', '/v1/webhook-endpoints', { url: `http://127.0.0.1:${target.port}/` })).body!.id as string;
    // The in-process worker and dispatcher step aside: from here on only the child processes work this task queue.
    await stopInProcess();
    await startGroupAtEnd(testKafka(logger), groupId, TOPICS.submissionEvents);

    const [worker1, dispatcher1] = await Promise.all([spawnChild('worker'), spawnChild('dispatcher')]);
    const submissionId = unique('sub');
    const before: StatusEvent[] = [];
    for (const s of ['RECEIVED', 'SCREENING', 'ACCESS_PROVISIONING']) before.push(await publishStatus(vendorId, submissionId, s));
    await waitFor('a delivery in flight', async () => (target.requests.length > 0 ? true : undefined), 150_000);
    await Promise.all([kill(worker1), kill(dispatcher1)]);

    // Events published while nothing runs.
    const during: StatusEvent[] = [];
    for (const s of ['UNDER_ASSESSMENT', 'CONSOLIDATING']) during.push(await publishStatus(vendorId, submissionId, s));

    await Promise.all([spawnChild('worker'), spawnChild('dispatcher')]);
    const all = [...before, ...during];
    for (const e of all) await finished(e.id, endpointId, 'DELIVERED', 150_000);
    const delivered = new Set(
      target.requests.filter((r) => r.reply !== 'hang' && typeof r.reply === 'object' && r.reply.status === 200).map((r) => r.headers['webhook-id']),
    );
    expect([...delivered].sort()).toEqual(all.map((e) => e.id).sort());
    // One delivery workflow (one run) per event and endpoint.
    const listed = await waitFor('deliveries in visibility', async () => {
      const items = await listDeliveries(client, { vendorId, endpointId });
      return items.length === all.length ? items : undefined;
    });
    expect(listed.map((d) => d.eventId).sort()).toEqual(all.map((e) => e.id).sort());
  }, 480_000);
});
