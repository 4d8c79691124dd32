/**
 * The agency inbox on the real broker, seen as an agency sees it: a vendor submits through the vendor API with its
 * vendor key; the agency, with nothing but its SCRAM login (written by the stack setup to .data/dev) and its signing
 * key, learns of the invitation from its inbox, sends a signed command and reads the reply on the same topic. No
 * agency can read another agency's inbox.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { Kafka as CeKafka, type CloudEvent, type KafkaMessage as CeKafkaMessage } from 'cloudevents';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { buildAgencyRegistry, DEFAULT_AGENCY_REGISTRY } from '../../events/agency-registry';
import { agencyKafka, readAgencyKafkaLogin, type AgencyKafkaLogin } from '../../events/agency-login';
import { REPLY_TYPES } from '../../events/catalog';
import { decodeEvent, tailTopic } from '../../events/consumer';
import { headersToStrings } from '../../events/envelope';
import { agencyInboxTopic } from '../../events/topics';
import type { Config } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import { agencyKafkaLoginFile } from '../../stack/dev-credentials';
import { AGENCY_INBOX_EVENT_TYPES as T } from '../../workflows/shared/agency-inbox';
import { registerAgencyCommands } from '../../workers/cli/agency';
import { runIngress } from '../../workers/ingress/index';
import { startWorker } from '../../workers/worker';
import { agencyKeys, eventually, startGroupAtEnd } from '../helpers/agency-events';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { testConfig, testKafka, testStack, unique } from '../helpers/stack-env';

jest.setTimeout(300_000);

const logger = createLogger({ level: 'warn' });
const VENDOR_KEY = 'pfv_inbox_' + 'i'.repeat(40);
const VENDOR = unique('inbox-vendor');
const AGENCIES = DEFAULT_AGENCY_REGISTRY.agencies.map((a) => a.id);
const agencies = agencyKeys(['nsa', 'cisa']);
const stops: Array<() => Promise<void>> = [];
let config: Config;
let api: TestApi;
let keyDir: string;

interface InboxRecord {
  message: KafkaMessage;
  headers: Record<string, string>;
}

/** The agency's own view of its inbox from now on, through its own login and one of its own consumer groups. */
async function followInbox(login: AgencyKafkaLogin): Promise<InboxRecord[]> {
  const records: InboxRecord[] = [];
  const tail = await tailTopic(
    agencyKafka(login, logger),
    agencyInboxTopic(login.agencyId),
    (message) => void records.push({ message, headers: headersToStrings(message.headers) }),
    {
      groupPrefix: `${login.agencyId}.test`,
    },
  );
  stops.push(() => tail.stop());
  return records;
}

function sdkEvent(r: InboxRecord): CloudEvent<Record<string, unknown>> {
  const value = r.message.value!.toString();
  const m: CeKafkaMessage<string> = { key: r.message.key!.toString(), value, body: value, headers: r.headers };
  return CeKafka.toEvent(m) as CloudEvent<Record<string, unknown>>;
}

/** Runs `preflight agency …` in this process, on the test stack's data dir (where the agency logins are). */
async function cli(args: string[]): Promise<string> {
  const saved = { ...process.env };
  Object.assign(process.env, { PREFLIGHT_DATA_DIR: process.env.PREFLIGHT_TEST_DATA_DIR, TEMPORAL_ADDRESS: testStack().temporalAddress });
  delete process.env.KAFKA_BROKERS;
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    const program = new Command('preflight').exitOverride();
    registerAgencyCommands(program);
    await program.parseAsync(['node', 'preflight', 'agency', ...args]);
  } finally {
    spy.mockRestore();
    process.env = saved;
  }
  return out;
}

/** What the broker says when `login` tries to read `topic`: the Kafka error type, or 'ALLOWED' after one fetch. */
async function readAs(login: AgencyKafkaLogin, topic: string): Promise<string> {
  const kafka = new Kafka({
    clientId: `inbox-probe-${login.agencyId}`,
    brokers: login.brokers,
    sasl: { mechanism: 'scram-sha-512', username: login.username, password: login.password },
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    retry: { retries: 0 },
  });
  const consumer = kafka.consumer({
    groupId: `${login.agencyId}.${unique('probe')}`,
    retry: { retries: 0, restartOnFailure: async () => false },
    maxWaitTimeInMs: 100,
  });
  const typeOf = (err: unknown): string => {
    for (let e = err as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e.type) return e.type;
    throw err;
  };
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no fetch and no refusal within 30 s on ${topic}`)), 30_000);
      const settle = (fn: () => string) => {
        clearTimeout(timer);
        try {
          resolve(fn());
        } catch (err) {
          reject(err as Error);
        }
      };
      consumer.on(consumer.events.FETCH, () => settle(() => 'ALLOWED'));
      consumer.on(consumer.events.CRASH, (event) => settle(() => typeOf(event.payload.error)));
      consumer.run({ eachMessage: async () => undefined }).catch((err: unknown) => settle(() => typeOf(err)));
    });
  } catch (err) {
    return typeOf(err);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

beforeAll(async () => {
  config = testConfig({ PREFLIGHT_TASK_QUEUE: unique('inbox'), PREFLIGHT_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'agency-inbox-')) });
  const stack = testStack();
  const endpoints = { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers };
  const groupId = unique('inbox-ingress');
  await startGroupAtEnd(testKafka(logger), groupId);
  const worker = await startWorker(config, logger, endpoints);
  stops.push(() => worker.stop());
  const ingress = await runIngress(config, logger, { registry: agencies.registry, groupId, ...endpoints });
  stops.push(() => ingress.stop());
  // The api's registry has one agency more than the cluster has inboxes for (the api refuses ids outside its registry).
  const apiRegistry = buildAgencyRegistry({
    version: 1,
    agencies: [...DEFAULT_AGENCY_REGISTRY.agencies, { id: 'no-such-agency', name: 'An agency without an inbox', domains: ['homeland-security'] }],
  });
  api = await startTestApi(config, logger, { vendorKeys: { [VENDOR_KEY]: VENDOR }, opsTokens: {}, agencyRegistry: apiRegistry });
  stops.push(() => api.stop());
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agency-inbox-keys-'));
  fs.writeFileSync(path.join(keyDir, 'nsa.key.pem'), agencies.keys.nsa!.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  fs.rmSync(keyDir, { recursive: true, force: true });
});

const login = (agencyId: string) => readAgencyKafkaLogin(agencyKafkaLoginFile(process.env.PREFLIGHT_TEST_DATA_DIR!, agencyId));

it('the local stack writes each agency its own SCRAM login, readable by the owner alone', () => {
  for (const agencyId of AGENCIES) {
    const file = agencyKafkaLoginFile(process.env.PREFLIGHT_TEST_DATA_DIR!, agencyId);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(login(agencyId)).toMatchObject({
      agencyId,
      username: agencyId,
      mechanism: 'scram-sha-512',
      brokers: process.env.PREFLIGHT_TEST_KAFKA_SASL_BROKERS!.split(','),
      inboxTopic: `preflight.agency-inbox.${agencyId}.v1`,
      groupPrefix: `${agencyId}.`,
    });
  }
});

it('an invited agency learns of the invitation from its inbox with only its SCRAM login, and reads its command reply there', async () => {
  const nsaInbox = await followInbox(login('nsa'));
  const cisaInbox = await followInbox(login('cisa'));

  // The vendor, with its vendor key only.
  const created = await fetch(`${api.url}/v1/submissions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VENDOR_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: { name: 'frontier-9', version: '9.0.0', versionHash: 'sha256:' + 'ef'.repeat(32) },
      plannedReleaseAt: new Date(Date.now() + 20 * 24 * 3600_000).toISOString(),
      accessMethod: 'API',
      contacts: [{ name: 'Pat Vendor', email: 'pat@vendor.example' }],
      requestedAgencies: ['nsa', 'cisa'],
    }),
  });
  expect(created.status).toBe(201);
  const submissionId = String(((await created.json()) as { submissionId: string }).submissionId);
  const about = (records: InboxRecord[]) => records.filter((r) => r.headers.ce_subject === submissionId);

  // The agency's inbox command, with the agency's own login.
  const printed = await cli([
    'inbox',
    '--agency',
    'nsa',
    '--submission',
    submissionId,
    '--type',
    T.invited,
    '--count',
    '1',
    '--idle',
    '120',
    '--from-beginning',
    '--json',
  ]);
  const invitation = JSON.parse(printed.trim()) as { id: string; type: string; subject: string; data: Record<string, unknown> };
  expect(invitation).toMatchObject({
    id: `submission/${submissionId}/inbox/1`,
    type: T.invited,
    subject: submissionId,
    data: { submissionId, agencyId: 'nsa', model: { name: 'frontier-9', version: '9.0.0' }, domains: ['offensive-cyber'] },
  });
  await eventually('the grant in the nsa inbox', async () => about(nsaInbox).find((r) => r.headers.ce_type === T.accessGranted));

  // A signed command, its reply read from the same inbox by `agency send --wait` with the agency's login.
  const sent = JSON.parse(
    await cli([
      'send',
      '--agency',
      'nsa',
      '--key',
      path.join(keyDir, 'nsa.key.pem'),
      '--type',
      'gov.preflight.assessment.accept.v1',
      '--subject',
      submissionId,
      '--wait',
      '--timeout',
      '90',
      '--json',
    ]),
  ) as { commandId: string; reply: { type: string; data: Record<string, unknown> } };
  expect(sent.reply).toEqual({
    type: REPLY_TYPES.accepted,
    data: expect.objectContaining({ commandId: sent.commandId, subject: submissionId, result: { status: 'ACCEPTED' } }),
  });
  const reply = await eventually('the reply in the nsa inbox', async () => nsaInbox.find((r) => r.headers.ce_id === `nsa/${sent.commandId}/reply`));
  expect(decodeEvent(reply.message).envelope.type).toBe(REPLY_TYPES.accepted);

  // The vendor withdraws: the assessment ends and the grant is revoked, and the agency hears of both.
  const withdrawn = await fetch(`${api.url}/v1/submissions/${submissionId}/withdraw`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VENDOR_KEY}`, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(withdrawn.status).toBe(200);
  await eventually('the revocation in the nsa inbox', async () => about(nsaInbox).find((r) => r.headers.ce_type === T.accessRevoked));
  await eventually('the revocation in the cisa inbox', async () => about(cisaInbox).find((r) => r.headers.ce_type === T.accessRevoked));

  expect(about(nsaInbox).map((r) => r.headers.ce_type)).toEqual([T.invited, T.accessGranted, T.assessmentEnded, T.accessRevoked]);
  expect(about(cisaInbox).map((r) => r.headers.ce_type)).toEqual([T.invited, T.accessGranted, T.assessmentEnded, T.accessRevoked]);
  const ended = about(nsaInbox).find((r) => r.headers.ce_type === T.assessmentEnded)!;
  expect(decodeEvent(ended.message).data).toMatchObject({ agencyId: 'nsa', status: 'WITHDRAWN' });
  // Each agency's inbox holds its own events only; every record is a valid CloudEvent.
  for (const [agencyId, records] of [
    ['nsa', nsaInbox],
    ['cisa', cisaInbox],
  ] as const) {
    for (const r of about(records)) {
      const ce = sdkEvent(r);
      expect(ce.validate()).toBe(true);
      expect(ce.source).toBe('/preflight/agency-inbox');
      expect(ce.data!.agencyId).toBe(agencyId);
    }
  }
  expect(JSON.stringify(about(nsaInbox).map((r) => r.message.value!.toString()))).not.toMatch(/pfa1\./);
});

it('every agency is refused every other agency’s inbox (TOPIC_AUTHORIZATION_FAILED), and reads its own', async () => {
  const refusals: string[] = [];
  const unexpected: string[] = [];
  for (const reader of AGENCIES) {
    const own = await readAs(login(reader), agencyInboxTopic(reader));
    if (own !== 'ALLOWED') unexpected.push(`${reader} own inbox: ${own}`);
    for (const owner of AGENCIES.filter((a) => a !== reader)) {
      const outcome = await readAs(login(reader), agencyInboxTopic(owner));
      if (outcome === 'TOPIC_AUTHORIZATION_FAILED') refusals.push(`${reader}→${owner}`);
      else unexpected.push(`${reader} reading ${owner}: ${outcome}`);
    }
  }
  expect(unexpected).toEqual([]);
  expect(refusals).toHaveLength(AGENCIES.length * (AGENCIES.length - 1));
});

it('a submission naming an agency the cluster has no inbox for still ends: that inbox event is refused, not retried forever', async () => {
  const created = await fetch(`${api.url}/v1/submissions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VENDOR_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: { name: 'frontier-9', version: '9.0.1', versionHash: 'sha256:' + 'fe'.repeat(32) },
      plannedReleaseAt: new Date(Date.now() + 20 * 24 * 3600_000).toISOString(),
      accessMethod: 'API',
      contacts: [{ name: 'Pat Vendor', email: 'pat@vendor.example' }],
      requestedAgencies: ['nsa', 'no-such-agency'],
    }),
  });
  expect(created.status).toBe(201);
  const submissionId = String(((await created.json()) as { submissionId: string }).submissionId);
  const view = async () =>
    (await (await fetch(`${api.url}/v1/submissions/${submissionId}`, { headers: { authorization: `Bearer ${VENDOR_KEY}` } })).json()) as { status: string };
  await eventually('under assessment', async () => ((await view()).status === 'UNDER_ASSESSMENT' ? true : undefined), 120_000);
  const withdrawn = await fetch(`${api.url}/v1/submissions/${submissionId}/withdraw`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VENDOR_KEY}`, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(withdrawn.status).toBe(200);
  const client = await connectClient(config.temporal, testStack().temporalAddress, deploymentDataConverter(config));
  try {
    const ended = await eventually(
      'the submission workflow to complete',
      async () => {
        const d = await client.workflow.getHandle(`submission/${submissionId}`).describe();
        return d.status.name === 'RUNNING' ? undefined : d.status.name;
      },
      150_000,
    );
    expect(ended).toBe('COMPLETED');
  } finally {
    await client.connection.close();
  }
});
