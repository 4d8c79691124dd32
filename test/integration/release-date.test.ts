import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import type { SubmissionView } from '../../wire/submission';
import { startWorker } from '../../workers/worker';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { eventually } from '../helpers/agency-events';
import { testConfig, testStack, unique } from '../helpers/stack-env';

jest.setTimeout(180_000);

const logger = createLogger({ level: 'warn' });
const VENDOR_KEY = 'pfv_relco_' + 'r'.repeat(40);
const VENDOR = unique('relco');
const DAY = 24 * 3600_000;

describe('release dates are the vendor’s: the vendor API accepts any future date and caps the window at 30 days', () => {
  let config: Config;
  let api: TestApi;
  const stops: Array<() => Promise<void>> = [];

  const vendor = async (method: string, url: string, body?: unknown, contentType = 'application/json') => {
    const res = await fetch(api.url + url, {
      method,
      headers: { authorization: `Bearer ${VENDOR_KEY}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'release-date-'));
    stops.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    config = testConfig({ PREFLIGHT_TASK_QUEUE: unique('release-date'), PREFLIGHT_DATA_DIR: dataDir });
    const stack = testStack();
    const worker = await startWorker(config, logger, { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers });
    stops.push(() => worker.stop());
    api = await startTestApi(config, logger, { vendorKeys: { [VENDOR_KEY]: VENDOR }, opsTokens: {} });
    stops.push(() => api.stop());
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  it('a postponement 45 days past access start is accepted (200); the window stays at 30 days; a pull-in moves it', async () => {
    const created = await vendor('POST', '/v1/submissions', {
      model: { name: 'frontier-7', version: '7.0.1', versionHash: 'sha256:' + 'ab'.repeat(32) },
      plannedReleaseAt: new Date(Date.now() + 10 * DAY).toISOString(),
      accessMethod: 'API',
      contacts: [{ name: 'Pat Vendor', email: 'pat@relco.example' }],
      requestedAgencies: ['treasury'],
    });
    expect(created.status).toBe(201);
    const id = String(created.json.submissionId);
    const view = async () => (await vendor('GET', `/v1/submissions/${id}`)).json as unknown as SubmissionView;
    const assessing = await eventually('the window to open', async () => {
      const v = await view();
      return v.status === 'UNDER_ASSESSMENT' && v.window ? v : undefined;
    });
    const opens = Date.parse(assessing.window!.opensAt);
    expect(Date.parse(assessing.window!.closesAt) - opens).toBeLessThan(11 * DAY);

    // Beyond the 30-day cap: accepted, the release moves, the window closes at access start + 30 days.
    const release = new Date(opens + 45 * DAY).toISOString();
    const postponed = await vendor('POST', `/v1/submissions/${id}/release-date`, { plannedReleaseAt: release });
    expect(postponed.status).toBe(200);
    expect(postponed.json.result).toEqual({ plannedReleaseAt: release, windowClosesAt: new Date(opens + 30 * DAY).toISOString() });
    const capped = await view();
    expect(capped.plannedReleaseAt).toBe(release);
    expect(capped.window).toEqual({ opensAt: assessing.window!.opensAt, closesAt: new Date(opens + 30 * DAY).toISOString() });
    // The grant follows the window: one live grant, expiring at the capped close.
    await eventually('the grant re-issued for the capped window', async () => {
      const v = await view();
      return v.activeGrants.length === 1 && v.activeGrants[0]!.expiresAt === capped.window!.closesAt ? v : undefined;
    });

    // Still refused: a malformed date (422), a date in the past (422), a wrong media type (415).
    const junk = await vendor('POST', `/v1/submissions/${id}/release-date`, { plannedReleaseAt: 'next tuesday' });
    expect([junk.status, junk.type]).toEqual([422, expect.stringContaining('application/problem+json')]);
    const past = await vendor('POST', `/v1/submissions/${id}/release-date`, { plannedReleaseAt: new Date(Date.now() - DAY).toISOString() });
    expect(past.status).toBe(422);
    expect(String(past.json.detail)).toMatch(/already passed/);
    const wrongType = await vendor('POST', `/v1/submissions/${id}/release-date`, '<plannedReleaseAt/>', 'application/xml');
    expect(wrongType.status).toBe(415);
    expect((await view()).window).toEqual(capped.window);

    // Pulled in to 20 days: the window shortens to the release.
    const sooner = new Date(opens + 20 * DAY).toISOString();
    const pulled = await vendor('POST', `/v1/submissions/${id}/release-date`, { plannedReleaseAt: sooner });
    expect([pulled.status, pulled.json.result]).toEqual([200, { plannedReleaseAt: sooner, windowClosesAt: sooner }]);
    expect((await view()).window?.closesAt).toBe(sooner);

    expect((await vendor('POST', `/v1/submissions/${id}/withdraw`, {})).status).toBe(200);
  });
});
