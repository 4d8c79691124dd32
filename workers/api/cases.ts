import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { applyOpsCaseAction, getCase, isCaseNotFoundError, listCases, type OpsCaseAction } from '../../clients/cases';
import { findInCauses } from '../../infra/error-causes';
import { CASE_STATES, FINGERPRINT_PATTERN, OPAQUE_ID_PATTERN } from '../../wire/enums';
import { caseWorkflowId, type CaseView } from '../../workflows/clearinghouse/contract';
import { buildCsafDocument } from '../../workflows/clearinghouse/csaf';
import { FAILURES } from '../../workflows/shared/failures';
import { addAuditDetails, authenticate } from './auth';
import type { ApiContext } from './context';
import {
  CaseCloseRequest,
  CaseDuplicateRequest,
  CaseExploitationRequest,
  CasePartyRequest,
  CasePublishRequest,
  CaseStatusRequest,
  CaseTriageRequest,
} from './http-schemas';
import { HttpProblem, isHttpProblem, parseOr422, problemErrorHandler, problems } from './problems';

const CaseListQuery = z.strictObject({
  /** Only what this agency may see: cases it reported or is a party to. */
  agencyId: z.string().regex(OPAQUE_ID_PATTERN, 'an agency id').optional(),
  state: z.enum(CASE_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

type CaseContext = Pick<ApiContext, 'client' | 'authenticator' | 'logger'> & Partial<Pick<ApiContext, 'audit' | 'agencyRegistry'>>;
type ByFingerprint = { Params: { fingerprint: string } };

/** A case workflow's refusal as a problem a person understands: the workflow's sentence, with a precise code. */
export function caseProblem(err: unknown): HttpProblem | undefined {
  const type = findInCauses(err, (c) => (typeof c.type === 'string' ? c.type : undefined));
  const message = findInCauses(err, (c) => (typeof c.type === 'string' && typeof c.message === 'string' ? c.message : undefined)) ?? '';
  const detail = message.slice(0, 500);
  switch (type) {
    case FAILURES.caseInvalidInput.type:
      return new HttpProblem(422, 'invalid-input', 'Invalid input', detail);
    case FAILURES.caseInvalidTransition.type:
      return new HttpProblem(409, 'not-allowed-in-state', 'Not allowed in the current state', detail);
    case FAILURES.caseEmbargoed.type:
      return new HttpProblem(409, 'embargoed', 'The case is under embargo', detail);
    case FAILURES.caseTooManyReports.type:
      return new HttpProblem(409, 'too-many-reports', 'Too many reports', detail);
    case FAILURES.caseForbidden.type:
      return new HttpProblem(403, 'forbidden', 'Forbidden', detail);
    default:
      return undefined;
  }
}

function fingerprintOf(request: FastifyRequest<ByFingerprint>): string {
  if (!FINGERPRINT_PATTERN.test(request.params.fingerprint)) throw problems.notFound('case');
  return caseWorkflowId(request.params.fingerprint);
}

/**
 * Clearinghouse cases on the ops API. Reads: `GET /ops/cases` (visibility: ids and enums only),
 * `GET /ops/cases/{fingerprint}` (the whole case, as sensitive as a finding) and `GET /ops/cases/{fingerprint}/csaf`
 * (the CSAF 2.0 document once published). Actions (each audited with operator, case, action and outcome): triage,
 * parties, status, exploitation, duplicate, publish, close. Every route needs an ops token; `?agencyId=` shows an
 * operator exactly what that agency may see.
 */
export function caseRoutes(ctx: CaseContext) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.setErrorHandler(problemErrorHandler(ctx.logger.child({ component: 'api' })));
    const opsOnly = { preHandler: authenticate(ctx.authenticator, ['ops']) };
    // Actions take JSON only: another media type (even text/plain, which Fastify would read as a string) is 415.
    const jsonOnly = async (request: FastifyRequest): Promise<void> => {
      const type = String(request.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      if (type !== 'application/json') throw new HttpProblem(415, 'unsupported-media-type', 'Unsupported media type', 'Send application/json.');
    };
    const actionRoute = { preHandler: [authenticate(ctx.authenticator, ['ops']), jsonOnly], bodyLimit: 64 * 1024 };

    app.get('/ops/cases', opsOnly, async (request) => {
      const q = parseOr422(CaseListQuery, request.query, 'query');
      return { items: await listCases(ctx.client, q) };
    });

    const readCase = async (caseId: string): Promise<CaseView> => {
      try {
        return await getCase(ctx.client, caseId, { kind: 'ops' }, { logger: ctx.logger });
      } catch (e) {
        if (isCaseNotFoundError(e)) throw problems.notFound('case');
        throw e;
      }
    };

    app.get<{ Params: { fingerprint: string }; Querystring: { agencyId?: string } }>('/ops/cases/:fingerprint', opsOnly, async (request) => {
      const { agencyId } = parseOr422(CaseListQuery.pick({ agencyId: true }), request.query, 'query');
      const caseId = fingerprintOf(request);
      if (!agencyId) return readCase(caseId);
      try {
        return await getCase(ctx.client, caseId, { kind: 'agency', agencyId }, { logger: ctx.logger });
      } catch (e) {
        if (isCaseNotFoundError(e)) throw problems.notFound('case');
        throw e;
      }
    });

    app.get<ByFingerprint>('/ops/cases/:fingerprint/csaf', opsOnly, async (request, reply) => {
      const view = await readCase(fingerprintOf(request));
      const doc = buildCsafDocument(view);
      if (!doc)
        throw new HttpProblem(404, 'not-published', 'Not published', `Case ${view.caseId} is ${view.state}: it has no CSAF document before publication.`);
      reply.header('content-disposition', `inline; filename="${doc.document.tracking.id.toLowerCase()}.json"`);
      return doc;
    });

    /**
     * Runs one operator action and audits it (operator, case, action, outcome; an override's reason): applied, or
     * refused with the reason (the body's schema, the registry, or the case's state). A case that ended answers 409,
     * a missing one 404.
     */
    const act = async (request: FastifyRequest<ByFingerprint>, action: OpsCaseAction['action'], build: () => Promise<OpsCaseAction>): Promise<CaseView> => {
      const caseId = fingerprintOf(request);
      const operator = request.principal?.kind === 'ops' ? request.principal.operator : 'unknown';
      let overrideReason: string | undefined;
      // The request's own audit record (the api's audit hook writes it) carries the case action, its outcome and an
      // override's reason.
      const audit = (status: number, outcome: 'applied' | 'refused', code: string, detail?: string): void => {
        ctx.logger.info(
          {
            audit: 'case-action',
            operator,
            caseId,
            action,
            outcome,
            ...(overrideReason ? { overrideReason } : {}),
            status,
            code,
            ...(detail ? { detail } : {}),
          },
          `case ${action} ${outcome}`,
        );
        addAuditDetails(request, {
          caseId,
          caseAction: action,
          caseOutcome: outcome,
          ...(overrideReason ? { overrideReason: overrideReason.slice(0, 200) } : {}),
        });
      };
      try {
        const op = await build();
        if (op.action === 'publish') overrideReason = op.input.override?.reason;
        const view = await applyOpsCaseAction(ctx.client, caseId, operator, op);
        audit(200, 'applied', 'ok');
        return view;
      } catch (e) {
        let problem = isHttpProblem(e) ? e : caseProblem(e);
        if (!problem && isCaseNotFoundError(e)) {
          // An ended case (closed, or a duplicate past its retention) still reads, but takes no action.
          const ended = await readCase(caseId).catch(() => undefined);
          problem = ended
            ? new HttpProblem(409, 'not-allowed-in-state', 'Not allowed in the current state', `The case has ended (${ended.state}); it takes no more actions.`)
            : problems.notFound('case');
        }
        if (!problem) throw e;
        audit(problem.status, 'refused', problem.code, problem.detail);
        throw problem;
      }
    };

    app.post<ByFingerprint>('/ops/cases/:fingerprint/triage', actionRoute, async (request) =>
      act(request, 'triage', async () => ({ action: 'triage', input: parseOr422(CaseTriageRequest, request.body) })),
    );

    app.post<ByFingerprint>('/ops/cases/:fingerprint/parties', actionRoute, async (request) =>
      act(request, 'add-party', async () => {
        const body = parseOr422(CasePartyRequest, request.body);
        if (body.kind === 'agency' && ctx.agencyRegistry && !ctx.agencyRegistry.get(body.partyId)) {
          throw problems.invalid([{ path: 'partyId', message: `no agency "${body.partyId}" in the agency registry` }], `Unknown agency ${body.partyId}.`);
        }
        return { action: 'add-party', input: body };
      }),
    );

    app.post<ByFingerprint>('/ops/cases/:fingerprint/status', actionRoute, async (request) =>
      act(request, 'remediating', async () => {
        parseOr422(CaseStatusRequest, request.body);
        return { action: 'remediating', input: {} };
      }),
    );

    app.post<ByFingerprint>('/ops/cases/:fingerprint/exploitation', actionRoute, async (request) =>
      act(request, 'exploitation', async () => ({ action: 'exploitation', input: parseOr422(CaseExploitationRequest, request.body) })),
    );

    app.post<ByFingerprint>('/ops/cases/:fingerprint/duplicate', actionRoute, async (request) =>
      act(request, 'duplicate', async () => {
        const { primaryCaseId } = parseOr422(CaseDuplicateRequest, request.body);
        const primary = primaryCaseId.startsWith('case/') ? primaryCaseId : caseWorkflowId(primaryCaseId);
        // The primary must exist, or the reports would go nowhere.
        const found = await getCase(ctx.client, primary, { kind: 'ops' }).catch((e: unknown) => {
          if (isCaseNotFoundError(e)) return undefined;
          throw e;
        });
        if (!found) throw problems.invalid([{ path: 'primaryCaseId', message: `no case ${primary}` }], `No case ${primary} to be the primary.`);
        if (found.state === 'CLOSED' || found.state === 'DUPLICATE') {
          throw problems.conflict(
            `The primary case ${primary} is ${found.state}${found.duplicateOf ? ` (a duplicate of ${found.duplicateOf})` : ''}; mark this case a duplicate of a live case.`,
          );
        }
        return { action: 'duplicate', input: { primaryCaseId: primary } };
      }),
    );

    app.post<ByFingerprint>('/ops/cases/:fingerprint/publish', actionRoute, async (request) =>
      act(request, 'publish', async () => ({ action: 'publish', input: parseOr422(CasePublishRequest, request.body) })),
    );

    app.post<ByFingerprint>('/ops/cases/:fingerprint/close', actionRoute, async (request) =>
      act(request, 'close', async () => ({ action: 'close', input: parseOr422(CaseCloseRequest, request.body) })),
    );
  };
}
