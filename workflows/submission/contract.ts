/**
 * The public surface of the submission lifecycle: workflow ids, update/query/signal definitions, their result types,
 * rejection (failure) type names and event types. Plain TypeScript, no zod: this module is bundled into workflows and
 * imported by clients (api, ingress, cli).
 *
 * Agency commands (Kafka `preflight.agency-commands.v1`) are updates of the child assessment workflow; they are
 * declared with it in `workflows/assessment/contract.ts`.
 *
 * Vendor commands (HTTP API) are updates of the parent `submissionWorkflowId(submissionId)`:
 * resubmit, release-date change, info-request response, finding response, acknowledge, withdraw, declare release.
 *
 * Dates cross the wire as ISO-8601 strings. Every shape that crosses a boundary is declared once, as a zod schema in
 * `wire/submission.ts`; this module imports its types only.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AgencyAlert } from '../assessment/contract';
import type { AgencyStatus, ClearanceNotice, EndReason, FindingResponseKind, MitigationReview, Severity, SubmissionStatus } from '../../wire/enums';
import type {
  AccessGrantRef,
  AccessWindowChangedData,
  AcknowledgeInput,
  AssessmentDeadlineMissedData,
  AssessmentReminderData,
  AssessmentStatusChangedData,
  ClearanceIssuedData,
  FindingRespondedData,
  FindingSubmittedData,
  SubmissionStatusChangedData,
  AgencyProgress,
  ChangeReleaseDateInput,
  ClocksView,
  ConfirmMitigationInput,
  DeclareReleasedInput,
  FindingSummary,
  InfoRequestSummary,
  RespondToFindingInput,
  RejectMitigationInput,
  RespondToInfoRequestInput,
  ScreeningIssue,
  SubmissionDetails,
  SubmissionView,
  WithdrawInput,
} from '../../wire/submission';

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

/** Executive order: access may be given up to 30 days before release; the window never exceeds this. */
export const MAX_ACCESS_WINDOW_DAYS = 30;

// ---------------------------------------------------------------------------------------------------------------
// Statuses

export const AGENCY_TERMINAL_STATUSES: readonly AgencyStatus[] = ['DECLINED', 'FINDINGS_SUBMITTED', 'NO_FINDINGS', 'DID_NOT_COMPLETE', 'WITHDRAWN'];

// ---------------------------------------------------------------------------------------------------------------
// Submission workflow input

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

export interface ChangeReleaseDateResult {
  plannedReleaseAt: string;
  /** Undefined while access has not started yet. */
  windowClosesAt?: string;
}

export interface WithdrawResult {
  status: 'WITHDRAWN';
  withdrawnAt: string;
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
export const changeReleaseDateUpdate = defineUpdate<ChangeReleaseDateResult, [ChangeReleaseDateInput]>('changeReleaseDate');
export const respondToInfoRequestUpdate = defineUpdate<{ requestId: string; respondedAt: string }, [RespondToInfoRequestInput]>('respondToInfoRequest');
export const respondToFindingUpdate = defineUpdate<{ findingId: string; response: FindingResponseKind }, [RespondToFindingInput]>('respondToFinding');
export const acknowledgeUpdate = defineUpdate<{ acknowledgedAt: string }, [AcknowledgeInput]>('acknowledge');
export const withdrawUpdate = defineUpdate<WithdrawResult, [WithdrawInput]>('withdraw');
export const declareReleasedUpdate = defineUpdate<DeclareReleasedResult, [DeclareReleasedInput]>('declareReleased');

// ---------------------------------------------------------------------------------------------------------------
// Agency updates on the submission workflow: mitigation reviews. They act on a finding the vendor responded to, which
// may be long after the agency's own assessment ended, so they go to the submission (which lives until it closes),
// with the verified signer as `agencyId`; only the agency that reported the finding may review it.

/**
 * Patch id: since this change a vendor's MITIGATED is a claim, counted by the notice once the reporting agency
 * confirms it. Runs started before it keep counting MITIGATED at once.
 */
export const VERIFIED_MITIGATIONS_PATCH = 'submission-verified-mitigations';

/**
 * Patch id: since this change the submission pushes the model's release (the declared one, else the current planned
 * date) to every clearinghouse case holding one of its third-party findings, whenever it changes; the cases no longer
 * poll it. Runs started before it push nothing.
 */
export const PUSH_RELEASE_TO_CASES_PATCH = 'submission-push-release-to-cases';

/**
 * Sent by the ingress when an agency's own `gov.preflight.case.open.v1` names this submission and opened or joined a
 * case: the submission keeps that case on the model's release too (only for an agency it invited).
 */
export interface LinkCaseInput {
  caseId: string;
  agencyId: string;
}
export const linkCaseSignal = defineSignal<[LinkCaseInput]>('linkCase');

export interface MitigationReviewResult {
  findingId: string;
  mitigation: MitigationReview;
  /** The advisory notice after the review, once one has been issued. */
  notice?: ClearanceNotice;
}

export const confirmMitigationUpdate = defineUpdate<MitigationReviewResult, [ConfirmMitigationInput]>('confirmMitigation');
export const rejectMitigationUpdate = defineUpdate<MitigationReviewResult, [RejectMitigationInput]>('rejectMitigation');

/** Agency command type → update name on the submission workflow `submission/<ce_subject>` (the ingress uses this table). */
export const AGENCY_SUBMISSION_COMMAND_UPDATES = {
  'gov.preflight.finding.confirm-mitigation.v1': confirmMitigationUpdate.name,
  'gov.preflight.finding.reject-mitigation.v1': rejectMitigationUpdate.name,
} as const;
export type AgencySubmissionCommandType = keyof typeof AGENCY_SUBMISSION_COMMAND_UPDATES;

// ---------------------------------------------------------------------------------------------------------------
// Views (query results)

export interface FindingsSummaryView {
  total: number;
  bySeverity: Record<Severity, number>;
  /** CRITICAL/HIGH findings not counted as mitigated (no response, another response, or a claim not yet confirmed). */
  unresolvedCriticalOrHigh: number;
  /** Findings reported MITIGATED that await their reporting agency's confirmation. */
  mitigationsAwaitingConfirmation: string[];
  findings: FindingSummary[];
}

/** The vendor's response to one finding with its note (the note is shown to the finding's agency and the vendor). */
export interface FindingResponseView {
  findingId: string;
  agencyId: string;
  response?: FindingResponseKind;
  respondedAt?: string;
  note?: string;
}

export const submissionStateQuery = defineQuery<SubmissionView>('submissionState');
export const findingResponseQuery = defineQuery<FindingResponseView | null, [string]>('findingResponse');
export const clocksQuery = defineQuery<ClocksView>('clocks');
export const findingsSummaryQuery = defineQuery<FindingsSummaryView>('findingsSummary');

/** The vendor's response to one finding and the agency's review of it, with their notes (sensitive: vendor API only). */
export interface FindingResponseView {
  findingId: string;
  agencyId: string;
  response?: FindingResponseKind;
  respondedAt?: string;
  /** The vendor's note to the agency. */
  note?: string;
  mitigation?: MitigationReview;
  mitigationReviewedAt?: string;
  /** The agency's note when it confirmed, or its reason when it rejected, the mitigation. */
  mitigationReviewNote?: string;
}
/** Every finding's response and review, in submission order. */
export const findingResponsesQuery = defineQuery<FindingResponseView[]>('findingResponses');
/** Every information request of the submission, answered or not (ids and times; the question stays with the agency's assessment). */
export const infoRequestsQuery = defineQuery<InfoRequestSummary[]>('infoRequests');

// ---------------------------------------------------------------------------------------------------------------
// Patches (workflow command changes; each guards a new shape so histories of the old one still replay)

/** An agency whose assessment reaches a terminal status while others continue loses its access at once. */
export const REVOKE_ON_ASSESSMENT_END_PATCH = 'revoke-access-when-assessment-ends';

// ---------------------------------------------------------------------------------------------------------------
// Activities and outcome

export interface GrantAccessInput {
  grantId: string;
  submissionId: string;
  agencyId: string;
  expiresAt: string;
}

export interface RevokeAccessInput {
  grantId: string;
  submissionId: string;
  agencyId: string;
}

/** The activities of the submission lifecycle (implemented by `createLifecycleActivities`). */
export interface SubmissionActivities {
  /** Grants one agency access; only the grant id and expiry return into history. */
  grantAccess: (input: GrantAccessInput) => Promise<AccessGrantRef>;
  /** Revokes one grant; revoking twice is harmless. */
  revokeAccess: (input: RevokeAccessInput) => Promise<{ grantId: string; revokedAt: string }>;
  /** Sends a reminder or a missed-deadline notice to an agency's operators (ids and times only). */
  notifyAgency: (alert: AgencyAlert) => Promise<void>;
}

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
