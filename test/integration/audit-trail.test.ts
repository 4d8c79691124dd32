import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { AuditRecord } from '../../events/audit';
import { ensureAuditTopic, readAuditTopic } from '../../events/audit-trail';
import type { Config } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { preflightCli } from '../helpers/cli';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { testConfig, testKafka, testStack, unique } from '../helpers/stack-env';

jest.setTimeout(240_000);

const logger = createLogger({ level: 'warn' });
const OPS_TOKEN = 'pfo_' + 'a'.repeat(43);
const VENDOR_KEY = 'pfv_audit_' + 'k'.repeat(40);
const VENDOR = unique('audit-vendor');
const credentials = { vendorKeys: { [VENDOR_KEY]: VENDOR }, opsTokens: { [OPS_TOKEN]: 'audit-ops' } };

describe('the audit trail on Kafka', () => {
  const topic = unique('preflight.audit.it');
  const writerA = unique('it-api-a');
  const writerB = unique('it-api-b');
  let config: Config;
  let kafka: Kafka;
  let a: TestApi | undefined;
  let b: TestApi | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-trail-'));
  const cli = (args: string[]) => preflightCli(['audit', ...args], { KAFKA_BROKERS: testStack().kafkaBrokers.join(','), PREFLIGHT_AUDIT_TOPIC: topic });

  const call = async (api: TestApi, method: string, url: string, init: { token?: string; body?: string; type?: string } = {}) => {
    const res = await fetch(api.url + url, {
      method,
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body !== undefined ? { 'content-type': init.type ?? 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const auditOf = async (api: TestApi, query = 'pageSize=1000') => {
    const res = await call(api, 'GET', `/ops/audit?${query}`, { token: OPS_TOKEN });
    expect(res.status).toBe(200);
    return res.json as { items: AuditRecord[]; nextCursor?: string };
  };
  /** A mix of audited requests: a refusal without a credential, a vendor on an ops route, a rejected command, an ops command. */
  const traffic = (api: TestApi, n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) => {
        switch (i % 4) {
          case 0:
            return call(api, 'GET', `/v1/submissions/sub-${i}`);
          case 1:
            return call(api, 'GET', '/ops/submissions', { token: VENDOR_KEY });
          case 2:
            return call(api, 'POST', '/v1/submissions', { token: VENDOR_KEY, body: JSON.stringify({ modelName: 42 }) });
          default:
            return call(api, 'POST', '/ops/session', { token: OPS_TOKEN });
        }
      }),
    );

  beforeAll(async () => {
    config = testConfig({ PREFLIGHT_AUDIT_TOPIC: topic, PREFLIGHT_TASK_QUEUE: unique('audit') });
    kafka = testKafka(logger);
    a = await startTestApi(config, logger, credentials, { auditWriterId: writerA });
    b = await startTestApi(config, logger, credentials, { auditWriterId: writerB });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records what each replica answered, chained per writer, identical from both replicas', async () => {
    const answers = await Promise.all([traffic(a!, 24), traffic(b!, 24)]);
    expect(answers.flat().map((r) => r.status)).toEqual(expect.arrayContaining([401, 403, 422, 200]));
    const fromA = await auditOf(a!);
    const fromB = await auditOf(b!);
    expect(fromA.items).toHaveLength(48);
    expect(fromB).toEqual(fromA);
    for (const writer of [writerA, writerB]) {
      const mine = fromA.items.filter((r) => r.writer === writer);
      expect(mine.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    }
    expect(fromA.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actor: { kind: 'anonymous', id: '-' }, action: 'GET /v1/submissions/:id', outcome: 'refused', reason: 'unauthenticated' }),
        expect.objectContaining({ actor: { kind: 'vendor', id: VENDOR }, action: 'GET /ops/submissions', outcome: 'refused', reason: 'forbidden' }),
        expect.objectContaining({ actor: { kind: 'vendor', id: VENDOR }, action: 'POST /v1/submissions', outcome: 'rejected', reason: 'invalid-input' }),
        expect.objectContaining({ actor: { kind: 'ops', id: 'audit-ops' }, action: 'POST /ops/session', outcome: 'ok', status: 200 }),
      ]),
    );
    expect(JSON.stringify(fromA)).not.toContain(OPS_TOKEN);
    expect(JSON.stringify(fromA)).not.toContain(VENDOR_KEY);

    // Filters and pages: the pages put together are the filtered whole, newest first.
    const refused = await auditOf(a!, `outcome=refused&actor=vendor:${VENDOR}&pageSize=5`);
    expect(refused.items).toHaveLength(5);
    expect(refused.items.every((r) => r.outcome === 'refused' && r.actor.id === VENDOR)).toBe(true);
    const all: AuditRecord[] = [...refused.items];
    for (let cursor = refused.nextCursor; cursor;) {
      const next = await auditOf(b!, `outcome=refused&actor=vendor:${VENDOR}&pageSize=5&cursor=${cursor}`);
      all.push(...next.items);
      cursor = next.nextCursor;
    }
    expect(all).toEqual(fromA.items.filter((r) => r.outcome === 'refused' && r.actor.id === VENDOR));
    expect((await call(a!, 'GET', '/ops/audit?cursor=bm9wZQ', { token: OPS_TOKEN })).status).toBe(422);
  });

  it('survives an api restart: the restarted writer resumes its chain after its newest record', async () => {
    const before = await auditOf(a!);
    const lastOfA = Math.max(...before.items.filter((r) => r.writer === writerA).map((r) => r.seq));
    await a!.stop();
    a = undefined;
    a = await startTestApi(config, logger, credentials, { auditWriterId: writerA });
    const after = await auditOf(a);
    expect(after.items).toEqual(before.items);
    await traffic(a, 4);
    const resumed = (await auditOf(a)).items.filter((r) => r.writer === writerA && r.seq > lastOfA);
    expect(resumed.map((r) => r.seq).sort((x, y) => x - y)).toEqual([lastOfA + 1, lastOfA + 2, lastOfA + 3, lastOfA + 4]);
    const previous = before.items.find((r) => r.writer === writerA && r.seq === lastOfA)!;
    expect(resumed.find((r) => r.seq === lastOfA + 1)!.prevHash).toBe(previous.hash);
  });

  it('`audit verify` passes on the topic and `audit export` writes JSON lines that verify too', async () => {
    const ok = await cli(['verify']);
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(ok.stdout).toContain(`OK: 52 records in ${topic}`);
    expect(ok.stdout).toContain(writerA);

    const out = path.join(dir, 'export.jsonl');
    const exported = await cli(['export', '--from', '2000-01-01T00:00:00Z', '--to', new Date(Date.now() + 60_000).toISOString(), '--out', out]);
    expect(exported.code).toBe(0);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(52);
    expect((await cli(['verify', '--from-file', out])).code).toBe(0);
    const none = await cli(['export', '--from', '2000-01-01T00:00:00Z', '--to', '2000-01-02T00:00:00Z']);
    expect([none.code, none.stdout]).toEqual([0, '']);
    expect((await cli(['export', '--from', 'yesterday', '--to', '2000-01-02T00:00:00Z'])).code).toBe(2);
  });

  describe('on a copy of the topic', () => {
    const copyInto = async (records: unknown[]) => {
      const copy = unique('preflight.audit.copy');
      await ensureAuditTopic(kafka, { topic: copy, retentionMs: -1, replication: 1 });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: copy, acks: -1, messages: records.map((r) => ({ value: JSON.stringify(r) })) });
      await producer.disconnect();
      return copy;
    };
    const original = async () => (await readAuditTopic(kafka, topic)).entries.map((e) => e.value as AuditRecord);

    it('fails, naming the record, when one is changed', async () => {
      const records = await original();
      const victim = records[10]!;
      records[10] = { ...victim, outcome: victim.outcome === 'ok' ? 'refused' : 'ok' };
      const res = await cli(['verify', '--topic', await copyInto(records)]);
      expect(res.code).toBe(1);
      expect(res.stdout).toContain(`changed: record ${victim.id} (writer ${victim.writer}, seq ${victim.seq}, offset 10) was changed`);
    });

    it('fails, naming where, when one is removed', async () => {
      const records = await original();
      const [removed] = records.splice(10, 1);
      const res = await cli(['verify', '--topic', await copyInto(records)]);
      expect(res.code).toBe(1);
      expect(res.stdout).toContain(`removed: writer ${removed!.writer}: seq ${removed!.seq} is missing before record`);
    });

    it('fails, naming the record, when two of one writer are swapped', async () => {
      const records = await original();
      const i = records.findIndex((r, k) => k > 5 && records.slice(k + 1).some((s) => s.writer === r.writer));
      const j = records.findIndex((r, k) => k > i && r.writer === records[i]!.writer);
      [records[i], records[j]] = [records[j]!, records[i]!];
      const res = await cli(['verify', '--topic', await copyInto(records)]);
      expect(res.code).toBe(1);
      expect(res.stdout).toContain('reordered: record');
      expect(res.stdout).toContain(`seq ${records[j]!.seq}, offset ${j}`);
    });
  });
});
