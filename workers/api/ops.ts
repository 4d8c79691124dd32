import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { FastifyInstance } from 'fastify';
import { AuditQuery, DeadLetterListQuery, DeadLetterReplayRequest, OpsSubmissionListQuery } from './http-schemas';
import { agencyWorkflowId, clocksQuery, findingsSummaryQuery, submissionStateQuery, submissionWorkflowId } from '../../workflows/submission/contract';
import { deliveryStateQuery } from '../../workflows/webhooks/contract';
import { SA } from '../../workflows/shared/search-attributes';
import { authenticate } from './auth';
import type { ApiContext } from './context';
import { DeadLetterReplayError, listDeadLetters, replayDeadLetter } from './dead-letters';
import { findSubmission, listSubmissions, type OwnedSubmission } from './lookup';
import { HttpProblem, parseOr422, problemErrorHandler, problems } from './problems';
import { buildTimeline, type DeliveryFacts, type Timeline } from '../../clients/timeline';
import { decodeAuditCursor } from '../../events/audit-trail';

type History = temporal.api.history.v1.IHistory;

/** Decrypts every payload list in a history in place (codecs decode in reverse order), for the timeline only. */
async function decodeHistory(history: History, codecs: readonly PayloadCodec[]): Promise<History> {
  if (codecs.length === 0) return history;
  const visit = async (node: unknown, depth: number): Promise<void> => {
    if (depth > 12 || typeof node !== 'object' || node === null || ArrayBuffer.isView(node)) return;
    if (Array.isArray(node)) {
      for (const item of node) await visit(item, depth + 1);
      return;
    }
    const record = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) {
      if (key === 'payloads' && Array.isArray(value)) {
        let decoded = value as temporal.api.common.v1.IPayload[];
        try {
          for (const codec of [...codecs].reverse()) decoded = await codec.decode(decoded as never);
          record[key] = decoded;
        } catch {
          // A payload this process cannot decrypt stays as it is; the timeline then shows less detail.
        }
      } else {
        await visit(value, depth + 1);
      }
    }
  };
  for (const event of history.events ?? []) await visit(event, 0);
  return history;
}

/** Histories of a submission and its agency assessments, as Temporal stores them (payloads still encrypted). */
export async function fetchSubmissionHistories(client: Client, owned: Pick<OwnedSubmission, 'submissionId' | 'description' | 'handle'>) {
  const submission = await owned.handle.fetchHistory();
  const agencies: Record<string, History> = {};
  for (const agencyId of owned.description.typedSearchAttributes.get(SA.agencies) ?? []) {
    const workflowId = agencyWorkflowId(owned.submissionId, agencyId);
    try {
      agencies[workflowId] = await client.workflow.getHandle(workflowId).fetchHistory();
    } catch {
      // Not started (the submission never reached assessment, or the agency was not invited after a resubmission).
    }
  }
  return { submission, agencies };
}

/** Webhook deliveries of this submission's events, with their attempts (best effort: a missing index returns none). */
export async function submissionDeliveries(client: Client, submissionId: string, limit = 50): Promise<DeliveryFacts[]> {
  const out: DeliveryFacts[] = [];
  try {
    const query = `WorkflowType = 'webhookDeliveryWorkflow' AND WorkflowId STARTS_WITH 'delivery/${submissionWorkflowId(submissionId)}/'`;
    const seen = new Set<string>();
    for await (const wf of client.workflow.list({ query })) {
      if (seen.has(wf.workflowId)) continue;
      seen.add(wf.workflowId);
      const view = await client.workflow
        .getHandle(wf.workflowId)
        .query(deliveryStateQuery)
        .catch(() => undefined);
      if (view) {
        out.push({
          eventId: view.eventId,
          eventType: view.eventType,
          endpointId: view.endpointId,
          status: view.status,
          attempts: view.attempts.map((a) => ({ attempt: a.attempt, at: a.at, outcome: a.outcome, ...(a.status ? { status: a.status } : {}) })),
        });
      }
      if (out.length >= limit) break;
    }
  } catch {
    return out;
  }
  return out;
}

/** The readable timeline of one submission (its vendor's or ops' view: the caller was checked before). */
export async function submissionTimeline(client: Client, owned: OwnedSubmission): Promise<Timeline> {
  const raw = await fetchSubmissionHistories(client, owned);
  const codecs = client.options.loadedDataConverter.payloadCodecs;
  const submission = await decodeHistory(raw.submission, codecs);
  const agencies: Record<string, History> = {};
  for (const [id, h] of Object.entries(raw.agencies)) agencies[id] = await decodeHistory(h, codecs);
  const deliveries = await submissionDeliveries(client, owned.submissionId);
  return buildTimeline({ submissionId: owned.submissionId, submission, agencies, deliveries });
}

/** A history as protobuf JSON (the shape `temporal workflow show --output json` prints). */
export function historyJson(history: History): unknown {
  return temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), {
    enums: String,
    longs: String,
    bytes: String,
    defaults: false,
  });
}

/** State, clocks and findings summary (no finding texts) of one submission. */
export async function submissionOverview(owned: OwnedSubmission) {
  const [state, clocks, findings] = await Promise.all([
    owned.handle.query(submissionStateQuery),
    owned.handle.query(clocksQuery),
    owned.handle.query(findingsSummaryQuery),
  ]);
  return { state, clocks, findings };
}

/** The ops API under `/ops/`: every route needs an ops token. */
export function opsRoutes(ctx: ApiContext) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.setErrorHandler(problemErrorHandler(ctx.logger.child({ component: 'api' })));
    const opsOnly = { preHandler: authenticate(ctx.authenticator, ['ops']) };
    type ById = { Params: { id: string } };

    app.get('/ops/submissions', opsOnly, async (request) => {
      const q = parseOr422(OpsSubmissionListQuery, request.query, 'query');
      const { pageSize, nextPageToken, ...filter } = q;
      return listSubmissions(ctx.client, filter, { ...(pageSize ? { pageSize } : {}), ...(nextPageToken ? { nextPageToken } : {}) });
    });

    app.get<ById>('/ops/submissions/:id', opsOnly, async (request) => {
      const owned = await findSubmission(ctx.client, request.params.id, request.principal);
      return submissionOverview(owned);
    });

    app.get<ById>('/ops/submissions/:id/timeline', opsOnly, async (request) => {
      const owned = await findSubmission(ctx.client, request.params.id, request.principal);
      return submissionTimeline(ctx.client, owned);
    });

    // Raw, as stored: payloads stay encrypted (the Temporal UI decrypts through the codec endpoint).
    app.get<ById>('/ops/submissions/:id/history', opsOnly, async (request, reply) => {
      const owned = await findSubmission(ctx.client, request.params.id, request.principal);
      const { submission, agencies } = await fetchSubmissionHistories(ctx.client, owned);
      reply.header('content-disposition', `attachment; filename="${owned.submissionId}-history.json"`);
      return {
        submissionId: owned.submissionId,
        histories: {
          [submissionWorkflowId(owned.submissionId)]: historyJson(submission),
          ...Object.fromEntries(Object.entries(agencies).map(([id, h]) => [id, historyJson(h)])),
        },
      };
    });

    app.get('/ops/dead-letters', opsOnly, async (request) => {
      const { pageSize, limit: oldName } = parseOr422(DeadLetterListQuery, request.query, 'query');
      const limit = pageSize ?? oldName;
      if (!ctx.kafka) throw problems.unavailable('Kafka is not configured for this api process.');
      return { items: await listDeadLetters(ctx.kafka, { ...(limit ? { limit } : {}) }) };
    });

    app.post('/ops/dead-letters/replay', { ...opsOnly, bodyLimit: 4096 }, async (request) => {
      const ref = parseOr422(DeadLetterReplayRequest, request.body);
      if (!ctx.kafka) throw problems.unavailable('Kafka is not configured for this api process.');
      try {
        const where = await replayDeadLetter(ctx.kafka, ref, ctx.payloadKeys);
        ctx.logger.info(
          { audit: 'dead-letter-replay', operator: request.principal?.kind === 'ops' ? request.principal.operator : undefined, ...ref, ...where },
          'dead letter replayed',
        );
        return { replayed: true, ...where };
      } catch (e) {
        if (e instanceof DeadLetterReplayError) {
          throw e.code === 'not-found'
            ? new HttpProblem(404, 'not-found', 'Not found', e.message)
            : new HttpProblem(409, 'not-replayable', 'Not replayable', e.message);
        }
        throw e;
      }
    });

    app.get('/ops/audit', opsOnly, async (request) => {
      const { pageSize, cursor, ...filter } = parseOr422(AuditQuery, request.query, 'query');
      if (cursor !== undefined && decodeAuditCursor(cursor) === undefined)
        throw problems.invalid([{ path: 'cursor', message: 'not a cursor this API gave out' }]);
      return ctx.audit.query(filter, { pageSize: pageSize ?? 100, ...(cursor ? { cursor } : {}) });
    });
  };
}
