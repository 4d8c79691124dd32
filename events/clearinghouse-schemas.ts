/**
 * Wire schemas of the clearinghouse: the case command bodies and the case event data on
 * `preflight.clearinghouse-events.v1`. Declared in `wire/clearinghouse.ts`; named here for the catalog.
 */
export {
  CaseAdvisoryPublished,
  CaseEmbargoLifted,
  CaseExploitationReported,
  CaseId,
  CaseOpened,
  CasePartyStatusChanged,
  CaseReminder,
  CaseReporterJoined,
  CaseStatusChanged,
  OpenCaseCommand,
  ReportExploitationCommand,
  SetPartyStatusCommand,
} from '../wire/clearinghouse';
