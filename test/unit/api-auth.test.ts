import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { MemoryAuditTrail } from '../../events/audit-trail';
import { verifyAuditTrail } from '../../events/audit';
import Fastify from 'fastify';
import pino from 'pino';
import {
  authenticate,
  combineAuthenticators,
  hashSecret,
  loadOpsKeyFile,
  newOpsToken,
  opsAuthenticator,
  registerAuditTrail,
  type Authenticator,
} from '../../workers/api/auth';
import { HttpProblem, parseOr422, problemErrorHandler, problemFromUpdateFailure, problems } from '../../workers/api/problems';
import { FAILURES } from '../../workflows/shared/failures';
import { CreateSubmissionRequest } from '../../workers/api/http-schemas';

const silent = pino({ level: 'silent' });

describe('ops tokens and the key file', () => {
  it('stores only hashes and authenticates the token whose hash is listed', () => {
    const token = newOpsToken();
    expect(token).toMatch(/^pfo_[A-Za-z0-9_-]{43}$/);
    const file = { version: 1 as const, operators: [{ operator: 'alice', sha256: hashSecret(token) }] };
    expect(JSON.stringify(file)).not.toContain(token);
    const auth = opsAuthenticator(file);
    expect(auth(token)).toEqual({ kind: 'ops', operator: 'alice' });
    expect(auth(token + 'x')).toBeUndefined();
    expect(auth(hashSecret(token))).toBeUndefined();
  });

  it('refuses a malformed key file with its path in the message', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-keys-'));
    const good = path.join(dir, 'ok.json');
    fs.writeFileSync(good, JSON.stringify({ version: 1, operators: [{ operator: 'bob', sha256: 'a'.repeat(64) }] }));
    expect(loadOpsKeyFile(good).operators[0]!.operator).toBe('bob');
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ version: 1, operators: [{ operator: 'bob', token: 'plaintext' }] }));
    expect(() => loadOpsKeyFile(bad)).toThrow(bad);
    expect(() => loadOpsKeyFile(path.join(dir, 'missing.json'))).toThrow('Cannot read the ops key file');
  });
});

describe('authentication hooks and the audit trail', () => {
  const vendorKeys: Authenticator = (s) => (s === 'vendor-acme-key' ? { kind: 'vendor', vendorId: 'acme' } : undefined);
  const ops: Authenticator = (s) => (s === 'ops-token' ? { kind: 'ops', operator: 'olga' } : undefined);
  const audit = new MemoryAuditTrail('unit-api');
  const app = Fastify({ logger: false });
  beforeAll(async () => {
    registerAuditTrail(app, audit, silent);
    await app.register(async (scope) => {
      scope.setErrorHandler(problemErrorHandler(silent));
      const auth = combineAuthenticators(ops, vendorKeys);
      scope.get('/vendor-only', { preHandler: authenticate(auth, ['vendor']) }, async (r) => ({ who: r.principal }));
      scope.get('/ops-only', { preHandler: authenticate(auth, ['ops']) }, async (r) => ({ who: r.principal }));
      scope.get('/missing', { preHandler: authenticate(auth, ['vendor']) }, async () => {
        throw problems.notFound();
      });
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  let base = '';
  // A real socket rather than inject(): light-my-request loads an ESM-only module jest cannot require.
  const inject = async (o: { url: string; headers?: Record<string, string> }) => {
    const res = await fetch(base + o.url, { headers: o.headers ?? {} });
    const text = await res.text();
    return { statusCode: res.status, headers: Object.fromEntries(res.headers.entries()), json: () => JSON.parse(text) as unknown };
  };
  afterAll(() => app.close());

  it('lets the right principal through', async () => {
    const res = await inject({ url: '/vendor-only', headers: { authorization: 'Bearer vendor-acme-key' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ who: { kind: 'vendor', vendorId: 'acme' } });
  });

  it.each([
    ['no credential', '/vendor-only', undefined, 401, 'anonymous'],
    ['an unknown credential', '/vendor-only', 'Bearer guess', 401, 'unknown-credential'],
    ['a malformed header', '/vendor-only', 'Basic dmVuZG9y', 401, 'anonymous'],
    ['ops on a vendor route', '/vendor-only', 'Bearer ops-token', 403, 'ops:olga'],
    ['a vendor on an ops route', '/ops-only', 'Bearer vendor-acme-key', 403, 'vendor:acme'],
    ['a vendor asking for what is not theirs', '/missing', 'Bearer vendor-acme-key', 404, 'vendor:acme'],
  ])('refuses %s with a problem and audits it', async (_what, url, authorization, status, principal) => {
    const res = await inject({ url, headers: authorization ? { authorization } : {} });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ status, type: expect.stringContaining('/problems/') });
    const entry = (await audit.query({}, { pageSize: 1 })).items[0]!;
    const [kind, id = '-'] = principal.split(':');
    expect(entry).toMatchObject({ actor: { kind, id }, status, target: url, action: `GET ${url}`, outcome: 'refused' });
    expect(JSON.stringify(entry)).not.toContain('guess');
  });

  it('does not record reads that are neither refused nor sensitive, and chains what it records', async () => {
    const before = audit.records.length;
    expect((await inject({ url: '/ops-only', headers: { authorization: 'Bearer ops-token' } })).statusCode).toBe(200);
    expect(audit.records.length).toBe(before);
    for (let i = 0; i < 3; i++) await inject({ url: '/ops-only' });
    expect(audit.records.length).toBe(before + 3);
    const verdict = verifyAuditTrail(audit.records.map((r) => ({ position: `#${r.offset}`, value: r.record })));
    expect(verdict).toMatchObject({ ok: true, writers: { 'unit-api': { records: before + 3, lastSeq: before + 3 } } });
  });
});

describe('problem mapping', () => {
  const refused = (type: string, message = 'because') => new WorkflowUpdateFailedError('update failed', ApplicationFailure.nonRetryable(message, type));

  it.each([
    [FAILURES.notAllowedInState.type, 409, 'not-allowed-in-state'],
    [FAILURES.invalidInput.type, 422, 'invalid-input'],
    [FAILURES.modelVersionMismatch.type, 422, 'invalid-input'],
    [FAILURES.unknownReference.type, 404, 'unknown-reference'],
    [FAILURES.wrongAgency.type, 404, 'not-found'],
    ['SomethingElse', 409, 'rejected'],
  ])('maps %s to %i', (type, status, code) => {
    const p = problemFromUpdateFailure(refused(type, 'The reason a person reads.'));
    expect(p).toBeInstanceOf(HttpProblem);
    expect([p.status, p.code]).toEqual([status, code]);
    if (type !== FAILURES.wrongAgency.type) expect(p.detail).toBe('The reason a person reads.');
  });

  it('rethrows what is not a refusal (it becomes a 500 without detail)', () => {
    const boom = new Error('connection reset');
    expect(() => problemFromUpdateFailure(boom)).toThrow(boom);
  });

  it('turns zod issues into 422 errors naming each field', () => {
    try {
      parseOr422(CreateSubmissionRequest, { model: { name: 'x' }, extra: 1 });
      throw new Error('should have thrown');
    } catch (e) {
      const p = e as HttpProblem;
      expect(p.status).toBe(422);
      const paths = p.errors!.map((x) => x.path);
      expect(paths).toEqual(expect.arrayContaining(['model.version', 'plannedReleaseAt', '(body)']));
    }
  });
});
