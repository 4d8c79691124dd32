import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Command } from 'commander';
import type { Kafka, Producer } from 'kafkajs';
import { chromium } from 'playwright-core';
import { ensureVendorWorkflow } from '../../clients/endpoints';
import { sendAgencyCommand } from '../../events/agency-client';
import { buildAgencyRegistry, DEFAULT_AGENCY_REGISTRY } from '../../events/agency-registry';
import { createKafka } from '../../events/kafka';
import { generateAgencyKeyPair, importPrivateKey } from '../../events/signing';
import type { Config } from '../../infra/config';
import { signRequest } from '../../infra/http-signatures';
import { createLogger } from '../../infra/logger';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import type { SubmissionView } from '../../wire/submission';
import { runIngress } from '../../workers/ingress/index';
import { startWorker } from '../../workers/worker';
import { registerSubmissionCommands } from '../../workers/cli/submissions';
import type { AuditRecord } from '../../events/audit';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { eventually as until, startGroupAtEnd } from '../helpers/agency-events';
import { testConfig, testStack, unique } from '../helpers/stack-env';

const logger = createLogger({ level: 'warn' });
const VENDOR_KEY = 'pfv_acme_' + 'k'.repeat(40);
const OTHER_VENDOR_KEY = 'pfv_globex_' + 'q'.repeat(40);
const OPS_TOKEN = 'pfo_' + 'o'.repeat(43);
// Vendors of this file only: a vendor's endpoint registry is one workflow per vendor id, and another file's
// registry for the same id would run on a task queue whose worker has stopped.
const VENDOR = unique('acme');
const OTHER_VENDOR = unique('globex');
const ORPHAN_VENDOR_KEY = 'pfv_orphan_' + 'z'.repeat(40);
const ORPHAN_VENDOR = unique('orphan');

describe('interfaces end to end: vendor API, agency Kafka commands, ops CLI and console', () => {
  let config: Config;
  let api: TestApi;
  let client: Client;
  let kafka: Kafka;
  let producer: Producer;
  const stops: Array<() => Promise<void>> = [];
  const keys: Record<string, KeyObject> = {};
  let submissionId = '';
  let endpointId = '';
  /** NSA's model-access token, fetched by NSA through its own signed agency API while its grant was live. */
  let nsaToken = '';

  const call = async (method: string, url: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await fetch(api.url + url, {
      method,
      headers: {
        ...(options.headers ?? {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return {
      status: res.status,
      text,
      json: json as Record<string, unknown>,
      type: res.headers.get('content-type') ?? '',
      retryAfter: res.headers.get('retry-after'),
    };
  };
  const vendor = (method: string, url: string, body?: unknown) => call(method, url, { token: VENDOR_KEY, ...(body !== undefined ? { body } : {}) });
  const state = async () => (await vendor('GET', `/v1/submissions/${submissionId}`)).json as unknown as SubmissionView;
  const agency = (agencyId: string, type: string, data: Record<string, unknown>) =>
    sendAgencyCommand(producer, { agencyId, type, subject: submissionId, data }, keys[agencyId]!);

  beforeAll(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'interfaces-e2e-'));
    config = testConfig({
      PREFLIGHT_TASK_QUEUE: unique('interfaces'),
      PREFLIGHT_DATA_DIR: dataDir,
      PREFLIGHT_WEBHOOK_ALLOWLIST: '127.0.0.1/32',
      PREFLIGHT_API_TEMPORAL_TIMEOUT_MS: '5000',
    });
    const stack = testStack();
    const endpoints = { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers };
    const publicKeys: Record<string, string> = {};
    for (const id of ['nsa', 'cisa']) {
      const pair = generateAgencyKeyPair();
      keys[id] = importPrivateKey(pair.privateKeyPem);
      publicKeys[id] = pair.publicKey;
    }
    const registry = buildAgencyRegistry({
      version: 1,
      agencies: DEFAULT_AGENCY_REGISTRY.agencies.map((a) => (publicKeys[a.id] ? { ...a, publicKeys: [publicKeys[a.id]!] } : a)),
    });
    kafka = createKafka(config.kafka, logger, stack.kafkaBrokers, 'e2e');
    producer = kafka.producer();
    await producer.connect();
    const groupId = unique('e2e-ingress');
    await startGroupAtEnd(kafka, groupId);

    // The worker as `preflight worker` builds it.
    const worker = await startWorker(config, logger, endpoints);
    stops.push(() => worker.stop());
    const ingress = await runIngress(config, logger, { registry, groupId, temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers });
    stops.push(() => ingress.stop());
    api = await startTestApi(config, logger, {
      vendorKeys: { [VENDOR_KEY]: VENDOR, [OTHER_VENDOR_KEY]: OTHER_VENDOR, [ORPHAN_VENDOR_KEY]: ORPHAN_VENDOR },
      opsTokens: { [OPS_TOKEN]: 'e2e-ops' },
      agencyRegistry: registry,
    });
    stops.push(() => api.stop());
    client = await connectClient(config.temporal, stack.temporalAddress, deploymentDataConverter(config));
    stops.push(() => client.connection.close());
  });

  afterAll(async () => {
    await producer?.disconnect();
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  it('drives a whole lifecycle through the vendor API and agency commands', async () => {
    const endpoint = await vendor('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hooks', description: 'sweep target' });
    expect(endpoint.status).toBe(201);
    endpointId = String(endpoint.json.id);
    const plannedReleaseAt = new Date(Date.now() + 20 * 24 * 3600_000).toISOString();
    const created = await vendor('POST', '/v1/submissions', {
      model: { name: 'frontier-7', version: '7.0.1', versionHash: 'sha256:' + 'ab'.repeat(32) },
      plannedReleaseAt,
      accessMethod: 'API',
      contacts: [{ name: 'Pat Vendor', email: 'pat@acme.example' }],
      requestedAgencies: ['nsa', 'cisa'],
    });
    expect(created.status).toBe(201);
    submissionId = String(created.json.submissionId);
    expect(created.json.location).toBe(`/v1/submissions/${submissionId}`);

    // Refusals map to precise problems.
    const invalid = await vendor('POST', '/v1/submissions', { model: { name: 'x' }, __extra: true });
    expect(invalid.status).toBe(422);
    expect(invalid.type).toContain('application/problem+json');

    // A retried create with the same Idempotency-Key starts nothing new; the retry of a withdrawal neither.
    const body = {
      model: { name: 'frontier-8', version: '8.0.0', versionHash: 'sha256:' + 'cd'.repeat(32) },
      plannedReleaseAt,
      accessMethod: 'HOSTED_UI',
      contacts: [{ name: 'Pat Vendor', email: 'pat@acme.example' }],
      requestedAgencies: ['nist'],
      accessStartAt: new Date(Date.now() + 5 * 24 * 3600_000).toISOString(),
    };
    const first = await call('POST', '/v1/submissions', { token: VENDOR_KEY, body, headers: { 'idempotency-key': 'create-1' } });
    const retry = await call('POST', '/v1/submissions', { token: VENDOR_KEY, body, headers: { 'idempotency-key': 'create-1' } });
    // The retry gets the stored first answer.
    expect([first.status, retry.status]).toEqual([201, 201]);
    expect(retry.json.submissionId).toBe(first.json.submissionId);
    const withdrawOnce = () =>
      call('POST', `/v1/submissions/${String(first.json.submissionId)}/withdraw`, { token: VENDOR_KEY, body: {}, headers: { 'idempotency-key': 'w-1' } });
    const w1 = await withdrawOnce();
    await until('the withdrawn submission to end', async () => {
      const d = await client.workflow.getHandle(`submission/${String(first.json.submissionId)}`).describe();
      return d.status.name === 'COMPLETED' ? true : undefined;
    });
    const w2 = await withdrawOnce();
    expect([w1.status, w2.status]).toEqual([200, 200]);
    expect(w2.json.result).toEqual(w1.json.result);
    const fresh = await call('POST', `/v1/submissions/${String(first.json.submissionId)}/withdraw`, { token: VENDOR_KEY, body: {} });
    expect([fresh.status, fresh.json.code]).toEqual([409, 'ended']);

    const poisoned = await fetch(`${api.url}/v1/submissions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VENDOR_KEY}`, 'content-type': 'application/json' },
      body: '{"__proto__":{"admin":true},"model":{}}',
    });
    expect(poisoned.status).toBe(400);
    expect(poisoned.headers.get('content-type')).toContain('application/problem+json');
    const huge = await vendor('POST', `/v1/submissions/${submissionId}/acknowledge`, { note: 'x'.repeat(70 * 1024) });
    expect([huge.status, huge.json.code]).toEqual([413, 'too-large']);

    await until('assessment to start', async () => ((await state()).status === 'UNDER_ASSESSMENT' ? true : undefined));
    const tokenUrl = `${api.url}/v1/agency/assessments/${submissionId}/access-token`;
    const fetched = await fetch(tokenUrl, { headers: await signRequest({ method: 'GET', url: tokenUrl, keyId: 'nsa', privateKey: keys.nsa! }) });
    expect(fetched.status).toBe(200);
    nsaToken = String(((await fetched.json()) as { token: string }).token);
    // The release date is the vendor's: 90 days out is accepted, and the window stays capped at 30 days.
    const early = await vendor('POST', `/v1/submissions/${submissionId}/release-date`, {
      plannedReleaseAt: new Date(Date.now() + 90 * 24 * 3600_000).toISOString(),
    });
    expect(early.status).toBe(200);
    const moved = (await state()).window!;
    expect(Date.parse(moved.closesAt) - Date.parse(moved.opensAt)).toBe(30 * 24 * 3600_000);
    const ack = await vendor('POST', `/v1/submissions/${submissionId}/acknowledge`, {});
    expect(ack.status).toBe(409);
    expect(ack.json.code).toBe('not-allowed-in-state');

    await agency('nsa', 'gov.preflight.assessment.accept.v1', {});
    await agency('cisa', 'gov.preflight.assessment.decline.v1', { reason: 'out of scope' });
    await until('nsa accepted', async () => ((await state()).agencies.find((a) => a.agencyId === 'nsa')?.status === 'ACCEPTED' ? true : undefined));
    await agency('nsa', 'gov.preflight.assessment.start.v1', {});
    await until('nsa in progress', async () => ((await state()).agencies.find((a) => a.agencyId === 'nsa')?.status === 'IN_PROGRESS' ? true : undefined));
    await agency('nsa', 'gov.preflight.assessment.request-info.v1', { question: 'Which safety filters run in the API tier?' });
    const requestId = await until('an information request', async () => (await state()).openInfoRequests[0]?.requestId);

    const wrongRequest = await vendor('POST', `/v1/submissions/${submissionId}/info-requests/nope-ir-9/response`, { response: 'x' });
    expect(wrongRequest.status).toBe(404);
    const answered = await vendor('POST', `/v1/submissions/${submissionId}/info-requests/${requestId}/response`, {
      response: 'The classifier stack v3 runs on every request.',
    });
    expect(answered.status).toBe(200);
    expect(answered.json.result).toMatchObject({ requestId });

    await until('nsa back in progress', async () => ((await state()).agencies.find((a) => a.agencyId === 'nsa')?.status === 'IN_PROGRESS' ? true : undefined));
    await agency('nsa', 'gov.preflight.finding.submit.v1', {
      finding: {
        severity: 'HIGH',
        domain: 'offensive-cyber',
        title: 'Exploit chain assistance',
        detail: 'SENSITIVE-DETAIL: step-by-step exploit development for a known CVE class.',
        modelVersionTested: '7.0.1',
        recommendedMitigation: 'Tighten the refusal policy for exploit development.',
        thirdPartyVulnerability: false,
      },
    });
    const findingId = await until('the finding', async () => {
      const s = await state();
      return s.agencies.find((a) => a.agencyId === 'nsa')!.findingsCount > 0 ? 'nsa-f1' : undefined;
    });
    await agency('nsa', 'gov.preflight.assessment.complete.v1', {});
    const issued = await until('the clearance notice', async () => {
      const s = await state();
      return s.status === 'CLEARANCE_ISSUED' ? s : undefined;
    });
    expect(issued.notice).toBe('CONCERNS_NOTED');

    const finding = await vendor('GET', `/v1/submissions/${submissionId}/findings/${findingId}`);
    expect(finding.status).toBe(200);
    expect(finding.json).toMatchObject({ findingId, severity: 'HIGH', detail: expect.stringContaining('SENSITIVE-DETAIL') });
    const responded = await vendor('POST', `/v1/submissions/${submissionId}/findings/${findingId}/response`, {
      response: 'MITIGATED',
      note: 'Policy updated.',
    });
    expect(responded.status).toBe(200);
    expect((await vendor('POST', `/v1/submissions/${submissionId}/findings/${findingId}/response`, { response: 'LOVED_IT' })).status).toBe(422);
    expect((await vendor('POST', `/v1/submissions/${submissionId}/acknowledge`, { note: 'thanks' })).status).toBe(200);
    const released = await vendor('POST', `/v1/submissions/${submissionId}/release`, {});
    expect(released.status).toBe(200);
    expect(released.json.result).toMatchObject({ status: 'RELEASED' });
    expect((await vendor('POST', `/v1/submissions/${submissionId}/withdraw`, {})).status).toBe(409);

    const listed = await vendor('GET', '/v1/submissions');
    expect((listed.json.items as Array<{ submissionId: string }>).map((i) => i.submissionId)).toContain(submissionId);
  });

  it('reads the timeline through the CLI', async () => {
    let out = '';
    const program = new Command('preflight').exitOverride();
    registerSubmissionCommands(program, {
      config: () => ({ ...config, temporal: { ...config.temporal, address: testStack().temporalAddress } }),
      out: (t) => (out += t),
    });
    await program.parseAsync(['node', 'preflight', 'submissions', 'history', submissionId]);
    expect(out).toContain(`vendor:${VENDOR}`);
    expect(out).toMatch(/agency:nsa\s+nsa: requested information/);
    expect(out).toContain('advisory notice CONCERNS_NOTED issued');
    expect(out).toContain('declared the model released');
    expect(out).not.toContain('SENSITIVE-DETAIL');
    expect(out).not.toContain('classifier stack');

    out = '';
    await program.parseAsync(['node', 'preflight', 'submissions', 'history', submissionId, '--json']);
    const timeline = JSON.parse(out) as { lanes: { agencies: Array<{ agencyId: string; holds: unknown[] }>; window?: unknown } };
    expect(timeline.lanes.window).toBeDefined();
    expect(timeline.lanes.agencies.find((a) => a.agencyId === 'nsa')!.holds).toHaveLength(1);

    out = '';
    await program.parseAsync(['node', 'preflight', 'submissions', 'list', '--vendor', VENDOR, '--json']);
    expect(out).toContain(submissionId);
    out = '';
    await program.parseAsync(['node', 'preflight', 'submissions', 'show', submissionId]);
    expect(out).toContain('RELEASED');
    expect(out).toMatch(/nsa\s+FINDINGS_SUBMITTED/);
  });

  it('shows the timeline picture in the console (headless Chromium)', async () => {
    const browser = await chromium.launch({ executablePath: process.env.PREFLIGHT_CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(`${api.url}/console/#token=${OPS_TOKEN}&submission=${submissionId}`);
      await page.waitForSelector('body[data-ready="true"], body[data-ready="error"]', { timeout: 30_000 });
      expect(await page.getAttribute('body', 'data-ready')).toBe('true');
      expect(page.url()).not.toContain(OPS_TOKEN);
      // The old console's link opens the submission page of the new one.
      expect(page.url()).toContain(`#/submissions/${submissionId}`);
      const svg = page.locator('#picture svg');
      await expect(svg.count()).resolves.toBe(1);
      const labels = await svg.locator('text').allTextContents();
      expect(labels).toEqual(expect.arrayContaining(['Access window', 'NSA', 'CISA']));
      expect(labels.find((l) => l.startsWith('FINDINGS SUBMITTED'))).toMatch(/^FINDINGS SUBMITTED · [\d.]+ h active, [\d.]+ h on hold$/);
      expect(labels.some((l) => l.startsWith('DECLINED'))).toBe(true);
      // A hold, a finding diamond (colour = severity HIGH) and the notice star are drawn.
      expect(await svg.locator('rect[fill="url(#hold)"]').count()).toBe(1);
      expect(await svg.locator('path[fill="#c0261e"]').count()).toBe(1);
      expect(labels.some((l) => l.includes('★'))).toBe(true);
      await expect(page.locator('#entries tbody tr').count()).resolves.toBeGreaterThan(10);
      fs.mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: 'test-results/console-timeline.png', fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('leaks nothing to another vendor, an agency or nobody, and audits every refusal', async () => {
    const agencyToken = nsaToken;
    expect(agencyToken).not.toBe('');
    const id = submissionId;
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/v1/submissions'],
      ['GET', `/v1/submissions/${id}`],
      [
        'POST',
        `/v1/submissions/${id}/resubmit`,
        {
          model: { name: 'x', version: 'y', versionHash: 'z' },
          plannedReleaseAt: new Date().toISOString(),
          accessMethod: 'API',
          contacts: [{ name: 'a', email: 'b' }],
          requestedAgencies: ['nsa'],
        },
      ],
      ['POST', `/v1/submissions/${id}/release-date`, { plannedReleaseAt: new Date(Date.now() + 86_400_000).toISOString() }],
      ['POST', `/v1/submissions/${id}/info-requests/nsa-ir-1/response`, { response: 'x' }],
      ['POST', `/v1/submissions/${id}/findings/nsa-f1/response`, { response: 'DISPUTED' }],
      ['GET', `/v1/submissions/${id}/findings/nsa-f1`],
      ['POST', `/v1/submissions/${id}/acknowledge`, {}],
      ['POST', `/v1/submissions/${id}/withdraw`, {}],
      ['POST', `/v1/submissions/${id}/release`, {}],
      ['POST', '/v1/access/verify', { token: agencyToken }],
      ['GET', '/ops/submissions'],
      ['GET', `/ops/submissions/${id}`],
      ['GET', `/ops/submissions/${id}/timeline`],
      ['GET', `/ops/submissions/${id}/history`],
      ['GET', '/ops/dead-letters'],
      ['POST', '/ops/dead-letters/replay', { partition: 0, offset: '0' }],
      ['GET', '/ops/audit'],
      ['GET', '/ops/cases'],
      ['GET', '/ops/cases/0123456789abcdef0123456789abcdef'],
      ['GET', '/v1/webhook-endpoints'],
      ['GET', `/v1/webhook-endpoints/${endpointId}`],
      ['GET', `/v1/webhook-endpoints/${endpointId}/secret`],
      ['PATCH', `/v1/webhook-endpoints/${endpointId}`, { description: 'taken over' }],
      ['POST', `/v1/webhook-endpoints/${endpointId}/rotate-secret`, {}],
      ['GET', `/v1/webhook-endpoints/${endpointId}/deliveries`],
      ['POST', `/v1/webhook-endpoints/${endpointId}/replay`, {}],
      ['DELETE', `/v1/webhook-endpoints/${endpointId}`],
    ];
    const secrets = [id, 'frontier-7', 'SENSITIVE-DETAIL', 'classifier stack', 'pat@acme.example', 'nsa-f1', 'nsa-ir', endpointId, 'sweep target', 'whsec_'];
    const callers: Array<[string, string | undefined]> = [
      ['another vendor', OTHER_VENDOR_KEY],
      ['an agency', agencyToken],
      ['nobody', undefined],
    ];
    const refusals: Array<{ method: string; path: string; status: number }> = [];
    for (const [who, token] of callers) {
      for (const [method, url, body] of routes) {
        const res = await call(method, url, { ...(token ? { token } : {}), ...(body !== undefined ? { body } : {}) });
        // A problem's `instance` echoes the caller's own request path; everything else must not mention the submission.
        const visible = res.json ? JSON.stringify({ ...res.json, instance: undefined }) : res.text;
        const leaked = secrets.filter((x) => visible.includes(x));
        expect({ who, method, url, leaked }).toEqual({ who, method, url, leaked: [] });
        if (res.status >= 400) {
          expect({ who, method, url, status: res.status }).toEqual({ who, method, url, status: expect.any(Number) });
          expect([401, 403, 404]).toContain(res.status);
          expect(res.type).toContain('application/problem+json');
          refusals.push({ method, path: url.split('?')[0]!, status: res.status });
        } else {
          // The only successes open to another vendor: its own (empty) list, and a verification that says "not valid".
          expect(who).toBe('another vendor');
          expect([
            ['GET', '/v1/submissions'],
            ['POST', '/v1/access/verify'],
            ['GET', '/v1/webhook-endpoints'],
          ]).toContainEqual([method, url]);
          if (url === '/v1/access/verify') expect(res.json).toEqual({ valid: false, reason: 'bad-signature' });
        }
      }
    }
    expect(refusals.length).toBe(routes.length * 3 - 3);
    // The endpoint is still acme's, unchanged.
    expect((await vendor('GET', `/v1/webhook-endpoints/${endpointId}`)).json).toMatchObject({ id: endpointId, description: 'sweep target', secretVersion: 1 });
    // The whole trail of refusals, page by page, flattened to method, path, status and principal.
    const entries: Array<{ method: string; path: string; status: number; principal: string }> = [];
    let cursor = '';
    do {
      const audit = await call('GET', `/ops/audit?outcome=refused&pageSize=1000${cursor ? `&cursor=${cursor}` : ''}`, { token: OPS_TOKEN });
      expect(audit.status).toBe(200);
      for (const r of audit.json.items as AuditRecord[]) {
        entries.push({
          method: r.action.split(' ')[0]!,
          path: r.target ?? '',
          status: r.status ?? 0,
          principal: r.actor.id === '-' ? r.actor.kind : `${r.actor.kind}:${r.actor.id}`,
        });
      }
      cursor = (audit.json.nextCursor as string | undefined) ?? '';
    } while (cursor);
    for (const r of refusals) {
      expect(entries).toContainEqual(expect.objectContaining({ method: r.method, path: r.path, status: r.status }));
    }
    expect(entries.some((e) => e.principal === `vendor:${OTHER_VENDOR}` && e.status === 404)).toBe(true);
    expect(entries.some((e) => e.principal === 'unknown-credential')).toBe(true);
    expect(entries.some((e) => e.principal === 'anonymous')).toBe(true);
    expect(JSON.stringify(entries)).not.toContain(OTHER_VENDOR_KEY);

    // Ops see everything.
    const ops = await call('GET', `/ops/submissions/${id}`, { token: OPS_TOKEN });
    expect(ops.status).toBe(200);
    expect(ops.json).toMatchObject({ state: { submissionId: id, status: 'RELEASED' }, findings: { total: 1 } });
    const opsList = await call('GET', `/ops/submissions?vendor=${VENDOR}&agency=nsa`, { token: OPS_TOKEN });
    expect((opsList.json.items as Array<{ submissionId: string }>).map((i) => i.submissionId)).toContain(id);
    const history = await call('GET', `/ops/submissions/${id}/history`, { token: OPS_TOKEN });
    expect(history.status).toBe(200);
    expect(Object.keys(history.json.histories as object)).toEqual(expect.arrayContaining([`submission/${id}`, `submission/${id}/agency/nsa`]));
    expect(history.text).not.toContain('SENSITIVE-DETAIL');
  });

  it('answers 503 with Retry-After, within its deadline, when the workflow a request needs has no worker', async () => {
    // The vendor's endpoint registry runs on a task queue no worker polls: a query or update to it could wait forever.
    await ensureVendorWorkflow(client, ORPHAN_VENDOR, unique('nobody-polls'));
    for (const [method, body] of [
      ['GET', undefined],
      ['POST', { url: 'http://127.0.0.1:9/hooks' }],
    ] as const) {
      const started = Date.now();
      const res = await call(method, '/v1/webhook-endpoints', { token: ORPHAN_VENDOR_KEY, ...(body ? { body } : {}) });
      const elapsedMs = Date.now() - started;
      expect({ method, status: res.status, code: res.json?.code, type: res.type }).toEqual({
        method,
        status: 503,
        code: 'unavailable',
        type: expect.stringContaining('application/problem+json'),
      });
      expect(res.retryAfter).toBe('5');
      // The 5 s deadline answered, not Temporal's own ~30 s "no poller" failure.
      expect(elapsedMs).toBeLessThan(20_000);
    }
    // The deadline is per request: the next vendor's request is served as usual.
    expect((await vendor('GET', '/v1/webhook-endpoints')).status).toBe(200);
  });

  it('serves a valid OpenAPI document, readiness and metrics', async () => {
    const doc = await call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toBe('3.1.0');
    const ready = await call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ ready: true, checks: { temporal: { ok: true }, kafka: { ok: true } } });
    const metrics = await call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('preflight_api_commands_total{command="respond-to-finding",outcome="ok"');
    expect(metrics.text).toMatch(/preflight_auth_refusals_total\{reason="not-found"/);
    expect(metrics.text).toContain('preflight_submissions{status="RELEASED"');
    expect(metrics.text).toMatch(/preflight_consumer_lag_messages\{group="preflight-ingress",topic="preflight\.agency-commands\.v1"/);
    expect(metrics.text).toContain('preflight_http_request_duration_seconds_bucket');
  });
});
