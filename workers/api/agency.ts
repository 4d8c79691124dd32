import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FINGERPRINT_PATTERN, ID_PATTERN } from '../../wire/enums';
import { getCase, isCaseNotFoundError } from '../../clients/cases';
import { caseWorkflowId, type AgencyCaseView } from '../../workflows/clearinghouse/contract';
import { findingResponseQuery, agencyWorkflowId, submissionStateQuery, submissionWorkflowId } from '../../workflows/submission/contract';
import { agencyStateQuery, findingDetailQuery, infoRequestDetailQuery } from '../../workflows/assessment/contract';
import { SA } from '../../workflows/shared/search-attributes';
import { SIGNATURE_ALG, SIGNATURE_LABEL, verifyRequest } from '../../infra/http-signatures';
import { markUnknownCredential } from './auth';
import type { ApiContext } from './context';
import type { AgencyAccessToken, AgencyAssessment, AgencyAssessmentList, AgencyFinding, AgencyInfoRequest } from './http-schemas';
import { HttpProblem, parseOr422, problemErrorHandler, problems, sendProblem } from './problems';

type AgencyAssessmentBody = z.infer<typeof AgencyAssessment>;
type AgencyInfoRequestBody = z.infer<typeof AgencyInfoRequest>;
type AgencyFindingBody = z.infer<typeof AgencyFinding>;

const ASSESSMENT_KIND = 'agencyAssessment';
const ASSESSMENT_TYPE = 'agencyAssessmentWorkflow';
/** What a refused request is told to send (RFC 9421 section 5.1). */
export const ACCEPT_SIGNATURE = `${SIGNATURE_LABEL}=("@method" "@target-uri");created;keyid;nonce;alg="${SIGNATURE_ALG}"`;
const LIST_LIMIT = 1000;

type Params = { sid: string; rid?: string; fid?: string };

function agencyOf(request: FastifyRequest): string {
  const p = request.principal;
  if (p?.kind !== 'agency') throw problems.notFound('assessment');
  return p.agencyId;
}

/** The absolute target URI as this server received it: scheme of the connection, Host header, request target. */
function targetUri(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}${request.url}`;
}

/**
 * Authenticates a request signed with an agency's registered Ed25519 key (RFC 9421; see `infra/http-signatures.ts`):
 * `keyid` names the agency, whose pinned public keys must verify the signature. Every refusal is 401 with a code that
 * says why (`unsigned`, `malformed-signature`, `unknown-key`, `bad-signature`, `stale-signature`, `replayed-nonce`,
 * `digest-mismatch`), audited by the root refusal hook.
 */
export function authenticateAgency(ctx: Pick<ApiContext, 'agencyRegistry' | 'nonces'>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const body = Buffer.isBuffer(request.body) ? request.body : undefined;
    const check = await verifyRequest(
      { method: request.method, url: targetUri(request), headers: request.headers, ...(body ? { body } : {}) },
      { keysFor: (id) => ctx.agencyRegistry.get(id)?.publicKeys, nonces: ctx.nonces },
    );
    if (check.ok) {
      request.principal = { kind: 'agency', agencyId: check.keyId };
      return;
    }
    if (check.code !== 'unsigned') markUnknownCredential(request);
    reply.header('accept-signature', ACCEPT_SIGNATURE);
    await sendProblem(reply, new HttpProblem(401, check.code, 'Signature refused', check.reason), request.url.split('?')[0]);
  };
}

function isNotFound(e: unknown): boolean {
  if (e instanceof WorkflowNotFoundError) return true;
  const name = (e as { name?: unknown })?.name;
  const code = (e as { code?: unknown })?.code;
  return name === 'WorkflowNotFoundError' || code === 5;
}

/**
 * The caller's own assessment of a submission, or 404 — the same 404 for an unknown submission, a malformed id and a
 * submission the agency was not invited to, so nothing about other agencies' or vendors' work is revealed.
 */
async function ownAssessment(ctx: ApiContext, agencyId: string, submissionId: string): Promise<{ handle: WorkflowHandle; running: boolean }> {
  if (!ID_PATTERN.test(submissionId)) throw problems.notFound('assessment');
  const handle = ctx.client.workflow.getHandle(agencyWorkflowId(submissionId, agencyId));
  try {
    const d = await handle.describe();
    const agencies = d.typedSearchAttributes.get(SA.agencies) ?? [];
    // The workflow id already names the agency; the type and indexed agency make sure it is an assessment of it.
    if (d.type !== ASSESSMENT_TYPE || (agencies.length > 0 && !agencies.includes(agencyId))) throw problems.notFound('assessment');
    return { handle, running: d.status.name === 'RUNNING' };
  } catch (e) {
    if (isNotFound(e)) throw problems.notFound('assessment');
    throw e;
  }
}

const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * The agency API (`/v1/agency/...`): reads for an agency, authenticated by its signature. Every read is of the
 * caller's own assessment (`submission/<id>/agency/<caller>`) or of a clearinghouse case it reported or is a party to
 * (`/v1/agency/cases/<fingerprint>`, its {@link AgencyCaseView}); anything else is 404 and audited.
 */
export function agencyRoutes(ctx: ApiContext) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.setErrorHandler(problemErrorHandler(ctx.logger.child({ component: 'api' })));
    const signed = { preHandler: authenticateAgency(ctx) };

    app.get('/v1/agency/assessments', signed, async (request): Promise<z.infer<typeof AgencyAssessmentList>> => {
      parseOr422(z.strictObject({}), request.query, 'query');
      const agencyId = agencyOf(request);
      const query = `${SA.kind.name} = ${quote(ASSESSMENT_KIND)} AND WorkflowType = '${ASSESSMENT_TYPE}' AND ${SA.agencies.name} = ${quote(agencyId)}`;
      const items: z.infer<typeof AgencyAssessmentList>['items'] = [];
      for await (const w of ctx.client.workflow.list({ query, pageSize: 200 })) {
        const submissionId = w.typedSearchAttributes.get(SA.submissionId);
        // Defence in depth: the id must be this agency's assessment id, whatever the index says.
        if (typeof submissionId !== 'string' || w.workflowId !== agencyWorkflowId(submissionId, agencyId)) continue;
        items.push({
          submissionId,
          agencyId,
          status: w.typedSearchAttributes.get(SA.status) ?? 'INVITED',
          running: w.status.name === 'RUNNING',
          invitedAt: w.startTime.toISOString(),
          ...(w.closeTime ? { endedAt: w.closeTime.toISOString() } : {}),
        });
        if (items.length >= LIST_LIMIT) break;
      }
      return { items };
    });

    // A case the agency reported or is a party to, as that agency may read it; any other case is 404 (and audited).
    app.get<{ Params: { fingerprint: string } }>('/v1/agency/cases/:fingerprint', signed, async (request): Promise<AgencyCaseView> => {
      const agencyId = agencyOf(request);
      if (!FINGERPRINT_PATTERN.test(request.params.fingerprint)) throw problems.notFound('case');
      try {
        return (await getCase(ctx.client, caseWorkflowId(request.params.fingerprint), { kind: 'agency', agencyId }, { logger: ctx.logger })) as AgencyCaseView;
      } catch (e) {
        if (isCaseNotFoundError(e)) throw problems.notFound('case');
        throw e;
      }
    });

    app.get<{ Params: Params }>('/v1/agency/assessments/:sid', signed, async (request): Promise<AgencyAssessmentBody> => {
      const agencyId = agencyOf(request);
      const { submissionId, handle, running } = await assessmentOf(ctx, request);
      const [view, submission] = await Promise.all([
        handle.query(agencyStateQuery),
        ctx.client.workflow.getHandle(submissionWorkflowId(submissionId)).query(submissionStateQuery),
      ]);
      const responses = new Map(
        (
          await Promise.all(
            view.findings.map((f) => ctx.client.workflow.getHandle(submissionWorkflowId(submissionId)).query(findingResponseQuery, f.findingId)),
          )
        )
          .filter((r) => r !== null)
          .map((r) => [r.findingId, r]),
      );
      return {
        submissionId,
        agencyId,
        status: view.status,
        running,
        deadline: view.windowClosesAt,
        clock: view.clock,
        remindersSent: view.remindersSent,
        deadlineMissed: view.deadlineMissed,
        submission: {
          model: { ...submission.model },
          ...(submission.window ? { window: { ...submission.window } } : {}),
          domains: [...(ctx.agencyRegistry.get(agencyId)?.domains ?? [])],
        },
        infoRequests: view.infoRequests.map(({ requestId, requestedAt, respondedAt }) => ({ requestId, requestedAt, ...(respondedAt ? { respondedAt } : {}) })),
        findings: view.findings.map(({ findingId, severity, submittedAt }) => {
          const response = responses.get(findingId)?.response;
          return { findingId, severity, submittedAt, ...(response ? { response } : {}) };
        }),
      };
    });

    app.get<{ Params: Params }>('/v1/agency/assessments/:sid/info-requests', signed, async (request) => {
      const { handle } = await assessmentOf(ctx, request);
      const view = await handle.query(agencyStateQuery);
      const items = await Promise.all(view.infoRequests.map((r) => infoRequest(handle, r.requestId)));
      return { items: items.filter((r): r is AgencyInfoRequestBody => r !== null) };
    });

    app.get<{ Params: Params }>('/v1/agency/assessments/:sid/info-requests/:rid', signed, async (request) => {
      const { handle } = await assessmentOf(ctx, request);
      const requestId = request.params.rid ?? '';
      const found = ID_PATTERN.test(requestId) ? await infoRequest(handle, requestId) : null;
      if (!found) throw problems.notFound('information request');
      return found;
    });

    app.get<{ Params: Params }>('/v1/agency/assessments/:sid/findings', signed, async (request) => {
      const { submissionId, handle } = await assessmentOf(ctx, request);
      const view = await handle.query(agencyStateQuery);
      const items = await Promise.all(view.findings.map((f) => finding(ctx, submissionId, handle, f.findingId)));
      return { items: items.filter((f): f is AgencyFindingBody => f !== null) };
    });

    app.get<{ Params: Params }>('/v1/agency/assessments/:sid/findings/:fid', signed, async (request) => {
      const { submissionId, handle } = await assessmentOf(ctx, request);
      const findingId = request.params.fid ?? '';
      const found = ID_PATTERN.test(findingId) ? await finding(ctx, submissionId, handle, findingId) : null;
      if (!found) throw problems.notFound('finding');
      return found;
    });

    app.get<{ Params: Params }>('/v1/agency/assessments/:sid/access-token', signed, async (request, reply): Promise<z.infer<typeof AgencyAccessToken>> => {
      const agencyId = agencyOf(request);
      const { submissionId } = await assessmentOf(ctx, request);
      const parent = ctx.client.workflow.getHandle(submissionWorkflowId(submissionId));
      const described = await parent.describe();
      const view = described.status.name === 'RUNNING' ? await parent.query(submissionStateQuery) : undefined;
      const grant = view?.activeGrants.find((g) => g.agencyId === agencyId);
      if (!grant) {
        throw new HttpProblem(409, 'no-live-grant', 'No live access', 'This assessment holds no live access grant (not granted yet, ended, or revoked).');
      }
      const credential = await ctx.accessBroker.credential({ grantId: grant.grantId, submissionId, agencyId, expiresAt: grant.expiresAt });
      reply.header('cache-control', 'no-store');
      return { submissionId, agencyId, ...credential };
    });
  };
}

async function assessmentOf(
  ctx: ApiContext,
  request: FastifyRequest<{ Params: Params }>,
): Promise<{ submissionId: string; handle: WorkflowHandle; running: boolean }> {
  const agencyId = agencyOf(request);
  const submissionId = request.params.sid;
  return { submissionId, ...(await ownAssessment(ctx, agencyId, submissionId)) };
}

async function infoRequest(handle: WorkflowHandle, requestId: string): Promise<AgencyInfoRequestBody | null> {
  const r = await handle.query(infoRequestDetailQuery, requestId);
  if (!r) return null;
  return {
    requestId: r.requestId,
    requestedAt: r.requestedAt,
    question: r.question,
    ...(r.respondedAt ? { respondedAt: r.respondedAt } : {}),
    ...(r.response !== undefined ? { response: r.response } : {}),
  };
}

async function finding(ctx: ApiContext, submissionId: string, handle: WorkflowHandle, findingId: string): Promise<AgencyFindingBody | null> {
  const detail = await handle.query(findingDetailQuery, findingId);
  if (!detail) return null;
  const response = await ctx.client.workflow.getHandle(submissionWorkflowId(submissionId)).query(findingResponseQuery, findingId);
  const {
    findingId: id,
    agencyId,
    severity,
    domain,
    title,
    detail: text,
    modelVersionTested,
    recommendedMitigation,
    thirdPartyVulnerability,
    submittedAt,
    caseRouting,
  } = detail;
  return {
    findingId: id,
    agencyId,
    severity,
    domain,
    title,
    detail: text,
    modelVersionTested,
    recommendedMitigation,
    thirdPartyVulnerability,
    submittedAt,
    ...(caseRouting ? { caseRouting } : {}),
    ...(response?.response && response.respondedAt
      ? { vendorResponse: { response: response.response, respondedAt: response.respondedAt, ...(response.note ? { note: response.note } : {}) } }
      : {}),
  };
}
