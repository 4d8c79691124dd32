import { AclOperationTypes } from 'kafkajs';
import {
  auditHash,
  canonicalJson,
  chainRecord,
  GENESIS_HASH,
  matchesAuditFilter,
  verifyAuditTrail,
  type AuditInput,
  type AuditRecord,
} from '../../events/audit';
import { decodeAuditCursor, MemoryAuditTrail } from '../../events/audit-trail';
import { auditTopicAcls } from '../../events/kafka-acls';
import { AUDIT_TOPIC } from '../../events/topics';

const input = (n: number, actor = 'acme'): AuditInput => ({
  actor: { kind: 'vendor', id: actor },
  action: 'POST /v1/submissions/:id/withdraw',
  target: `/v1/submissions/sub-${n}/withdraw`,
  outcome: 'ok',
  status: 200,
});

/** Two writers interleaved, as two api replicas write one topic. */
function trail(): AuditRecord[] {
  const chains: Record<string, { seq: number; prevHash: string }> = { a: { seq: 1, prevHash: GENESIS_HASH }, b: { seq: 1, prevHash: GENESIS_HASH } };
  const out: AuditRecord[] = [];
  for (let i = 0; i < 10; i++) {
    const writer = i % 3 === 0 ? 'b' : 'a';
    const record = chainRecord(input(i), { writer, ...chains[writer]! });
    chains[writer] = { seq: record.seq + 1, prevHash: record.hash };
    out.push(record);
  }
  return out;
}
const positions = (records: unknown[]) => records.map((value, i) => ({ position: `offset ${i}`, value }));

describe('the audit chain', () => {
  it('encodes canonically: key order and undefined fields do not change the hash', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x'], c: undefined } })).toBe('{"a":{"d":[1,"x"]},"b":1}');
    const r = trail()[0]!;
    const reordered = Object.fromEntries(Object.entries(r).reverse()) as AuditRecord;
    expect(auditHash(reordered)).toBe(r.hash);
  });

  it('verifies an intact trail of two interleaved writers and reports each chain’s tail', () => {
    const records = trail();
    const verdict = verifyAuditTrail(positions(records));
    expect(verdict.ok).toBe(true);
    expect(verdict.writers).toEqual({
      a: { records: 6, lastSeq: 6, lastHash: records[8]!.hash },
      b: { records: 4, lastSeq: 4, lastHash: records[9]!.hash },
    });
  });

  it('names a changed record', () => {
    const records = trail();
    records[4] = { ...records[4]!, actor: { kind: 'vendor', id: 'someone-else' } };
    const verdict = verifyAuditTrail(positions(records));
    expect(verdict.ok).toBe(false);
    expect(verdict.problems).toEqual([expect.objectContaining({ kind: 'changed', id: records[4]!.id, position: 'offset 4' })]);
  });

  it('names the record after a changed record whose hash was recomputed', () => {
    const records = trail();
    const forged = { ...records[4]!, outcome: 'refused' as const };
    records[4] = { ...forged, hash: auditHash(forged) };
    const verdict = verifyAuditTrail(positions(records));
    expect(verdict.problems).toEqual([expect.objectContaining({ kind: 'broken-link', id: records[5]!.id })]);
    expect(verdict.problems[0]!.message).toContain('offset 4');
  });

  it('names where a record was removed', () => {
    const records = trail();
    const removed = records.splice(4, 1)[0]!;
    const verdict = verifyAuditTrail(positions(records));
    expect(verdict.ok).toBe(false);
    expect(verdict.problems).toEqual([expect.objectContaining({ kind: 'removed', writer: removed.writer, seq: removed.seq + 1 })]);
    expect(verdict.problems[0]!.message).toContain(`seq ${removed.seq} is missing`);
  });

  it('names a reordered record (two swapped)', () => {
    const records = trail();
    [records[4], records[5]] = [records[5]!, records[4]!];
    const verdict = verifyAuditTrail(positions(records));
    expect(verdict.ok).toBe(false);
    expect(verdict.problems).toEqual([expect.objectContaining({ kind: 'reordered', id: records[5]!.id, position: 'offset 5' })]);
  });

  it('refuses a cut head unless the topic says retention deleted it, and names a malformed line', () => {
    const records = trail().slice(3);
    expect(verifyAuditTrail(positions(records)).problems.map((p) => p.kind)).toEqual(['removed', 'removed']);
    expect(verifyAuditTrail(positions(records), { headMayBeExpired: true }).ok).toBe(true);
    expect(verifyAuditTrail(positions([...trail(), 'not json'])).problems).toEqual([expect.objectContaining({ kind: 'malformed', position: 'offset 10' })]);
  });

  it('filters by time, actor, action and outcome', () => {
    const r = chainRecord(input(1), { writer: 'a', seq: 1, prevHash: GENESIS_HASH, at: new Date('2026-01-02T00:00:00Z') });
    expect(matchesAuditFilter(r, { actor: 'vendor:acme', outcome: 'ok', from: '2026-01-01T00:00:00Z', to: '2026-01-03T00:00:00Z' })).toBe(true);
    expect(matchesAuditFilter(r, { actor: 'vendor' })).toBe(true);
    expect(matchesAuditFilter(r, { actor: 'ops:acme' })).toBe(false);
    expect(matchesAuditFilter(r, { from: '2026-01-02T00:00:01Z' })).toBe(false);
    expect(matchesAuditFilter(r, { action: 'POST /v1/submissions' })).toBe(false);
  });

  it('pages newest first with a cursor', async () => {
    const memory = new MemoryAuditTrail('m');
    for (let i = 0; i < 5; i++) await memory.append(input(i));
    const first = await memory.query({}, { pageSize: 2 });
    expect(first.items.map((r) => r.seq)).toEqual([5, 4]);
    expect(decodeAuditCursor(first.nextCursor!)).toBe(3n);
    const second = await memory.query({}, { pageSize: 2, cursor: first.nextCursor! });
    expect(second.items.map((r) => r.seq)).toEqual([3, 2]);
    const last = await memory.query({}, { pageSize: 2, cursor: second.nextCursor! });
    expect(last).toEqual({ items: [expect.objectContaining({ seq: 1 })] });
    expect(decodeAuditCursor('bm9wZQ')).toBeUndefined();
  });

  it('grants the topic to the writers, api and ingress (write, read), and the readers (read) only', () => {
    const acls = auditTopicAcls({ writerPrincipals: ['User:api', 'User:ingress'], readerPrincipals: ['User:ops'] });
    const name: Record<number, string> = { [AclOperationTypes.READ]: 'read', [AclOperationTypes.WRITE]: 'write', [AclOperationTypes.DESCRIBE]: 'describe' };
    const onTopic = acls.filter((a) => a.resourceName === AUDIT_TOPIC).map((a) => `${a.principal} ${name[a.operation] ?? a.operation}`);
    expect(onTopic.sort()).toEqual([
      'User:api describe',
      'User:api read',
      'User:api write',
      'User:ingress describe',
      'User:ingress read',
      'User:ingress write',
      'User:ops describe',
      'User:ops read',
    ]);
  });
});
