import type { Logger } from '../infra/logger';
import type { AccessGrantRef } from '../wire/submission';
import type { GrantAccessInput, RevokeAccessInput, SubmissionActivities } from '../workflows/submission/contract';
import type { AgencyAlert } from '../workflows/assessment/contract';
import type { AccessBroker } from '../clients/access-broker';
import type { EventPublisher } from '../events/publisher';
import { AGENCY_INBOX_EVENT_SOURCE, AGENCY_INBOX_EVENT_TYPES } from '../workflows/shared/agency-inbox';
import { agencyWorkflowId } from '../workflows/submission/contract';
import type { StatusEvent } from '../workflows/shared/outbox';

/**
 * The inbox event of an assessment alert. Its id names the assessment and the alert (one reminder per offset, one
 * missed deadline per assessment), so a retried activity or a replayed workflow sends the same id; `time` is the
 * alert's own time (the deadline or the reminder's due time), so the event is the same bytes every time too.
 */
export function alertInboxEvent(alert: AgencyAlert): StatusEvent {
  const { submissionId, agencyId, deadline } = alert;
  const base = agencyWorkflowId(submissionId, agencyId);
  if (alert.kind === 'REMINDER') {
    const at = new Date(Date.parse(deadline) - alert.hoursBefore * 3_600_000).toISOString();
    return {
      id: `${base}/reminder/${alert.hoursBefore}`,
      type: AGENCY_INBOX_EVENT_TYPES.deadlineReminder,
      source: AGENCY_INBOX_EVENT_SOURCE,
      subject: submissionId,
      sequence: 1,
      time: at,
      data: { submissionId, agencyId, deadline, hoursBefore: alert.hoursBefore, at },
    };
  }
  return {
    id: `${base}/deadline-missed`,
    type: AGENCY_INBOX_EVENT_TYPES.deadlineMissed,
    source: AGENCY_INBOX_EVENT_SOURCE,
    subject: submissionId,
    sequence: 1,
    time: deadline,
    data: { submissionId, agencyId, deadline, status: alert.status, at: deadline },
  };
}

/** Activities of the submission lifecycle: access grants and agency alerts. */
export function createLifecycleActivities(deps: { logger: Logger; accessBroker: AccessBroker; publisher?: EventPublisher }): SubmissionActivities {
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

    /** Sends a reminder or a missed-deadline notice to the agency's inbox (ids and times only). */
    async notifyAgency(alert: AgencyAlert): Promise<void> {
      logger.warn({ alert: alert.kind, submissionId: alert.submissionId, agencyId: alert.agencyId, deadline: alert.deadline }, 'agency assessment alert');
      await deps.publisher?.publish('agency-inbox', alertInboxEvent(alert));
    },
  };
}
