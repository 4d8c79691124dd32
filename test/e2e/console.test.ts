import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { sendAgencyCommand } from '../../events/agency-client';
import { createKafka } from '../../events/kafka';
import { TOPICS } from '../../events/topics';
import type { Config } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import type { SubmissionView } from '../../wire/submission';
import { runDispatcher } from '../../workers/dispatcher';
import { runIngress } from '../../workers/ingress/index';
import { startWorker } from '../../workers/worker';
import { agencyKeys, eventually, startGroupAtEnd } from '../helpers/agency-events';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { testConfig, testStack, unique } from '../helpers/stack-env';
import { Receiver } from '../helpers/webhook-receiver';

jest.setTimeout(600_000);

const logger = createLogger({ level: 'warn' });
const VENDOR = unique('console-vendor');
const VENDOR_KEY = 'pfv_console_' + 'c'.repeat(40);
const OPS_TOKEN = 'pfo_console_' + 'p'.repeat(40);
const DAY = 24 * 3600_000;
/** Screenshots of every page at both sizes; the folder is printed when the file starts. */
const SHOTS = path.resolve('test-results', `console-${new Date().toISOString().replace(/[:.]/g, '-')}`);

/**
 * The console in Chromium on a data set seeded through the public interfaces only: the vendor API (vendor key), agency
 * commands on Kafka (each agency signs its own), and the ops API (ops token). Seeded: a released submission with
 * findings and a clearinghouse case, one under assessment with an agency on hold and its window closing in 5 days, a
 * withdrawn one, a webhook endpoint answering 500, and dead letters (commands for submissions that do not exist).
 */
describe('the ops console in Chromium', () => {
  let config: Config;
  let api: TestApi;
  let kafka: Kafka;
  let producer: Producer;
  let browser: Browser;
  const receiver = new Receiver([{ status: 500, body: 'down' }]);
  const stops: Array<() => Promise<void>> = [];
  const agencies = agencyKeys(['nsa', 'cisa']);
  const seededAt = new Date().toISOString();
  let endpointId = '';
  const ids = { released: '', assessing: '', withdrawn: '' };
  let caseFingerprint = '';

  const call = async (method: string, url: string, token: string, body?: unknown) => {
    const res = await fetch(api.url + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  };
  const vendor = (method: string, url: string, body?: unknown) => call(method, url, VENDOR_KEY, body);
  const ops = async <T>(url: string) => (await call('GET', url, OPS_TOKEN)).json as T;
  const state = async (id: string) => (await vendor('GET', `/v1/submissions/${id}`)).json as unknown as SubmissionView;
  const agencyStatus = async (id: string, agencyId: string) => (await state(id)).agencies.find((a) => a.agencyId === agencyId)?.status;
  const command = (agencyId: string, subject: string, type: string, data: Record<string, unknown> = {}) =>
    sendAgencyCommand(producer, { agencyId, type, subject, data }, agencies.keys[agencyId]!);
  const waitAgency = (id: string, agencyId: string, status: string) =>
    eventually(`${agencyId} ${status} on ${id}`, async () => ((await agencyStatus(id, agencyId)) === status ? true : undefined), 120_000);
  const waitStatus = (id: string, status: string) =>
    eventually(`${id} ${status}`, async () => ((await state(id)).status === status ? true : undefined), 120_000);
  const create = async (release: number, requestedAgencies: string[], name: string) => {
    const created = await vendor('POST', '/v1/submissions', {
      model: { name, version: '1.0.0', versionHash: 'sha256:' + 'ab'.repeat(32) },
      plannedReleaseAt: new Date(Date.now() + release).toISOString(),
      accessMethod: 'API',
      contacts: [{ name: 'Release Desk', email: 'release@console.example' }],
      requestedAgencies,
    });
    expect(created.status).toBe(201);
    return String(created.json.submissionId);
  };

  /** Opens a console route in the page and waits until it has rendered (or failed). */
  const go = async (page: Page, hash: string) => {
    await page.evaluate(`document.body.dataset.ready = 'pending'; location.hash = ${JSON.stringify(hash)}`);
    await page.waitForSelector('body[data-ready="true"], body[data-ready="error"]', { timeout: 60_000 });
    const error = await page
      .locator('#view .alert')
      .first()
      .textContent({ timeout: 100 })
      .catch(() => null);
    expect([await page.getAttribute('body', 'data-ready'), error]).toEqual(['true', null]);
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const openConsole = async (width: number, height: number) => {
    const page = await browser.newPage({ viewport: { width, height } });
    await page.goto(`${api.url}/console/#token=${OPS_TOKEN}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    expect(page.url()).not.toContain(OPS_TOKEN);
    return page;
  };

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    process.stdout.write(`console screenshots: ${SHOTS}\n`);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-e2e-'));
    config = testConfig({
      PREFLIGHT_TASK_QUEUE: unique('console'),
      PREFLIGHT_DATA_DIR: dataDir,
      PREFLIGHT_WEBHOOK_ALLOWLIST: '127.0.0.1/32',
      PREFLIGHT_API_TEMPORAL_TIMEOUT_MS: '20000',
    });
    const stack = testStack();
    const endpoints = { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers };
    kafka = createKafka(config.kafka, logger, stack.kafkaBrokers, 'console-e2e');
    producer = kafka.producer();
    await producer.connect();
    const ingressGroup = unique('console-ingress');
    const dispatcherGroup = unique('console-dispatcher');
    await startGroupAtEnd(kafka, ingressGroup);
    await startGroupAtEnd(kafka, dispatcherGroup, TOPICS.submissionEvents);
    await receiver.listen('127.0.0.1');
    stops.push(() => receiver.close());

    const worker = await startWorker(config, logger, endpoints);
    stops.push(() => worker.stop());
    const ingress = await runIngress(config, logger, { registry: agencies.registry, groupId: ingressGroup, ...endpoints });
    stops.push(() => ingress.stop());
    const dispatcher = await runDispatcher(config, logger, {
      ...endpoints,
      groupId: dispatcherGroup,
      taskQueue: config.taskQueue,
      deliveryPolicy: { delaysMs: [0, 300, 300], jitterRatio: 0.1, requestTimeoutMs: 2000, disableAfterMs: 10 * 60_000 },
    });
    stops.push(() => dispatcher.stop());
    api = await startTestApi(config, logger, {
      vendorKeys: { [VENDOR_KEY]: VENDOR },
      opsTokens: { [OPS_TOKEN]: 'console-ops' },
      agencyRegistry: agencies.registry,
    });
    stops.push(() => api.stop());
    browser = await chromium.launch({ executablePath: process.env.PREFLIGHT_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
    stops.push(() => browser.close());

    // A webhook endpoint that answers 500 to everything.
    const endpoint = await vendor('POST', '/v1/webhook-endpoints', { url: `http://127.0.0.1:${receiver.port}/hooks`, description: 'failing receiver' });
    expect(endpoint.status).toBe(201);
    endpointId = String(endpoint.json.id);

    // Released: NSA asks, is answered, reports a high finding and a third-party one (a case); CISA declines.
    ids.released = await create(20 * DAY, ['nsa', 'cisa'], 'console-released');
    await waitStatus(ids.released, 'UNDER_ASSESSMENT');
    await command('nsa', ids.released, 'gov.preflight.assessment.accept.v1');
    await command('cisa', ids.released, 'gov.preflight.assessment.decline.v1', { reason: 'out of scope' });
    await waitAgency(ids.released, 'nsa', 'ACCEPTED');
    await command('nsa', ids.released, 'gov.preflight.assessment.start.v1');
    await waitAgency(ids.released, 'nsa', 'IN_PROGRESS');
    await command('nsa', ids.released, 'gov.preflight.assessment.request-info.v1', { question: 'Which filters run in the API tier?' });
    const requestId = await eventually('the information request', async () => (await state(ids.released)).openInfoRequests[0]?.requestId, 120_000);
    expect((await vendor('POST', `/v1/submissions/${ids.released}/info-requests/${requestId}/response`, { response: 'Classifier v3.' })).status).toBe(200);
    await waitAgency(ids.released, 'nsa', 'IN_PROGRESS');
    const finding = (severity: string, thirdParty: boolean) => ({
      finding: {
        severity,
        domain: 'offensive-cyber',
        title: thirdParty ? `Prompt injection in ${VENDOR} gateway 2.3` : 'Exploit chain assistance',
        detail: 'SENSITIVE-DETAIL',
        modelVersionTested: '1.0.0',
        recommendedMitigation: 'Tighten the policy.',
        thirdPartyVulnerability: thirdParty,
        ...(thirdParty ? { affectedProduct: `${VENDOR} gateway 2.3`, weakness: 'prompt injection' } : {}),
      },
    });
    await command('nsa', ids.released, 'gov.preflight.finding.submit.v1', finding('HIGH', false));
    await command('nsa', ids.released, 'gov.preflight.finding.submit.v1', finding('MEDIUM', true));
    await eventually('two findings', async () =>
      (await state(ids.released)).agencies.find((a) => a.agencyId === 'nsa')!.findingsCount === 2 ? true : undefined,
    );
    await command('nsa', ids.released, 'gov.preflight.assessment.complete.v1');
    await waitStatus(ids.released, 'CLEARANCE_ISSUED');
    expect((await vendor('POST', `/v1/submissions/${ids.released}/findings/nsa-f1/response`, { response: 'MITIGATED', note: 'Fixed.' })).status).toBe(200);
    expect((await vendor('POST', `/v1/submissions/${ids.released}/acknowledge`, {})).status).toBe(200);
    expect((await vendor('POST', `/v1/submissions/${ids.released}/release`, {})).status).toBe(200);

    // Under assessment, window closing in 5 days: NSA on hold (its question unanswered), CISA at work.
    ids.assessing = await create(5 * DAY, ['nsa', 'cisa'], 'console-assessing');
    await waitStatus(ids.assessing, 'UNDER_ASSESSMENT');
    await command('nsa', ids.assessing, 'gov.preflight.assessment.accept.v1');
    await command('cisa', ids.assessing, 'gov.preflight.assessment.accept.v1');
    await waitAgency(ids.assessing, 'nsa', 'ACCEPTED');
    await waitAgency(ids.assessing, 'cisa', 'ACCEPTED');
    await command('nsa', ids.assessing, 'gov.preflight.assessment.start.v1');
    await command('cisa', ids.assessing, 'gov.preflight.assessment.start.v1');
    await waitAgency(ids.assessing, 'nsa', 'IN_PROGRESS');
    await command('nsa', ids.assessing, 'gov.preflight.assessment.request-info.v1', { question: 'Where are the eval logs?' });
    await waitAgency(ids.assessing, 'nsa', 'INFO_REQUESTED');

    ids.withdrawn = await create(20 * DAY, ['nsa'], 'console-withdrawn');
    expect((await vendor('POST', `/v1/submissions/${ids.withdrawn}/withdraw`, { reason: 'not ready' })).status).toBe(200);
    await waitStatus(ids.withdrawn, 'WITHDRAWN');

    // Dead letters: NSA's commands for submissions that do not exist.
    for (let i = 0; i < 3; i++) await command('nsa', unique('no-such'), 'gov.preflight.assessment.accept.v1');

    // What the console will read, settled: visibility counts, the case, failed deliveries, the dead letters.
    await eventually(
      'the overview to count the seeded submissions',
      async () => {
        const o = await ops<{ submissions: { byStatus: Record<string, number> }; notices: { byKind: Record<string, number> }; endpoints: unknown[] }>(
          `/ops/overview?vendor=${VENDOR}`,
        );
        const s = o.submissions.byStatus;
        return s.RELEASED === 1 && s.UNDER_ASSESSMENT === 1 && s.WITHDRAWN === 1 && o.endpoints.length === 1 ? o : undefined;
      },
      180_000,
    );
    caseFingerprint = await eventually(
      'the case of the third-party finding',
      async () => {
        const cases = await ops<{ items: Array<{ caseId: string }> }>('/ops/cases?agencyId=nsa&limit=200');
        for (const c of cases.items) {
          const view = await ops<{ reports: Array<{ submissionId?: string }> }>(`/ops/cases/${c.caseId.replace(/^case\//, '')}`);
          if (view.reports.some((r) => r.submissionId === ids.released)) return c.caseId.replace(/^case\//, '');
        }
        return undefined;
      },
      120_000,
    );
    await eventually(
      'the three dead letters',
      async () => {
        const dl = await ops<{ items: Array<{ reason: string; agencyId?: string; time: string }> }>('/ops/dead-letters?limit=1000');
        return dl.items.filter((d) => d.reason === 'not-invited' && d.agencyId === 'nsa' && d.time >= seededAt).length >= 3 ? true : undefined;
      },
      120_000,
    );
  });

  afterAll(async () => {
    await producer?.disconnect();
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  it('shows the overview numbers of the seeded data, and is keyboard usable', async () => {
    const page = await openConsole(1280, 800);
    // The skip link is the first stop and takes the focus to the main content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement.id')).toBe('main');

    await go(page, `#/?vendor=${VENDOR}`);
    const metric = (id: string) => page.locator(`[data-metric="${id}"]`).textContent();
    expect(await metric('submissions-RELEASED')).toBe('1');
    expect(await metric('submissions-UNDER_ASSESSMENT')).toBe('1');
    expect(await metric('submissions-WITHDRAWN')).toBe('1');
    expect(await metric('submissions-CLOSED')).toBe('0');
    expect(await metric('notices-CONCERNS_NOTED')).toBe('1');
    expect(await metric('windows-closing')).toBe('1');
    expect(await page.locator('#ov-windows + ul').textContent()).toContain(ids.assessing);
    expect(await metric('agencies-on-hold')).toBe('1');
    const holdRow = page.locator('#ov-hold + .table-wrap tbody tr');
    expect(await holdRow.count()).toBe(1);
    expect(await holdRow.textContent()).toMatch(new RegExp(`${ids.assessing}NSAINFO REQUESTED`));
    expect(await metric('agencies-overdue')).toBe('0');
    expect(await metric('endpoints-failing')).toBe('1');
    expect(await page.locator('#ov-endpoints + .table-wrap tbody').textContent()).toContain(endpointId);
    const waiting = Number(await metric('dead-letters-waiting'));
    expect(waiting).toBeGreaterThanOrEqual(3);
    expect(Number(await metric('cases-OPEN')) + Number(await metric('cases-TRIAGED'))).toBeGreaterThanOrEqual(1);
    // Every link and button has a visible focus outline.
    await page.locator('nav a').first().focus();
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await shot(page, 'overview-1280');
    await page.close();
  });

  it('shows a submission: agency cards, findings, grants, and the timeline over the access window', async () => {
    const page = await openConsole(1280, 800);
    await go(page, `#/submissions/${ids.released}`);
    const s = await state(ids.released);
    const nsa = page.locator('.agency-card[data-agency="nsa"]');
    expect(await nsa.locator('h3').textContent()).toContain('FINDINGS SUBMITTED');
    expect(await nsa.locator('.clock').textContent()).toMatch(/active · .* on hold/);
    expect(await nsa.locator('.info-requests').textContent()).toMatch(/nsa-ir-1: asked .* answered /);
    expect(await page.locator('.agency-card[data-agency="cisa"] h3').textContent()).toContain('DECLINED');
    const findings = page.locator('#findings tbody tr');
    expect(await findings.count()).toBe(2);
    expect(await findings.nth(0).textContent()).toMatch(/nsa-f1NSAHIGH.*MITIGATED.*AWAITING CONFIRMATION/);
    expect(await findings.nth(1).textContent()).toMatch(/nsa-f2NSAMEDIUM.*no response yet/);
    expect(await page.locator('#findings').textContent()).not.toContain('SENSITIVE-DETAIL');
    expect(await page.locator('#grants tbody tr', { hasText: 'revoked' }).count()).toBeGreaterThanOrEqual(1);

    // The axis spans the access window (it closes at the planned release, so the release markers sit on its ends).
    const ticks = await page.locator('#picture .tick').evaluateAll((els) => els.map((e) => e.getAttribute('data-t')));
    expect(ticks[0]).toBe(new Date(s.window!.opensAt).toISOString());
    expect(ticks.at(-1)).toBe(new Date(s.window!.closesAt).toISOString());
    expect(await page.locator('#picture .planned-release').count()).toBe(1);
    expect(await page.locator('#picture .declared-release').count()).toBe(1);
    expect(await page.locator('#picture .finding').count()).toBe(2);
    expect(await page.locator('#picture .hold').count()).toBe(1);
    expect(await page.locator('#picture text.lane-label').allTextContents()).toEqual(['Status', 'Access window', 'NSA', 'CISA', 'Notices']);
    // Status labels never overlap.
    const boxes = (await page.evaluate(
      `[...document.querySelectorAll('#picture text.status-label')].map((e) => e.getBBox()).map((b) => ({ x: b.x, y: b.y, w: b.width, h: b.height }))`,
    )) as Array<{ x: number; y: number; w: number; h: number }>;
    expect(boxes.length).toBeGreaterThan(0);
    for (const [i, a] of boxes.entries())
      for (const b of boxes.slice(i + 1)) expect(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y).toBe(true);

    // Delivery attempts are folded away until asked for.
    const toggle = page.locator('#toggle-deliveries');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    const folded = await page.locator('#entries tbody tr').count();
    expect(await page.locator('#entries tbody tr', { hasText: 'webhook ' }).count()).toBe(0);
    const attempts = Number(/\((\d+)\)/.exec((await toggle.textContent())!)![1]);
    expect(attempts).toBeGreaterThan(0);
    await shot(page, 'submission-1280');
    await page.evaluate(`document.body.dataset.ready = 'pending'`);
    await toggle.click();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('#toggle-deliveries').getAttribute('aria-expanded')).toBe('true');
    expect(await page.locator('#entries tbody tr', { hasText: 'webhook ' }).count()).toBe(attempts);
    expect(await page.locator('#entries tbody tr').count()).toBe(folded + attempts);

    // The submission under assessment: NSA on hold with its question waiting, the deadline counting down.
    await go(page, `#/submissions/${ids.assessing}`);
    const held = page.locator('.agency-card[data-agency="nsa"]');
    expect(await held.locator('h3').textContent()).toContain('INFO REQUESTED');
    expect(await held.locator('.clock').textContent()).toContain('on hold now');
    expect(await held.locator('.info-requests').textContent()).toMatch(/1 waiting on the vendor/);
    expect(await held.locator('.deadline').textContent()).toMatch(/closes in (4|5)\.\d d/);
    expect(await page.locator('.agency-card[data-agency="cisa"] h3').textContent()).toContain('IN PROGRESS');
    await page.close();
  });

  it('shows the case with its operator actions: one the case takes, one it refuses and why', async () => {
    const page = await openConsole(1280, 800);
    await go(page, '#/cases');
    await page.locator(`a[href="#/cases/${caseFingerprint}"]`).click();
    await page.waitForSelector('#case-actions');
    expect(await page.locator('#case-facts').textContent()).toContain('NSA');
    expect(await page.locator('form.case-action').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))).toEqual([
      'triage',
      'parties',
      'status',
      'exploitation',
      'duplicate',
      'publish',
      'close',
      'csaf',
    ]);
    // An action the case takes: the page shows the case as it is afterwards.
    const triage = page.locator('form[data-action="triage"]');
    await triage.locator('select[name="severity"]').selectOption('HIGH');
    await triage.locator('input[name="cweId"]').fill('CWE-1427');
    await triage.locator('button').click();
    await page.locator('#view h1', { hasText: 'TRIAGED' }).waitFor({ timeout: 60_000 });
    expect(await page.locator('#view h1').textContent()).toContain('HIGH');
    expect(await page.locator('#case-facts').textContent()).toContain('(CWE-1427)');
    // An action the case refuses (publishing before parties are told and the embargo lifts): the person sees why.
    const publish = page.locator('form[data-action="publish"]');
    await publish.locator('button').click();
    await page.waitForSelector('form[data-action="publish"][data-state="refused"]', { timeout: 60_000 });
    const said = (await publish.locator('.result').textContent()) ?? '';
    expect(said).toMatch(/\(409\)$/);
    expect(said.length).toBeGreaterThan(20);
    expect(await page.locator('#view h1').textContent()).toContain('TRIAGED');
    await shot(page, 'case-1280');
    await page.close();
  });

  it('replays the failed deliveries of one endpoint in bulk, with progress', async () => {
    const page = await openConsole(1280, 800);
    await go(page, `#/deliveries?vendor=${VENDOR}&status=FAILED&endpoint=${endpointId}`);
    const matching = Number(await page.locator('#match-count strong').textContent());
    expect(matching).toBeGreaterThanOrEqual(3);
    // The receiver is fixed; the replayed deliveries now succeed.
    receiver.script = [{ status: 204 }];
    const before = receiver.requests.length;
    await page.locator('#bulk-replay').click();
    await page.waitForSelector('#replay-progress[data-state="done"]', { timeout: 120_000 });
    const progress = page.locator('#replay-progress');
    expect(await progress.locator('[data-count="total"]').textContent()).toBe(String(matching));
    expect(await progress.locator('[data-count="replayed"]').textContent()).toBe(String(matching));
    expect(await progress.locator('[data-count="failed"]').textContent()).toBe('0');
    const job = (await progress.getAttribute('data-job'))!;
    await shot(page, 'deliveries-replayed-1280');
    await eventually('the replayed deliveries delivered', async () => {
      const listed = await ops<{ items: unknown[] }>(`/ops/deliveries?vendor=${VENDOR}&endpoint=${endpointId}&status=DELIVERED`);
      return listed.items.length >= matching && receiver.requests.length >= before + matching ? true : undefined;
    });
    await go(page, `#/audit`);
    const rows = page.locator('#view tbody tr', { hasText: job });
    expect(await rows.allTextContents()).toEqual([
      expect.stringMatching(/ops:console-opsbulk replay of deliveries ended\/ops\/bulk-replays\/.*ok.*replayed=[1-9]/),
      expect.stringMatching(/ops:console-opsPOST \/ops\/bulk-replays.*ok \(202\).*bulkReplay=/),
    ]);
    await page.close();
  });

  it('replays a filtered set of dead letters in bulk, audited, with progress', async () => {
    const page = await openConsole(1280, 800);
    await go(page, `#/dead-letters?reason=not-invited&agencyId=nsa&since=${encodeURIComponent(seededAt)}`);
    const matching = Number(await page.locator('#match-count strong').textContent());
    expect(matching).toBeGreaterThanOrEqual(3);
    expect(await page.locator('#view tbody tr', { hasText: 'not-invited' }).count()).toBe(matching);
    await page.locator('#bulk-replay').click();
    await page.waitForSelector('#replay-progress[data-state="done"]', { timeout: 120_000 });
    const progress = page.locator('#replay-progress');
    expect(Number(await progress.locator('[data-count="total"]').textContent())).toBeGreaterThanOrEqual(matching);
    expect(await progress.locator('[data-count="replayed"]').textContent()).toBe(await progress.locator('[data-count="total"]').textContent());
    const job = (await progress.getAttribute('data-job'))!;
    expect(await progress.locator('h2').textContent()).toContain('Replay dead-letters where reason=not-invited, agencyId=nsa, since=');
    await shot(page, 'dead-letters-replayed-1280');
    await go(page, '#/dead-letters');
    expect(await page.locator('#view', { hasText: job }).count()).toBe(1);
    await go(page, '#/audit');
    expect(await page.locator('#view tbody tr', { hasText: job }).allTextContents()).toEqual([
      expect.stringMatching(/bulk replay of dead-letters ended.*ok.*replayed=[1-9]/),
      expect.stringMatching(/POST \/ops\/bulk-replays.*ok \(202\).*bulkReplay=/),
    ]);
    await shot(page, 'audit-1280');
    await page.close();
  });

  it('works at phone width (375 px): no page scrolls sideways, wide parts scroll inside their box', async () => {
    const page = await openConsole(375, 800);
    for (const [name, hash] of [
      ['overview', `#/?vendor=${VENDOR}`],
      ['submission', `#/submissions/${ids.released}`],
      ['case', `#/cases/${caseFingerprint}`],
      ['deliveries', `#/deliveries?vendor=${VENDOR}`],
      ['dead-letters', '#/dead-letters?reason=not-invited'],
      ['audit', '#/audit'],
    ] as const) {
      await go(page, hash);
      expect([name, await page.evaluate('document.documentElement.scrollWidth')]).toEqual([name, 375]);
      await shot(page, `${name}-375`);
    }
    await page.close();
  });
});
