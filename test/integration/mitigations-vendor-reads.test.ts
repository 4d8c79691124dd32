/**
 * Verified mitigations and the vendor's reads, each party through its own interface: the vendor with its vendor key
 * on the HTTP API, each agency with its signing key on Kafka (signed commands in, its own reply topic out), the real
 * worker, ingress and api against the test stack.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { sendAgencyCommand } from '../../events/agency-client';
import { buildAgencyRegistry, DEFAULT_AGENCY_REGISTRY } from '../../events/agency-registry';
import { agencyInboxTopic } from '../../events/topics';
import { createKafka } from '../../events/kafka';
import { generateAgencyKeyPair, importPrivateKey } from '../../events/signing';
import { REPLY_TYPES } from '../../events/catalog';
import { createLogger } from '../../infra/logger';
import type { SubmissionView } from '../../wire/submission';
import { runIngress } from '../../workers/ingress/index';
import { startWorker } from '../../workers/worker';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { collect, eventually as until, startGroupAtEnd } from '../helpers/agency-events';
import { testConfig, testStack, unique } from '../helpers/stack-env';

const logger = createLogger({ level: 'warn' });
const VENDOR_KEY = 'pfv_mitig_' + 'm'.repeat(40);
const OTHER_VENDOR_KEY = 'pfv_other_' + 'n'.repeat(40);
const VENDOR = unique('mitig-vendor');
const OTHER_VENDOR = unique('other-vendor');
const AGENCIES = ['nsa', 'cisa'];

describe('verified mitigations and vendor reads through the real ingress and api', () => {
  let api: TestApi;
  let kafka: Kafka;
  let producer: Producer;
  const stops: Array<() => Promise<void>> = [];
  const keys: Record<string, KeyObject> = {};
  const replies: Record<string, Awaited<ReturnType<typeof collect>>> = {};
  let submissionId = '';

  const call = async (method: string, url: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await fetch(api.url + url, {
      method,
      headers: {
        ...(options.headers ?? {}),
        authorization: `Bearer ${options.token ?? VENDOR_KEY}`,
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON
    }
    return { status: res.status, json, replayed: res.headers.get('idempotent-replayed'), location: res.headers.get('location') };
  };
  const state = async () => (await call('GET', `/v1/submissions/${submissionId}`)).json as unknown as SubmissionView;
  const agencyStatus = async (agencyId: string) => (await state()).agencies.find((a) => a.agencyId === agencyId)?.status;

  /** Sends a signed command as the agency and waits for the reply on the agency's own reply topic. */
  async function agency(agencyId: string, type: string, data: Record<string, unknown>) {
    const sent = await sendAgencyCommand(producer, { agencyId, type, subject: submissionId, data }, keys[agencyId]!);
    const reply = await until(`the reply to ${type} from ${agencyId}`, () =>
      replies[agencyId]!.messages.find((m) => m.headers.ce_id === `${agencyId}/${sent.id}/reply`),
    );
    return { type: reply.headers.ce_type, body: JSON.parse(reply.value!.toString('utf8')) as Record<string, unknown> };
  }

  beforeAll(async () => {
    const config = testConfig({
      PREFLIGHT_TASK_QUEUE: unique('mitigations'),
      PREFLIGHT_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'mitigations-it-')),
      PREFLIGHT_WEBHOOK_ALLOWLIST: '127.0.0.1/32',
    });
    const stack = testStack();
    const endpoints = { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers };
    const publicKeys: Record<string, string> = {};
    for (const id of AGENCIES) {
      const pair = generateAgencyKeyPair();
      keys[id] = importPrivateKey(pair.privateKeyPem);
      publicKeys[id] = pair.publicKey;
    }
    const registry = buildAgencyRegistry({
      version: 1,
      agencies: DEFAULT_AGENCY_REGISTRY.agencies.map((a) => (publicKeys[a.id] ? { ...a, publicKeys: [publicKeys[a.id]!] } : a)),
    });
    kafka = createKafka(config.kafka, logger, stack.kafkaBrokers, 'mitigations-it');
    producer = kafka.producer();
    await producer.connect();
    for (const id of AGENCIES) replies[id] = await collect(kafka, agencyInboxTopic(id));
    const groupId = unique('mitigations-ingress');
    await startGroupAtEnd(kafka, groupId);
    const worker = await startWorker(config, logger, endpoints);
    stops.push(() => worker.stop());
    const ingress = await runIngress(config, logger, { registry, groupId, ...endpoints });
    stops.push(() => ingress.stop());
    api = await startTestApi(config, logger, { vendorKeys: { [VENDOR_KEY]: VENDOR, [OTHER_VENDOR_KEY]: OTHER_VENDOR }, opsTokens: {} });
    stops.push(() => api.stop());
  });

  afterAll(async () => {
    await producer?.disconnect();
    for (const r of Object.values(replies)) await r.stop().catch(() => undefined);
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  it('a MITIGATED claim counts only once the reporting agency confirms it with a signed command; the vendor reads findings and questions', async () => {
    const created = await call('POST', '/v1/submissions', {
      body: {
        model: { name: 'frontier-9', version: '9.0.0', versionHash: 'sha256:' + 'ef'.repeat(32) },
        plannedReleaseAt: new Date(Date.now() + 20 * 24 * 3600_000).toISOString(),
        accessMethod: 'API',
        contacts: [{ name: 'Pat Vendor', email: 'pat@vendor.example' }],
        requestedAgencies: AGENCIES,
      },
    });
    expect(created.status).toBe(201);
    submissionId = String(created.json.submissionId);
    await until('assessment to start', async () => ((await state()).status === 'UNDER_ASSESSMENT' ? true : undefined), 120_000);

    for (const a of AGENCIES) {
      expect((await agency(a, 'gov.preflight.assessment.accept.v1', {})).type).toBe(REPLY_TYPES.accepted);
      expect((await agency(a, 'gov.preflight.assessment.start.v1', {})).type).toBe(REPLY_TYPES.accepted);
    }
    const asked = await agency('nsa', 'gov.preflight.assessment.request-info.v1', { question: 'QUESTION: which filters run in the API tier?' });
    const requestId = String((asked.body.result as Record<string, unknown>).requestId);

    // The vendor reads the question it answers, then answers it.
    const requests = await call('GET', `/v1/submissions/${submissionId}/info-requests`);
    expect(requests.status).toBe(200);
    expect(requests.json.items).toEqual([expect.objectContaining({ requestId, agencyId: 'nsa' })]);
    const question = await call('GET', `/v1/submissions/${submissionId}/info-requests/${requestId}`);
    expect(question.status).toBe(200);
    expect(question.json).toMatchObject({ requestId, agencyId: 'nsa', question: 'QUESTION: which filters run in the API tier?' });
    expect(question.json.response).toBeUndefined();
    expect((await call('POST', `/v1/submissions/${submissionId}/info-requests/${requestId}/response`, { body: { response: 'Classifier v3.' } })).status).toBe(
      200,
    );
    expect((await call('GET', `/v1/submissions/${submissionId}/info-requests/${requestId}`)).json).toMatchObject({ response: 'Classifier v3.' });
    await until('nsa back in progress', async () => ((await agencyStatus('nsa')) === 'IN_PROGRESS' ? true : undefined));

    const submitted = await agency('nsa', 'gov.preflight.finding.submit.v1', {
      finding: {
        severity: 'HIGH',
        domain: 'offensive-cyber',
        title: 'Exploit chain assistance',
        detail: 'SENSITIVE-DETAIL',
        modelVersionTested: '9.0.0',
        recommendedMitigation: 'Tighten refusals.',
        thirdPartyVulnerability: false,
      },
    });
    const findingId = String((submitted.body.result as Record<string, unknown>).findingId);
    for (const a of AGENCIES) expect((await agency(a, 'gov.preflight.assessment.complete.v1', {})).type).toBe(REPLY_TYPES.accepted);
    const issued = await until('the clearance notice', async () => {
      const s = await state();
      return s.status === 'CLEARANCE_ISSUED' ? s : undefined;
    });
    expect(issued).toMatchObject({ notice: 'CONCERNS_NOTED', mitigationsAwaitingConfirmation: [] });

    // The vendor lists its findings (paged) and claims a mitigation.
    const list = await call('GET', `/v1/submissions/${submissionId}/findings?pageSize=1`);
    expect(list.status).toBe(200);
    expect(list.json.items).toEqual([
      expect.objectContaining({ findingId, agencyId: 'nsa', severity: 'HIGH', title: 'Exploit chain assistance', thirdPartyVulnerability: false }),
    ]);
    expect(list.json.nextPageToken).toBeUndefined();
    expect((await call('GET', `/v1/submissions/${submissionId}/findings?nextPageToken=bogus`)).status).toBe(422);
    const claimed = await call('POST', `/v1/submissions/${submissionId}/findings/${findingId}/response`, {
      body: { response: 'MITIGATED', note: 'Refusal policy retrained.' },
    });
    expect(claimed.status).toBe(200);
    expect(await state()).toMatchObject({ notice: 'CONCERNS_NOTED', mitigationsAwaitingConfirmation: [findingId] });
    const awaiting = await call('GET', `/v1/submissions/${submissionId}/findings`);
    expect(awaiting.json.items).toEqual([
      expect.objectContaining({ findingId, response: 'MITIGATED', note: 'Refusal policy retrained.', mitigation: 'AWAITING_CONFIRMATION' }),
    ]);

    // Another agency cannot confirm it: refused with wrong-agency, and nothing changes.
    const foreign = await agency('cisa', 'gov.preflight.finding.confirm-mitigation.v1', { findingId });
    expect(foreign.type).toBe(REPLY_TYPES.rejected);
    expect(foreign.body).toMatchObject({ code: 'wrong-agency' });
    expect(await state()).toMatchObject({ notice: 'CONCERNS_NOTED', mitigationsAwaitingConfirmation: [findingId] });

    // The reporting agency confirms: the notice becomes CLEAR.
    const confirmed = await agency('nsa', 'gov.preflight.finding.confirm-mitigation.v1', { findingId, note: 'Re-tested: refused.' });
    expect(confirmed).toMatchObject({ type: REPLY_TYPES.accepted, body: { result: { findingId, mitigation: 'CONFIRMED', notice: 'CLEAR' } } });
    expect(await state()).toMatchObject({ notice: 'CLEAR', mitigationsAwaitingConfirmation: [] });
    const detail = await call('GET', `/v1/submissions/${submissionId}/findings/${findingId}`);
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({
      findingId,
      detail: 'SENSITIVE-DETAIL',
      response: 'MITIGATED',
      note: 'Refusal policy retrained.',
      mitigation: 'CONFIRMED',
      mitigationReviewNote: 'Re-tested: refused.',
    });

    // Another vendor sees none of it.
    for (const url of [
      `/v1/submissions/${submissionId}/findings`,
      `/v1/submissions/${submissionId}/findings/${findingId}`,
      `/v1/submissions/${submissionId}/info-requests`,
      `/v1/submissions/${submissionId}/info-requests/${requestId}`,
    ]) {
      const r = await call('GET', url, { token: OTHER_VENDOR_KEY });
      expect([url, r.status, r.json.code]).toEqual([url, 404, 'not-found']);
    }
    expect((await call('GET', `/v1/submissions/${submissionId}/info-requests/nsa-ir-99`)).status).toBe(404);
  });

  it('Idempotency-Key: a repeated endpoint registration creates one endpoint; the same key with another body is refused', async () => {
    const body = { url: 'http://127.0.0.1:9/hooks', description: 'idempotent' };
    const headers = { 'idempotency-key': 'register-endpoint-1' };
    const first = await call('POST', '/v1/webhook-endpoints', { body, headers });
    const retry = await call('POST', '/v1/webhook-endpoints', { body, headers });
    expect([first.status, retry.status]).toEqual([201, 201]);
    expect([first.replayed, retry.replayed]).toEqual([null, 'true']);
    expect(retry.json).toEqual(first.json);
    expect(retry.location).toBe(first.location);
    expect(String(first.json.secret)).toMatch(/^whsec_/);
    const listed = await call('GET', '/v1/webhook-endpoints');
    expect((listed.json.items as Array<{ description?: string }>).filter((e) => e.description === 'idempotent')).toHaveLength(1);

    const other = await call('POST', '/v1/webhook-endpoints', { body: { ...body, description: 'another' }, headers });
    expect([other.status, other.json.code]).toEqual([422, 'idempotency-key-reused']);
    // Keys are per vendor: the other vendor's request with the same key is its own.
    const theirs = await call('POST', '/v1/webhook-endpoints', { body: { ...body, description: 'another' }, headers, token: OTHER_VENDOR_KEY });
    expect([theirs.status, theirs.replayed]).toEqual([201, null]);
    expect((await call('GET', `/v1/webhook-endpoints/${String(first.json.id)}`, { token: OTHER_VENDOR_KEY })).status).toBe(404);

    // A secret rotation retried with its key rotates once.
    const rotate = () => call('POST', `/v1/webhook-endpoints/${String(first.json.id)}/rotate-secret`, { body: {}, headers: { 'idempotency-key': 'rotate-1' } });
    const r1 = await rotate();
    const r2 = await rotate();
    expect([r1.status, r2.status, r2.replayed]).toEqual([200, 200, 'true']);
    expect(r2.json).toEqual(r1.json);
    expect((await call('GET', `/v1/webhook-endpoints/${String(first.json.id)}`)).json.secretVersion).toBe(2);
  });
});
