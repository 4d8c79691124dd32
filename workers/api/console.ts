import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
import type { z } from 'zod';
import { listDeliveries, type DeliveryFilter } from '../../clients/deliveries';
import { TOPICS } from '../../events/topics';
import { projectRoot } from '../../infra/project-root';
import { CASE_STATES, CLEARANCE_NOTICES, SUBMISSION_STATUSES, type AgencyStatus, type DeliveryStatus } from '../../wire/enums';
import { agencyStateQuery, type AgencyAssessmentView } from '../../workflows/assessment/contract';
import { CASE_KIND } from '../../workflows/clearinghouse/contract';
import { SA } from '../../workflows/shared/search-attributes';
import { AGENCY_TERMINAL_STATUSES, agencyWorkflowId, submissionStateQuery, submissionWorkflowId } from '../../workflows/submission/contract';
import { authenticate } from './auth';
import { BulkReplays, isBulkReplayId } from './console-replay';
import type { ApiContext } from './context';
import { BulkReplayRequest, OpsDeliveryListQuery, OverviewQuery, type Overview, type SubmissionAgencyCard } from './http-schemas';
import { findSubmission, SUBMISSION_KIND, visibilityQuery } from './lookup';
import { parseOr422, problemErrorHandler, problems } from './problems';

const DAY_MS = 24 * 3600_000;
/** Open assessments and noticed submissions the overview reads one by one at most (the rest are counted as capped). */
export const OVERVIEW_SCAN_LIMIT = 200;
/** A workflow whose worker does not answer within this is counted as unreachable, not waited for. */
const QUERY_TIMEOUT_MS = 3000;

const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Runs `fn` over `items`, at most `limit` at a time; a failed item gives undefined. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<Array<R | undefined>> {
  const out: Array<R | undefined> = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!).catch(() => undefined);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** Workflow ids matching a visibility query, newest first, up to `limit` (+1 read to tell whether there were more). */
async function listIds(client: Client, query: string, limit: number): Promise<{ ids: string[]; capped: boolean }> {
  const ids: string[] = [];
  const seen = new Set<string>();
  for await (const wf of client.workflow.list({ query, pageSize: Math.min(limit + 1, 1000) })) {
    if (seen.has(wf.workflowId)) continue;
    seen.add(wf.workflowId);
    if (ids.length === limit) return { ids, capped: true };
    ids.push(wf.workflowId);
  }
  return { ids, capped: false };
}

async function countEach<K extends string>(client: Client, keys: readonly K[], query: (key: K) => string): Promise<Record<K, number>> {
  const counts = await Promise.all(keys.map(async (k) => [k, (await client.workflow.count(query(k))).count] as const));
  return Object.fromEntries(counts) as Record<K, number>;
}

/** Messages held in the dead-letter topic (high minus low watermark over its partitions). */
export async function deadLettersWaiting(kafka: Kafka): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(TOPICS.deadLetter);
    return offsets.reduce((sum, o) => sum + Number(BigInt(o.high) - BigInt(o.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

type OverviewView = z.infer<typeof Overview>;
type AgencyRow = OverviewView['agencies']['onHold'][number];

/**
 * The console overview. Counts come from Temporal visibility (one count per status, per case state); the open
 * assessments (kind `agencyAssessment`, running) are read once each for their clocks and deadlines, and the newest
 * submissions with a notice once each for its kind — both at most {@link OVERVIEW_SCAN_LIMIT}, said as `capped`.
 * Failing endpoints are the failed or endpoint-disabled deliveries of the last 7 days, grouped by endpoint.
 */
export async function buildOverview(ctx: Pick<ApiContext, 'client' | 'kafka'>, filter: { vendor?: string } = {}): Promise<OverviewView> {
  const { client } = ctx;
  const now = Date.now();
  const vendorClause = filter.vendor ? ` AND ${SA.vendor.name} = ${quote(filter.vendor)}` : '';

  const submissionsByStatus = countEach(client, SUBMISSION_STATUSES, (status) => visibilityQuery({ status, ...filter }));
  const casesByState = countEach(client, CASE_STATES, (state) => `${SA.kind.name} = ${quote(CASE_KIND)} AND ${SA.status.name} = ${quote(state)}`);

  const assessments = (async () => {
    const { ids, capped } = await listIds(client, `${SA.kind.name} = 'agencyAssessment' AND ExecutionStatus = 'Running'${vendorClause}`, OVERVIEW_SCAN_LIMIT);
    const views = await mapLimit(ids, 8, (id) => withTimeout(client.workflow.getHandle(id).query(agencyStateQuery), QUERY_TIMEOUT_MS));
    return { views: views.filter((v): v is AgencyAssessmentView => v !== undefined), scanned: ids.length, capped };
  })();

  const notices = (async () => {
    const noticed = ['CLEARANCE_ISSUED', 'RELEASED', 'CLOSED'].map(quote).join(', ');
    const { ids, capped } = await listIds(
      client,
      `${SA.kind.name} = ${quote(SUBMISSION_KIND)} AND WorkflowType = 'submissionWorkflow' AND ${SA.status.name} IN (${noticed})${vendorClause}`,
      OVERVIEW_SCAN_LIMIT,
    );
    const states = await mapLimit(ids, 8, (id) => withTimeout(client.workflow.getHandle(id).query(submissionStateQuery), QUERY_TIMEOUT_MS));
    const byKind = Object.fromEntries(CLEARANCE_NOTICES.map((k) => [k, 0])) as Record<(typeof CLEARANCE_NOTICES)[number], number>;
    for (const s of states) if (s?.notice) byKind[s.notice] += 1;
    return { byKind, scanned: ids.length, capped };
  })();

  const endpoints = (async () => {
    const since = new Date(now - 7 * DAY_MS).toISOString();
    const byEndpoint = new Map<string, OverviewView['endpoints'][number]>();
    for (const status of ['FAILED', 'ENDPOINT_DISABLED'] as DeliveryStatus[]) {
      const f: DeliveryFilter = { status, since, limit: 1000, ...(filter.vendor ? { vendorId: filter.vendor } : {}) };
      for (const d of await listDeliveries(client, f)) {
        const row = byEndpoint.get(d.endpointId) ?? {
          endpointId: d.endpointId,
          ...(d.vendorId ? { vendorId: d.vendorId } : {}),
          failed: 0,
          disabled: 0,
          lastAt: d.closedAt ?? d.startedAt,
        };
        if (status === 'FAILED') row.failed += 1;
        else row.disabled += 1;
        const at = d.closedAt ?? d.startedAt;
        if (at > row.lastAt) row.lastAt = at;
        byEndpoint.set(d.endpointId, row);
      }
    }
    return [...byEndpoint.values()].sort((a, b) => b.failed + b.disabled - (a.failed + a.disabled));
  })();

  const deadLetters = ctx.kafka
    ? deadLettersWaiting(ctx.kafka).then(
        (waiting) => ({ waiting }),
        (e: unknown) => ({ unavailable: `Kafka did not answer: ${(e as Error).message.slice(0, 120)}` }),
      )
    : Promise.resolve({ unavailable: 'Kafka is not configured for this api process.' });

  const [byStatus, byState, open, noticed, failing, dl] = await Promise.all([submissionsByStatus, casesByState, assessments, notices, endpoints, deadLetters]);

  const onHold: AgencyRow[] = [];
  const overdue: AgencyRow[] = [];
  const windows = new Map<string, OverviewView['windowsClosingSoon'][number]>();
  for (const v of open.views) {
    const terminal = AGENCY_TERMINAL_STATUSES.includes(v.status);
    const row: AgencyRow = {
      submissionId: v.submissionId,
      agencyId: v.agencyId,
      status: v.status,
      activeDays: v.clock.activeDays,
      onHoldDays: v.clock.onHoldDays,
      deadline: v.windowClosesAt,
    };
    if (!terminal && (v.clock.onHold || v.status === 'INFO_REQUESTED')) onHold.push(row);
    const closes = Date.parse(v.windowClosesAt);
    if (!terminal && (v.deadlineMissed || closes < now)) overdue.push(row);
    if (closes >= now && closes <= now + 7 * DAY_MS) {
      const w = windows.get(v.submissionId) ?? {
        submissionId: v.submissionId,
        closesAt: v.windowClosesAt,
        remainingDays: Math.round(((closes - now) / DAY_MS) * 10) / 10,
        openAgencies: [],
      };
      if (!terminal) w.openAgencies.push(v.agencyId);
      windows.set(v.submissionId, w);
    }
  }
  return {
    generatedAt: new Date(now).toISOString(),
    ...(filter.vendor ? { vendor: filter.vendor } : {}),
    submissions: { total: Object.values<number>(byStatus).reduce((a, b) => a + b, 0), byStatus },
    windowsClosingSoon: [...windows.values()].sort((a, b) => a.closesAt.localeCompare(b.closesAt)),
    agencies: {
      onHold: onHold.sort((a, b) => b.onHoldDays - a.onHoldDays),
      overdue: overdue.sort((a, b) => a.deadline.localeCompare(b.deadline)),
      scanned: open.scanned,
      capped: open.capped,
      unreachable: open.scanned - open.views.length,
    },
    notices: noticed,
    endpoints: failing,
    deadLetters: dl,
    cases: { total: Object.values<number>(byState).reduce((a, b) => a + b, 0), byState },
  };
}

type Card = z.infer<typeof SubmissionAgencyCard>;

/** One card per requested agency: its assessment's status, review clock, deadline and information requests. */
async function agencyCards(client: Client, submissionId: string, agencies: readonly string[]): Promise<Card[]> {
  const state = await client.workflow
    .getHandle(submissionWorkflowId(submissionId))
    .query(submissionStateQuery)
    .catch(() => undefined);
  const cards = await mapLimit([...agencies], 6, async (agencyId): Promise<Card> => {
    const handle = client.workflow.getHandle(agencyWorkflowId(submissionId, agencyId));
    try {
      const [view, description] = await Promise.all([withTimeout(handle.query(agencyStateQuery), QUERY_TIMEOUT_MS * 2), handle.describe()]);
      return {
        agencyId,
        status: view.status,
        running: description.status.name === 'RUNNING',
        deadline: view.windowClosesAt,
        deadlineMissed: view.deadlineMissed,
        clock: view.clock,
        infoRequests: view.infoRequests.map((r) => ({
          requestId: r.requestId,
          requestedAt: r.requestedAt,
          ...(r.respondedAt ? { respondedAt: r.respondedAt } : {}),
        })),
        findings: view.findings,
      };
    } catch {
      // Not started (screening, returned, withdrawn early): what the submission knows of it.
      const progress = state?.agencies.find((a) => a.agencyId === agencyId);
      return {
        agencyId,
        status: (progress?.status ?? 'INVITED') as AgencyStatus,
        running: false,
        ...(state?.window ? { deadline: state.window.closesAt } : {}),
        deadlineMissed: false,
        infoRequests: [],
        findings: [],
      };
    }
  });
  return cards.filter((c): c is Card => c !== undefined);
}

/** The console's static files (plain HTML, CSS and one ES module; no build step), read once. */
function consoleAssets(): Record<string, { type: string; body: string }> {
  const dir = path.join(projectRoot(), 'workers', 'api', 'console-web');
  const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');
  return {
    'index.html': { type: 'text/html; charset=utf-8', body: read('index.html') },
    'app.js': { type: 'text/javascript; charset=utf-8', body: read('app.js') },
    'app.css': { type: 'text/css; charset=utf-8', body: read('app.css') },
  };
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The console (`/console/`, static files) and the ops reads and actions it needs beyond the ops API:
 * `GET /ops/overview`, `GET /ops/submissions/{id}/agencies`, `GET /ops/deliveries`, and bulk replays
 * (`POST /ops/bulk-replays`, `GET /ops/bulk-replays[/{id}]`). Every `/ops/` route needs an ops token.
 */
export function consoleRoutes(ctx: ApiContext) {
  const replays = new BulkReplays(ctx);
  const assets = consoleAssets();
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.setErrorHandler(problemErrorHandler(ctx.logger.child({ component: 'api' })));
    const opsOnly = { preHandler: authenticate(ctx.authenticator, ['ops']) };

    app.get('/console', async (_request, reply) => reply.redirect('/console/', 302));
    app.get('/console/', async (_request, reply) => reply.headers(SECURITY_HEADERS).type(assets['index.html']!.type).send(assets['index.html']!.body));
    for (const name of ['app.js', 'app.css']) {
      app.get(`/console/${name}`, async (_request, reply) => reply.headers(SECURITY_HEADERS).type(assets[name]!.type).send(assets[name]!.body));
    }

    app.get('/ops/overview', opsOnly, async (request) => {
      const q = parseOr422(OverviewQuery, request.query, 'query');
      return buildOverview(ctx, q);
    });

    app.get<{ Params: { id: string } }>('/ops/submissions/:id/agencies', opsOnly, async (request) => {
      const owned = await findSubmission(ctx.client, request.params.id, request.principal);
      const agencies = owned.description.typedSearchAttributes.get(SA.agencies) ?? [];
      return { items: await agencyCards(ctx.client, owned.submissionId, agencies) };
    });

    app.get('/ops/deliveries', opsOnly, async (request) => {
      const q = parseOr422(OpsDeliveryListQuery, request.query, 'query');
      const filter: DeliveryFilter = { limit: q.limit ?? 100 };
      if (q.status) filter.status = q.status;
      if (q.endpoint) filter.endpointId = q.endpoint;
      if (q.vendor) filter.vendorId = q.vendor;
      if (q.since) filter.since = q.since;
      if (q.until) filter.until = q.until;
      return { items: await listDeliveries(ctx.client, filter) };
    });

    app.post('/ops/bulk-replays', { ...opsOnly, bodyLimit: 4096 }, async (request, reply) => {
      const body = parseOr422(BulkReplayRequest, request.body);
      const job = replays.start(request, body);
      return reply.code(202).header('location', `/ops/bulk-replays/${job.id}`).send(job);
    });

    app.get('/ops/bulk-replays', opsOnly, async () => ({ items: replays.list() }));

    app.get<{ Params: { id: string } }>('/ops/bulk-replays/:id', opsOnly, async (request) => {
      const job = isBulkReplayId(request.params.id) ? replays.get(request.params.id) : undefined;
      if (!job) throw problems.notFound('bulk replay');
      return job;
    });
  };
}
