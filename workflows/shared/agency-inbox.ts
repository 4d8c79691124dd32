/**
 * The agency inbox: thin CloudEvents each agency receives on its own Kafka topic (`preflight.agency-inbox.<agencyId>.v1`,
 * readable only by that agency), where the replies to its signed commands arrive too. Key: the submission id, so one
 * submission's events reach an agency in order.
 *
 * The submission workflow publishes them through its inbox outbox (`stream: 'agency-inbox'`, ids
 * `submission/<id>/inbox/<n>`); the agency assessment's reminders and missed deadlines go through `notifyAgency`, with
 * ids derived from the assessment and the alert (`submission/<id>/agency/<agencyId>/reminder/<hoursBefore>`). Either
 * way a retried activity or a replayed workflow sends the same id again, and consumers de-duplicate by id. A
 * clearinghouse case tells each agency that reported it of every change, through an inbox outbox of its own (ids
 * `case/<fingerprint>/inbox/<n>`, key: the case id), and offers a case to each agency whose registry domains match a
 * report's domain through the same outbox.
 */
import type {
  AgencyAccessGrantedData,
  AgencyAccessRevokedData,
  AgencyAssessmentEndedData,
  AgencyCaseOfferedData,
  AgencyCaseUpdatedData,
  AgencyDeadlineMissedData,
  AgencyDeadlineReminderData,
  AgencyFindingRespondedData,
  AgencyInfoRequestAnsweredData,
  AgencyInvitedData,
  AgencyMitigationClaimedData,
  AgencyWindowChangedData,
} from '../../wire/agency-inbox';

export const AGENCY_INBOX_EVENT_SOURCE = '/preflight/agency-inbox';

export const AGENCY_INBOX_EVENT_TYPES = {
  invited: 'gov.preflight.agency.invited.v1',
  accessGranted: 'gov.preflight.agency.access-granted.v1',
  accessRevoked: 'gov.preflight.agency.access-revoked.v1',
  windowChanged: 'gov.preflight.agency.window-changed.v1',
  deadlineReminder: 'gov.preflight.agency.deadline-reminder.v1',
  deadlineMissed: 'gov.preflight.agency.deadline-missed.v1',
  infoRequestAnswered: 'gov.preflight.agency.info-request-answered.v1',
  findingResponded: 'gov.preflight.agency.finding-responded.v1',
  mitigationClaimed: 'gov.preflight.agency.mitigation-claimed.v1',
  assessmentEnded: 'gov.preflight.agency.assessment-ended.v1',
  caseUpdated: 'gov.preflight.agency.case-updated.v1',
  caseOffered: 'gov.preflight.agency.case-offered.v1',
} as const;
export type AgencyInboxEventType = (typeof AGENCY_INBOX_EVENT_TYPES)[keyof typeof AGENCY_INBOX_EVENT_TYPES];

/** The data each inbox event type carries; every one names its recipient as `agencyId`. */
export interface AgencyInboxEventMap {
  [AGENCY_INBOX_EVENT_TYPES.invited]: AgencyInvitedData;
  [AGENCY_INBOX_EVENT_TYPES.accessGranted]: AgencyAccessGrantedData;
  [AGENCY_INBOX_EVENT_TYPES.accessRevoked]: AgencyAccessRevokedData;
  [AGENCY_INBOX_EVENT_TYPES.windowChanged]: AgencyWindowChangedData;
  [AGENCY_INBOX_EVENT_TYPES.deadlineReminder]: AgencyDeadlineReminderData;
  [AGENCY_INBOX_EVENT_TYPES.deadlineMissed]: AgencyDeadlineMissedData;
  [AGENCY_INBOX_EVENT_TYPES.infoRequestAnswered]: AgencyInfoRequestAnsweredData;
  [AGENCY_INBOX_EVENT_TYPES.findingResponded]: AgencyFindingRespondedData;
  [AGENCY_INBOX_EVENT_TYPES.mitigationClaimed]: AgencyMitigationClaimedData;
  [AGENCY_INBOX_EVENT_TYPES.assessmentEnded]: AgencyAssessmentEndedData;
  [AGENCY_INBOX_EVENT_TYPES.caseUpdated]: AgencyCaseUpdatedData;
  [AGENCY_INBOX_EVENT_TYPES.caseOffered]: AgencyCaseOfferedData;
}

/** The patch under which the submission workflow publishes agency inbox events (histories before it publish none). */
export const AGENCY_INBOX_PATCH = 'agency-inbox-v1';

/** The patch under which a clearinghouse case tells its reporting agencies of each change (key: the case id). */
export const AGENCY_INBOX_CASE_PATCH = 'agency-inbox-cases-v1';
