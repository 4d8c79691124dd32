import type { AgencyRegistry } from '../../events/agency-registry';
import crypto from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ID_PATTERN } from '../../wire/enums';
import {
  acknowledgeUpdate,
  agencyWorkflowId,
  changeReleaseDateUpdate,
  declareReleasedUpdate,
  findingResponsesQuery,
  findingsSummaryQuery,
  infoRequestsQuery,
  respondToFindingUpdate,
  respondToInfoRequestUpdate,
  resubmitUpdate,
  submissionStateQuery,
  submissionWorkflowId,
  withdrawUpdate,
  type SubmissionInput,
} from '../../workflows/submission/contract';
import type { FindingSummary } from '../../wire/submission';
import { findingDetailQuery, findingRecordsQuery, infoRequestDetailQuery, type FindingRecord } from '../../workflows/assessment/contract';
import { SA } from '../../workflows/shared/search-attributes';
import {
  AccessVerifyRequest,
  AcknowledgeRequest,
  ChangeReleaseDateRequest,
  CreateSubmissionRequest,
  DeclareReleaseRequest,
  FindingResponseRequest,
  type FindingDetail,
  type FindingListItem,
  type InfoRequestDetail,
  InfoRequestResponseRequest,
  PageQuery,
  ResubmitRequest,
  VendorSubmissionListQuery,
  WithdrawRequest,
} from './http-schemas';
import { metrics } from '../../infra/metrics';
import { IdempotencyKeys } from '../../clients/idempotency';
import { authenticate, vendorScope } from './auth';
import { idempotencyKey, idempotentRoute } from './idempotency';
import type { ApiContext } from './context';
import { findSubmission, listSubmissions, SUBMISSION_KIND } from './lookup';
import { HttpProblem, isHttpProblem, parseOr422, problemErrorHandler, problemFromUpdateFailure, problems } from './problems';
import type { submissionWorkflow } from '../../workflows/submission/workflow';

/** Body caps per route: commands are small; an information-request answer may be long. */
export const BODY_LIMITS = { command: 64 * 1024, infoResponse: 256 * 1024 } as const;

/** A new submission id, or the same id for the same vendor and idempotency key (so a retried POST starts nothing new). */
export function newSubmissionId(vendorId: string, key?: string): string {
  const bytes = key ? crypto.createHash('sha256').update(`${vendorId}\n${key}`).digest().subarray(0, 12) : crypto.randomBytes(12);
  return `sub-${bytes.toString('hex')}`;
}

/** The submission a signature-checked token names (its claims are `pfa1.<base64url JSON>.<mac>`). */
function tokenSubmission(token: string): string | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { s?: unknown };
    return typeof claims.s === 'string' ? claims.s : undefined;
  } catch {
    return undefined;
  }
}

type Params = { id: string; rid?: string; fid?: string };

/** Runs one vendor command as a Temporal update on the caller's submission; refusals become precise problems. */
async function runCommand<R>(
  ctx: ApiContext,
  request: FastifyRequest<{ Params: Params }>,
  command: string,
  send: (handle: WorkflowHandle, updateId: string | undefined) => Promise<R>,
): Promise<{ submissionId: string; command: string; result: R }> {
  const owned = await findSubmission(ctx.client, request.params.id, request.principal);
  const key = idempotencyKey(request);
  try {
    // An ended submission takes no new command; a retried one (same Idempotency-Key) still gets its first answer.
    if (!owned.running && !key) throw problems.ended();
    const result = await send(owned.handle, key ? `${command}:${key}` : undefined);
    metrics.apiCommands.inc({ command, outcome: 'ok' });
    return { submissionId: owned.submissionId, command, result };
  } catch (e) {
    const problem = isHttpProblem(e) ? e : isEnded(e) ? problems.ended() : problemFromUpdateFailure(e);
    metrics.apiCommands.inc({ command, outcome: problem.code });
    throw problem;
  }
}

function isEnded(e: unknown): boolean {
  const name = (e as { name?: unknown })?.name;
  const message = String((e as { message?: unknown })?.message ?? '');
  return name === 'WorkflowNotFoundError' || /already completed|workflow execution already/i.test(message);
}

/** Reads the full finding (with its sensitive text) from the agency child that holds it, with the vendor's response, its note and the mitigation review. */
export async function readFinding(ctx: ApiContext, submissionId: string, findingId: string): Promise<FindingDetail> {
  if (!ID_PATTERN.test(findingId)) throw problems.notFound('finding');
  const parent = ctx.client.workflow.getHandle(submissionWorkflowId(submissionId));
  const summary = await parent.query(findingsSummaryQuery);
  const finding = summary.findings.find((f) => f.findingId === findingId);
  if (!finding) throw problems.notFound('finding');
  const detail = await ctx.client.workflow.getHandle(agencyWorkflowId(submissionId, finding.agencyId)).query(findingDetailQuery, findingId);
  if (!detail) throw problems.notFound('finding');
  const review = (await parent.query(findingResponsesQuery)).find((r) => r.findingId === findingId);
  const { note: _unused, ...record } = detail;
  return { ...record, ...withoutIds(review), ...responseOf(finding) };
}

function withoutIds<T extends { findingId: string; agencyId: string }>(r: T | undefined): Omit<T, 'findingId' | 'agencyId'> | Record<string, never> {
  if (!r) return {};
  const { findingId: _f, agencyId: _a, ...rest } = r;
  return rest;
}

/** The response fields as the submission holds them (the agency child does not know them). */
function responseOf(f: FindingSummary): Partial<FindingDetail> {
  return {
    ...(f.response ? { response: f.response } : {}),
    ...(f.respondedAt ? { respondedAt: f.respondedAt } : {}),
    ...(f.mitigation ? { mitigation: f.mitigation } : {}),
    ...(f.mitigationReviewedAt ? { mitigationReviewedAt: f.mitigationReviewedAt } : {}),
  };
}

/** An opaque page token: the offset of the next item. */
function pageOf<T>(items: readonly T[], q: { pageSize?: number | undefined; nextPageToken?: string | undefined }): { page: T[]; nextPageToken?: string } {
  let offset = 0;
  if (q.nextPageToken !== undefined) {
    const m = /^o(\d{1,9})$/.exec(Buffer.from(q.nextPageToken, 'base64url').toString('utf8'));
    if (!m) throw problems.invalid([{ path: 'nextPageToken', message: 'not a token this list returned' }], 'The query is not valid.');
    offset = Number(m[1]);
  }
  const size = q.pageSize ?? 100;
  const page = items.slice(offset, offset + size);
  return { page, ...(offset + size < items.length ? { nextPageToken: Buffer.from(`o${offset + size}`).toString('base64url') } : {}) };
}

/** A page of the submission's findings with their titles, the vendor's responses and notes, and the mitigation reviews. */
async function listFindings(ctx: ApiContext, submissionId: string, q: { pageSize?: number; nextPageToken?: string }) {
  const parent = ctx.client.workflow.getHandle(submissionWorkflowId(submissionId));
  const [summary, responses] = await Promise.all([parent.query(findingsSummaryQuery), parent.query(findingResponsesQuery)]);
  const { page, nextPageToken } = pageOf(summary.findings, q);
  // One query per agency on the page (not per finding) for the titles.
  const records = new Map<string, FindingRecord>();
  await Promise.all(
    [...new Set(page.map((f) => f.agencyId))].map(async (agencyId) => {
      for (const r of await ctx.client.workflow.getHandle(agencyWorkflowId(submissionId, agencyId)).query(findingRecordsQuery)) records.set(r.findingId, r);
    }),
  );
  const items: FindingListItem[] = page.map((f) => {
    const review = responses.find((r) => r.findingId === f.findingId);
    return {
      findingId: f.findingId,
      agencyId: f.agencyId,
      severity: f.severity,
      domain: f.domain,
      title: records.get(f.findingId)?.title ?? '',
      modelVersionTested: f.modelVersionTested,
      thirdPartyVulnerability: f.thirdPartyVulnerability,
      submittedAt: f.submittedAt,
      ...responseOf(f),
      ...(review?.note ? { note: review.note } : {}),
    };
  });
  return { items, ...(nextPageToken ? { nextPageToken } : {}) };
}

/** One information request with its question (from the asking agency's assessment) and the vendor's answer. */
async function readInfoRequest(ctx: ApiContext, submissionId: string, requestId: string): Promise<InfoRequestDetail> {
  if (!ID_PATTERN.test(requestId)) throw problems.notFound('information request');
  const requests = await ctx.client.workflow.getHandle(submissionWorkflowId(submissionId)).query(infoRequestsQuery);
  const request = requests.find((r) => r.requestId === requestId);
  if (!request) throw problems.notFound('information request');
  const detail = await ctx.client.workflow.getHandle(agencyWorkflowId(submissionId, request.agencyId)).query(infoRequestDetailQuery, requestId);
  if (!detail) throw problems.notFound('information request');
  const { requestId: id, agencyId, requestedAt, respondedAt, question, response } = detail;
  return { requestId: id, agencyId, requestedAt, ...(respondedAt ? { respondedAt } : {}), question, ...(response !== undefined ? { response } : {}) };
}

/**
 * Only agencies of the registry can be invited: an unknown id would get an assessment and an access grant for an agency
 * that does not exist. 422 naming each unknown id (and its index), before any workflow is started or updated.
 */
export function refuseUnknownAgencies(registry: Pick<AgencyRegistry, 'get' | 'list'>, requested: readonly string[]): void {
  const unknown = [...new Set(requested.filter((id) => !registry.get(id)))];
  if (unknown.length === 0) return;
  const known = registry
    .list()
    .map((a) => a.id)
    .join(', ');
  throw problems.invalid(
    unknown.map((id) => ({ path: `requestedAgencies.${requested.indexOf(id)}`, message: `unknown agency "${id}"` })),
    `Unknown agency id${unknown.length > 1 ? 's' : ''} in requestedAgencies: ${unknown.join(', ')} (known: ${known}).`,
  );
}

/**
 * The vendor API (`/v1/...`, DESIGN "Vendor HTTP API", except the webhook-endpoint routes): every route authenticates
 * the caller, checks it may see the submission (404 otherwise, the same as unknown), and sends each command as an
 * update whose validator decides; reads are workflow queries.
 */
export function submissionRoutes(ctx: ApiContext) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.setErrorHandler(problemErrorHandler(ctx.logger.child({ component: 'api' })));
    const vendorOnly = authenticate(ctx.authenticator, ['vendor']);
    const vendorOrOps = authenticate(ctx.authenticator, ['vendor', 'ops']);
    const idempotent = idempotentRoute(new IdempotencyKeys(ctx.client, ctx.taskQueue));
    const cmd = { preHandler: [vendorOnly, idempotent.preHandler], onSend: idempotent.onSend, bodyLimit: BODY_LIMITS.command };

    app.post('/v1/submissions', cmd, async (request, reply) => {
      const vendorId = vendorScope(request)!;
      const body = parseOr422(CreateSubmissionRequest, request.body);
      refuseUnknownAgencies(ctx.agencyRegistry, body.requestedAgencies);
      const key = idempotencyKey(request);
      const submissionId = newSubmissionId(vendorId, key);
      const input: SubmissionInput = { ...body, submissionId, vendorId, ...(ctx.submissionSettings ? { settings: ctx.submissionSettings } : {}) };
      const releaseMs = Date.parse(body.plannedReleaseAt);
      let existing = false;
      try {
        await ctx.client.workflow.start<typeof submissionWorkflow>('submissionWorkflow', {
          workflowId: submissionWorkflowId(submissionId),
          taskQueue: ctx.taskQueue,
          args: [input],
          // Set at start (not only by the workflow's first task) so ownership checks hold from the first instant.
          typedSearchAttributes: new TypedSearchAttributes([
            { key: SA.kind, value: SUBMISSION_KIND },
            { key: SA.vendor, value: vendorId },
            { key: SA.submissionId, value: submissionId },
            { key: SA.status, value: 'RECEIVED' },
            { key: SA.agencies, value: [...body.requestedAgencies] },
            ...(Number.isFinite(releaseMs) ? [{ key: SA.releaseAt, value: new Date(releaseMs) }] : []),
          ]),
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
        metrics.submissionsCreated.inc();
      } catch (e) {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError) || !key) throw e;
        existing = true;
      }
      metrics.apiCommands.inc({ command: 'create', outcome: existing ? 'replayed' : 'ok' });
      const location = `/v1/submissions/${submissionId}`;
      let status = 'RECEIVED';
      if (existing) {
        const owned = await findSubmission(ctx.client, submissionId, request.principal);
        status = owned.description.typedSearchAttributes.get(SA.status) ?? status;
      }
      return reply
        .code(existing ? 200 : 201)
        .header('location', location)
        .send({ submissionId, status, location });
    });

    app.get('/v1/submissions', { preHandler: vendorOrOps }, async (request) => {
      const q = parseOr422(VendorSubmissionListQuery, request.query, 'query');
      const vendor = vendorScope(request);
      return listSubmissions(ctx.client, { ...(vendor ? { vendor } : {}), ...(q.status ? { status: q.status } : {}) }, q);
    });

    app.get<{ Params: Params }>('/v1/submissions/:id', { preHandler: vendorOrOps }, async (request) => {
      const owned = await findSubmission(ctx.client, request.params.id, request.principal);
      return owned.handle.query(submissionStateQuery);
    });

    app.post<{ Params: Params }>('/v1/submissions/:id/resubmit', cmd, async (request) => {
      const body = parseOr422(ResubmitRequest, request.body);
      refuseUnknownAgencies(ctx.agencyRegistry, body.requestedAgencies);
      return runCommand(ctx, request, 'resubmit', (h, updateId) => h.executeUpdate(resubmitUpdate, { args: [body], ...(updateId ? { updateId } : {}) }));
    });

    app.post<{ Params: Params }>('/v1/submissions/:id/release-date', cmd, async (request) => {
      const body = parseOr422(ChangeReleaseDateRequest, request.body);
      return runCommand(ctx, request, 'change-release-date', (h, updateId) =>
        h.executeUpdate(changeReleaseDateUpdate, { args: [body], ...(updateId ? { updateId } : {}) }),
      );
    });

    app.post<{ Params: Params }>(
      '/v1/submissions/:id/info-requests/:rid/response',
      { preHandler: [vendorOnly, idempotent.preHandler], onSend: idempotent.onSend, bodyLimit: BODY_LIMITS.infoResponse },
      async (request) => {
        const body = parseOr422(InfoRequestResponseRequest, request.body);
        const requestId = request.params.rid ?? '';
        if (!ID_PATTERN.test(requestId)) {
          await findSubmission(ctx.client, request.params.id, request.principal);
          throw new HttpProblem(404, 'unknown-reference', 'Not found', 'No such information request.');
        }
        return runCommand(ctx, request, 'respond-to-info-request', (h, updateId) =>
          h.executeUpdate(respondToInfoRequestUpdate, { args: [{ requestId, response: body.response }], ...(updateId ? { updateId } : {}) }),
        );
      },
    );

    app.post<{ Params: Params }>('/v1/submissions/:id/findings/:fid/response', cmd, async (request) => {
      const body = parseOr422(FindingResponseRequest, request.body);
      const findingId = request.params.fid ?? '';
      if (!ID_PATTERN.test(findingId)) {
        await findSubmission(ctx.client, request.params.id, request.principal);
        throw new HttpProblem(404, 'unknown-reference', 'Not found', 'No such finding.');
      }
      return runCommand(ctx, request, 'respond-to-finding', (h, updateId) =>
        h.executeUpdate(respondToFindingUpdate, { args: [{ findingId, ...body }], ...(updateId ? { updateId } : {}) }),
      );
    });

    app.get<{ Params: Params }>('/v1/submissions/:id/findings', { preHandler: vendorOrOps }, async (request) => {
      const q = parseOr422(PageQuery, request.query, 'query');
      const owned = await findSubmission(ctx.client, request.params.id, request.principal);
      return listFindings(ctx, owned.submissionId, q);
    });

    // Questions and answers are between the asking agency and the vendor: vendor only.
    app.get<{ Params: Params }>('/v1/submissions/:id/info-requests', { preHandler: vendorOnly }, async (request) => {
      const q = parseOr422(PageQuery, request.query, 'query');
      const owned = await findSubmission(ctx.client, request.params.id, request.principal);
      const { page, nextPageToken } = pageOf(await owned.handle.query(infoRequestsQuery), q);
      return { items: page, ...(nextPageToken ? { nextPageToken } : {}) };
    });

    app.get<{ Params: Params }>('/v1/submissions/:id/info-requests/:rid', { preHandler: vendorOnly }, async (request): Promise<InfoRequestDetail> => {
      const owned = await findSubmission(ctx.client, request.params.id, request.principal);
      return readInfoRequest(ctx, owned.submissionId, request.params.rid ?? '');
    });

    app.get<{ Params: Params }>('/v1/submissions/:id/findings/:fid', { preHandler: vendorOrOps }, async (request): Promise<FindingDetail> => {
      const owned = await findSubmission(ctx.client, request.params.id, request.principal);
      const found = await readFinding(ctx, owned.submissionId, request.params.fid ?? '');
      // Which clearinghouse case holds a third-party finding is for ops and the reporting agency, not the vendor.
      if (request.principal?.kind === 'ops') return found;
      const { caseRouting: _routing, ...forVendor } = found;
      return forVendor;
    });

    app.post<{ Params: Params }>('/v1/submissions/:id/acknowledge', cmd, async (request) => {
      const body = parseOr422(AcknowledgeRequest, request.body);
      return runCommand(ctx, request, 'acknowledge', (h, updateId) => h.executeUpdate(acknowledgeUpdate, { args: [body], ...(updateId ? { updateId } : {}) }));
    });

    app.post<{ Params: Params }>('/v1/submissions/:id/withdraw', cmd, async (request) => {
      const body = parseOr422(WithdrawRequest, request.body);
      return runCommand(ctx, request, 'withdraw', (h, updateId) => h.executeUpdate(withdrawUpdate, { args: [body], ...(updateId ? { updateId } : {}) }));
    });

    app.post<{ Params: Params }>('/v1/submissions/:id/release', cmd, async (request) => {
      const body = parseOr422(DeclareReleaseRequest, request.body);
      return runCommand(ctx, request, 'declare-release', (h, updateId) =>
        h.executeUpdate(declareReleasedUpdate, { args: [body], ...(updateId ? { updateId } : {}) }),
      );
    });

    // A read that happens to be a POST: no Idempotency-Key handling.
    app.post('/v1/access/verify', { preHandler: vendorOnly, bodyLimit: BODY_LIMITS.command }, async (request: FastifyRequest, reply: FastifyReply) => {
      const { token } = parseOr422(AccessVerifyRequest, request.body);
      const result = await ctx.accessBroker.verify(token);
      if (!result.valid && result.reason !== 'expired' && result.reason !== 'revoked') return reply.send(result);
      // A token for another vendor's model answers exactly like a forged one, whether live, expired or revoked: it
      // proves nothing to this gateway, and saying more would reveal that the other submission exists.
      const submissionId = result.valid ? result.submissionId : tokenSubmission(token);
      try {
        await findSubmission(ctx.client, submissionId ?? '', request.principal);
      } catch (e) {
        if (isHttpProblem(e) && e.status === 404) return reply.send({ valid: false, reason: 'bad-signature' });
        throw e;
      }
      return reply.send(result);
    });
  };
}
