import crypto from 'node:crypto';
import { z } from 'zod';

/**
 * The audit trail's record: who did what to which object, and how it ended. Ids, actors, actions and outcomes only,
 * never secrets, tokens or finding text. Hash-chained per writer (one api or ingress process): `seq` counts the writer's records
 * from 1 and `prevHash` is the hash of the writer's record before (64 zeros for seq 1).
 */
export const AuditActor = z.strictObject({
  kind: z.enum(['vendor', 'ops', 'agency', 'anonymous', 'unknown-credential', 'system']),
  /** Vendor id, operator name, agency id; `-` for anonymous callers and unknown credentials. */
  id: z.string().min(1).max(128),
});
export type AuditActor = z.infer<typeof AuditActor>;

export const AUDIT_OUTCOMES = ['ok', 'refused', 'rejected', 'failed'] as const;
export const AuditOutcome = z
  .enum(AUDIT_OUTCOMES)
  .meta({ description: 'ok: done (2xx/3xx); refused: access refused (401, 403, 404); rejected: other 4xx (bad input, state); failed: 5xx' });

export const AuditRecord = z
  .strictObject({
    id: z.string().min(1).max(64),
    seq: z.number().int().min(1),
    at: z.string().meta({ description: 'RFC 3339 time the writer wrote the record' }),
    writer: z.string().min(1).max(128).meta({ description: 'The process (an api or an ingress) that wrote the record: one hash chain per writer' }),
    actor: AuditActor,
    action: z
      .string()
      .min(1)
      .max(200)
      .meta({ description: 'The route as `METHOD /pattern`, e.g. `POST /v1/submissions/:id/withdraw`; for an agency command on Kafka, `COMMAND <type>`' }),
    target: z
      .string()
      .max(500)
      .optional()
      .meta({ description: 'The concrete path (with the ids it names), no query string; for a command, its subject (submission or case id)' }),
    outcome: AuditOutcome,
    reason: z.string().max(200).optional().meta({ description: 'The problem code of a refusal, rejection or failure (e.g. `forbidden`)' }),
    status: z.number().int().optional().meta({ description: 'The HTTP status answered (requests only)' }),
    requestId: z.string().max(64).optional(),
    details: z
      .record(z.string(), z.union([z.string().max(200), z.number(), z.boolean(), z.array(z.string().max(200)).max(100)]))
      .optional()
      .meta({
        description:
          'Codec calls: namespace, payload count, payload key ids and how the caller authenticated; commands: command id, record position, whether it was dead-lettered; never contents',
      }),
    prevHash: z.string().regex(/^[0-9a-f]{64}$/),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .meta({ id: 'AuditRecord', description: 'One audited request, hash-chained to the writer’s previous record' });
export type AuditRecord = z.infer<typeof AuditRecord>;

/** What a caller of the trail supplies; the trail adds id, seq, at, writer and the chain. */
export type AuditInput = Omit<AuditRecord, 'id' | 'seq' | 'at' | 'writer' | 'prevHash' | 'hash'>;

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level and no whitespace: the bytes a record's hash is taken over. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 hex over the canonical encoding of every field but `hash` (so `prevHash` is covered). */
export function auditHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _ignored, ...rest } = record as AuditRecord;
  return crypto.createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

/** The next record of a writer's chain. */
export function chainRecord(input: AuditInput, chain: { writer: string; seq: number; prevHash: string; at?: Date }): AuditRecord {
  const unsigned: Omit<AuditRecord, 'hash'> = {
    id: crypto.randomUUID(),
    seq: chain.seq,
    at: (chain.at ?? new Date()).toISOString(),
    writer: chain.writer,
    ...input,
    prevHash: chain.prevHash,
  };
  return { ...unsigned, hash: auditHash(unsigned) };
}

export interface AuditProblem {
  kind: 'malformed' | 'changed' | 'removed' | 'reordered' | 'broken-link';
  /** Where the record sits: `offset 12` on a topic, `line 12` in a file. */
  position: string;
  id?: string;
  writer?: string;
  seq?: number;
  message: string;
}

export interface AuditVerification {
  ok: boolean;
  records: number;
  /** Per writer: how many records, and its last seq and hash (keep these elsewhere to detect truncation later). */
  writers: Record<string, { records: number; lastSeq: number; lastHash: string }>;
  problems: AuditProblem[];
}

/**
 * Checks a trail read in topic order. Per writer: each record's hash matches its contents (else `changed`); seqs
 * never go down (else `reordered`, naming the record that came too late); no seq is missing (else `removed`, naming
 * the record after the gap); each record's `prevHash` is the hash of the writer's record before (else `broken-link`:
 * the record before was replaced with a re-hashed one). `headMayBeExpired` accepts a chain starting after seq 1
 * (a topic with finite retention has deleted its head). Removing a writer's newest records, or a whole writer's chain,
 * leaves a valid trail: compare `writers` with a copy kept elsewhere to detect that.
 */
export function verifyAuditTrail(entries: Array<{ position: string; value: unknown }>, options: { headMayBeExpired?: boolean } = {}): AuditVerification {
  const problems: AuditProblem[] = [];
  const byWriter = new Map<string, Array<{ position: string; record: AuditRecord }>>();
  for (const { position, value } of entries) {
    const parsed = AuditRecord.safeParse(value);
    if (!parsed.success) {
      problems.push({ kind: 'malformed', position, message: `${position}: not an audit record (${parsed.error.issues[0]?.message ?? 'invalid'})` });
      continue;
    }
    const record = parsed.data;
    const name = { position, id: record.id, writer: record.writer, seq: record.seq };
    if (auditHash(record) !== record.hash) {
      problems.push({ kind: 'changed', ...name, message: `${describe(name)} was changed: its hash does not match its contents` });
    }
    const list = byWriter.get(record.writer) ?? [];
    list.push({ position, record });
    byWriter.set(record.writer, list);
  }
  const writers: AuditVerification['writers'] = {};
  for (const [writer, list] of byWriter) {
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1]!.record;
      const { position, record } = list[i]!;
      if (record.seq <= before.seq) {
        problems.push({
          kind: 'reordered',
          position,
          id: record.id,
          writer,
          seq: record.seq,
          message: `${describe({ position, id: record.id, writer, seq: record.seq })} comes after seq ${before.seq}: the trail was reordered`,
        });
      }
    }
    const sorted = [...list].sort((a, b) => a.record.seq - b.record.seq);
    const first = sorted[0]!;
    if (first.record.seq !== 1 && !options.headMayBeExpired) {
      problems.push({
        kind: 'removed',
        position: first.position,
        id: first.record.id,
        writer,
        seq: first.record.seq,
        message: `writer ${writer}: seq 1 to ${first.record.seq - 1} are missing before ${describe({ ...first, ...first.record })}`,
      });
    } else if (first.record.seq === 1 && first.record.prevHash !== GENESIS_HASH) {
      problems.push({
        kind: 'broken-link',
        position: first.position,
        id: first.record.id,
        writer,
        seq: 1,
        message: `${describe({ ...first, ...first.record })} is seq 1 but does not start a chain`,
      });
    }
    for (let i = 1; i < sorted.length; i++) {
      const before = sorted[i - 1]!.record;
      const { position, record } = sorted[i]!;
      const name = { position, id: record.id, writer, seq: record.seq };
      if (record.seq === before.seq) {
        problems.push({ kind: 'reordered', ...name, message: `${describe(name)} repeats seq ${record.seq}` });
      } else if (record.seq > before.seq + 1) {
        const gap = record.seq - before.seq - 1;
        problems.push({
          kind: 'removed',
          ...name,
          message: `writer ${writer}: ${gap === 1 ? `seq ${before.seq + 1} is` : `seq ${before.seq + 1} to ${record.seq - 1} are`} missing before ${describe(name)}`,
        });
      } else if (record.prevHash !== before.hash) {
        problems.push({
          kind: 'broken-link',
          ...name,
          message: `${describe(name)} does not chain to seq ${before.seq} (${sorted[i - 1]!.position}): that record was changed or replaced`,
        });
      }
    }
    const last = sorted[sorted.length - 1]!.record;
    writers[writer] = { records: list.length, lastSeq: last.seq, lastHash: last.hash };
  }
  return { ok: problems.length === 0, records: entries.length, writers, problems };
}

function describe(name: { position: string; id?: string; writer?: string; seq?: number }): string {
  return `record ${name.id ?? '?'} (writer ${name.writer ?? '?'}, seq ${name.seq ?? '?'}, ${name.position})`;
}

/** A filter of `GET /ops/audit` and `preflight audit export`. */
export interface AuditFilter {
  from?: string;
  to?: string;
  /** `kind:id`, or a bare kind or id. */
  actor?: string;
  action?: string;
  outcome?: AuditRecord['outcome'];
}

export function matchesAuditFilter(record: AuditRecord, f: AuditFilter): boolean {
  if (f.from && record.at < new Date(f.from).toISOString()) return false;
  if (f.to && record.at > new Date(f.to).toISOString()) return false;
  if (f.outcome && record.outcome !== f.outcome) return false;
  if (f.action && record.action !== f.action) return false;
  if (f.actor) {
    const full = `${record.actor.kind}:${record.actor.id}`;
    if (f.actor !== full && f.actor !== record.actor.kind && f.actor !== record.actor.id) return false;
  }
  return true;
}
