import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { getCase, isCaseNotFoundError, listCases } from '../../clients/cases';
import { CASE_STATES, FINGERPRINT_PATTERN, OPAQUE_ID_PATTERN } from '../../wire/enums';
import { caseWorkflowId } from '../../workflows/clearinghouse/contract';
import { authenticate } from './auth';
import type { ApiContext } from './context';
import { parseOr422, problemErrorHandler, problems } from './problems';

const CaseListQuery = z.strictObject({
  /** Only what this agency may see: cases it reported or is a party to. */
  agencyId: z.string().regex(OPAQUE_ID_PATTERN, 'an agency id').optional(),
  state: z.enum(CASE_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/**
 * Clearinghouse cases on the ops API: `GET /ops/cases` (visibility: ids and enums only) and
 * `GET /ops/cases/{fingerprint}` (the whole case, as sensitive as a finding). Every route needs an ops token;
 * `?agencyId=` shows an operator exactly what that agency may see.
 */
export function caseRoutes(ctx: Pick<ApiContext, 'client' | 'authenticator' | 'logger'>) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.setErrorHandler(problemErrorHandler(ctx.logger.child({ component: 'api' })));
    const opsOnly = { preHandler: authenticate(ctx.authenticator, ['ops']) };

    app.get('/ops/cases', opsOnly, async (request) => {
      const q = parseOr422(CaseListQuery, request.query, 'query');
      return { items: await listCases(ctx.client, q) };
    });

    app.get<{ Params: { fingerprint: string }; Querystring: { agencyId?: string } }>('/ops/cases/:fingerprint', opsOnly, async (request) => {
      const { agencyId } = parseOr422(CaseListQuery.pick({ agencyId: true }), request.query, 'query');
      if (!FINGERPRINT_PATTERN.test(request.params.fingerprint)) throw problems.notFound('case');
      try {
        return await getCase(ctx.client, caseWorkflowId(request.params.fingerprint), agencyId ? { kind: 'agency', agencyId } : { kind: 'ops' }, {
          logger: ctx.logger,
        });
      } catch (e) {
        if (isCaseNotFoundError(e)) throw problems.notFound('case');
        throw e;
      }
    });
  };
}
