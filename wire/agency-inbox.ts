/**
 * Wire shapes of the agency inbox: the thin events Preflight sends each agency on its own topic
 * (`preflight.agency-inbox.<agencyId>.v1`), beside the replies to its signed commands. Ids, times and statuses only:
 * never finding text, questions, the vendor's answers or notes, and never an access token (the agency fetches those
 * through its authenticated API).
 */
import { z } from 'zod';
import { Domain, EventTime as Time, EventType, Id, RefId } from './common';
import { AGENCY_STATUSES, CASE_ID_PATTERN, CASE_STATES, FINDING_RESPONSES } from './enums';

const AgencyStatus = z.enum(AGENCY_STATUSES);
const FindingResponse = z.enum(FINDING_RESPONSES);

// Agency ids are whatever screening accepted (as in the submission events), so an inbox event is never refused for
// an id the workflow already took.
const to = { submissionId: Id, agencyId: Id };

export const AgencyInvited = z.strictObject({
  ...to,
  vendorId: Id,
  model: z.strictObject({ name: z.string().max(200), version: z.string().max(200), versionHash: z.string().max(200) }),
  windowOpensAt: Time,
  windowClosesAt: Time,
  /** The agency's assessment domains, from the agency registry (empty when the registry does not list the agency). */
  domains: z.array(Domain).max(20),
  at: Time,
});
export const AgencyAccessGranted = z.strictObject({
  ...to,
  grantId: RefId,
  /** The grant ends when the window closes; a moved window brings a new grant (and the old one's revocation). */
  expiresAt: Time,
  at: Time,
});
export const AgencyAccessRevoked = z.strictObject({ ...to, grantId: RefId, at: Time });
export const AgencyWindowChanged = z.strictObject({ ...to, windowOpensAt: Time, windowClosesAt: Time, at: Time });
export const AgencyDeadlineReminder = z.strictObject({
  ...to,
  deadline: Time,
  hoursBefore: z
    .number()
    .nonnegative()
    .max(24 * 366),
  at: Time,
});
export const AgencyDeadlineMissed = z.strictObject({ ...to, deadline: Time, status: AgencyStatus, at: Time });
export const AgencyInfoRequestAnswered = z.strictObject({ ...to, infoRequestId: RefId, at: Time });
export const AgencyFindingResponded = z.strictObject({ ...to, findingId: RefId, response: FindingResponse, at: Time });
export const AgencyMitigationClaimed = z.strictObject({ ...to, findingId: RefId, at: Time });
export const AgencyAssessmentEnded = z.strictObject({ ...to, status: AgencyStatus, at: Time });

/** A change of a clearinghouse case the agency reported (or joined by reporting the same vulnerability). */
export const AgencyCaseUpdated = z.strictObject({
  caseId: z.string().regex(CASE_ID_PATTERN, 'case/<32 lowercase hex>'),
  agencyId: Id,
  /** The case event this follows (on `preflight.clearinghouse-events.v1`), e.g. `gov.preflight.case.status-changed.v1`. */
  caseEvent: EventType,
  state: z.enum(CASE_STATES),
  at: Time,
});

/**
 * A clearinghouse case offered to the agency because its registry domains include the weakness's domain: the agency
 * may read the case through its own channel and act on it.
 */
export const AgencyCaseOffered = z.strictObject({
  caseId: z.string().regex(CASE_ID_PATTERN, 'case/<32 lowercase hex>'),
  agencyId: Id,
  /** The weakness's domain that matched one of the agency's registry domains. */
  domain: Domain,
  state: z.enum(CASE_STATES),
  at: Time,
});

export type AgencyInvitedData = z.infer<typeof AgencyInvited>;
export type AgencyAccessGrantedData = z.infer<typeof AgencyAccessGranted>;
export type AgencyAccessRevokedData = z.infer<typeof AgencyAccessRevoked>;
export type AgencyWindowChangedData = z.infer<typeof AgencyWindowChanged>;
export type AgencyDeadlineReminderData = z.infer<typeof AgencyDeadlineReminder>;
export type AgencyDeadlineMissedData = z.infer<typeof AgencyDeadlineMissed>;
export type AgencyInfoRequestAnsweredData = z.infer<typeof AgencyInfoRequestAnswered>;
export type AgencyFindingRespondedData = z.infer<typeof AgencyFindingResponded>;
export type AgencyMitigationClaimedData = z.infer<typeof AgencyMitigationClaimed>;
export type AgencyAssessmentEndedData = z.infer<typeof AgencyAssessmentEnded>;
export type AgencyCaseUpdatedData = z.infer<typeof AgencyCaseUpdated>;
export type AgencyCaseOfferedData = z.infer<typeof AgencyCaseOffered>;
