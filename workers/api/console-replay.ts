import crypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { DeliveryFilterError, replayDeliveries, type DeliveryFilter } from '../../clients/deliveries';
import type { DeliveryStatus } from '../../wire/enums';
import { addAuditDetails, auditActor, principalLabel } from './auth';
import type { ApiContext } from './context';
import { replayDeadLetters } from './dead-letters';
import type { BulkReplayJob, BulkReplayRequest } from './http-schemas';
import { problems } from './problems';

export type BulkReplayJobView = z.infer<typeof BulkReplayJob>;
type Request = z.infer<typeof BulkReplayRequest>;

/** Items listed per job; the counters count them all. */
const MAX_ITEMS_SHOWN = 200;
/** Jobs kept for display, newest last. */
const MAX_JOBS = 100;

/**
 * Bulk replays as named, tracked jobs of this api process: `start` matches the filter, replays each match in the
 * background and returns the job at once; `get` gives its progress. Each job is audited twice through `ctx.audit`
 * (started, and its outcome with the counts), with the job id as target. Jobs live as long as the process (the audit
 * records outlive it).
 */
export class BulkReplays {
  private readonly jobs = new Map<string, BulkReplayJobView>();

  constructor(private readonly ctx: Pick<ApiContext, 'client' | 'kafka' | 'payloadKeys' | 'taskQueue' | 'audit' | 'logger'>) {}

  list(): BulkReplayJobView[] {
    return [...this.jobs.values()].reverse();
  }

  get(id: string): BulkReplayJobView | undefined {
    return this.jobs.get(id);
  }

  start(request: FastifyRequest, body: Request): BulkReplayJobView {
    if (body.target === 'dead-letters' && !this.ctx.kafka) throw problems.unavailable('Kafka is not configured for this api process.');
    const filter = Object.fromEntries(Object.entries(body.filter).filter((e): e is [string, string] => typeof e[1] === 'string'));
    if (body.target === 'deliveries') this.deliveryFilter(body.filter, body.limit);
    const id = `bulk-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${crypto.randomBytes(4).toString('hex')}`;
    const described = Object.entries(filter)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    const job: BulkReplayJobView = {
      id,
      name: `Replay ${body.target}${described ? ` where ${described}` : ' (all)'}`,
      target: body.target,
      filter,
      operator: principalLabel(request),
      state: 'matching',
      startedAt: new Date().toISOString(),
      replayed: 0,
      skipped: 0,
      failed: 0,
      items: [],
    };
    this.jobs.set(id, job);
    while (this.jobs.size > MAX_JOBS) this.jobs.delete(this.jobs.keys().next().value!);
    // The request's own audit record (written by the api's audit hook) names the job; its end is a record of its own.
    addAuditDetails(request, { bulkReplay: job.id, job: job.name.slice(0, 200) });
    void this.run(request, job, body);
    return job;
  }

  private deliveryFilter(f: Extract<Request, { target: 'deliveries' }>['filter'], limit?: number): DeliveryFilter {
    const filter: DeliveryFilter = { limit: limit ?? 1000 };
    if (f.status) filter.status = f.status as DeliveryStatus;
    if (f.endpoint) filter.endpointId = f.endpoint;
    if (f.vendor) filter.vendorId = f.vendor;
    if (f.since) filter.since = f.since;
    if (f.until) filter.until = f.until;
    return filter;
  }

  private note(job: BulkReplayJobView, ref: string, result: 'replayed' | 'skipped' | 'failed', detail?: string): void {
    job[result] += 1;
    if (job.items.length < MAX_ITEMS_SHOWN) job.items.push({ ref, result, ...(detail ? { detail } : {}) });
  }

  private async run(request: FastifyRequest, job: BulkReplayJobView, body: Request): Promise<void> {
    const onMatched = (total: number) => {
      job.total = total;
      job.state = 'running';
    };
    try {
      if (body.target === 'dead-letters') {
        await replayDeadLetters(this.ctx.kafka!, body.filter, this.ctx.payloadKeys, {
          ...(body.limit ? { limit: body.limit } : {}),
          onMatched,
          onEach: (o) => this.note(job, o.ref, o.result, o.detail),
        });
      } else {
        await replayDeliveries(this.ctx.client, this.deliveryFilter(body.filter, body.limit), {
          taskQueue: this.ctx.taskQueue,
          onMatched,
          onEach: (o) => {
            if (o.result === 'failed') this.note(job, o.workflowId, 'failed', o.error);
            else if (o.result === 'started') this.note(job, o.workflowId, 'replayed');
            else this.note(job, o.workflowId, 'skipped', 'still running');
          },
        });
      }
      job.state = 'done';
    } catch (e) {
      job.state = 'failed';
      job.error = e instanceof DeliveryFilterError ? e.message : (e as Error).message.slice(0, 300);
      this.ctx.logger.warn({ err: e, job: job.id }, 'bulk replay failed');
    }
    job.endedAt = new Date().toISOString();
    await this.auditEnd(request, job);
  }

  /** The job's end as its own audit record: who started it, the job, and the counts (ids and counts only). */
  private async auditEnd(request: FastifyRequest, job: BulkReplayJobView): Promise<void> {
    const details = {
      bulkReplay: job.id,
      job: job.name.slice(0, 200),
      replayed: job.replayed,
      skipped: job.skipped,
      failed: job.failed,
      total: job.total ?? 0,
    };
    this.ctx.logger.info({ audit: 'bulk-replay', operator: job.operator, state: job.state, ...details }, 'bulk replay ended');
    try {
      await this.ctx.audit.append({
        actor: auditActor(request),
        action: `bulk replay of ${job.target} ended`,
        target: `/ops/bulk-replays/${job.id}`,
        outcome: job.state === 'done' ? 'ok' : 'failed',
        ...(job.state === 'done' ? {} : { reason: `bulk-replay-${job.state}` }),
        requestId: String(request.id),
        details,
      });
    } catch (err) {
      this.ctx.logger.error({ err, job: job.id }, 'the end of a bulk replay could not be recorded in the audit trail');
    }
  }
}

/** A bulk replay id as `start` makes them: anything else is not found. */
export function isBulkReplayId(id: string): boolean {
  return /^bulk-\d{8}-[0-9a-f]{8}$/.test(id);
}
