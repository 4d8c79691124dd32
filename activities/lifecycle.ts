import type { Logger } from '../infra/logger';
import type { AccessGrantRef } from '../wire/submission';
import type { GrantAccessInput, RevokeAccessInput, SubmissionActivities } from '../workflows/submission/contract';
import type { AgencyAlert } from '../workflows/assessment/contract';
import type { AccessBroker } from '../clients/access-broker';

/** Activities of the submission lifecycle: access grants and agency alerts. */
export function createLifecycleActivities(deps: { logger: Logger; accessBroker: AccessBroker }): SubmissionActivities {
  const logger = deps.logger.child({ component: 'lifecycle' });
  return {
    /** Grants one agency access; only the grant id and expiry return into history. */
    async grantAccess(input: GrantAccessInput): Promise<AccessGrantRef> {
      const grant = await deps.accessBroker.grant(input);
      logger.info({ submissionId: input.submissionId, agencyId: input.agencyId, grantId: grant.grantId, expiresAt: grant.expiresAt }, 'access granted');
      return { grantId: grant.grantId, agencyId: input.agencyId, expiresAt: grant.expiresAt };
    },

    /** Revokes one grant; revoking twice is harmless. */
    async revokeAccess(input: RevokeAccessInput): Promise<{ grantId: string; revokedAt: string }> {
      await deps.accessBroker.revoke(input.grantId, input.submissionId);
      logger.info({ submissionId: input.submissionId, agencyId: input.agencyId, grantId: input.grantId }, 'access revoked');
      return { grantId: input.grantId, revokedAt: new Date().toISOString() };
    },

    /** Sends a reminder or a missed-deadline notice to an agency's operators (ids and times only). */
    async notifyAgency(alert: AgencyAlert): Promise<void> {
      logger.warn({ alert: alert.kind, submissionId: alert.submissionId, agencyId: alert.agencyId, deadline: alert.deadline }, 'agency assessment alert');
    },
  };
}
