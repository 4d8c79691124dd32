import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { createClearinghouseActivities } from '../../activities/clearinghouse';
import { createPublisherActivities } from '../../activities/publisher';
import { buildAgencyRegistry } from '../../events/agency-registry';
import { InMemoryEventPublisher } from '../../events/publisher';
import { deriveFingerprintKey, getCase, openOrJoinCase } from '../../clients/cases';
import { createLogger } from '../../infra/logger';
import { CASE_EVENT_TYPES, type CaseReportInput, type CaseView } from '../../workflows/clearinghouse/contract';
import { caseRoutes } from '../../workers/api/cases';
import { hashSecret, opsAuthenticator, registerAuditTrail } from '../../workers/api/auth';
import { MemoryAuditTrail } from '../../events/audit-trail';
import { csafSchemaErrors } from '../helpers/csaf-validator';
import { eventually } from '../helpers/agency-events';
import { testClient, testDataConverter, unique, startTestWorker, type TestWorker } from '../helpers/stack-env';

// Ids of this file only: its own agencies, task queue and product names.
const AGENCIES = ['ops-test-nsa', 'ops-test-cisa', 'ops-test-doe'];
const masterKey = crypto.randomBytes(32);
const fingerprintKey = deriveFingerprintKey(masterKey);
const taskQueue = unique('clearinghouse-ops');
const publisher = new InMemoryEventPublisher();
const audit = new MemoryAuditTrail();
const token = 'ops-token-for-case-actions';
let client: Client;
let testWorker: TestWorker | undefined;
let app: FastifyInstance;
let base = '';

beforeAll(async () => {
  client = await testClient({ encrypted: true });
  const logger = createLogger({ level: 'silent' });
  testWorker = await startTestWorker({
    taskQueue,
    workflowsPath: require.resolve('../helpers/clearinghouse-workflows'),
    dataConverter: testDataConverter(),
    activities: { ...createPublisherActivities({ publisher }), ...createClearinghouseActivities({ temporalClient: client, masterKey, logger }) },
  });
  app = Fastify();
  registerAuditTrail(app, audit, logger);
  await app.register(
    caseRoutes({
      client,
      logger,
      audit,
      agencyRegistry: buildAgencyRegistry({ version: 1, agencies: AGENCIES.map((id) => ({ id, name: id, domains: ['offensive-cyber'] })) }),
      authenticator: opsAuthenticator({ version: 1, operators: [{ operator: 'op-hostile', sha256: hashSecret(token) }] }),
    }),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await app?.close();
  await testWorker?.stop();
  await client?.connection.close();
});

async function call(method: string, url: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

async function openCase(weakness: string, extra: Partial<CaseReportInput> = {}): Promise<{ caseId: string; fingerprint: string }> {
  const product = `Ops Gateway ${crypto.randomBytes(3).toString('hex')}`;
  const opened = await openOrJoinCase(
    client,
    { reportId: unique('ce'), agencyId: AGENCIES[0]!, source: 'AGENCY_COMMAND', affectedProduct: product, weakness, ...extra },
    { taskQueue, fingerprintKey },
  );
  return { caseId: opened.caseId, fingerprint: opened.caseId.slice('case/'.length) };
}

/** The case as stored, without the fields a read refreshes (clocks are derived at read time). */
async function stored(caseId: string): Promise<Omit<CaseView, 'embargoActive'>> {
  const { embargoActive: _a, ...view } = await getCase(client, caseId, { kind: 'ops' });
  return view;
}

describe('operator actions on the ops API', () => {
  it('hostile input gets a precise 4xx and changes nothing; each refusal is audited', async () => {
    const releaseAt = new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString();
    const { caseId, fingerprint } = await openCase('heap overflow', { submissionId: unique('sub'), plannedReleaseAt: releaseAt });
    const path = `/ops/cases/${fingerprint}`;

    // Before triage: a party is refused by the case's state (409), not silently added.
    const early = await call('POST', `${path}/parties`, { partyId: AGENCIES[1], kind: 'agency', contacts: [] });
    expect(early).toMatchObject({ status: 409, body: { code: 'not-allowed-in-state', detail: expect.stringMatching(/triage the case/) } });
    const before = await stored(caseId);

    const refusals: Array<[string, unknown, number, string, RegExp?]> = [
      ['triage', { severity: 'HIGH', cweId: 'CWE-79x' }, 422, 'invalid-input', /CWE-<digits>/],
      ['triage', { severity: 'HIGH', cweId: 'cwe-79' }, 422, 'invalid-input'],
      ['triage', { severity: 'SEVERE' }, 422, 'invalid-input'],
      ['triage', { severity: 'HIGH', extra: true }, 422, 'invalid-input'],
      ['triage', { severity: 'HIGH', affectedProduct: 'x'.repeat(201) }, 422, 'invalid-input'],
      ['parties', { partyId: 'fbi', kind: 'agency', contacts: [] }, 422, 'invalid-input', /Unknown agency fbi/],
      ['parties', { partyId: AGENCIES[1], kind: 'agency', contacts: [{ email: 'not an address' }] }, 422, 'invalid-input'],
      ['parties', { partyId: '../etc', kind: 'vendor', contacts: [] }, 422, 'invalid-input'],
      ['status', { state: 'PUBLISHED' }, 422, 'invalid-input'],
      ['status', { state: 'REMEDIATING' }, 409, 'not-allowed-in-state', /PARTIES_NOTIFIED/],
      ['publish', {}, 409, 'not-allowed-in-state', /PARTIES_NOTIFIED or REMEDIATING/],
      ['close', { reason: 'RESOLVED' }, 409, 'not-allowed-in-state', /PUBLISHED/],
      ['close', { reason: 'BORED' }, 422, 'invalid-input'],
      ['duplicate', { primaryCaseId: caseId }, 422, 'invalid-input', /cannot duplicate itself/],
      ['duplicate', { primaryCaseId: 'case/ffffffffffffffffffffffffffffffff' }, 422, 'invalid-input', /No case/],
      ['exploitation', { observedAt: 'yesterday' }, 422, 'invalid-input'],
    ];
    for (const [action, body, status, code, detail] of refusals) {
      const res = await call('POST', `${path}/${action}`, body);
      expect({ action, body, status: res.status, code: res.body.code }).toEqual({ action, body, status, code });
      expect(res.contentType).toContain('application/problem+json');
      if (detail) expect(JSON.stringify(res.body)).toMatch(detail);
    }
    expect((await call('POST', `${path}/triage`, '{"severity":', 'application/json')).status).toBe(400);
    expect((await call('POST', `${path}/triage`, 'severity=HIGH', 'text/plain')).status).toBe(415);
    expect((await call('POST', `${path}/triage`, '<severity>HIGH</severity>', 'application/xml')).status).toBe(415);
    expect((await call('POST', `${path}/triage`, '{"severity":"HIGH","__proto__":{"x":1}}')).status).toBe(400);
    expect((await call('POST', '/ops/cases/00000000000000000000000000000000/triage', { severity: 'HIGH' })).status).toBe(404);
    expect((await call('POST', '/ops/cases/not-a-fingerprint/triage', { severity: 'HIGH' })).status).toBe(404);
    const anonymous = await fetch(`${base}${path}/triage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"severity":"HIGH"}' });
    expect(anonymous.status).toBe(401);
    expect((await call('GET', `${path}/csaf`)).body).toMatchObject({ code: 'not-published' });

    expect(await stored(caseId)).toEqual(before);
    expect(publisher.forSubject(caseId).map((e) => e.type)).toEqual([CASE_EVENT_TYPES.opened]);
    const audited = audit.records.map((r) => r.record).filter((r) => r.details?.caseId === caseId);
    expect(audited.every((r) => r.details?.caseOutcome === 'refused' && r.outcome !== 'ok' && r.actor.id === 'op-hostile')).toBe(true);
    expect(audited.map((r) => r.details?.caseAction)).toEqual(
      expect.arrayContaining(['triage', 'add-party', 'remediating', 'publish', 'close', 'duplicate', 'exploitation']),
    );

    // Triaged with parties, the case is still under embargo: publishing without an override is refused and changes nothing.
    expect((await call('POST', `${path}/triage`, { severity: 'HIGH', cweId: 'CWE-122', affectedProduct: 'Ops Gateway 9' })).status).toBe(200);
    const party = await call('POST', `${path}/parties`, {
      partyId: AGENCIES[1],
      kind: 'agency',
      name: 'CISA test',
      contacts: [{ email: 'vuln@cisa.example.gov' }],
    });
    expect(party.status).toBe(200);
    expect(party.body).toMatchObject({ state: 'PARTIES_NOTIFIED', parties: [expect.objectContaining({ partyId: AGENCIES[1], kind: 'agency' })] });
    const dueAt = Date.parse((party.body.parties as Array<{ remediationDueAt: string; notifiedAt: string }>)[0]!.remediationDueAt);
    expect(dueAt - Date.parse((party.body.parties as Array<{ notifiedAt: string }>)[0]!.notifiedAt)).toBe(30 * 24 * 3600 * 1000);
    const embargoed = await stored(caseId);
    const refused = await call('POST', `${path}/publish`, {});
    expect(refused).toMatchObject({ status: 409, body: { code: 'embargoed', detail: expect.stringContaining(releaseAt) } });
    expect((await call('POST', `${path}/publish`, { override: { reason: '   ' } })).status).toBe(422);
    expect((await call('POST', `${path}/publish`, { override: {} })).status).toBe(422);
    expect(await stored(caseId)).toEqual(embargoed);

    // With an override and a reason it publishes; the override is audited and kept on the case.
    const reason = 'Exploited in the wild; the vendor asked for early disclosure';
    const published = await call('POST', `${path}/publish`, { advisoryRef: 'https://advisories.example.gov/ops-1', override: { reason } });
    expect(published).toMatchObject({ status: 200, body: { state: 'PUBLISHED', publishOverride: { reason, by: 'ops:op-hostile', embargoUntil: releaseAt } } });
    const publishRecord = audit.records
      .map((r) => r.record)
      .find((r) => r.details?.caseId === caseId && r.details.caseAction === 'publish' && r.details.caseOutcome === 'applied');
    expect(publishRecord).toMatchObject({ outcome: 'ok', action: 'POST /ops/cases/:fingerprint/publish', details: { overrideReason: reason } });
    const csaf = await call('GET', `${path}/csaf`);
    expect(csaf.status).toBe(200);
    expect(csaf.contentType).toContain('application/json');
    expect(csafSchemaErrors(csaf.body)).toEqual([]);
    expect(csaf.body).toMatchObject({ document: { tracking: { id: `PREFLIGHT-CASE-${fingerprint.toUpperCase()}`, version: '1' } } });
    const announced = await eventually('the advisory-published event', async () =>
      publisher.forSubject(caseId).find((e) => e.type === CASE_EVENT_TYPES.advisoryPublished),
    );
    expect(announced.data).toMatchObject({ documentId: `PREFLIGHT-CASE-${fingerprint.toUpperCase()}`, version: '1' });

    // Closing as resolved adds a CSAF revision; the ended case refuses further actions with 409.
    expect((await call('POST', `${path}/close`, { reason: 'RESOLVED' })).status).toBe(200);
    await client.workflow.getHandle(caseId).result();
    const ended = await call('POST', `${path}/triage`, { severity: 'LOW' });
    expect(ended).toMatchObject({ status: 409, body: { code: 'not-allowed-in-state', detail: expect.stringMatching(/ended \(CLOSED\)/) } });
    const revised = await call('GET', `${path}/csaf`);
    expect(revised.body).toMatchObject({ document: { tracking: { version: '2' } } });
    expect(csafSchemaErrors(revised.body)).toEqual([]);
  });

  it('remediating, exploitation and duplicate through the API', async () => {
    const primary = await openCase('command injection');
    const dup = await openCase('OS command injection via shell metacharacters');
    const path = `/ops/cases/${dup.fingerprint}`;
    expect((await call('POST', `/ops/cases/${primary.fingerprint}/triage`, { severity: 'LOW' })).status).toBe(200);
    expect((await call('POST', `/ops/cases/${primary.fingerprint}/parties`, { partyId: 'acme', kind: 'vendor', contacts: [{ name: 'PSIRT' }] })).status).toBe(
      200,
    );
    const remediating = await call('POST', `/ops/cases/${primary.fingerprint}/status`, { state: 'REMEDIATING' });
    expect(remediating.body).toMatchObject({ state: 'REMEDIATING' });
    const exploited = await call('POST', `/ops/cases/${primary.fingerprint}/exploitation`, {});
    expect(exploited.status).toBe(200);
    const view = exploited.body as unknown as CaseView;
    expect(Date.parse(view.disclosureDeadline) - Date.parse(view.exploitation!.reportedAt)).toBe(7 * 24 * 3600 * 1000);
    expect(view.exploitation!.reportedBy).toBe('ops:op-hostile');
    const marked = await call('POST', `${path}/duplicate`, { primaryCaseId: primary.fingerprint });
    expect(marked).toMatchObject({ status: 200, body: { state: 'DUPLICATE', duplicateOf: primary.caseId } });
    expect((await getCase(client, primary.caseId, { kind: 'ops' })).duplicates).toEqual([dup.caseId]);
    expect((await call('POST', `${path}/triage`, { severity: 'LOW' })).body).toMatchObject({ status: 409, code: 'not-allowed-in-state' });
    // A duplicate cannot be anyone's primary: the operator is told which case to use instead.
    const third = await openCase('shell command injection');
    const chained = await call('POST', `/ops/cases/${third.fingerprint}/duplicate`, { primaryCaseId: dup.caseId });
    expect(chained).toMatchObject({ status: 409, body: { code: 'not-allowed-in-state', detail: expect.stringContaining(`a duplicate of ${primary.caseId}`) } });
    expect((await getCase(client, third.caseId, { kind: 'ops' })).state).toBe('OPEN');
  });
});
