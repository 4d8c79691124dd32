import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { API_OPERATIONS, openApiDocument } from '../../workers/api/openapi';

/** The validator is ESM-only; it runs in a child Node process so the CommonJS test realm does not matter. */
function validate(document: unknown): { valid: boolean; errors?: unknown } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-')), 'openapi.json');
  fs.writeFileSync(file, JSON.stringify(document));
  const script = `
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const v = new Validator();
    const res = await v.validate(${JSON.stringify(file)});
    process.stdout.write(JSON.stringify({ valid: res.valid, errors: res.errors }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8' });
  return JSON.parse(out) as { valid: boolean; errors?: unknown };
}

describe('the OpenAPI document', () => {
  const doc = openApiDocument({ serverUrl: 'http://127.0.0.1:8080' }) as {
    openapi: string;
    paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown>; requestBody?: unknown }>>;
    components: { schemas: Record<string, { properties?: Record<string, unknown>; additionalProperties?: unknown }> };
  };

  it('is a valid OpenAPI 3.1 document', () => {
    const result = validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('a broken document is reported invalid (the validator is really checking)', () => {
    const broken = JSON.parse(JSON.stringify(doc)) as { paths: Record<string, Record<string, { responses?: unknown }>> };
    delete broken.paths['/v1/submissions']!.post!.responses;
    (broken.paths['/v1/submissions']!.post as Record<string, unknown>).parameters = [{ in: 'nowhere' }];
    expect(validate(broken).valid).toBe(false);
  });

  it('describes every vendor route of the public contract, secured, with problem responses', () => {
    const routes = API_OPERATIONS.map((o) => `${o.method.toUpperCase()} ${o.path}`);
    for (const route of [
      'POST /v1/submissions',
      'GET /v1/submissions',
      'GET /v1/submissions/{id}',
      'POST /v1/submissions/{id}/release-date',
      'POST /v1/submissions/{id}/info-requests/{rid}/response',
      'POST /v1/submissions/{id}/findings/{fid}/response',
      'GET /v1/submissions/{id}/findings',
      'GET /v1/submissions/{id}/findings/{fid}',
      'GET /v1/submissions/{id}/info-requests',
      'GET /v1/submissions/{id}/info-requests/{rid}',
      'POST /v1/submissions/{id}/acknowledge',
      'POST /v1/submissions/{id}/withdraw',
      'POST /v1/submissions/{id}/release',
      'POST /v1/access/verify',
      'GET /v1/webhook-endpoints',
      'POST /v1/webhook-endpoints',
      'PATCH /v1/webhook-endpoints/{id}',
      'DELETE /v1/webhook-endpoints/{id}',
      'POST /v1/webhook-endpoints/{id}/rotate-secret',
      'GET /v1/webhook-endpoints/{id}/deliveries',
      'POST /v1/webhook-endpoints/{id}/replay',
    ]) {
      expect(routes).toContain(route);
    }
    const create = doc.paths['/v1/submissions']!.post!;
    expect(create.security).toEqual([{ vendorKey: [] }]);
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '413', '415', '422']));
    expect(doc.paths['/v1/submissions/{id}/withdraw']!.post!.responses['409']).toBeDefined();
    expect(doc.paths['/v1/submissions/{id}']!.get!.responses['404']).toBeDefined();
    // The request deadline's 503 is listed where a route calls Temporal, and only there.
    expect(create.responses['503']).toBeDefined();
    expect(doc.paths['/codec/decode']!.post!.responses['503']).toBeUndefined();
    expect(doc.paths['/healthz']!.get!.responses['503']).toBeUndefined();
  });

  it('describes the ops case actions with their bodies and precise refusals, and the CSAF document', () => {
    for (const action of ['triage', 'parties', 'status', 'exploitation', 'duplicate', 'publish', 'close']) {
      const op = doc.paths[`/ops/cases/{fingerprint}/${action}`]!.post!;
      expect(op.security).toEqual([{ opsToken: [] }]);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '401', '404', '409', '415', '422']));
    }
    const schemas = (doc.components as unknown as { schemas: Record<string, { properties?: Record<string, { pattern?: string; enum?: string[] }> }> }).schemas;
    expect(schemas.CaseTriageRequest!.properties!.cweId!.pattern).toBe('^CWE-[1-9]\\d{0,5}$');
    expect(schemas.CasePartyRequest!.properties!.kind!.enum).toEqual(['agency', 'vendor', 'maintainer', 'coordinator', 'other']);
    expect(schemas.CasePublishRequest!.properties!.override).toBeDefined();
    expect(doc.paths['/ops/cases/{fingerprint}/csaf']!.get!.responses['404']).toBeDefined();
  });

  it('lists 400, 413 and 415 on every route that takes a body (every method but GET), and 422 where a body is validated', () => {
    const missing: string[] = [];
    for (const [route, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const expected = method === 'get' ? [] : ['400', '413', '415', ...(op.requestBody ? ['422'] : [])];
        for (const status of expected) if (!op.responses[status]) missing.push(`${method.toUpperCase()} ${route} ${status}`);
        if (method === 'get' && op.responses['415']) missing.push(`GET ${route} lists 415 but takes no body`);
      }
    }
    expect(missing).toEqual([]);
    expect(JSON.stringify(doc.paths['/v1/submissions']!.post!.responses['400'])).toContain('forbidden-key');
  });

  it('describes the agency API with its signature scheme, 401 reasons and 404 for what is not the caller’s', () => {
    const agencyRoutes = API_OPERATIONS.filter((o) => o.tag === 'agency').map((o) => `${o.method.toUpperCase()} ${o.path}`);
    expect(agencyRoutes).toEqual([
      'GET /v1/agency/assessments',
      'GET /v1/agency/assessments/{sid}',
      'GET /v1/agency/assessments/{sid}/info-requests',
      'GET /v1/agency/assessments/{sid}/info-requests/{rid}',
      'GET /v1/agency/assessments/{sid}/findings',
      'GET /v1/agency/assessments/{sid}/findings/{fid}',
      'GET /v1/agency/assessments/{sid}/access-token',
      'GET /v1/agency/cases/{fingerprint}',
    ]);
    const token = doc.paths['/v1/agency/assessments/{sid}/access-token']!.get!;
    expect(token.security).toEqual([{ agencySignature: [] }]);
    expect(Object.keys(token.responses)).toEqual(expect.arrayContaining(['200', '401', '404', '409']));
    expect(JSON.stringify(token.responses['401'])).toContain('replayed-nonce');
    const agencyCase = doc.paths['/v1/agency/cases/{fingerprint}']!.get!;
    expect(agencyCase.security).toEqual([{ agencySignature: [] }]);
    expect(Object.keys(agencyCase.responses)).toEqual(expect.arrayContaining(['200', '401', '404']));
    const scheme = (doc.components as unknown as { securitySchemes: Record<string, { description: string }> }).securitySchemes.agencySignature!;
    for (const part of ['RFC 9421', '@target-uri', 'content-digest', 'created', 'keyid', 'alg="ed25519"', 'nonce', '300 s'])
      expect(scheme.description).toContain(part);
  });

  it('documents Idempotency-Key, its refusals and the mitigation review state', () => {
    for (const [p, method] of [
      ['/v1/submissions', 'post'],
      ['/v1/webhook-endpoints', 'post'],
      ['/v1/webhook-endpoints/{id}/rotate-secret', 'post'],
      ['/v1/submissions/{id}/findings/{fid}/response', 'post'],
    ] as const) {
      const op = doc.paths[p]![method]! as unknown as { parameters: Array<{ name: string; in: string }>; responses: Record<string, { description: string }> };
      expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header' })]));
      expect(op.responses['422']!.description).toMatch(/idempotency-key-reused/);
      expect(op.responses['409']!.description).toMatch(/idempotency-key-in-use/);
    }
    const list = doc.paths['/v1/submissions/{id}/findings']!.get! as unknown as { parameters: Array<{ name: string }> };
    expect(list.parameters.map((x) => x.name)).toEqual(expect.arrayContaining(['pageSize', 'nextPageToken']));
    expect(Object.keys(doc.components.schemas.FindingListItem!.properties ?? {})).toEqual(
      expect.arrayContaining(['findingId', 'agencyId', 'severity', 'title', 'response', 'note', 'mitigation']),
    );
    expect(Object.keys(doc.components.schemas.Submission!.properties ?? {})).toContain('mitigationsAwaitingConfirmation');
  });

  it('generates request bodies from the strict zod schemas', () => {
    const create = doc.components.schemas.CreateSubmissionRequest!;
    expect(create.additionalProperties).toBe(false);
    expect(Object.keys(create.properties ?? {})).toEqual(
      expect.arrayContaining(['model', 'plannedReleaseAt', 'accessMethod', 'contacts', 'requestedAgencies']),
    );
  });

  it('describes the console reads and bulk replays, ops only', () => {
    for (const [method, route] of [
      ['get', '/ops/overview'],
      ['get', '/ops/submissions/{id}/agencies'],
      ['get', '/ops/deliveries'],
      ['post', '/ops/bulk-replays'],
      ['get', '/ops/bulk-replays'],
      ['get', '/ops/bulk-replays/{id}'],
    ] as const) {
      const op = doc.paths[route]?.[method];
      expect([route, op?.security]).toEqual([route, [{ opsToken: [] }]]);
    }
    expect(Object.keys(doc.paths['/ops/bulk-replays']!.post!.responses)).toEqual(expect.arrayContaining(['202', '401', '403', '422']));
    expect(doc.components.schemas.BulkReplayRequest).toBeDefined();
  });
});
