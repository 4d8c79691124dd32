import crypto from 'node:crypto';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createClearinghouseActivities } from '../../activities/clearinghouse';
import { CaseNotFoundError, applyAgencyCaseCommand, deriveFingerprintKey, getCase, listCases, openOrJoinCase } from '../../clients/cases';
import { createPublisherActivities } from '../../activities/publisher';
import { InMemoryEventPublisher } from '../../events/publisher';
import { createLogger } from '../../infra/logger';
import {
  CASE_COMMAND_TYPES,
  CASE_EVENT_TYPES,
  closeCaseUpdate,
  markDuplicateUpdate,
  publishCaseUpdate,
  triageCaseUpdate,
  type CaseReportInput,
  type CaseReportResult,
} from '../../workflows/clearinghouse/contract';
import Fastify from 'fastify';
import { caseRoutes } from '../../workers/api/cases';
import { hashSecret, opsAuthenticator } from '../../workers/api/auth';
import { testClient, testDataConverter, unique, startTestWorker, type TestWorker } from '../helpers/stack-env';
import { eventually } from '../helpers/agency-events';

const masterKey = crypto.randomBytes(32);
const fingerprintKey = deriveFingerprintKey(masterKey);
const ops = { kind: 'ops', operatorId: 'op-1' } as const;

let client: Client;
let testWorker: TestWorker | undefined;
const taskQueue = unique('clearinghouse');
const publisher = new InMemoryEventPublisher();
// A product name unique to this run, so cases from earlier runs on a persistent server never match.
const product = `Acme Inference Gateway ${crypto.randomBytes(3).toString('hex')}`;

function command(agencyId: string, body: Partial<CaseReportInput>): CaseReportInput {
  return { reportId: unique(`ce-${agencyId}`), agencyId, source: 'AGENCY_COMMAND', affectedProduct: product, weakness: 'prompt injection', ...body };
}

beforeAll(async () => {
  // Encrypted both ways, as in production: case reports are as sensitive as findings.
  client = await testClient({ encrypted: true });
  const logger = createLogger({ level: 'warn' });
  testWorker = await startTestWorker({
    taskQueue,
    workflowsPath: require.resolve('../helpers/clearinghouse-workflows'),
    dataConverter: testDataConverter(),
    activities: { ...createPublisherActivities({ publisher }), ...createClearinghouseActivities({ temporalClient: client, masterKey, logger }) },
  });
});

afterAll(async () => {
  await testWorker?.stop();
  await client?.connection.close();
});

describe('clearinghouse cases on the dev server', () => {
  it('three agencies reporting one vulnerability in different words get one case with three reporters', async () => {
    const opts = { taskQueue, fingerprintKey };
    const nsa = await openOrJoinCase(client, command('nsa', { weakness: 'Indirect prompt injection via tool output' }), opts);
    const cisaCommand = command('cisa', { affectedProduct: product.toUpperCase().replace(/ /g, '  '), weakness: 'PROMPT-INJECTION vulnerability' });
    const cisa = await openOrJoinCase(client, cisaCommand, opts);
    const treasury = await openOrJoinCase(
      client,
      command('treasury', {
        affectedProduct: `inference-gateway, ${product.split(' ').slice(-1)[0]} (Acme Inc.)`,
        weakness: 'LLM prompting flaw',
        cweId: 'cwe-1427',
      }),
      opts,
    );
    expect([nsa.outcome, cisa.outcome, treasury.outcome]).toEqual(['OPENED', 'JOINED', 'JOINED']);
    expect(new Set([nsa.caseId, cisa.caseId, treasury.caseId]).size).toBe(1);
    expect(treasury.reporterCount).toBe(3);

    // A redelivered command (same ce_id) has no second effect.
    await openOrJoinCase(client, cisaCommand, opts);
    const view = await getCase(client, nsa.caseId, { kind: 'ops' });
    expect(view.reporters).toEqual(['nsa', 'cisa', 'treasury']);
    expect(view.reports).toHaveLength(3);

    // Each agency sees only cases it reported or is a party to; a stranger cannot tell the case exists.
    await expect(getCase(client, nsa.caseId, { kind: 'agency', agencyId: 'dod' })).rejects.toBeInstanceOf(CaseNotFoundError);
    await expect(getCase(client, nsa.caseId, { kind: 'agency', agencyId: 'cisa' })).resolves.toMatchObject({ caseId: nsa.caseId });
    const listed = await eventually('the case in visibility with three reporters', async () => {
      const items = await listCases(client, { agencyId: 'treasury' });
      const item = items.find((i) => i.caseId === nsa.caseId);
      return item && item.reporters.length === 3 ? item : undefined;
    });
    expect(listed).toMatchObject({ state: 'OPEN', reporters: ['cisa', 'nsa', 'treasury'] });
    expect((await listCases(client, { agencyId: 'dod' })).some((i) => i.caseId === nsa.caseId)).toBe(false);
    expect((await listCases(client)).some((i) => i.caseId === nsa.caseId)).toBe(true);

    const events = publisher.forSubject(nsa.caseId);
    expect(events.map((e) => e.type)).toEqual([CASE_EVENT_TYPES.opened, CASE_EVENT_TYPES.reporterJoined, CASE_EVENT_TYPES.reporterJoined]);
    expect(events.map((e) => e.sequence)).toEqual([1, 2, 3]);
  });

  it('a party sees the case after triage; a closed case is not reopened by a late report', async () => {
    const opts = { taskQueue, fingerprintKey };
    const opened = await openOrJoinCase(client, command('nsa', { weakness: 'SQL injection' }), opts);
    const handle = client.workflow.getHandle(opened.caseId);
    await handle.executeUpdate(triageCaseUpdate, { args: [{ actor: ops, severity: 'MEDIUM', parties: ['dod'] }] });
    await expect(getCase(client, opened.caseId, { kind: 'agency', agencyId: 'dod' })).resolves.toMatchObject({ state: 'PARTIES_NOTIFIED' });
    await eventually('the party in visibility', async () => {
      const items = await listCases(client, { agencyId: 'dod' });
      return items.find((i) => i.caseId === opened.caseId && i.parties.includes('dod') && i.severity === 'MEDIUM');
    });
    await handle.executeUpdate(publishCaseUpdate, { args: [{ actor: ops }] });
    await handle.executeUpdate(closeCaseUpdate, { args: [{ actor: ops, reason: 'RESOLVED' }] });
    expect((await handle.result()).state).toBe('CLOSED');
    const late = await openOrJoinCase(client, command('cisa', { weakness: 'sqli' }), opts);
    expect(late).toMatchObject({ caseId: opened.caseId, outcome: 'CASE_CLOSED', state: 'CLOSED' });
  });

  it('a report on a duplicate case goes to its primary', async () => {
    const opts = { taskQueue, fingerprintKey };
    const primary = await openOrJoinCase(client, command('nsa', { weakness: 'path traversal' }), opts);
    const dup = await openOrJoinCase(client, command('cisa', { weakness: 'Arbitrary file read via ../ sequences' }), opts);
    expect(dup.caseId).not.toBe(primary.caseId);
    await client.workflow.getHandle(dup.caseId).executeUpdate(markDuplicateUpdate, { args: [{ actor: ops, primaryCaseId: primary.caseId }] });
    const later = await openOrJoinCase(client, command('treasury', { weakness: 'arbitrary FILE READ via ../ sequences' }), opts);
    expect(later).toMatchObject({ caseId: primary.caseId, outcome: 'JOINED' });
    const view = await getCase(client, primary.caseId, { kind: 'ops' });
    expect(view.reporters).toEqual(['nsa', 'cisa', 'treasury']);
    expect(view.duplicates).toEqual([dup.caseId]);
  });

  it('agencies act on a case through commands, each only as far as it may', async () => {
    const opened = await openOrJoinCase(client, command('nsa', { weakness: 'use after free' }), { taskQueue, fingerprintKey });
    await client.workflow.getHandle(opened.caseId).executeUpdate(triageCaseUpdate, { args: [{ actor: ops, severity: 'CRITICAL', parties: ['dod'] }] });
    const exploit = (agencyId: string, commandId = unique('ce')) =>
      applyAgencyCaseCommand(client, { type: CASE_COMMAND_TYPES.reportExploitation, caseId: opened.caseId, agencyId, commandId, body: {} });
    await expect(exploit('treasury')).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    await expect(exploit('nsa')).resolves.toEqual({ caseId: opened.caseId, state: 'PARTIES_NOTIFIED' });
    const partyCommand = {
      type: CASE_COMMAND_TYPES.setPartyStatus,
      caseId: opened.caseId,
      agencyId: 'dod',
      commandId: unique('ce'),
      body: { status: 'AFFECTED' },
    };
    await applyAgencyCaseCommand(client, partyCommand);
    await applyAgencyCaseCommand(client, partyCommand);
    const view = await getCase(client, opened.caseId, { kind: 'agency', agencyId: 'dod' });
    expect(view.exploitation?.reportedBy).toBe('agency:nsa');
    expect(Date.parse(view.disclosureDeadline) - Date.parse(view.exploitation!.reportedAt)).toBe(7 * 24 * 3600 * 1000);
    expect(view.parties).toEqual([expect.objectContaining({ partyId: 'dod', status: 'AFFECTED' })]);
    // The redelivered command (same ce_id) changed nothing: one party event, with no second one behind it.
    const partyEvents = await eventually('the party event', async () => {
      const found = publisher.forSubject(opened.caseId).filter((e) => e.type === CASE_EVENT_TYPES.partyStatusChanged);
      return found.length > 0 ? found : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(publisher.forSubject(opened.caseId).filter((e) => e.type === CASE_EVENT_TYPES.partyStatusChanged)).toHaveLength(1);
    expect(partyEvents[0]!.data).toMatchObject({ partyId: 'dod', status: 'AFFECTED', remediated: false });
    await expect(
      applyAgencyCaseCommand(client, { ...partyCommand, caseId: 'case/00000000000000000000000000000000', commandId: unique('ce') }),
    ).rejects.toBeInstanceOf(CaseNotFoundError);
  });

  it('the openClearinghouseCase activity opens a case for a third-party finding, embargoed until the release', async () => {
    const activities = createClearinghouseActivities({ temporalClient: client, masterKey, logger: createLogger({ level: 'silent' }) });
    const env = new MockActivityEnvironment({ taskQueue });
    const releaseAt = new Date(Date.now() + 20 * 24 * 3600 * 1000).toISOString();
    const input = {
      submissionId: unique('sub'),
      findingId: 'nsa-f1',
      agencyId: 'nsa',
      finding: {
        title: 'Tool output injection',
        severity: 'HIGH' as const,
        detail: 'sensitive',
        affectedProduct: product,
        weakness: 'Server-Side Request Forgery',
      },
      plannedReleaseAt: releaseAt,
    };
    const first = (await env.run(activities.openClearinghouseCase, input)) as CaseReportResult;
    const retried = (await env.run(activities.openClearinghouseCase, input)) as CaseReportResult;
    expect(first.outcome).toBe('OPENED');
    expect(retried.caseId).toBe(first.caseId);
    const byCommand = await openOrJoinCase(client, command('cisa', { weakness: 'SSRF' }), { taskQueue, fingerprintKey });
    expect(byCommand).toMatchObject({ caseId: first.caseId, outcome: 'JOINED', reporterCount: 2 });
    const view = await getCase(client, first.caseId, { kind: 'ops' });
    expect(view.reports[0]).toMatchObject({ source: 'FINDING', reportId: `finding/${input.submissionId}/nsa-f1`, summary: 'sensitive' });
    expect(view).toMatchObject({ embargoActive: true, embargoUntil: releaseAt, weakness: 'Server-Side Request Forgery' });
    const opened = await eventually('the opened event', async () => publisher.forSubject(first.caseId)[0]);
    expect(opened.data).toMatchObject({ embargoUntil: releaseAt });
    expect(JSON.stringify(opened)).not.toContain('sensitive');
  });

  it("serves cases on the ops API: the list, one case, and an agency's view", async () => {
    const opened = await openOrJoinCase(client, command('nsa', { weakness: 'XML external entity' }), { taskQueue, fingerprintKey });
    const app = Fastify();
    const token = 'ops-token-for-cases';
    await app.register(
      caseRoutes({
        client,
        logger: createLogger({ level: 'silent' }),
        authenticator: opsAuthenticator({ version: 1, operators: [{ operator: 'op-1', sha256: hashSecret(token) }] }),
      }),
    );
    // Over a real socket (light-my-request's inject pulls an ESM-only dependency jest cannot load).
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const get = async (url: string, auth = true) => {
      const res = await fetch(`${base}${url}`, { headers: auth ? { authorization: `Bearer ${token}` } : {} });
      const text = await res.text();
      return { statusCode: res.status, contentType: res.headers.get('content-type') ?? '', json: () => JSON.parse(text) as unknown };
    };
    const fingerprint = opened.caseId.slice('case/'.length);

    expect((await get(`/ops/cases/${fingerprint}`, false)).statusCode).toBe(401);
    const one = await get(`/ops/cases/${fingerprint}`);
    expect(one.statusCode).toBe(200);
    expect(one.json() as object).toMatchObject({ caseId: opened.caseId, state: 'OPEN', reporters: ['nsa'], affectedProduct: product });
    const stranger = await get(`/ops/cases/${fingerprint}?agencyId=dod`);
    expect(stranger.statusCode).toBe(404);
    expect(stranger.contentType).toContain('application/problem+json');
    expect((await get('/ops/cases/not-a-fingerprint')).statusCode).toBe(404);
    expect((await get('/ops/cases?state=SOMETHING')).statusCode).toBe(422);
    const listed = await eventually('the case on the list', async () => {
      const res = await get('/ops/cases?agencyId=nsa&state=OPEN');
      const items = (res.json() as { items: Array<{ caseId: string }> }).items;
      return items.some((i) => i.caseId === opened.caseId) ? items : undefined;
    });
    expect(listed.length).toBeGreaterThan(0);
    await app.close();
  });
});
