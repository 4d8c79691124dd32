/**
 * Routing third-party findings to the clearinghouse, on the real stack and through each party's own interfaces: the
 * vendor with its vendor key (submission, release-date change, declared release), agencies with signed Kafka commands,
 * their own inbox (SCRAM login) and their signed agency API, ops with the ops token (case view, timeline).
 *
 * The worker here caps every case it opens at one report (PREFLIGHT_CASE_MAX_REPORTS=1), so a second agency reporting
 * the same weakness is refused, visibly, on its finding.
 */
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import { sendAgencyCommand } from '../../events/agency-client';
import { agencyKafka, readAgencyKafkaLogin } from '../../events/agency-login';
import { tailTopic } from '../../events/consumer';
import { headersToStrings } from '../../events/envelope';
import { createKafka } from '../../events/kafka';
import { agencyInboxTopic } from '../../events/topics';
import type { Config } from '../../infra/config';
import { signRequest } from '../../infra/http-signatures';
import { createLogger } from '../../infra/logger';
import { agencyKafkaLoginFile } from '../../stack/dev-credentials';
import { AGENCY_INBOX_EVENT_TYPES } from '../../workflows/shared/agency-inbox';
import { runIngress } from '../../workers/ingress/index';
import { startWorker } from '../../workers/worker';
import { agencyKeys, eventually, startGroupAtEnd } from '../helpers/agency-events';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { testConfig, testStack, unique } from '../helpers/stack-env';

jest.setTimeout(420_000);

const logger = createLogger({ level: 'error' });
const VENDOR_KEY = 'pfv_routing_' + crypto.randomBytes(24).toString('base64url');
const VENDOR = unique('routing-vendor');
const OPS_TOKEN = 'pfo_routing_' + crypto.randomBytes(24).toString('base64url');
const AGENCIES = ['nsa', 'cisa', 'treasury'];
const DAY = 24 * 3600_000;

interface Answer {
  status: number;
  json: Record<string, unknown>;
}
interface InboxRecord {
  message: KafkaMessage;
  headers: Record<string, string>;
}

let config: Config;
let api: TestApi;
let kafka: Kafka;
let producer: Producer;
let keys: Record<string, KeyObject>;
const stops: Array<() => Promise<void>> = [];

async function http(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: res.status, json };
}
const vendor = (method: string, route: string, body?: unknown) => http(method, api.url + route, { authorization: `Bearer ${VENDOR_KEY}` }, body);
const ops = (route: string) => http('GET', api.url + route, { authorization: `Bearer ${OPS_TOKEN}` });
async function asAgency(agencyId: string, route: string): Promise<Answer> {
  const url = api.url + route;
  return http('GET', url, await signRequest({ method: 'GET', url, keyId: agencyId, privateKey: keys[agencyId]! }));
}
const command = (agencyId: string, submissionId: string, type: string, data: Record<string, unknown>) =>
  sendAgencyCommand(producer, { agencyId, type, subject: submissionId, data }, keys[agencyId]!);

/** The agency's own inbox from now on, with its own SCRAM login and consumer group. */
async function followInbox(agencyId: string): Promise<InboxRecord[]> {
  const login = readAgencyKafkaLogin(agencyKafkaLoginFile(process.env.PREFLIGHT_TEST_DATA_DIR!, agencyId));
  const records: InboxRecord[] = [];
  const tail = await tailTopic(
    agencyKafka(login, logger),
    agencyInboxTopic(agencyId),
    (message) => void records.push({ message, headers: headersToStrings(message.headers) }),
    { groupPrefix: `${agencyId}.routing-test` },
  );
  stops.push(() => tail.stop());
  return records;
}

const agencyStatus = async (submissionId: string, agencyId: string) =>
  ((await vendor('GET', `/v1/submissions/${submissionId}`)).json.agencies as Array<{ agencyId: string; status: string }>).find((a) => a.agencyId === agencyId)
    ?.status;

function thirdPartyFinding(product: string, domain: string) {
  return {
    finding: {
      severity: 'HIGH',
      domain,
      title: 'Tool-call injection reaches the gateway',
      detail: 'A crafted tool result makes the gateway run operator commands.',
      modelVersionTested: '9.0.0',
      recommendedMitigation: 'Validate tool results at the gateway.',
      thirdPartyVulnerability: true,
      affectedProduct: product,
      weakness: 'prompt injection through tool results',
    },
  };
}

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'case-routing-'));
  config = testConfig({ PREFLIGHT_TASK_QUEUE: unique('case-routing'), PREFLIGHT_DATA_DIR: dataDir, PREFLIGHT_CASE_MAX_REPORTS: '1' });
  const stack = testStack();
  const agencies = agencyKeys(AGENCIES);
  keys = agencies.keys;
  kafka = createKafka(config.kafka, logger, stack.kafkaBrokers, 'case-routing-test');
  producer = kafka.producer();
  await producer.connect();
  stops.push(() => producer.disconnect());
  const groupId = unique('case-routing-ingress');
  await startGroupAtEnd(kafka, groupId);
  const worker = await startWorker(config, logger, { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers });
  stops.push(() => worker.stop());
  const ingress = await runIngress(config, logger, {
    registry: agencies.registry,
    groupId,
    temporalAddress: stack.temporalAddress,
    kafkaBrokers: stack.kafkaBrokers,
  });
  stops.push(() => ingress.stop());
  api = await startTestApi(config, logger, {
    vendorKeys: { [VENDOR_KEY]: VENDOR },
    opsTokens: { [OPS_TOKEN]: 'routing-operator' },
    agencyRegistry: agencies.registry,
  });
  stops.push(() => api.stop());
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

it('a third-party finding followed at once by complete reaches its case; a refused report shows on the finding; the case is offered by domain; the embargo follows the release', async () => {
  const cisaInbox = await followInbox('cisa');
  const treasuryInbox = await followInbox('treasury');
  const planned = new Date(Date.now() + 20 * DAY).toISOString();
  const created = await vendor('POST', '/v1/submissions', {
    model: { name: 'frontier-9', version: '9.0.0', versionHash: 'sha256:' + 'ef'.repeat(32) },
    plannedReleaseAt: planned,
    accessMethod: 'API',
    contacts: [{ name: 'Pat Vendor', email: 'pat@vendor.example' }],
    requestedAgencies: ['nsa', 'cisa'],
  });
  expect(created.status).toBe(201);
  const sid = String(created.json.submissionId);
  await eventually(
    'the submission under assessment',
    async () => ((await vendor('GET', `/v1/submissions/${sid}`)).json.status === 'UNDER_ASSESSMENT' ? true : undefined),
    120_000,
  );
  for (const agencyId of ['nsa', 'cisa']) {
    await command(agencyId, sid, 'gov.preflight.assessment.accept.v1', {});
    await command(agencyId, sid, 'gov.preflight.assessment.start.v1', {});
  }
  await eventually('nsa and cisa in progress', async () =>
    (await agencyStatus(sid, 'nsa')) === 'IN_PROGRESS' && (await agencyStatus(sid, 'cisa')) === 'IN_PROGRESS' ? true : undefined,
  );

  // nsa reports a third-party vulnerability in the critical-infrastructure domain and completes right away.
  const product = `Grid Gateway ${unique('p')}`;
  await command('nsa', sid, 'gov.preflight.finding.submit.v1', thirdPartyFinding(product, 'critical-infrastructure'));
  await command('nsa', sid, 'gov.preflight.assessment.complete.v1', {});
  await eventually('nsa FINDINGS_SUBMITTED', async () => ((await agencyStatus(sid, 'nsa')) === 'FINDINGS_SUBMITTED' ? true : undefined));

  // The assessment ends only once the report settled: when it no longer runs, the case id is on the finding.
  const nsaFinding = await eventually(
    "nsa's assessment ended with its finding routed",
    async () => {
      const detail = await asAgency('nsa', `/v1/agency/assessments/${sid}`);
      if (detail.json.running !== false) return undefined;
      const f = await asAgency('nsa', `/v1/agency/assessments/${sid}/findings/nsa-f1`);
      return f.json;
    },
    120_000,
  );
  expect(nsaFinding.caseRouting).toMatchObject({ status: 'ROUTED', outcome: 'OPENED', caseId: expect.stringMatching(/^case\/[0-9a-f]{32}$/) });
  const caseId = String((nsaFinding.caseRouting as { caseId: string }).caseId);
  const fingerprint = caseId.slice('case/'.length);

  // Domain routing: cisa's registry domain matches and it is offered the case in its own inbox; treasury's does not.
  const offer = await eventually(
    "the offer in cisa's inbox",
    () => cisaInbox.find((r) => r.headers.ce_type === AGENCY_INBOX_EVENT_TYPES.caseOffered && r.headers.ce_subject === caseId),
    120_000,
  );
  expect(JSON.parse(offer.message.value!.toString())).toMatchObject({ caseId, agencyId: 'cisa', domain: 'critical-infrastructure', state: 'OPEN' });
  const opsCase = await ops(`/ops/cases/${fingerprint}`);
  expect(opsCase.status).toBe(200);
  expect(opsCase.json).toMatchObject({ domains: ['critical-infrastructure'], reporters: ['nsa'], embargoUntil: planned, embargoActive: true });
  expect((opsCase.json.offeredTo as Array<{ agencyId: string }>).map((o) => o.agencyId)).toEqual(['cisa']);
  // The offers leave one case outbox in order: had treasury been offered, its event would be out by now.
  expect(treasuryInbox.filter((r) => r.headers.ce_subject === caseId)).toEqual([]);
  // The vendor's finding view does not name the case; ops's does.
  expect((await vendor('GET', `/v1/submissions/${sid}/findings/nsa-f1`)).json.caseRouting).toBeUndefined();
  expect((await ops(`/v1/submissions/${sid}/findings/nsa-f1`)).json.caseRouting).toMatchObject({ status: 'ROUTED', caseId });

  // cisa reports the same weakness: the case holds its one report, so the report is refused, visibly.
  await command('cisa', sid, 'gov.preflight.finding.submit.v1', thirdPartyFinding(product, 'critical-infrastructure'));
  const refused = await eventually(
    "cisa's refused report on its finding",
    async () => {
      const f = await asAgency('cisa', `/v1/agency/assessments/${sid}/findings/cisa-f1`);
      const routing = f.json.caseRouting as { status?: string } | undefined;
      return routing && routing.status !== 'PENDING' ? routing : undefined;
    },
    120_000,
  );
  expect(refused).toMatchObject({ status: 'FAILED', failureType: 'CaseTooManyReports', reason: expect.stringMatching(/maximum number of reports/) });
  const timeline = await ops(`/ops/submissions/${sid}/timeline`);
  const kinds = (timeline.json.entries as Array<{ kind: string; refs?: Record<string, string> }>).filter(
    (e) => e.kind.startsWith('case-routing') || e.kind === 'case-routed',
  );
  expect(kinds.map((e) => [e.kind, e.refs?.findingId])).toEqual([
    ['case-routed', 'nsa-f1'],
    ['case-routing-failed', 'cisa-f1'],
  ]);

  // The vendor postpones the release: the case's embargo moves with it, pushed by the submission.
  const later = new Date(Date.now() + 25 * DAY).toISOString();
  expect((await vendor('POST', `/v1/submissions/${sid}/release-date`, { plannedReleaseAt: later })).status).toBe(200);
  await eventually(
    'the embargo moved to the new date',
    async () => ((await ops(`/ops/cases/${fingerprint}`)).json.embargoUntil === later ? true : undefined),
    120_000,
  );

  // The vendor declares the release: the embargo lifts then, not at the planned date.
  const released = await vendor('POST', `/v1/submissions/${sid}/release`, {});
  expect(released.status).toBe(200);
  const lifted = await eventually(
    'the embargo lifted at the declared release',
    async () => {
      const view = (await ops(`/ops/cases/${fingerprint}`)).json;
      return view.embargoActive === false ? view : undefined;
    },
    120_000,
  );
  const releasedAt = String(((released.json.result ?? released.json) as { releasedAt?: string }).releasedAt);
  expect(lifted.embargoUntil).toBe(releasedAt);
  expect(Date.parse(String(lifted.embargoUntil))).toBeLessThan(Date.parse(later));
});
