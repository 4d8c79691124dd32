/**
 * The public surface of the submission lifecycle: workflow ids, statuses, update/query/signal definitions, their input
 * and result types, rejection (failure) type names and the thin event data types. Plain TypeScript, no zod: this module
 * is bundled into workflows and imported by clients (api, ingress, cli).
 *
 * Agency commands (Kafka `preflight.agency-commands.v1`) map onto updates of the child workflow
 * `agencyWorkflowId(submissionId, agencyId)`; the update id is the command's `ce_id`, and every input carries the
 * verified signer as `agencyId` so the validator refuses an agency acting on another agency's assessment:
 *
 * | ce_type                                   | update                      | input                       |
 * |-------------------------------------------|-----------------------------|-----------------------------|
 * | `gov.preflight.assessment.accept.v1`       | `acceptInvitationUpdate`    | `AcceptInvitationInput`     |
 * | `gov.preflight.assessment.decline.v1`      | `declineInvitationUpdate`   | `DeclineInvitationInput`    |
 * | `gov.preflight.assessment.start.v1`        | `startAssessmentUpdate`     | `StartAssessmentInput`      |
 * | `gov.preflight.assessment.request-info.v1` | `requestInfoUpdate`         | `RequestInfoInput`          |
 * | `gov.preflight.finding.submit.v1`          | `submitFindingUpdate`       | `SubmitFindingInput`        |
 * | `gov.preflight.assessment.complete.v1`     | `completeAssessmentUpdate`  | `CompleteAssessmentInput`   |
 *
 * `AGENCY_COMMAND_UPDATES` below holds the same mapping as data.
 *
 * Vendor commands (HTTP API) are updates of the parent `submissionWorkflowId(submissionId)`:
 * resubmit, release-date change, info-request response, finding response, acknowledge, withdraw, declare release.
 *
 * Dates cross the wire as ISO-8601 strings.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

// ---------------------------------------------------------------------------------------------------------------
// Ids, task queue, limits

/** Default task queue of the Preflight worker (overridable by config `PREFLIGHT_TASK_QUEUE`). */
export const LIFECYCLE_TASK_QUEUE = 'preflight';

export const SUBMISSION_WORKFLOW_PREFIX = 'submission/';

/** `submission/<submissionId>` */
export function submissionWorkflowId(submissionId: string): string {
  return `${SUBMISSION_WORKFLOW_PREFIX}${submissionId}`;
}

/** `submission/<submissionId>/agency/<agencyId>` */
export function agencyWorkflowId(submissionId: string, agencyId: string): string {
  return `${SUBMISSION_WORKFLOW_PREFIX}${submissionId}/agency/${agencyId}`;
}

/** Inverse of `agencyWorkflowId`; undefined when the id is not an agency assessment id. */
export function parseAgencyWorkflowId(workflowId: string): { submissionId: string; agencyId: string } | undefined {
  const m = /^submission\/([^/]+)\/agency\/([^/]+)$/.exec(workflowId);
  return m ? { submissionId: m[1]!, agencyId: m[2]! } : undefined;
}

/** Submission, agency, finding and info-request ids: opaque, URL- and id-safe. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Executive order: access may be given up to 30 days before release; the window never exceeds this. */
export const MAX_ACCESS_WINDOW_DAYS = 30;
export const DAY_MS = 24 * 60 * 60 * 1000;
export const HOUR_MS = 60 * 60 * 1000;

// ---------------------------------------------------------------------------------------------------------------
// Statuses and enums

export const SUBMISSION_STATUSES = [
  'RECEIVED',
  'SCREENING',
  'RETURNED',
  'ACCESS_PROVISIONING',
  'UNDER_ASSESSMENT',
  'CONSOLIDATING',
  'CLEARANCE_ISSUED',
  'RELEASED',
  'CLOSED',
  'WITHDRAWN',
] as const;
export type SubmissionStatus = (typeof SUBMISSION_STATUSES)[number];

/**
 * Agency assessment statuses. `WITHDRAWN` is reached only when the vendor withdraws the submission before the agency
 * finished; `DID_NOT_COMPLETE` when the access window closed (or the model was released) first.
 */
export const AGENCY_STATUSES = [
  'INVITED',
  'ACCEPTED',
  'DECLINED',
  'IN_PROGRESS',
  'INFO_REQUESTED',
  'FINDINGS_SUBMITTED',
  'NO_FINDINGS',
  'DID_NOT_COMPLETE',
  'WITHDRAWN',
] as const;
export type AgencyStatus = (typeof AGENCY_STATUSES)[number];

export const AGENCY_TERMINAL_STATUSES: readonly AgencyStatus[] = [
  'DECLINED',
  'FINDINGS_SUBMITTED',
  'NO_FINDINGS',
  'DID_NOT_COMPLETE',
  'WITHDRAWN',
];

export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const FINDING_RESPONSES = ['ACKNOWLEDGED', 'MITIGATED', 'DISPUTED', 'RISK_ACCEPTED'] as const;
export type FindingResponseKind = (typeof FINDING_RESPONSES)[number];

/** The advisory release-clearance notice. There is deliberately no approving, blocking or holding value. */
export const CLEARANCE_NOTICES = ['CLEAR', 'CLEAR_WITH_RECOMMENDATIONS', 'CONCERNS_NOTED', 'NOT_ASSESSED'] as const;
export type ClearanceNotice = (typeof CLEARANCE_NOTICES)[number];

export const ACCESS_METHODS = ['API', 'HOSTED_UI', 'WEIGHTS_ON_PREMISES'] as const;
export type AccessMethod = (typeof ACCESS_METHODS)[number];

/** Why a submission was withdrawn or closed, as a machine code. */
export const END_REASONS = [
  'VENDOR_WITHDREW',
  'NOT_RESUBMITTED',
  'RELEASED_AND_CLOSED',
  'RELEASE_NOT_DECLARED',
] as const;
export type EndReason = (typeof END_REASONS)[number];

/** Why a consolidation happened. */
export const CONSOLIDATION_TRIGGERS = ['ALL_AGENCIES_DONE', 'WINDOW_CLOSED', 'RELEASE_DECLARED'] as const;
export type ConsolidationTrigger = (typeof CONSOLIDATION_TRIGGERS)[number];

// ---------------------------------------------------------------------------------------------------------------
// Rejections (update validators) and failures

/**
 * `ApplicationFailure.type` of every refusal. Validators throw `ApplicationFailure.nonRetryable(reason, type)`; the
 * message is a sentence a person understands; ingress/API map the type to a machine code.
 */
export const FAILURE_TYPES = {
  /** The input is malformed (missing field, bad date, unknown enum). */
  invalidInput: 'PreflightInvalidInput',
  /** The command is not allowed in the current state (e.g. start before accept). */
  notAllowedInState: 'PreflightNotAllowedInState',
  /** The signer is not the agency this assessment belongs to. */
  wrongAgency: 'PreflightWrongAgency',
  /** A release-date change would need an access window longer than 30 days. */
  accessWindowExceeded: 'PreflightAccessWindowExceeded',
  /** A finding names a model version other than the one submitted. */
  modelVersionMismatch: 'PreflightModelVersionMismatch',
  /** An info request or finding id that does not exist (or is not open). */
  unknownReference: 'PreflightUnknownReference',
  /** The access broker could not grant access; the submission compensates by revoking what it granted. */
  accessProvisioningFailed: 'PreflightAccessProvisioningFailed',
} as const;
export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];

// ---------------------------------------------------------------------------------------------------------------
// Submission workflow input

export interface ModelIdentity {
  /** Public or internal model name, e.g. "frontier-7". */
  name: string;
  /** The exact version string agencies will test; findings must name this version. */
  version: string;
  /** Content hash of the weights or serving artifact, e.g. "sha256:<64 hex>". */
  versionHash: string;
}

export interface Contact {
  name: string;
  email: string;
  role?: string;
}

/** What a vendor submits (and corrects on resubmission). */
export interface SubmissionDetails {
  model: ModelIdentity;
  /** ISO-8601 planned public release time. */
  plannedReleaseAt: string;
  accessMethod: AccessMethod;
  contacts: Contact[];
  /** Agency ids from the registry, e.g. ["nsa","cisa","treasury","nist","dod","dhs"]. */
  requestedAgencies: string[];
  /** ISO-8601 time access should start; absent or past means "as soon as screening passes". */
  accessStartAt?: string;
}

/** Timing knobs; every field has a default (see DEFAULT_SUBMISSION_SETTINGS). Fractions are allowed for tests. */
export interface SubmissionSettings {
  /** Days a RETURNED submission waits for a resubmission before it is withdrawn. */
  resubmissionDays: number;
  /** Reminders to each agency this many hours before its deadline (the window close). */
  reminderOffsetsHours: number[];
  /** After the clearance notice, days past the planned release to wait for a release declaration before closing. */
  releaseDeclarationGraceDays: number;
  /** Days after a declared release during which vendor responses are still taken, then CLOSED. */
  closeAfterReleaseDays: number;
}

export const DEFAULT_SUBMISSION_SETTINGS: SubmissionSettings = {
  resubmissionDays: 14,
  reminderOffsetsHours: [7 * 24, 72, 24],
  releaseDeclarationGraceDays: 30,
  closeAfterReleaseDays: 14,
};

export interface SubmissionInput extends SubmissionDetails {
  submissionId: string;
  vendorId: string;
  /** ISO-8601; defaults to the workflow start time. */
  submittedAt?: string;
  settings?: Partial<SubmissionSettings>;
}

// ---------------------------------------------------------------------------------------------------------------
// Vendor updates (on the submission workflow)

/** RETURNED → SCREENING with corrected details. */
export type ResubmitInput = SubmissionDetails;

export interface ChangeReleaseDateInput {
  /** ISO-8601 new planned release time. */
  plannedReleaseAt: string;
}
export interface ChangeReleaseDateResult {
  plannedReleaseAt: string;
  /** Undefined while access has not started yet. */
  windowClosesAt?: string;
}

export interface RespondToInfoRequestInput {
  requestId: string;
  /** The vendor's answer (sensitive: stays in workflow state, never in events). */
  response: string;
}

export interface RespondToFindingInput {
  findingId: string;
  response: FindingResponseKind;
  /** Optional note to the agency (sensitive). */
  note?: string;
}

export interface AcknowledgeInput {
  /** Free text, optional. */
  note?: string;
}

export interface WithdrawInput {
  /** Optional free-text reason (kept in state, not in events). */
  reason?: string;
}
export interface WithdrawResult {
  status: 'WITHDRAWN';
  withdrawnAt: string;
}

export interface DeclareReleasedInput {
  /** ISO-8601; defaults to now. */
  releasedAt?: string;
}
export interface DeclareReleasedResult {
  status: 'RELEASED';
  releasedAt: string;
  /** The advisory notice at the time of release (issued now if assessment was still running). */
  notice: ClearanceNotice;
}

export interface ResubmitResult {
  /** SCREENING passed (ACCESS_PROVISIONING and on), or RETURNED again with the remaining issues. */
  status: SubmissionStatus;
  issues: ScreeningIssue[];
}

export const resubmitUpdate = defineUpdate<ResubmitResult, [ResubmitInput]>('resubmit');
export const changeReleaseDateUpdate = defineUpdate<ChangeReleaseDateResult, [ChangeReleaseDateInput]>(
  'changeReleaseDate',
);
export const respondToInfoRequestUpdate = defineUpdate<{ requestId: string; respondedAt: string }, [RespondToInfoRequestInput]>(
  'respondToInfoRequest',
);
export const respondToFindingUpdate = defineUpdate<{ findingId: string; response: FindingResponseKind }, [RespondToFindingInput]>(
  'respondToFinding',
);
export const acknowledgeUpdate = defineUpdate<{ acknowledgedAt: string }, [AcknowledgeInput]>('acknowledge');
export const withdrawUpdate = defineUpdate<WithdrawResult, [WithdrawInput]>('withdraw');
export const declareReleasedUpdate = defineUpdate<DeclareReleasedResult, [DeclareReleasedInput]>('declareReleased');

// ---------------------------------------------------------------------------------------------------------------
// Agency updates (on the agencyAssessment child workflow)

interface AgencySigned {
  /** The verified signer (from the command's signature), not a claim in the body. */
  agencyId: string;
}

export type AcceptInvitationInput = AgencySigned;
export interface DeclineInvitationInput extends AgencySigned {
  /** Optional free text. */
  reason?: string;
}
export type StartAssessmentInput = AgencySigned;
export interface RequestInfoInput extends AgencySigned {
  /** What the agency needs from the vendor (sensitive). */
  question: string;
}
export interface RequestInfoResult {
  /** Assigned by the workflow: `<agencyId>-ir-<n>`. The vendor answers with this id. */
  requestId: string;
  status: AgencyStatus;
}

export interface FindingInput {
  severity: Severity;
  /** Assessment domain, e.g. "offensive-cyber", "critical-infrastructure". */
  domain: string;
  title: string;
  /** Sensitive detail. */
  detail: string;
  /** Must equal the submission's `model.version`. */
  modelVersionTested: string;
  recommendedMitigation: string;
  /** Opens a clearinghouse case. */
  thirdPartyVulnerability: boolean;
  /** For third-party findings: the affected product, e.g. "Acme Inference Gateway 2.3" (best de-duplication). */
  affectedProduct?: string;
  /** For third-party findings: the weakness in words, e.g. "prompt injection". */
  weakness?: string;
  /** For third-party findings: a CWE id such as "CWE-1427". */
  cweId?: string;
}
export interface SubmitFindingInput extends AgencySigned {
  finding: FindingInput;
}
export interface SubmitFindingResult {
  /** Assigned by the workflow: `<agencyId>-f<n>`. */
  findingId: string;
}

export interface CompleteAssessmentInput extends AgencySigned {
  /** Set to assert that there are no findings; refused if findings were submitted. */
  noFindings?: boolean;
}
export interface CompleteAssessmentResult {
  status: 'FINDINGS_SUBMITTED' | 'NO_FINDINGS';
  findingsCount: number;
}

export const acceptInvitationUpdate = defineUpdate<{ status: AgencyStatus }, [AcceptInvitationInput]>('acceptInvitation');
export const declineInvitationUpdate = defineUpdate<{ status: AgencyStatus }, [DeclineInvitationInput]>('declineInvitation');
export const startAssessmentUpdate = defineUpdate<{ status: AgencyStatus }, [StartAssessmentInput]>('startAssessment');
export const requestInfoUpdate = defineUpdate<RequestInfoResult, [RequestInfoInput]>('requestInfo');
export const submitFindingUpdate = defineUpdate<SubmitFindingResult, [SubmitFindingInput]>('submitFinding');
export const completeAssessmentUpdate = defineUpdate<CompleteAssessmentResult, [CompleteAssessmentInput]>(
  'completeAssessment',
);

/** Agency command type → update name on the agency child workflow (the ingress uses this table). */
export const AGENCY_COMMAND_UPDATES = {
  'gov.preflight.assessment.accept.v1': acceptInvitationUpdate.name,
  'gov.preflight.assessment.decline.v1': declineInvitationUpdate.name,
  'gov.preflight.assessment.start.v1': startAssessmentUpdate.name,
  'gov.preflight.assessment.request-info.v1': requestInfoUpdate.name,
  'gov.preflight.finding.submit.v1': submitFindingUpdate.name,
  'gov.preflight.assessment.complete.v1': completeAssessmentUpdate.name,
} as const;
export type AgencyCommandType = keyof typeof AGENCY_COMMAND_UPDATES;

// ---------------------------------------------------------------------------------------------------------------
// Views (query results)

export interface AccessWindowView {
  opensAt: string;
  closesAt: string;
}

/** A review clock: runs from start to a terminal status, on hold while an info request waits on the vendor. */
export interface ReviewClock {
  startedAt?: string;
  stoppedAt?: string;
  /** Set while on hold. */
  holdStartedAt?: string;
  /** Accumulated on-hold milliseconds of completed holds. */
  onHoldMs: number;
}

export interface AgencyClockView {
  agencyId: string;
  status: AgencyStatus;
  activeMs: number;
  onHoldMs: number;
  /** Whole and fractional days, for display. */
  activeDays: number;
  onHoldDays: number;
  onHold: boolean;
}

export interface ClocksView {
  now: string;
  window?: AccessWindowView & { remainingMs: number; remainingDays: number; totalDays: number };
  agencies: AgencyClockView[];
}

/** A finding without its sensitive text: what the parent keeps and what summaries show. */
export interface FindingSummary {
  findingId: string;
  agencyId: string;
  severity: Severity;
  domain: string;
  modelVersionTested: string;
  thirdPartyVulnerability: boolean;
  submittedAt: string;
  response?: FindingResponseKind;
  respondedAt?: string;
}

export interface FindingsSummaryView {
  total: number;
  bySeverity: Record<Severity, number>;
  /** CRITICAL/HIGH findings with no response, or a response other than MITIGATED. */
  unresolvedCriticalOrHigh: number;
  findings: FindingSummary[];
}

export interface InfoRequestSummary {
  requestId: string;
  agencyId: string;
  requestedAt: string;
  respondedAt?: string;
}

export interface AgencyProgress {
  agencyId: string;
  status: AgencyStatus;
  updatedAt: string;
  findingsCount: number;
}

export interface ScreeningIssue {
  field: string;
  reason: string;
}

export interface SubmissionView {
  submissionId: string;
  vendorId: string;
  status: SubmissionStatus;
  model: ModelIdentity;
  plannedReleaseAt: string;
  submittedAt: string;
  window?: AccessWindowView;
  agencies: AgencyProgress[];
  returnIssues: ScreeningIssue[];
  resubmitBy?: string;
  openInfoRequests: InfoRequestSummary[];
  notice?: ClearanceNotice;
  noticeIssuedAt?: string;
  consolidationTrigger?: ConsolidationTrigger;
  acknowledgedAt?: string;
  releasedAt?: string;
  endedAt?: string;
  endReason?: EndReason;
  /** Access grants currently live: ids and expiries only, never tokens. */
  activeGrants: AccessGrantRef[];
  revokedGrantIds: string[];
}

export interface AccessGrantRef {
  grantId: string;
  agencyId: string;
  expiresAt: string;
}

/** Child-side view for an agency. */
export interface AgencyAssessmentView {
  submissionId: string;
  agencyId: string;
  status: AgencyStatus;
  windowClosesAt: string;
  clock: AgencyClockView;
  findings: FindingSummary[];
  infoRequests: InfoRequestSummary[];
  remindersSent: number[];
  deadlineMissed: boolean;
}

/** Full finding, with sensitive text; only the agency child's `findingDetailQuery` returns it (vendor/agency API). */
export interface FindingRecord extends FindingSummary, FindingInput {
  note?: string;
}

export const submissionStateQuery = defineQuery<SubmissionView>('submissionState');
export const clocksQuery = defineQuery<ClocksView>('clocks');
export const findingsSummaryQuery = defineQuery<FindingsSummaryView>('findingsSummary');

export const agencyStateQuery = defineQuery<AgencyAssessmentView>('agencyState');
export const findingDetailQuery = defineQuery<FindingRecord | null, [string]>('findingDetail');

/** An info request with its question and the vendor's answer (sensitive); for the agency/vendor API. */
export interface InfoRequestRecord extends InfoRequestSummary {
  question: string;
  response?: string;
}
export const infoRequestDetailQuery = defineQuery<InfoRequestRecord | null, [string]>('infoRequestDetail');

// ---------------------------------------------------------------------------------------------------------------
// Child ⇄ parent signals (internal; both ends are Preflight workflows)

export interface AgencyAssessmentInput {
  submissionId: string;
  agencyId: string;
  vendorId: string;
  modelVersion: string;
  invitedAt: string;
  windowClosesAt: string;
  reminderOffsetsHours: number[];
}

/** What the agency child asks the `notifyAgency` activity to send: a reminder or a missed-deadline notice. */
export type AgencyAlert =
  | { kind: 'REMINDER'; submissionId: string; agencyId: string; deadline: string; hoursBefore: number }
  | { kind: 'DEADLINE_MISSED'; submissionId: string; agencyId: string; deadline: string; status: AgencyStatus };

/** The submission workflow's result once it has ended. */
export interface SubmissionOutcome {
  submissionId: string;
  status: 'CLOSED' | 'WITHDRAWN';
  endReason: EndReason;
  notice?: ClearanceNotice;
  agencies: AgencyProgress[];
  /** Every grant made, each revoked before the end. */
  revokedGrantIds: string[];
}

export interface AgencyAssessmentResult {
  agencyId: string;
  status: AgencyStatus;
  findingsCount: number;
  activeMs: number;
  onHoldMs: number;
  endedAt: string;
}

/** What a child tells its parent; the parent publishes it with the submission's sequence. */
export type AgencyReport =
  | { kind: 'STATUS'; agencyId: string; status: AgencyStatus; previousStatus: AgencyStatus; at: string; clock: ReviewClock; infoRequestId?: string }
  | { kind: 'FINDING'; agencyId: string; at: string; finding: FindingSummary }
  | { kind: 'REMINDER'; agencyId: string; at: string; deadline: string; hoursBefore: number }
  | { kind: 'DEADLINE_MISSED'; agencyId: string; at: string; deadline: string; status: AgencyStatus };

export const agencyReportSignal = defineSignal<[AgencyReport]>('agencyReport');
export const windowChangedSignal = defineSignal<[{ windowClosesAt: string }]>('windowChanged');
export const infoResponseSignal = defineSignal<[{ requestId: string; response: string; respondedAt: string }]>(
  'infoResponse',
);
export type AssessmentEndReason = 'WINDOW_CLOSED' | 'SUBMISSION_WITHDRAWN' | 'SUBMISSION_RELEASED';
export const endAssessmentSignal = defineSignal<[{ reason: AssessmentEndReason }]>('endAssessment');

// ---------------------------------------------------------------------------------------------------------------
// Events (thin: ids, enums, statuses, times — never finding text, questions, answers or secrets)

export const SUBMISSION_EVENT_SOURCE = '/preflight/submissions';

export const SUBMISSION_EVENT_TYPES = {
  submissionStatusChanged: 'gov.preflight.submission.status-changed.v1',
  accessWindowChanged: 'gov.preflight.submission.access-window-changed.v1',
  assessmentStatusChanged: 'gov.preflight.assessment.status-changed.v1',
  assessmentReminder: 'gov.preflight.assessment.deadline-reminder.v1',
  assessmentDeadlineMissed: 'gov.preflight.assessment.deadline-missed.v1',
  findingSubmitted: 'gov.preflight.finding.submitted.v1',
  findingResponded: 'gov.preflight.finding.responded.v1',
  clearanceIssued: 'gov.preflight.clearance.issued.v1',
} as const;
export type SubmissionEventType = (typeof SUBMISSION_EVENT_TYPES)[keyof typeof SUBMISSION_EVENT_TYPES];

export interface SubmissionStatusChangedData {
  submissionId: string;
  vendorId: string;
  status: SubmissionStatus;
  previousStatus: SubmissionStatus | null;
  /** Set for WITHDRAWN and CLOSED. */
  endReason?: EndReason;
  at: string;
}

export interface AccessWindowChangedData {
  submissionId: string;
  vendorId: string;
  windowOpensAt: string;
  windowClosesAt: string;
  plannedReleaseAt: string;
}

export interface AssessmentStatusChangedData {
  submissionId: string;
  vendorId: string;
  agencyId: string;
  status: AgencyStatus;
  previousStatus: AgencyStatus | null;
  /** Present when the change is an information request (INFO_REQUESTED) or its answer. */
  infoRequestId?: string;
  at: string;
}

export interface AssessmentReminderData {
  submissionId: string;
  vendorId: string;
  agencyId: string;
  deadline: string;
  hoursBefore: number;
  at: string;
}

export interface AssessmentDeadlineMissedData {
  submissionId: string;
  vendorId: string;
  agencyId: string;
  deadline: string;
  status: AgencyStatus;
  at: string;
}

export interface FindingSubmittedData {
  submissionId: string;
  vendorId: string;
  agencyId: string;
  findingId: string;
  severity: Severity;
  thirdPartyVulnerability: boolean;
  at: string;
}

export interface FindingRespondedData {
  submissionId: string;
  vendorId: string;
  agencyId: string;
  findingId: string;
  response: FindingResponseKind;
  at: string;
}

export interface ClearanceIssuedData {
  submissionId: string;
  vendorId: string;
  notice: ClearanceNotice;
  trigger: ConsolidationTrigger;
  agencies: { agencyId: string; status: AgencyStatus }[];
  at: string;
}

/** The data each submission event type carries. */
export interface SubmissionEventMap {
  [SUBMISSION_EVENT_TYPES.submissionStatusChanged]: SubmissionStatusChangedData;
  [SUBMISSION_EVENT_TYPES.accessWindowChanged]: AccessWindowChangedData;
  [SUBMISSION_EVENT_TYPES.assessmentStatusChanged]: AssessmentStatusChangedData;
  [SUBMISSION_EVENT_TYPES.assessmentReminder]: AssessmentReminderData;
  [SUBMISSION_EVENT_TYPES.assessmentDeadlineMissed]: AssessmentDeadlineMissedData;
  [SUBMISSION_EVENT_TYPES.findingSubmitted]: FindingSubmittedData;
  [SUBMISSION_EVENT_TYPES.findingResponded]: FindingRespondedData;
  [SUBMISSION_EVENT_TYPES.clearanceIssued]: ClearanceIssuedData;
}
