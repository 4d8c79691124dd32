import type { Client } from '@temporalio/client';
import type { FastifyRequest } from 'fastify';
import { createLogger } from '../../infra/logger';
import { MemoryAuditTrail } from '../../events/audit-trail';
import { BulkReplays, isBulkReplayId } from '../../workers/api/console-replay';
import { matchesDeadLetter, type DeadLetterItem } from '../../workers/api/dead-letters';
import { SA } from '../../workflows/shared/search-attributes';

const request = { id: 'req-1', method: 'POST', ip: '127.0.0.1', principal: { kind: 'ops', operator: 'ada' } } as unknown as FastifyRequest;

/** A Temporal client that lists the given delivery ids (all closed) and records the replays it is asked to start. */
function fakeClient(ids: string[], options: { failStart?: string; failList?: boolean } = {}) {
  const started: string[] = [];
  const client = {
    workflow: {
      async *list() {
        if (options.failList) throw new Error('visibility is down');
        for (const workflowId of ids) {
          yield {
            workflowId,
            startTime: new Date('2026-01-01T00:00:00Z'),
            status: { name: 'COMPLETED' },
            typedSearchAttributes: { get: (key: unknown) => (key === SA.status ? 'FAILED' : key === SA.vendor ? 'acme' : undefined) },
          };
        }
      },
      getHandle: (workflowId: string) => ({
        query: async () => ({ eventId: workflowId.split('/')[1], eventType: 't.v1', vendorId: 'acme', endpointId: 'ep_abcdefgh', body: '{}' }),
      }),
      start: async (_type: string, opts: { workflowId: string }) => {
        if (opts.workflowId === options.failStart) throw new Error('no such task queue');
        started.push(opts.workflowId);
      },
    },
  } as unknown as Client;
  return { client, started };
}

async function finished(replays: BulkReplays, id: string) {
  for (let i = 0; i < 200; i++) {
    const job = replays.get(id)!;
    if (job.state === 'done' || job.state === 'failed') return job;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the job did not finish');
}

describe('bulk replays', () => {
  const logger = createLogger({ level: 'silent' });

  it('replays every matching delivery as one named job, counts each outcome, and audits its start and its end', async () => {
    const ids = ['delivery/e1/ep_abcdefgh', 'delivery/e2/ep_abcdefgh', 'delivery/e3/ep_abcdefgh'];
    const { client, started } = fakeClient(ids, { failStart: ids[1] });
    const audit = new MemoryAuditTrail();
    const replays = new BulkReplays({ client, audit, logger, payloadKeys: [], taskQueue: 'q' });
    const job = replays.start(request, { target: 'deliveries', filter: { status: 'FAILED', endpoint: 'ep_abcdefgh' } });
    expect(isBulkReplayId(job.id)).toBe(true);
    expect(job.name).toBe('Replay deliveries where status=FAILED, endpoint=ep_abcdefgh');
    const done = await finished(replays, job.id);
    expect(done).toMatchObject({ state: 'done', total: 3, replayed: 2, skipped: 0, failed: 1, operator: 'ops:ada' });
    expect(done.items.find((i) => i.result === 'failed')).toEqual({ ref: ids[1], result: 'failed', detail: 'no such task queue' });
    expect(started).toEqual([ids[0], ids[2]]);
    // The start is the POST's own record (the api's audit hook, not run here); the end is a record of its own.
    expect(audit.records.map((r) => r.record)).toEqual([
      expect.objectContaining({
        actor: { kind: 'ops', id: 'ada' },
        action: 'bulk replay of deliveries ended',
        target: `/ops/bulk-replays/${job.id}`,
        outcome: 'ok',
        details: { bulkReplay: job.id, job: job.name, replayed: 2, skipped: 0, failed: 1, total: 3 },
      }),
    ]);
    expect(replays.list().map((j) => j.id)).toEqual([job.id]);
  });

  it('ends a job whose matching fails as failed, with the reason, audited', async () => {
    const audit = new MemoryAuditTrail();
    const replays = new BulkReplays({ client: fakeClient([], { failList: true }).client, audit, logger, payloadKeys: [], taskQueue: 'q' });
    const job = replays.start(request, { target: 'deliveries', filter: {} });
    expect(job.name).toBe('Replay deliveries (all)');
    expect(await finished(replays, job.id)).toMatchObject({ state: 'failed', error: 'visibility is down', replayed: 0 });
    expect(audit.records.at(-1)!.record).toMatchObject({ outcome: 'failed', reason: 'bulk-replay-failed', target: `/ops/bulk-replays/${job.id}` });
  });

  it('refuses a dead-letter replay when the api has no Kafka (503)', () => {
    const replays = new BulkReplays({ client: fakeClient([]).client, audit: new MemoryAuditTrail(), logger, payloadKeys: [], taskQueue: 'q' });
    expect(() => replays.start(request, { target: 'dead-letters', filter: {} })).toThrow(expect.objectContaining({ status: 503 }));
  });

  it('selects dead letters by reason, agency and time range', () => {
    const item = { reason: 'not-invited', agencyId: 'nsa', time: '2026-01-02T00:00:00.000Z' } as DeadLetterItem;
    expect(matchesDeadLetter(item, {})).toBe(true);
    expect(matchesDeadLetter(item, { reason: 'not-invited', agencyId: 'nsa', since: '2026-01-02T00:00:00Z', until: '2026-01-03T00:00:00Z' })).toBe(true);
    expect(matchesDeadLetter(item, { reason: 'bad-signature' })).toBe(false);
    expect(matchesDeadLetter(item, { agencyId: 'cisa' })).toBe(false);
    expect(matchesDeadLetter(item, { since: '2026-01-02T00:00:00.001Z' })).toBe(false);
    expect(matchesDeadLetter(item, { until: '2026-01-02T00:00:00Z' })).toBe(false);
  });
});
