import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Command } from 'commander';
import { createSigner, httpbis } from 'http-message-signatures';
import type { Kafka, Producer } from 'kafkajs';
import { sendAgencyCommand } from '../../events/agency-client';
import { agencyKafka, readAgencyKafkaLogin } from '../../events/agency-login';
import { tailTopic } from '../../events/consumer';
import { headersToStrings } from '../../events/envelope';
import { agencyInboxTopic } from '../../events/topics';
import { agencyKafkaLoginFile } from '../../stack/dev-credentials';
import { createKafka } from '../../events/kafka';
import type { Config } from '../../infra/config';
import { signRequest } from '../../infra/http-signatures';
import { createLogger } from '../../infra/logger';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import type { SubmissionView } from '../../wire/submission';
import { submissionWorkflowId } from '../../workflows/submission/contract';
import { registerAgencyCommands } from '../../workers/cli/agency';
import { runIngress } from '../../workers/ingress/index';
import { startWorker } from '../../workers/worker';
import { agencyKeys, eventually as until, startGroupAtEnd } from '../helpers/agency-events';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { testConfig, testStack, unique } from '../helpers/stack-env';

jest.setTimeout(300_000);

const logger = createLogger({ level: 'error' });
const VENDOR_KEY = 'pfv_agencyapi_' + crypto.randomBytes(24).toString('base64url');
const VENDOR = unique('agencyapi-vendor');
const AGENCIES = ['nsa', 'cisa', 'dod'] as const;
/** Every agency of the registry: the pairwise refusals cover each against each. */
const EVERY_AGENCY = ['nsa', 'cisa', 'dod', 'treasury', 'nist', 'dhs'] as const;
type AgencyId = (typeof EVERY_AGENCY)[number];

interface Answer {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
}

describe('agency API: signed reads, per-agency access tokens, object-level authorization', () => {
  let config: Config;
  let api: TestApi;
  let client: Client;
  let kafka: Kafka;
  let producer: Producer;
  let keys: Record<string, KeyObject>;
  let keyFiles: Record<string, string>;
  const stops: Array<() => Promise<void>> = [];
  /** The shared submission (all three agencies) and one submission per agency (only that agency invited). */
  let shared = '';
  const solo: Record<string, string> = {};

  async function http(method: string, url: string, headers: Record<string, string>, body?: string): Promise<Answer> {
    const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON
    }
    return { status: res.status, json, headers: res.headers };
  }

  /** A GET signed by an agency with its own private key (through Preflight's signing helper). */
  async function signedHeaders(agencyId: string, url: string, overrides: { key?: KeyObject; created?: Date } = {}): Promise<Record<string, string>> {
    return signRequest({
      method: 'GET',
      url,
      keyId: agencyId,
      privateKey: overrides.key ?? keys[agencyId]!,
      ...(overrides.created ? { created: overrides.created } : {}),
    });
  }
  async function asAgency(agencyId: string, route: string): Promise<Answer> {
    const url = api.url + route;
    return http('GET', url, await signedHeaders(agencyId, url));
  }
  const vendor = (method: string, route: string, body?: unknown) =>
    http(
      method,
      api.url + route,
      { authorization: `Bearer ${VENDOR_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body !== undefined ? JSON.stringify(body) : undefined,
    );
  const verify = async (token: string) => (await vendor('POST', '/v1/access/verify', { token })).json;
  const view = async (submissionId: string) => (await vendor('GET', `/v1/submissions/${submissionId}`)).json as unknown as SubmissionView;
  const command = (agencyId: string, submissionId: string, type: string, data: Record<string, unknown>) =>
    sendAgencyCommand(producer, { agencyId, type, subject: submissionId, data }, keys[agencyId]!);
  const agencyStatus = async (submissionId: string, agencyId: string) => (await view(submissionId)).agencies.find((a) => a.agencyId === agencyId)?.status;

  async function submit(requestedAgencies: string[]): Promise<string> {
    const created = await vendor('POST', '/v1/submissions', {
      model: { name: 'frontier-9', version: '9.0.0', versionHash: 'sha256:' + 'ef'.repeat(32) },
      plannedReleaseAt: new Date(Date.now() + 20 * 24 * 3600_000).toISOString(),
      accessMethod: 'API',
      contacts: [{ name: 'Pat Vendor', email: 'pat@vendor.example' }],
      requestedAgencies,
    });
    expect(created.status).toBe(201);
    return String(created.json.submissionId);
  }

  beforeAll(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agency-api-'));
    config = testConfig({ PREFLIGHT_TASK_QUEUE: unique('agency-api'), PREFLIGHT_DATA_DIR: dataDir, PREFLIGHT_API_TEMPORAL_TIMEOUT_MS: '10000' });
    const stack = testStack();
    const agencies = agencyKeys([...EVERY_AGENCY]);
    keys = agencies.keys;
    keyFiles = {};
    for (const id of EVERY_AGENCY) {
      keyFiles[id] = path.join(dataDir, `${id}.key.pem`);
      fs.writeFileSync(keyFiles[id]!, keys[id]!.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    }
    kafka = createKafka(config.kafka, logger, stack.kafkaBrokers, 'agency-api-test');
    producer = kafka.producer();
    await producer.connect();
    const groupId = unique('agency-api-ingress');
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
    api = await startTestApi(config, logger, { vendorKeys: { [VENDOR_KEY]: VENDOR }, opsTokens: {}, agencyRegistry: agencies.registry });
    stops.push(() => api.stop());
    client = await connectClient(config.temporal, stack.temporalAddress, deploymentDataConverter(config));
    stops.push(() => client.connection.close());

    shared = await submit([...AGENCIES]);
    for (const id of EVERY_AGENCY) solo[id] = await submit([id]);
    for (const s of [shared, ...Object.values(solo)]) {
      await until(`${s} under assessment`, async () => ((await view(s)).status === 'UNDER_ASSESSMENT' ? true : undefined), 120_000);
    }
  });

  afterAll(async () => {
    await producer?.disconnect();
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  it('an agency fetches its own token with a signed request; the vendor verifies it; ending its assessment revokes it', async () => {
    // Listed (visibility is eventually consistent) and readable: status, clock, deadline, the facts it may know.
    await until('nsa lists the shared assessment', async () => {
      const list = await asAgency('nsa', '/v1/agency/assessments');
      return (list.json.items as Array<{ submissionId: string }> | undefined)?.some((i) => i.submissionId === shared) ? true : undefined;
    });
    const detail = await asAgency('nsa', `/v1/agency/assessments/${shared}`);
    expect(detail.status).toBe(200);
    const submission = await view(shared);
    expect(detail.json).toMatchObject({
      submissionId: shared,
      agencyId: 'nsa',
      status: 'INVITED',
      running: true,
      deadline: submission.window!.closesAt,
      clock: { agencyId: 'nsa', onHold: false },
      submission: { model: { name: 'frontier-9', version: '9.0.0' }, window: submission.window, domains: ['offensive-cyber'] },
    });
    expect(JSON.stringify(detail.json)).not.toContain('pat@vendor.example');

    // Each agency gets its own grant's token; the vendor's gateway verifies each with the vendor key.
    const tokens: Record<string, string> = {};
    for (const id of AGENCIES) {
      const t = await asAgency(id, `/v1/agency/assessments/${shared}/access-token`);
      expect(t.status).toBe(200);
      expect(t.headers.get('cache-control')).toBe('no-store');
      const grant = submission.activeGrants.find((g) => g.agencyId === id)!;
      expect(t.json).toMatchObject({
        submissionId: shared,
        agencyId: id,
        grantId: grant.grantId,
        tokenType: 'Bearer',
        scope: 'model:evaluate',
        expiresAt: grant.expiresAt,
      });
      tokens[id] = String(t.json.token);
      await expect(verify(tokens[id]!)).resolves.toMatchObject({ valid: true, agencyId: id, submissionId: shared, grantId: grant.grantId });
    }
    expect(new Set(Object.values(tokens)).size).toBe(3);

    // nsa asks a question; the vendor answers; nsa reads the answer.
    await command('nsa', shared, 'gov.preflight.assessment.accept.v1', {});
    await until('nsa accepted', async () => ((await agencyStatus(shared, 'nsa')) === 'ACCEPTED' ? true : undefined));
    await command('nsa', shared, 'gov.preflight.assessment.start.v1', {});
    await until('nsa in progress', async () => ((await agencyStatus(shared, 'nsa')) === 'IN_PROGRESS' ? true : undefined));
    await command('nsa', shared, 'gov.preflight.assessment.request-info.v1', { question: 'Which safety filters run in the API tier?' });
    const requestId = await until('the information request', async () => (await view(shared)).openInfoRequests[0]?.requestId);
    const answer = 'Classifier stack v3 runs on every request.';
    expect((await vendor('POST', `/v1/submissions/${shared}/info-requests/${requestId}/response`, { response: answer })).status).toBe(200);
    const answered = await until('nsa reads the answer', async () => {
      const r = await asAgency('nsa', `/v1/agency/assessments/${shared}/info-requests/${requestId}`);
      return r.json.response ? r : undefined;
    });
    expect(answered.json).toMatchObject({
      requestId,
      question: 'Which safety filters run in the API tier?',
      response: answer,
      respondedAt: expect.any(String),
    });
    const requests = await asAgency('nsa', `/v1/agency/assessments/${shared}/info-requests`);
    expect(requests.json.items).toEqual([answered.json]);

    // nsa reports a finding; the vendor responds with a note; nsa reads both.
    await until('nsa back in progress', async () => ((await agencyStatus(shared, 'nsa')) === 'IN_PROGRESS' ? true : undefined));
    await command('nsa', shared, 'gov.preflight.finding.submit.v1', {
      finding: {
        severity: 'HIGH',
        domain: 'offensive-cyber',
        title: 'Exploit chain assistance',
        detail: 'Step-by-step exploit development for a known CVE class.',
        modelVersionTested: '9.0.0',
        recommendedMitigation: 'Tighten the refusal policy.',
        thirdPartyVulnerability: false,
      },
    });
    const findingId = await until('the finding', async () => {
      const f = await asAgency('nsa', `/v1/agency/assessments/${shared}/findings`);
      return (f.json.items as Array<{ findingId: string }> | undefined)?.[0]?.findingId;
    });
    expect(
      (await vendor('POST', `/v1/submissions/${shared}/findings/${findingId}/response`, { response: 'MITIGATED', note: 'Policy v4 deployed.' })).status,
    ).toBe(200);
    const finding = await asAgency('nsa', `/v1/agency/assessments/${shared}/findings/${findingId}`);
    expect(finding.json).toMatchObject({
      findingId,
      agencyId: 'nsa',
      severity: 'HIGH',
      title: 'Exploit chain assistance',
      vendorResponse: { response: 'MITIGATED', note: 'Policy v4 deployed.', respondedAt: expect.any(String) },
    });

    // cisa declines: its token is revoked at once while the others keep theirs.
    await command('cisa', shared, 'gov.preflight.assessment.decline.v1', { reason: 'out of scope' });
    await until('cisa token revoked', async () => ((await verify(tokens.cisa!)).reason === 'revoked' ? true : undefined));
    expect(await verify(tokens.nsa!)).toMatchObject({ valid: true });
    expect(await verify(tokens.dod!)).toMatchObject({ valid: true });
    const gone = await asAgency('cisa', `/v1/agency/assessments/${shared}/access-token`);
    expect([gone.status, gone.json.code]).toEqual([409, 'no-live-grant']);
    // The declined assessment stays readable to cisa.
    await until('cisa sees DECLINED', async () => ((await asAgency('cisa', `/v1/agency/assessments/${shared}`)).json.status === 'DECLINED' ? true : undefined));

    // nsa completes: revoked too; dod still assesses, so the submission runs on.
    await command('nsa', shared, 'gov.preflight.assessment.complete.v1', {});
    await until('nsa token revoked', async () => ((await verify(tokens.nsa!)).reason === 'revoked' ? true : undefined));
    expect(await verify(tokens.dod!)).toMatchObject({ valid: true });
    const s = await view(shared);
    expect(s.status).toBe('UNDER_ASSESSMENT');
    expect(s.activeGrants.map((g) => g.agencyId)).toEqual(['dod']);

    // The vendor moves the release earlier: the window moves, dod gets a new grant and token, the old one is revoked.
    const moved = await vendor('POST', `/v1/submissions/${shared}/release-date`, { plannedReleaseAt: new Date(Date.now() + 15 * 24 * 3600_000).toISOString() });
    expect(moved.status).toBe(200);
    const renewed = await until('a new dod grant after the window moved', async () => {
      const t = await asAgency('dod', `/v1/agency/assessments/${shared}/access-token`);
      return t.status === 200 && t.json.token !== tokens.dod ? t : undefined;
    });
    expect(renewed.json.expiresAt).toBe((moved.json.result as { windowClosesAt: string }).windowClosesAt);
    const checked = await verify(String(renewed.json.token));
    expect(checked).toMatchObject({ valid: true, agencyId: 'dod', grantId: renewed.json.grantId });
    // Tokens carry whole seconds.
    expect(Date.parse(String(renewed.json.expiresAt)) - Date.parse(String(checked.expiresAt))).toBeLessThan(1000);
    await until('the old dod token revoked', async () => ((await verify(tokens.dod!)).reason === 'revoked' ? true : undefined));
    await until('the deadline dod reads follows the window', async () =>
      (await asAgency('dod', `/v1/agency/assessments/${shared}`)).json.deadline === renewed.json.expiresAt ? true : undefined,
    );
  });

  it('pairwise: every agency × every other agency’s assessment, objects and token is 404 and audited', async () => {
    // Objects to aim at: each solo assessment gets a question, so ids like `<agency>-ir-1` exist.
    for (const id of EVERY_AGENCY) {
      await command(id, solo[id]!, 'gov.preflight.assessment.accept.v1', {});
      await until(`${id} accepted its own`, async () => ((await agencyStatus(solo[id]!, id)) === 'ACCEPTED' ? true : undefined));
      await command(id, solo[id]!, 'gov.preflight.assessment.start.v1', {});
      await until(`${id} started its own`, async () => ((await agencyStatus(solo[id]!, id)) === 'IN_PROGRESS' ? true : undefined));
      await command(id, solo[id]!, 'gov.preflight.assessment.request-info.v1', { question: `Question of ${id}` });
      await until(`${id} asked`, async () => ((await agencyStatus(solo[id]!, id)) === 'INFO_REQUESTED' ? true : undefined));
    }
    const refused: Array<{ caller: string; path: string }> = [];
    for (const caller of EVERY_AGENCY) {
      const listed = await asAgency(caller, '/v1/agency/assessments');
      expect(listed.status).toBe(200);
      const ids = (listed.json.items as Array<{ submissionId: string }>).map((i) => i.submissionId);
      for (const owner of EVERY_AGENCY) {
        const sid = solo[owner]!;
        const routes = [
          `/v1/agency/assessments/${sid}`,
          `/v1/agency/assessments/${sid}/info-requests`,
          `/v1/agency/assessments/${sid}/info-requests/${owner}-ir-1`,
          `/v1/agency/assessments/${sid}/findings`,
          `/v1/agency/assessments/${sid}/access-token`,
        ];
        if (owner === caller) {
          expect(ids).toContain(sid);
          for (const route of routes) expect((await asAgency(caller, route)).status).toBe(200);
          continue;
        }
        expect(ids).not.toContain(sid);
        for (const route of routes) {
          const r = await asAgency(caller, route);
          expect({ route, caller, status: r.status, code: r.json.code }).toEqual({ route, caller, status: 404, code: 'not-found' });
          refused.push({ caller, path: route });
        }
        // The other agency's objects in a submission both take part in are not reachable through one's own assessment.
        const inShared = await asAgency(caller, `/v1/agency/assessments/${shared}/info-requests/${owner}-ir-1`);
        expect(inShared.status).toBe(404);
        refused.push({ caller, path: `/v1/agency/assessments/${shared}/info-requests/${owner}-ir-1` });
      }
      // A submission id that does not exist answers exactly the same.
      const unknown = await asAgency(caller, '/v1/agency/assessments/sub-000000000000000000000000');
      expect([unknown.status, unknown.json.code]).toEqual([404, 'not-found']);
    }
    expect(refused.length).toBe(EVERY_AGENCY.length * (EVERY_AGENCY.length - 1) * 6);
    const audit = (await api.ctx.audit.query({ actor: 'agency' }, { pageSize: 1000 })).items;
    for (const r of refused) {
      expect(audit).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ actor: { kind: 'agency', id: r.caller }, target: r.path, status: 404, outcome: 'refused', reason: 'not-found' }),
        ]),
      );
    }
  });

  it('refuses a forged, a stale, a replayed and an unknown-key request with 401 and audits each', async () => {
    const route = `/v1/agency/assessments/${solo.nsa}`;
    const url = api.url + route;
    // Signed with the library directly (not Preflight's helper): the server verifies an independent signer's output.
    const signed = await httpbis.signMessage(
      {
        key: createSigner(keys.nsa!, 'ed25519', 'nsa'),
        name: 'sig1',
        fields: ['@method', '@target-uri'],
        params: ['created', 'keyid', 'alg', 'nonce'],
        paramValues: { nonce: crypto.randomBytes(16).toString('hex') },
      },
      { method: 'GET', url, headers: {} },
    );
    const headers = signed.headers as Record<string, string>;
    const first = await http('GET', url, headers);
    expect([first.status, first.json.agencyId]).toEqual([200, 'nsa']);
    const replayed = await http('GET', url, headers);
    expect([replayed.status, replayed.json.code]).toEqual([401, 'replayed-nonce']);
    expect(replayed.headers.get('accept-signature')).toContain('"@target-uri"');

    const forged = await http('GET', url, await signedHeaders('nsa', url, { key: keys.cisa! }));
    expect([forged.status, forged.json.code]).toEqual([401, 'bad-signature']);
    const stale = await http('GET', url, await signedHeaders('nsa', url, { created: new Date(Date.now() - 10 * 60_000) }));
    expect([stale.status, stale.json.code]).toEqual([401, 'stale-signature']);
    const unknown = await http('GET', url, await signRequest({ method: 'GET', url, keyId: 'nasa', privateKey: keys.nsa! }));
    expect([unknown.status, unknown.json.code]).toEqual([401, 'unknown-key']);
    // Signed for one path, sent to another.
    const moved = await http('GET', `${api.url}/v1/agency/assessments`, await signedHeaders('nsa', url));
    expect([moved.status, moved.json.code]).toEqual([401, 'bad-signature']);
    const unsigned = await http('GET', url, {});
    expect([unsigned.status, unsigned.json.code]).toEqual([401, 'unsigned']);
    const bearer = await http('GET', url, { authorization: `Bearer ${VENDOR_KEY}` });
    expect([bearer.status, bearer.json.code]).toEqual([401, 'unsigned']);

    const audit = (await api.ctx.audit.query({ outcome: 'refused' }, { pageSize: 1000 })).items.filter(
      (e) => e.target === route || e.target === '/v1/agency/assessments',
    );
    for (const reason of ['replayed-nonce', 'bad-signature', 'stale-signature', 'unknown-key', 'unsigned']) {
      expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ status: 401, reason })]));
    }
    expect(audit.filter((e) => e.status === 401 && e.reason !== 'unsigned').every((e) => e.actor.kind === 'unknown-credential')).toBe(true);
  });

  it('preflight agency assessments and token sign with the agency key file only', async () => {
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      const program = new Command('preflight').exitOverride();
      registerAgencyCommands(program);
      await program.parseAsync(['node', 'preflight', 'agency', 'assessments', '--agency', 'dod', '--key', keyFiles.dod!, '--api', api.url, '--json']);
      const list = JSON.parse(out.join('')) as { items: Array<{ submissionId: string }> };
      expect(list.items.map((i) => i.submissionId)).toEqual(expect.arrayContaining([shared, solo.dod]));
      expect(list.items.map((i) => i.submissionId)).not.toContain(solo.nsa);
      out.length = 0;
      await program.parseAsync([
        'node',
        'preflight',
        'agency',
        'token',
        '--agency',
        'dod',
        '--submission',
        shared,
        '--key',
        keyFiles.dod!,
        '--api',
        api.url,
        '--json',
      ]);
      const token = JSON.parse(out.join('')) as { token: string; agencyId: string };
      expect(token.agencyId).toBe('dod');
      await expect(verify(token.token)).resolves.toMatchObject({ valid: true, agencyId: 'dod' });
      // Another agency's key file signing as dod is refused.
      await expect(
        program.parseAsync(['node', 'preflight', 'agency', 'token', '--agency', 'dod', '--submission', shared, '--key', keyFiles.nsa!, '--api', api.url]),
      ).rejects.toThrow(/401 bad-signature/);
    } finally {
      write.mockRestore();
    }
  });

  it('cancelling or terminating a submission revokes its tokens (ops actions through the Temporal client)', async () => {
    const fetchToken = async (id: AgencyId) => {
      const t = await asAgency(id, `/v1/agency/assessments/${solo[id]}/access-token`);
      expect(t.status).toBe(200);
      return String(t.json.token);
    };
    const nsaToken = await fetchToken('nsa');
    const cisaToken = await fetchToken('cisa');
    await expect(verify(nsaToken)).resolves.toMatchObject({ valid: true });
    await expect(verify(cisaToken)).resolves.toMatchObject({ valid: true });

    // nsa follows its inbox with its own Kafka login: the cancellation's revocation reaches it too.
    const inbox: Array<{ type?: string; subject?: string }> = [];
    const login = readAgencyKafkaLogin(agencyKafkaLoginFile(process.env.PREFLIGHT_TEST_DATA_DIR!, 'nsa'));
    const tail = await tailTopic(
      agencyKafka(login, logger),
      agencyInboxTopic('nsa'),
      (m) => {
        const h = headersToStrings(m.headers);
        inbox.push({ type: h.ce_type, subject: h.ce_subject });
      },
      { groupPrefix: 'nsa.agency-api-test' },
    );
    stops.push(() => tail.stop());
    await client.workflow.getHandle(submissionWorkflowId(solo.nsa!)).cancel();
    await until('the cancelled submission to end', async () => {
      const d = await client.workflow.getHandle(submissionWorkflowId(solo.nsa!)).describe();
      return d.status.name !== 'RUNNING' ? d.status.name : undefined;
    });
    await expect(verify(nsaToken)).resolves.toEqual({ valid: false, reason: 'revoked' });
    await until('the revocation in the nsa inbox', async () =>
      inbox.some((e) => e.subject === solo.nsa && e.type === 'gov.preflight.agency.access-revoked.v1') ? true : undefined,
    );
    expect((await client.workflow.getHandle(submissionWorkflowId(solo.nsa!)).query('submissionState')) as SubmissionView).toMatchObject({ activeGrants: [] });

    // A terminated run never gets to revoke: its last state still lists the grant, and it verifies as revoked anyway.
    await client.workflow.getHandle(submissionWorkflowId(solo.cisa!)).terminate('ops: test termination');
    const last = (await client.workflow.getHandle(submissionWorkflowId(solo.cisa!)).query('submissionState')) as SubmissionView;
    expect(last.activeGrants.map((g) => g.agencyId)).toEqual(['cisa']);
    await expect(verify(cisaToken)).resolves.toEqual({ valid: false, reason: 'revoked' });
    const none = await asAgency('cisa', `/v1/agency/assessments/${solo.cisa}/access-token`);
    expect([none.status, none.json.code]).toEqual([409, 'no-live-grant']);
  });
});
