import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { provision } from '../../stack/provision';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import type { AuditRecord } from '../../events/audit';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { historyPayloads, startEncryptedWorker, submitCanaryFinding } from '../helpers/codec-fixture';
import { testClient, testConfig, testStack, unique } from '../helpers/stack-env';

jest.setTimeout(180_000);

const logger = createLogger({ level: 'warn' });
const OPS_TOKEN = 'pfo_' + 'c'.repeat(43);
const VENDOR_KEY = 'pfv_acme_' + 'v'.repeat(40);
const UI_ORIGIN = 'http://127.0.0.1:18233';
const CANARY = `CODEC-CANARY-${unique('x')}`;

type WirePayload = { metadata?: Record<string, string>; data?: string };

describe('codec endpoint against a real workflow history', () => {
  let config: Config;
  let api: TestApi;
  let client: Client;
  let workflowId = '';
  let encrypted: WirePayload[] = [];
  const stops: Array<() => Promise<void>> = [];

  const post = async (op: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${api.url}/codec/${op}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  };
  const ops = { authorization: `Bearer ${OPS_TOKEN}` };
  const plainText = (payloads: WirePayload[]) => payloads.map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8')).join('\n');
  // The records of this file's own audit topic, flattened: who, which route, the status and code, the codec's details.
  const auditEntries = async () => {
    const res = await fetch(`${api.url}/ops/audit?pageSize=1000`, { headers: ops });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: AuditRecord[] }).items.map((r) => ({
      principal: r.actor.id === '-' ? r.actor.kind : `${r.actor.kind}:${r.actor.id}`,
      route: r.action.split(' ')[1],
      status: r.status,
      code: r.outcome === 'ok' ? `codec-${String(r.details?.operation)}` : r.reason,
      ...(r.details as { credential?: string; namespace?: string; payloads?: number; keyIds?: string[] } | undefined),
    }));
  };

  beforeAll(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'codec-endpoint-'));
    stops.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    config = testConfig({
      PREFLIGHT_TASK_QUEUE: unique('codec'),
      PREFLIGHT_DATA_DIR: dataDir,
      PREFLIGHT_UI_ORIGINS: UI_ORIGIN,
      PREFLIGHT_AUDIT_TOPIC: unique('preflight.audit.codec-test'),
    });
    const stack = testStack();
    const worker = await startEncryptedWorker(config, stack.temporalAddress);
    stops.push(() => worker.stop());
    api = await startTestApi(config, logger, { vendorKeys: { [VENDOR_KEY]: 'acme' }, opsTokens: { [OPS_TOKEN]: 'it-ops' } });
    stops.push(() => api.stop());
    client = await connectClient(config.temporal, stack.temporalAddress, deploymentDataConverter(config));
    stops.push(() => client.connection.close());
    workflowId = (await submitCanaryFinding(client, config.taskQueue, CANARY)).workflowId;
    // The history as the Temporal UI receives it from the server: read without any codec.
    const plain = await testClient();
    stops.push(() => plain.connection.close());
    encrypted = historyPayloads(await plain.workflow.getHandle(workflowId).fetchHistory());
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  it('decodes the encrypted history payloads for an ops token, and records who, where and how many, never what', async () => {
    expect(encrypted.length).toBeGreaterThan(3);
    expect(plainText(encrypted)).not.toContain(CANARY);
    for (const p of encrypted) expect(Buffer.from(p.metadata?.encoding ?? '', 'base64').toString()).toBe('binary/encrypted');

    const res = await post('decode', { payloads: encrypted }, ops);
    expect(res.status).toBe(200);
    const decoded = res.json.payloads as WirePayload[];
    expect(decoded).toHaveLength(encrypted.length);
    expect(plainText(decoded)).toContain(`detail ${CANARY}`);
    expect(Buffer.from(decoded[0]!.metadata!.encoding!, 'base64').toString()).toBe('json/plain');

    const entry = (await auditEntries()).find((e) => e.code === 'codec-decode' && e.credential === 'bearer');
    expect(entry).toMatchObject({
      principal: 'ops:it-ops',
      route: '/codec/decode',
      status: 200,
      namespace: 'default',
      payloads: encrypted.length,
      keyIds: ['master-v1'],
      credential: 'bearer',
    });
    expect(JSON.stringify(await auditEntries())).not.toContain(CANARY);
  });

  it('refuses without a credential (401 + WWW-Authenticate), with a wrong one (401) and for a vendor key (403), all audited', async () => {
    const none = await post('decode', { payloads: encrypted });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.headers.get('content-type')).toContain('application/problem+json');
    expect(none.text).not.toContain(CANARY);

    const wrong = await post('decode', { payloads: encrypted }, { authorization: `Bearer pfo_${'z'.repeat(43)}` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('invalid_token');

    const forgedCookie = await post(
      'decode',
      { payloads: encrypted },
      { cookie: `preflight_ops_session=v1.${Buffer.from('it-ops').toString('base64url')}.9999999999.${'A'.repeat(43)}` },
    );
    expect(forgedCookie.status).toBe(401);
    expect(forgedCookie.headers.get('www-authenticate')).toContain('invalid_token');

    const vendor = await post('decode', { payloads: encrypted }, { authorization: `Bearer ${VENDOR_KEY}` });
    expect(vendor.status).toBe(403);
    expect(vendor.text).not.toContain(CANARY);
    const vendorEncode = await post('encode', { payloads: [] }, { authorization: `Bearer ${VENDOR_KEY}` });
    expect(vendorEncode.status).toBe(403);

    const refusals = (await auditEntries()).filter((e) => e.route === '/codec/decode' && e.status !== 200);
    expect(refusals.map((e) => `${e.status} ${e.principal}`)).toEqual(expect.arrayContaining(['401 anonymous', '401 unknown-credential', '403 vendor:acme']));
    expect(refusals.filter((e) => e.principal === 'unknown-credential')).toHaveLength(2);
  });

  it('accepts the session cookie from POST /ops/session (HttpOnly, SameSite=Strict, Path=/codec) and audits it as a session', async () => {
    expect((await fetch(`${api.url}/ops/session`, { method: 'POST', headers: { authorization: `Bearer ${VENDOR_KEY}` } })).status).toBe(403);
    const session = await fetch(`${api.url}/ops/session`, { method: 'POST', headers: ops });
    expect(session.status).toBe(200);
    const setCookie = session.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^preflight_ops_session=v1\.[^;]+; Path=\/codec; Max-Age=3600; HttpOnly; SameSite=Strict$/);
    expect(setCookie).not.toContain(OPS_TOKEN);
    const cookie = setCookie.split(';')[0]!;

    const res = await post('decode', { payloads: encrypted }, { cookie });
    expect(res.status).toBe(200);
    expect(plainText(res.json.payloads as WirePayload[])).toContain(CANARY);
    expect((await auditEntries()).find((e) => e.code === 'codec-decode' && e.credential === 'session')).toMatchObject({
      principal: 'ops:it-ops',
      payloads: encrypted.length,
    });

    // From a page of another origin, the cookie does not count (SameSite alone would let a same-site page send it).
    const elsewhere = await post('decode', { payloads: encrypted }, { cookie, origin: 'http://127.0.0.1:1' });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.text).not.toContain(CANARY);
    expect((await post('decode', { payloads: encrypted.slice(0, 1) }, { cookie, origin: UI_ORIGIN })).status).toBe(200);

    const logout = await fetch(`${api.url}/ops/session`, { method: 'DELETE', headers: ops });
    expect(logout.status).toBe(204);
    expect(logout.headers.get('set-cookie')).toMatch(/^preflight_ops_session=; Path=\/codec; Max-Age=0;/);
  });

  it('answers CORS only for the configured Temporal UI origin, with credentials; preflight OPTIONS included', async () => {
    const preflight = (origin: string) =>
      fetch(`${api.url}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
      });
    const allowed = await preflight(UI_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    expect(allowed.headers.get('access-control-allow-methods')).toBe('POST');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('x-namespace');

    const other = await preflight('http://evil.example:18233');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('access-control-allow-credentials')).toBeNull();
    expect(other.headers.get('access-control-allow-methods')).toBeNull();

    const fromUi = await post('decode', { payloads: encrypted.slice(0, 1) }, { ...ops, origin: UI_ORIGIN });
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const refusedFromUi = await post('decode', { payloads: [] }, { origin: UI_ORIGIN });
    expect(refusedFromUi.status).toBe(401);
    expect(refusedFromUi.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const fromOther = await post('decode', { payloads: encrypted.slice(0, 1) }, { ...ops, origin: 'http://127.0.0.1:1' });
    expect(fromOther.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a tampered payload, an unknown key id or a malformed body with a clear 4xx that echoes nothing', async () => {
    const target = encrypted[encrypted.length - 1]!;
    const bytes = Buffer.from(target.data!, 'base64');
    bytes[20] = bytes[20]! ^ 0x01;
    const tampered = await post('decode', { payloads: [encrypted[0], { ...target, data: bytes.toString('base64') }] }, ops);
    expect(tampered.status).toBe(422);
    expect(tampered.json).toMatchObject({ status: 422, code: 'undecryptable', detail: expect.stringContaining('Payload 1 ') });
    expect(tampered.text).not.toMatch(/stack|Unsupported state|at .*\.js/);

    const truncated = await post('decode', { payloads: [{ ...target, data: 'AAAA' }] }, ops);
    expect(truncated.status).toBe(422);
    expect(truncated.json.code).toBe('undecryptable');

    const otherKey = { ...target, metadata: { ...target.metadata, 'encryption-key-id': Buffer.from('retired-v0').toString('base64') } };
    const unknownKey = await post('decode', { payloads: [otherKey] }, ops);
    expect(unknownKey.status).toBe(422);
    expect(unknownKey.json.code).toBe('unknown-key');
    expect((await auditEntries()).find((e) => e.code === 'unknown-key')).toMatchObject({ principal: 'ops:it-ops', keyIds: ['retired-v0'], status: 422 });

    expect((await post('decode', { payloads: [{ data: 'not base64!' }] }, ops)).status).toBe(422);
    expect((await post('decode', { items: [] }, ops)).status).toBe(422);
    expect((await post('decode', '{"payloads": [', ops)).status).toBe(400);
    const tooBig = await post('decode', { payloads: [{ data: 'A'.repeat(5 * 1024 * 1024) }] }, ops);
    expect(tooBig.status).toBe(413);
    const otherNamespace = await post('decode', { payloads: [] }, { ...ops, 'x-namespace': 'someone-else' });
    expect(otherNamespace.status).toBe(403);
    expect(otherNamespace.json.code).toBe('namespace-not-served');
  });

  it('encodes for ops with the current key, and the result decodes back', async () => {
    const plain = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from(JSON.stringify({ note: CANARY })).toString('base64'),
    };
    const enc = await post('encode', { payloads: [plain] }, ops);
    expect(enc.status).toBe(200);
    const [sealed] = enc.json.payloads as WirePayload[];
    expect(Buffer.from(sealed!.metadata!['encryption-key-id']!, 'base64').toString()).toBe('master-v1');
    expect(plainText([sealed!])).not.toContain(CANARY);
    const dec = await post('decode', { payloads: [sealed] }, ops);
    expect(dec.json.payloads).toEqual([plain]);
    expect((await auditEntries()).find((e) => e.code === 'codec-encode')).toMatchObject({ principal: 'ops:it-ops', payloads: 1, keyIds: ['master-v1'] });
  });

  it('counts codec requests in /metrics', async () => {
    const text = await (await fetch(`${api.url}/metrics`)).text();
    expect(text).toMatch(/preflight_codec_requests_total\{[^}]*operation="decode"[^}]*outcome="ok"[^}]*\} [1-9]/);
    expect(text).toMatch(/preflight_codec_requests_total\{[^}]*outcome="undecryptable"[^}]*\} [1-9]/);
    expect(text).toMatch(/preflight_codec_payloads_total\{[^}]*operation="decode"[^}]*\} [1-9]/);
  });

  it('serves the Temporal CLI: `temporal workflow show --codec-endpoint … --codec-auth` prints the decrypted history', async () => {
    const { temporal: cli } = await provision({ cacheDir: config.stack.cacheDir, temporal: true });
    const args = ['workflow', 'show', '--address', testStack().temporalAddress, '--namespace', 'default', '--workflow-id', workflowId, '--output', 'json'];
    // Asynchronously: the api answering the CLI's codec calls runs in this very process.
    const run = (argv: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(cli!, argv, { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
      );
    // The CLI prints protobuf JSON, payload data as base64: collect every payload list to look inside.
    const payloadsOf = (stdout: string) => {
      const out: WirePayload[] = [];
      const visit = (node: unknown, depth: number): void => {
        if (depth > 16 || typeof node !== 'object' || node === null) return;
        for (const [key, value] of Object.entries(node)) {
          if (key === 'payloads' && Array.isArray(value)) out.push(...(value as WirePayload[]));
          else visit(value, depth + 1);
        }
      };
      visit(JSON.parse(stdout), 0);
      return out;
    };
    const withCodec = payloadsOf(await run([...args, '--codec-endpoint', `${api.url}/codec`, '--codec-auth', `Bearer ${OPS_TOKEN}`]));
    expect(plainText(withCodec)).toContain(`detail ${CANARY}`);
    const without = payloadsOf(await run(args));
    expect(without.length).toBe(withCodec.length);
    expect(plainText(without)).not.toContain(CANARY);
  });
});
