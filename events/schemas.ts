/**
 * Wire schemas of agency commands, submission status events and agency replies. They are declared in `wire/` (the
 * schema is the type the workflows use) and named here for the catalog and the JSON Schema / AsyncAPI generator.
 */
export { AgencyId, Domain, Id, RefId, EventTime as Time } from '../wire/common';
export { REJECTION_CODES } from '../wire/enums';
export { CommandAccepted, CommandRejected, RejectionCode } from '../wire/replies';
export {
  AcceptAssessmentCommand,
  AccessWindowChanged,
  AgencyStatus,
  AssessmentDeadlineMissed,
  AssessmentReminder,
  AssessmentStatusChanged,
  ClearanceIssued,
  ClearanceNotice,
  CompleteAssessmentCommand,
  ConfirmMitigationCommand,
  ConsolidationTrigger,
  DeclineAssessmentCommand,
  EndReason,
  Finding,
  FindingResponded,
  FindingResponse,
  FindingSubmitted,
  MitigationReview,
  RejectMitigationCommand,
  RequestInfoCommand,
  Severity,
  StartAssessmentCommand,
  SubmissionStatus,
  SubmissionStatusChanged,
  SubmitFindingCommand,
} from '../wire/submission';
