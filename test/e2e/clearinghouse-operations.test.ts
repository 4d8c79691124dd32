/**
 * The clearinghouse at work, end to end, each party only through its own interfaces:
 * - three agencies with their own Kafka logins (inbox, signed commands) and signing keys (the agency API);
 * - the operator with an ops token on the ops API (and the `preflight cases` CLI, which calls that API);
 * - the vendor with its vendor key on the vendor API.
 * Three agencies report one weakness in their own words → one case → the operator triages it and adds two of the
 * agencies as parties → each party sets its own status with a signed command (reply in its inbox, view through its
 * agency API) → a remediation due date passes and the reminder fires → the vendor declares the model released → the
 * embargo lifts → the operator publishes → the CSAF 2.0 document validates against the official OASIS schema.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { REPLY_TYPES } from '../../events/catalog';
import { agencyKafka, readAgencyKafkaLogin } from '../../events/agency-login';
import { sendAgencyCommand } from '../../events/agency-client';
import { decodeEvent, tailTopic } from '../../events/consumer';
import { headersToStrings } from '../../events/envelope';
import { TOPICS, agencyInboxTopic } from '../../events/topics';
import { deriveFingerprintKey } from '../../clients/case-fingerprint';
import type { Config } from '../../infra/config';
import { signRequest } from '../../infra/http-signatures';
import { createLogger } from '../../infra/logger';
import { resolveMasterKey } from '../../infra/master-key';
import { agencyKafkaLoginFile } from '../../stack/dev-credentials';
import { CASE_COMMAND_TYPES, CASE_EVENT_TYPES, type CaseView } from '../../workflows/clearinghouse/contract';
import { AGENCY_INBOX_EVENT_TYPES } from '../../workflows/shared/agency-inbox';
import { clearinghouseCaseOpener, runIngress } from '../../workers/ingress/index';
import { startWorker } from '../../workers/worker';
import { agencyKeys, eventually, startGroupAtEnd } from '../helpers/agency-events';
import { csafSchemaErrors } from '../helpers/csaf-validator';
import { preflightCli } from '../helpers/cli';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { testConfig, testKafka, testStack, unique } from '../helpers/stack-env';

jest.setTimeout(420_000);

const logger = createLogger({ level: 'warn' });
const VENDOR_KEY = 'pfv_chops_' + 'c'.repeat(40);
const VENDOR = unique('ch-ops-vendor');
const OPS_TOKEN = 'pfo_chops_' + 'o'.repeat(40);
// The registered agencies with a Kafka login on the test broker; fresh signing keys pinned for this file only.
const AGENCIES = ['nsa', 'cisa', 'treasury'] as const;
type AgencyId = (typeof AGENCIES)[number];
const agencies = agencyKeys([...AGENCIES]);
const DUE_SECONDS = 25;
/** A short case policy for this test's ingress: HIGH due in 25 s with a reminder 10 s before, releases re-read every 2 s. */
const POLICY = {
  remediationDays: { CRITICAL: DUE_SECONDS / 86_400, HIGH: DUE_SECONDS / 86_400, MEDIUM: 60, LOW: 90, INFO: 180 },
  remediationReminderHours: [10 / 3600],
  releaseRefreshHours: 2 / 3600,
};
const stops: Array<() => Promise<void>> = [];
let config: Config;
let api: TestApi;
let tokenFile: string;

interface InboxEvent {
  id: string;
  type: string;
  subject: string;
  data: Record<string, unknown>;
}

interface Agency {
  id: AgencyId;
  inbox: InboxEvent[];
  send(type: string, subject: string, data?: Record<string, unknown>): Promise<string>;
  get(route: string): Promise<{ status: number; json: Record<string, unknown> }>;
}

async function agency(id: AgencyId, key: KeyObject): Promise<Agency> {
  const login = readAgencyKafkaLogin(agencyKafkaLoginFile(process.env.PREFLIGHT_TEST_DATA_DIR!, id));
  const kafka = agencyKafka(login, logger, `ch-ops-${id}`);
  const inbox: InboxEvent[] = [];
  const tail = await tailTopic(
    kafka,
    agencyInboxTopic(id),
    (message) => {
      const headers = headersToStrings(message.headers);
      inbox.push({ id: headers.ce_id!, type: headers.ce_type!, subject: headers.ce_subject ?? '', data: decodeEvent(message).data as Record<string, unknown> });
    },
    { groupPrefix: `${id}.ch-ops` },
  );
  stops.push(() => tail.stop());
  const producer: Producer = kafka.producer({ idempotent: true });
  await producer.connect();
  stops.push(() => producer.disconnect());
  return {
    id,
    inbox,
    send: async (type, subject, data = {}) => (await sendAgencyCommand(producer, { agencyId: id, type, subject, data }, key)).id,
    get: async (route) => {
      const url = api.url + route;
      const res = await fetch(url, { headers: { ...(await signRequest({ method: 'GET', url, keyId: id, privateKey: key })), accept: 'application/json' } });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
  };
}

async function http(token: string, method: string, route: string, body?: unknown): Promise<{ status: number; type: string; json: Record<string, unknown> }> {
  const res = await fetch(api.url + route, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}
const vendor = (method: string, route: string, body?: unknown) => http(VENDOR_KEY, method, route, body);
const ops = (method: string, route: string, body?: unknown) => http(OPS_TOKEN, method, route, body);

/** The reply to one command, from the sending agency's own inbox. */
function replyTo(a: Agency, commandId: string): Promise<InboxEvent> {
  return eventually(
    `the reply to ${commandId} in the ${a.id} inbox`,
    async () => a.inbox.find((e) => (e.type === REPLY_TYPES.accepted || e.type === REPLY_TYPES.rejected) && e.data.commandId === commandId),
    120_000,
  );
}

beforeAll(async () => {
  config = testConfig({ PREFLIGHT_TASK_QUEUE: unique('ch-ops'), PREFLIGHT_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'ch-ops-')) });
  const stack = testStack();
  const endpoints = { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers };
  const groupId = unique('ch-ops-ingress');
  await startGroupAtEnd(testKafka(logger), groupId);
  const worker = await startWorker(config, logger, endpoints);
  stops.push(() => worker.stop());
  const fingerprintKey = deriveFingerprintKey(resolveMasterKey(config.masterKey, config.stack.dataDir));
  const openCase = clearinghouseCaseOpener({ taskQueue: config.taskQueue, fingerprintKey, policy: POLICY });
  const ingress = await runIngress(config, logger, { registry: agencies.registry, groupId, openCase, ...endpoints });
  stops.push(() => ingress.stop());
  api = await startTestApi(config, logger, { vendorKeys: { [VENDOR_KEY]: VENDOR }, opsTokens: { [OPS_TOKEN]: 'op-e2e' }, agencyRegistry: agencies.registry });
  stops.push(() => api.stop());
  tokenFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ch-ops-token-')), 'ops.token');
  fs.writeFileSync(tokenFile, OPS_TOKEN + '\n', { mode: 0o600 });
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

it('three agencies report one weakness; the operator triages, parties answer, a due date passes, the model ships, the case publishes as CSAF 2.0', async () => {
  const nsa = await agency('nsa', agencies.keys.nsa!);
  const cisa = await agency('cisa', agencies.keys.cisa!);
  const treasury = await agency('treasury', agencies.keys.treasury!);
  // Case events as an outside coordinator would consume them from the clearinghouse topic.
  const caseEvents: Array<{ type: string; subject: string; data: Record<string, unknown> }> = [];
  const tail = await tailTopic(
    testKafka(logger),
    TOPICS.clearinghouseEvents,
    (message) => {
      const decoded = decodeEvent(message);
      caseEvents.push({ type: decoded.envelope.type, subject: decoded.envelope.subject, data: decoded.data as Record<string, unknown> });
    },
    { groupPrefix: 'ch-ops-coordinator' },
  );
  stops.push(() => tail.stop());

  // The vendor's submission: the model whose release the case's embargo follows.
  const created = await vendor('POST', '/v1/submissions', {
    model: { name: 'frontier-15', version: '15.0.0', versionHash: 'sha256:' + '5c'.repeat(32) },
    plannedReleaseAt: new Date(Date.now() + 20 * 24 * 3600_000).toISOString(),
    accessMethod: 'API',
    contacts: [{ name: 'Pat Vendor', email: 'pat@vendor.example' }],
    requestedAgencies: [...AGENCIES],
  });
  expect(created.status).toBe(201);
  const submissionId = String(created.json.submissionId);
  const plannedReleaseAt = String((await vendor('GET', `/v1/submissions/${submissionId}`)).json.plannedReleaseAt);

  // 1. Three agencies report the same weakness in their own words, each with its own signed command.
  const product = `Acme Gateway${crypto.randomBytes(3).toString('hex')}`;
  const words: Record<AgencyId, Record<string, unknown>> = {
    nsa: { affectedProduct: `Acme ${product} 2.3`, weakness: 'Indirect prompt injection via tool output', severity: 'HIGH' },
    cisa: { affectedProduct: `ACME  ${product.toUpperCase()}  v2.3`, weakness: 'PROMPT-INJECTION vulnerability' },
    treasury: { affectedProduct: `acme ${product.toLowerCase()} (2.3)`, weakness: 'LLM prompting flaw', cweId: 'CWE-1427' },
  };
  const reports: Record<string, InboxEvent> = {};
  for (const a of [nsa, cisa, treasury]) {
    const id = await a.send(CASE_COMMAND_TYPES.open, unique(`${a.id}-report`), { ...words[a.id], submissionId, plannedReleaseAt });
    reports[a.id] = await replyTo(a, id);
  }
  expect(Object.values(reports).map((r) => r.type)).toEqual([REPLY_TYPES.accepted, REPLY_TYPES.accepted, REPLY_TYPES.accepted]);
  const results = Object.values(reports).map((r) => r.data.result as { caseId: string; outcome: string; reporterCount: number });
  expect(results.map((r) => r.outcome)).toEqual(['OPENED', 'JOINED', 'JOINED']);
  const caseId = results[0]!.caseId;
  expect(results.every((r) => r.caseId === caseId)).toBe(true);
  const fingerprint = caseId.slice('case/'.length);
  const casePath = `/ops/cases/${fingerprint}`;

  // 2. The operator triages it (through the CLI, which calls the ops API) and adds two of the agencies as parties.
  const triaged = await preflightCli([
    'cases',
    'triage',
    caseId,
    '--severity',
    'HIGH',
    '--cwe',
    'CWE-1427',
    '--product',
    `Acme ${product} 2.3`,
    '--api',
    api.url,
    '--token-file',
    tokenFile,
    '--json',
  ]);
  expect(triaged.stderr).toBe('');
  expect(JSON.parse(triaged.stdout)).toMatchObject({ caseId, state: 'TRIAGED', severity: 'HIGH', cweId: 'CWE-1427', reporters: ['nsa', 'cisa', 'treasury'] });
  const badCwe = await preflightCli(['cases', 'triage', caseId, '--severity', 'HIGH', '--cwe', 'CWE-x', '--api', api.url, '--token-file', tokenFile]);
  expect({ code: badCwe.code, stderr: badCwe.stderr }).toEqual({ code: 2, stderr: expect.stringContaining('422 invalid-input') });
  for (const [a, email] of [
    [nsa, 'vuln@nsa.example.gov'],
    [cisa, 'vuln@cisa.example.gov'],
  ] as const) {
    const added = await ops('POST', `${casePath}/parties`, { partyId: a.id, kind: 'agency', contacts: [{ name: 'Vulnerability desk', email, role: 'PSIRT' }] });
    expect(added.status).toBe(200);
  }
  const unknown = await ops('POST', `${casePath}/parties`, { partyId: 'interpol', kind: 'agency', contacts: [] });
  expect(unknown).toMatchObject({ status: 422, json: { code: 'invalid-input', detail: 'Unknown agency interpol.' } });
  const withParties = (await ops('GET', casePath)).json as unknown as CaseView;
  expect(withParties.state).toBe('PARTIES_NOTIFIED');
  expect(withParties.parties.map((p) => [p.partyId, p.status])).toEqual([
    ['nsa', 'UNKNOWN'],
    ['cisa', 'UNKNOWN'],
  ]);
  for (const p of withParties.parties) expect(Date.parse(p.remediationDueAt!) - Date.parse(p.notifiedAt)).toBe(DUE_SECONDS * 1000);

  // 3. Each party sets its own status with its own signed command; the reply comes to its inbox; it reads its view
  // through its agency API. A non-party (treasury) is refused, and may not set another party's status.
  const nsaCommand = await nsa.send(CASE_COMMAND_TYPES.setPartyStatus, caseId, { status: 'AFFECTED' });
  const cisaCommand = await cisa.send(CASE_COMMAND_TYPES.setPartyStatus, caseId, { status: 'NOT_AFFECTED' });
  const treasuryCommand = await treasury.send(CASE_COMMAND_TYPES.setPartyStatus, caseId, { status: 'AFFECTED' });
  expect((await replyTo(nsa, nsaCommand)).data).toMatchObject({
    commandType: CASE_COMMAND_TYPES.setPartyStatus,
    result: { caseId, state: 'PARTIES_NOTIFIED' },
  });
  expect((await replyTo(cisa, cisaCommand)).type).toBe(REPLY_TYPES.accepted);
  const refused = await replyTo(treasury, treasuryCommand);
  expect(refused).toMatchObject({ type: REPLY_TYPES.rejected, data: { code: 'forbidden', reason: 'the agency is not a party to this case' } });
  const nsaView = await nsa.get(`/v1/agency/cases/${fingerprint}`);
  expect(nsaView.status).toBe(200);
  const nsaParties = nsaView.json.parties as CaseView['parties'];
  expect(nsaParties.find((p) => p.partyId === 'nsa')).toMatchObject({
    status: 'AFFECTED',
    contacts: [expect.objectContaining({ email: 'vuln@nsa.example.gov' })],
  });
  // Another party's contacts and another reporter's words stay with the clearinghouse.
  expect(nsaParties.find((p) => p.partyId === 'cisa')).toMatchObject({ status: 'NOT_AFFECTED' });
  expect(nsaParties.find((p) => p.partyId === 'cisa')).not.toHaveProperty('contacts');
  expect(JSON.stringify(nsaView.json)).not.toContain('PROMPT-INJECTION vulnerability');
  expect(nsaView.json).not.toHaveProperty('modelReleases');
  expect((await treasury.get(`/v1/agency/cases/${fingerprint}`)).status).toBe(200);
  expect((await treasury.get('/v1/agency/cases/ffffffffffffffffffffffffffffffff')).status).toBe(404);

  // 4. The AFFECTED party's due date passes: the reminder fires (NOT_AFFECTED cisa has none); the reporters hear of it.
  const dueAt = withParties.parties.find((p) => p.partyId === 'nsa')!.remediationDueAt!;
  const due = await eventually(
    'the REMEDIATION_DUE reminder',
    async () => caseEvents.find((e) => e.subject === caseId && e.type === CASE_EVENT_TYPES.reminder && e.data.phase === 'DUE'),
    120_000,
  );
  expect(due.data).toMatchObject({ kind: 'REMEDIATION_DUE', partyId: 'nsa', dueAt });
  expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(dueAt));
  expect(caseEvents.filter((e) => e.subject === caseId && e.type === CASE_EVENT_TYPES.reminder).every((e) => e.data.partyId === 'nsa')).toBe(true);
  await eventually('the reminder in a reporter’s inbox', async () =>
    treasury.inbox.find((e) => e.type === AGENCY_INBOX_EVENT_TYPES.caseUpdated && e.subject === caseId && e.data.caseEvent === CASE_EVENT_TYPES.reminder),
  );

  // 5. Still under embargo: publishing without an override is refused, and changes nothing.
  const early = await ops('POST', `${casePath}/publish`, {});
  expect(early).toMatchObject({ status: 409, json: { code: 'embargoed', detail: expect.stringContaining(plannedReleaseAt) } });
  expect(((await ops('GET', casePath)).json as unknown as CaseView).state).toBe('PARTIES_NOTIFIED');

  // 6. The vendor declares the model released; the case re-reads the release and lifts the embargo.
  // (The case follows the declared release by re-reading it while under embargo, every releaseRefreshHours.)
  const released = await vendor('POST', `/v1/submissions/${submissionId}/release`, {});
  expect(released.status).toBe(200);
  const lifted = await eventually(
    'the embargo lifted',
    async () => caseEvents.find((e) => e.subject === caseId && e.type === CASE_EVENT_TYPES.embargoLifted),
    120_000,
  );
  expect(Date.parse(String(lifted.data.embargoUntil))).toBeLessThan(Date.parse(plannedReleaseAt));

  // 7. The operator publishes; the CSAF 2.0 document validates with the independent validator; a thin event says so.
  const published = await ops('POST', `${casePath}/publish`, { advisoryRef: `https://advisories.example.gov/${fingerprint}` });
  expect(published).toMatchObject({ status: 200, json: { state: 'PUBLISHED' } });
  expect(published.json).not.toHaveProperty('publishOverride');
  const csaf = await ops('GET', `${casePath}/csaf`);
  expect(csaf.status).toBe(200);
  expect(csaf.type).toContain('application/json');
  expect(csafSchemaErrors(csaf.json)).toEqual([]);
  const documentId = `PREFLIGHT-CASE-${fingerprint.toUpperCase()}`;
  expect(csaf.json).toMatchObject({
    document: { category: 'csaf_vex', publisher: { category: 'coordinator' }, tracking: { id: documentId, version: '1' } },
    vulnerabilities: [
      {
        notes: expect.arrayContaining([expect.objectContaining({ title: 'Weakness (CWE)', text: expect.stringContaining('CWE-1427') })]),
        product_status: { known_affected: ['CSAFPID-0002'], known_not_affected: ['CSAFPID-0001'] },
      },
    ],
  });
  const announced = await eventually('the advisory-published event', async () =>
    caseEvents.find((e) => e.subject === caseId && e.type === CASE_EVENT_TYPES.advisoryPublished),
  );
  expect(announced.data).toMatchObject({ caseId, documentId, version: '1' });
  // Thin: nothing of the reports on the topic.
  expect(JSON.stringify(caseEvents.filter((e) => e.subject === caseId))).not.toMatch(new RegExp(product, 'i'));
  // The same document through the CLI.
  const viaCli = await preflightCli(['cases', 'csaf', caseId, '--api', api.url, '--token-file', tokenFile]);
  expect(JSON.parse(viaCli.stdout)).toEqual(csaf.json);
  // Every operator action is in the audit, with its outcome.
  const audit = (await ops('GET', '/ops/audit?pageSize=500')).json.items as Array<{ details?: { caseId?: string; caseAction?: string; caseOutcome?: string } }>;
  const actions = audit.filter((r) => r.details?.caseId === caseId).map((r) => `${r.details!.caseAction}:${r.details!.caseOutcome}`);
  expect(actions).toEqual(
    expect.arrayContaining(['triage:applied', 'triage:refused', 'add-party:applied', 'add-party:refused', 'publish:refused', 'publish:applied']),
  );
});
