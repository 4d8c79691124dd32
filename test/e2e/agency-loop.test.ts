/**
 * The agency's half of the loop, end to end, each party only through its own interfaces:
 * - the vendor with its vendor key on the vendor API;
 * - each agency with its SCRAM login (its inbox, and the command topic on the SASL listener), its signing key (signed
 *   commands and RFC 9421-signed requests to the agency API) and nothing else.
 * Agencies learn of the invitation from their inbox, fetch their access tokens, the vendor's model gateway verifies
 * them, an agency reads the vendor's answer and the vendor's response to its finding, confirms the claimed
 * mitigation, and sees its token revoked when its assessment ends.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { agencyKafka, readAgencyKafkaLogin } from '../../events/agency-login';
import { sendAgencyCommand } from '../../events/agency-client';
import { decodeEvent, tailTopic } from '../../events/consumer';
import { headersToStrings } from '../../events/envelope';
import { agencyInboxTopic } from '../../events/topics';
import type { Config } from '../../infra/config';
import { signRequest } from '../../infra/http-signatures';
import { createLogger } from '../../infra/logger';
import { agencyKafkaLoginFile } from '../../stack/dev-credentials';
import type { SubmissionView } from '../../wire/submission';
import { AGENCY_INBOX_EVENT_TYPES as T } from '../../workflows/shared/agency-inbox';
import { runIngress } from '../../workers/ingress/index';
import { startWorker } from '../../workers/worker';
import { agencyKeys, eventually, startGroupAtEnd } from '../helpers/agency-events';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { testConfig, testKafka, testStack, unique } from '../helpers/stack-env';

jest.setTimeout(420_000);

const logger = createLogger({ level: 'warn' });
const VENDOR_KEY = 'pfv_agencyloop_' + 'l'.repeat(40);
const VENDOR = unique('agency-loop-vendor');
const AGENCIES = ['nsa', 'cisa'] as const;
type AgencyId = (typeof AGENCIES)[number];
const agencies = agencyKeys([...AGENCIES]);
const stops: Array<() => Promise<void>> = [];
let config: Config;
let api: TestApi;

interface InboxEvent {
  id: string;
  type: string;
  subject: string;
  data: Record<string, unknown>;
}

/** One agency as it works: its inbox through its own login, its commands on the SASL listener, its signed API reads. */
interface Agency {
  id: AgencyId;
  inbox: InboxEvent[];
  send(type: string, subject: string, data?: Record<string, unknown>): Promise<string>;
  get(route: string): Promise<{ status: number; json: Record<string, unknown> }>;
}

async function agency(id: AgencyId, key: KeyObject): Promise<Agency> {
  const login = readAgencyKafkaLogin(agencyKafkaLoginFile(process.env.PREFLIGHT_TEST_DATA_DIR!, id));
  const kafka = agencyKafka(login, logger, `agency-loop-${id}`);
  const inbox: InboxEvent[] = [];
  const tail = await tailTopic(
    kafka,
    agencyInboxTopic(id),
    (message) => {
      const headers = headersToStrings(message.headers);
      inbox.push({ id: headers.ce_id!, type: headers.ce_type!, subject: headers.ce_subject ?? '', data: decodeEvent(message).data as Record<string, unknown> });
    },
    { groupPrefix: `${id}.agency-loop` },
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

async function vendor(method: string, route: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(api.url + route, {
    method,
    headers: { authorization: `Bearer ${VENDOR_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  config = testConfig({ PREFLIGHT_TASK_QUEUE: unique('agency-loop'), PREFLIGHT_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'agency-loop-')) });
  const stack = testStack();
  const endpoints = { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers };
  const groupId = unique('agency-loop-ingress');
  await startGroupAtEnd(testKafka(logger), groupId);
  const worker = await startWorker(config, logger, endpoints);
  stops.push(() => worker.stop());
  const ingress = await runIngress(config, logger, { registry: agencies.registry, groupId, ...endpoints });
  stops.push(() => ingress.stop());
  api = await startTestApi(config, logger, { vendorKeys: { [VENDOR_KEY]: VENDOR }, opsTokens: {}, agencyRegistry: agencies.registry });
  stops.push(() => api.stop());
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

it('agencies learn of the invitation, fetch tokens, read answers and responses, confirm a mitigation and lose access as they finish', async () => {
  const nsa = await agency('nsa', agencies.keys.nsa!);
  const cisa = await agency('cisa', agencies.keys.cisa!);

  // The vendor submits.
  const created = await vendor('POST', '/v1/submissions', {
    model: { name: 'frontier-11', version: '11.0.0', versionHash: 'sha256:' + '1a'.repeat(32) },
    plannedReleaseAt: new Date(Date.now() + 20 * 24 * 3600_000).toISOString(),
    accessMethod: 'API',
    contacts: [{ name: 'Pat Vendor', email: 'pat@vendor.example' }],
    requestedAgencies: [...AGENCIES],
  });
  expect(created.status).toBe(201);
  const sid = String(created.json.submissionId);
  const events = (a: Agency, type: string) => a.inbox.filter((e) => e.subject === sid && e.type === type);
  const waitInbox = (a: Agency, type: string, n = 1) =>
    eventually(`${n} × ${type} in the ${a.id} inbox`, async () => (events(a, type).length >= n ? events(a, type) : undefined), 120_000);

  // Each agency learns of the invitation, and of its grant, from its own inbox; the token itself never travels there.
  for (const a of [nsa, cisa]) {
    const [invited] = await waitInbox(a, T.invited);
    expect(invited!.data).toMatchObject({ submissionId: sid, agencyId: a.id, model: { name: 'frontier-11', version: '11.0.0' } });
    const [granted] = await waitInbox(a, T.accessGranted);
    expect(granted!.data).toMatchObject({ submissionId: sid, agencyId: a.id, grantId: expect.any(String), expiresAt: expect.any(String) });
    expect(JSON.stringify(a.inbox)).not.toMatch(/pfa1\./);
  }

  // Each fetches its own token through its signed API; the vendor's gateway verifies it with the vendor key.
  const tokens: Record<string, string> = {};
  for (const a of [nsa, cisa]) {
    const answer = await a.get(`/v1/agency/assessments/${sid}/access-token`);
    expect(answer.status).toBe(200);
    tokens[a.id] = String(answer.json.token);
    const verified = await vendor('POST', '/v1/access/verify', { token: tokens[a.id] });
    expect(verified.json).toMatchObject({ valid: true, agencyId: a.id, submissionId: sid });
  }

  // Accept and start, with signed commands on the agency listener.
  for (const a of [nsa, cisa]) await a.send('gov.preflight.assessment.accept.v1', sid);
  for (const a of [nsa, cisa]) await a.send('gov.preflight.assessment.start.v1', sid);
  await eventually('both agencies in progress', async () => {
    const body = await nsa.get(`/v1/agency/assessments/${sid}`);
    const other = await cisa.get(`/v1/agency/assessments/${sid}`);
    return body.json.status === 'IN_PROGRESS' && other.json.status === 'IN_PROGRESS' ? true : undefined;
  });

  // NSA asks; the vendor reads the question through its own API and answers; NSA is told and reads the answer.
  const question = 'Which abuse classifiers run in front of the API?';
  await nsa.send('gov.preflight.assessment.request-info.v1', sid, { question });
  const requestId = await eventually('the open request', async () => {
    const list = await vendor('GET', `/v1/submissions/${sid}/info-requests`);
    return (list.json.items as Array<{ requestId: string }> | undefined)?.[0]?.requestId;
  });
  const asked = await vendor('GET', `/v1/submissions/${sid}/info-requests/${requestId}`);
  expect(asked.json).toMatchObject({ requestId, question });
  const answerText = 'Classifier stack v3 runs on every request.';
  expect((await vendor('POST', `/v1/submissions/${sid}/info-requests/${requestId}/response`, { response: answerText })).status).toBe(200);
  await waitInbox(nsa, T.infoRequestAnswered);
  const read = await nsa.get(`/v1/agency/assessments/${sid}/info-requests/${requestId}`);
  expect(read.status).toBe(200);
  expect(JSON.stringify(read.json)).toContain(answerText);

  // Findings; the vendor lists them with its own key and claims a mitigation.
  await nsa.send('gov.preflight.finding.submit.v1', sid, {
    finding: {
      severity: 'HIGH',
      domain: 'offensive-cyber',
      title: 'Exploit chain completion',
      detail: 'Completes working exploit chains for a known bug class.',
      modelVersionTested: '11.0.0',
      recommendedMitigation: 'Refusal training for exploit-chain completion.',
      thirdPartyVulnerability: false,
    },
  });
  const findingId = await eventually('the finding in the vendor list', async () => {
    const list = await vendor('GET', `/v1/submissions/${sid}/findings`);
    return (list.json.items as Array<{ findingId: string; agencyId: string }> | undefined)?.find((f) => f.agencyId === 'nsa')?.findingId;
  });
  const note = 'Retrained; the classifier now blocks exploit scaffolding.';
  expect((await vendor('POST', `/v1/submissions/${sid}/findings/${findingId}/response`, { response: 'MITIGATED', note })).status).toBe(200);
  await waitInbox(nsa, T.findingResponded);
  await waitInbox(nsa, T.mitigationClaimed);
  const finding = await nsa.get(`/v1/agency/assessments/${sid}/findings/${findingId}`);
  expect(finding.status).toBe(200);
  expect(JSON.stringify(finding.json)).toContain(note);
  expect(JSON.stringify(finding.json)).toContain('MITIGATED');

  // CISA finishes with no findings: its assessment ends and its token stops working at once; NSA's still works.
  await cisa.send('gov.preflight.assessment.complete.v1', sid, { noFindings: true });
  await waitInbox(cisa, T.assessmentEnded);
  await waitInbox(cisa, T.accessRevoked);
  await eventually('the cisa token revoked', async () =>
    (await vendor('POST', '/v1/access/verify', { token: tokens.cisa })).json.valid === false ? true : undefined,
  );
  expect((await vendor('POST', '/v1/access/verify', { token: tokens.nsa })).json).toMatchObject({ valid: true });

  // NSA confirms the vendor's mitigation with a signed command, then completes: its access ends too.
  await nsa.send('gov.preflight.finding.confirm-mitigation.v1', sid, { findingId, note: 'Re-tested: the chain is refused.' });
  await eventually('the confirmation on the vendor view', async () => {
    const f = await vendor('GET', `/v1/submissions/${sid}/findings/${findingId}`);
    return JSON.stringify(f.json).includes('CONFIRMED') ? true : undefined;
  });
  await nsa.send('gov.preflight.assessment.complete.v1', sid);
  await waitInbox(nsa, T.accessRevoked);
  await eventually('the nsa token revoked', async () =>
    (await vendor('POST', '/v1/access/verify', { token: tokens.nsa })).json.valid === false ? true : undefined,
  );

  // The advisory notice counts the confirmed mitigation.
  const issued = await eventually('the notice', async () => {
    const v = (await vendor('GET', `/v1/submissions/${sid}`)).json as unknown as SubmissionView;
    return v.status === 'CLEARANCE_ISSUED' ? v : undefined;
  });
  expect(issued.notice).toBe('CLEAR');

  // Each inbox holds only its own agency's events, in the order they happened.
  for (const a of [nsa, cisa]) {
    const mine = a.inbox.filter((e) => e.subject === sid);
    expect(mine.every((e) => e.data.agencyId === undefined || e.data.agencyId === a.id)).toBe(true);
    expect(mine.map((e) => e.type).indexOf(T.invited)).toBeLessThan(mine.map((e) => e.type).indexOf(T.accessRevoked));
  }
});
