/** Wire schemas of the agency inbox events (declared in `wire/agency-inbox.ts`), named for the catalog and generator. */
export {
  AgencyAccessGranted,
  AgencyAccessRevoked,
  AgencyAssessmentEnded,
  AgencyCaseOffered,
  AgencyCaseUpdated,
  AgencyDeadlineMissed,
  AgencyDeadlineReminder,
  AgencyFindingResponded,
  AgencyInfoRequestAnswered,
  AgencyInvited,
  AgencyMitigationClaimed,
  AgencyWindowChanged,
} from '../wire/agency-inbox';
