import type { Client } from '@temporalio/client';
import type { AuditRecord } from '../../events/audit';
import type { Config } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { submissionWorkflowId } from '../../workflows/submission/contract';
import { eventually } from '../helpers/agency-events';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { testClient, testConfig, unique } from '../helpers/stack-env';

jest.setTimeout(120_000);

const logger = createLogger({ level: 'error' });
const VENDOR = unique('input-vendor');
const VENDOR_KEY = 'pfv_input_' + 'i'.repeat(40);
const OPS_TOKEN = 'pfo_' + 'i'.repeat(43);

const submission = (requestedAgencies: string[]) => ({
  model: { name: 'frontier-input', version: '1.0.0', versionHash: 'sha256:' + 'ab'.repeat(32) },
  plannedReleaseAt: new Date(Date.now() + 30 * 24 * 3600_000).toISOString(),
  accessMethod: 'API',
  contacts: [{ name: 'Pat Vendor', email: 'pat@vendor.example' }],
  requestedAgencies,
});

describe('HTTP input details of the api', () => {
  let config: Config;
  let api: TestApi;
  let client: Client;

  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(api.url + path, { method: 'POST', headers: { authorization: `Bearer ${VENDOR_KEY}`, ...headers }, body });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };

  beforeAll(async () => {
    config = testConfig({ PREFLIGHT_TASK_QUEUE: unique('input'), PREFLIGHT_AUDIT_TOPIC: unique('preflight.audit.input-test') });
    api = await startTestApi(config, logger, { vendorKeys: { [VENDOR_KEY]: VENDOR }, opsTokens: { [OPS_TOKEN]: 'input-ops' } });
    client = await testClient();
  });
  afterAll(async () => {
    await api?.stop();
    await client?.connection.close();
  });

  it('answers a JSON body sent as text/plain (or any other non-JSON type) with 415, not 422', async () => {
    const body = JSON.stringify(submission(['nsa']));
    for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/xml', 'application/x-www-form-urlencoded']) {
      const res = await post('/v1/submissions', body, { 'content-type': type });
      expect({ type, status: res.status, code: res.json.code }).toEqual({ type, status: 415, code: 'unsupported-media-type' });
      expect(res.type).toContain('application/problem+json');
    }
  });

  it('answers a forbidden key with 400 saying which key, and broken JSON with 400 saying it is not JSON', async () => {
    const proto = await post('/v1/submissions', '{"__proto__": {"admin": true}, "accessMethod": "API"}', { 'content-type': 'application/json' });
    expect(proto).toMatchObject({ status: 400, json: { code: 'forbidden-key', errors: [{ path: '__proto__', message: 'forbidden key' }] } });
    expect(proto.json.detail).toBe('The key "__proto__" is forbidden: no body may hold "__proto__" or "constructor.prototype".');
    const nested = await post('/v1/submissions', '{"model": {"constructor": {"prototype": {"x": 1}}}}', { 'content-type': 'application/json; charset=utf-8' });
    expect(nested).toMatchObject({ status: 400, json: { code: 'forbidden-key', detail: expect.stringContaining('"model.constructor.prototype"') } });
    const broken = await post('/v1/submissions', '{"model": ', { 'content-type': 'application/json' });
    expect(broken).toMatchObject({ status: 400, json: { code: 'invalid-json', detail: expect.stringMatching(/^The body is not valid JSON: /) } });
    // A constructor key without a prototype is ordinary data: it reaches validation (422, strict schema), not 400.
    const plain = await post('/v1/submissions', JSON.stringify({ ...submission(['nsa']), constructor: 'x' }), { 'content-type': 'application/json' });
    expect(plain).toMatchObject({ status: 422, json: { code: 'invalid-input' } });
  });

  it('answers 400 on every route OpenAPI lists 400 for, and OpenAPI lists 400 on every route that takes a body', async () => {
    const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const checked: string[] = [];
    const wrong: string[] = [];
    for (const [route, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (method === 'get') continue;
        const url = api.url + route.replace(/\{[^}]+\}/g, 'x');
        const res = await fetch(url, { method: method.toUpperCase(), headers: { 'content-type': 'application/json' }, body: '{"__proto__": 1}' });
        checked.push(`${method} ${route}`);
        if (res.status !== 400 || !op.responses['400']) wrong.push(`${method.toUpperCase()} ${route}: ${res.status}, listed ${Boolean(op.responses['400'])}`);
      }
    }
    expect(checked).toContain('post /v1/submissions');
    expect(checked.length).toBeGreaterThan(15);
    expect(wrong).toEqual([]);
  });

  it('refuses a submission naming agencies outside the registry with 422 naming them, and starts no workflow', async () => {
    const res = await post('/v1/submissions', JSON.stringify(submission(['nsa', 'nsaa', 'cisa', 'not-an-agency'])), { 'content-type': 'application/json' });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({
      code: 'invalid-input',
      detail: expect.stringMatching(/^Unknown agency ids in requestedAgencies: nsaa, not-an-agency \(known: nsa, cisa, /),
      errors: [
        { path: 'requestedAgencies.1', message: 'unknown agency "nsaa"' },
        { path: 'requestedAgencies.3', message: 'unknown agency "not-an-agency"' },
      ],
    });
    // A valid submission made after the refused one is, once listed, the vendor's only one: the refused one made none.
    const valid = await post('/v1/submissions', JSON.stringify(submission(['nsa'])), { 'content-type': 'application/json' });
    expect(valid.status).toBe(201);
    const listed = await eventually(
      'the valid submission to be listed',
      async () => {
        const res = await fetch(`${api.url}/v1/submissions`, { headers: { authorization: `Bearer ${VENDOR_KEY}` } });
        const items = ((await res.json()) as { items: Array<{ submissionId: string }> }).items;
        return items.some((i) => i.submissionId === valid.json.submissionId) ? items : undefined;
      },
      60_000,
    );
    expect(listed.map((i) => i.submissionId)).toEqual([valid.json.submissionId]);
    await client.workflow.getHandle(submissionWorkflowId(String(valid.json.submissionId))).terminate('test over');
    // The refusal is in the audit trail, attributed to the vendor.
    const audit = (await (
      await fetch(`${api.url}/ops/audit?action=POST%20/v1/submissions&outcome=rejected`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } })
    ).json()) as {
      items: AuditRecord[];
    };
    expect(audit.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ actor: { kind: 'vendor', id: VENDOR }, reason: 'invalid-input', status: 422 })]),
    );
  });
});
