/**
 * The agency assessment: the child workflow `agencyAssessmentWorkflow` (id `submission/<id>/agency/<agencyId>`) that
 * carries one agency's evaluation of one submission. Its updates are the agency commands; its queries serve the
 * agency and vendor APIs; the signals are the internal messages between it and its parent submission workflow.
 *
 * Agency commands (Kafka `preflight.agency-commands.v1`) map onto updates of the workflow
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
 * `AGENCY_COMMAND_UPDATES` below holds the same mapping as data. Inputs are the wire types of `wire/submission.ts`.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AgencyStatus } from '../../wire/enums';
import type {
  AcceptInvitationInput,
  AgencyClockView,
  CaseRouting,
  CompleteAssessmentInput,
  DeclineInvitationInput,
  FindingInput,
  FindingSummary,
  InfoRequestSummary,
  RequestInfoInput,
  StartAssessmentInput,
  SubmitFindingInput,
} from '../../wire/submission';

// ---------------------------------------------------------------------------------------------------------------
// Agency updates

export interface RequestInfoResult {
  /** Assigned by the workflow: `<agencyId>-ir-<n>`. The vendor answers with this id. */
  requestId: string;
  status: AgencyStatus;
}

export interface SubmitFindingResult {
  /** Assigned by the workflow: `<agencyId>-f<n>`. */
  findingId: string;
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
export const completeAssessmentUpdate = defineUpdate<CompleteAssessmentResult, [CompleteAssessmentInput]>('completeAssessment');

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

/**
 * The agency update that moves an assessment into each status an agency causes (IN_PROGRESS is also reached when the
 * vendor answers an information request, without an agency update).
 */
export const AGENCY_STATUS_UPDATES: Partial<Record<AgencyStatus, string>> = {
  ACCEPTED: acceptInvitationUpdate.name,
  DECLINED: declineInvitationUpdate.name,
  IN_PROGRESS: startAssessmentUpdate.name,
  INFO_REQUESTED: requestInfoUpdate.name,
  FINDINGS_SUBMITTED: completeAssessmentUpdate.name,
  NO_FINDINGS: completeAssessmentUpdate.name,
};

// ---------------------------------------------------------------------------------------------------------------
// Views (query results)

/** A review clock: runs from start to a terminal status, on hold while an info request waits on the vendor. */
export interface ReviewClock {
  startedAt?: string;
  stoppedAt?: string;
  /** Set while on hold. */
  holdStartedAt?: string;
  /** Accumulated on-hold milliseconds of completed holds. */
  onHoldMs: number;
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
  /** A third-party finding's report to the clearinghouse (runs since `assessment-durable-case-routing`). */
  caseRouting?: CaseRouting;
}

/** The patch under which a third-party finding's case report is tracked and awaited before the assessment ends. */
export const DURABLE_CASE_ROUTING_PATCH = 'assessment-durable-case-routing';

export const agencyStateQuery = defineQuery<AgencyAssessmentView>('agencyState');
export const findingDetailQuery = defineQuery<FindingRecord | null, [string]>('findingDetail');
/** Every finding of this assessment with its text (for the vendor API's findings list). */
export const findingRecordsQuery = defineQuery<FindingRecord[]>('findingRecords');

/** An info request with its question and the vendor's answer (sensitive); for the agency/vendor API. */
export interface InfoRequestRecord extends InfoRequestSummary {
  question: string;
  response?: string;
}
export const infoRequestDetailQuery = defineQuery<InfoRequestRecord | null, [string]>('infoRequestDetail');

// ---------------------------------------------------------------------------------------------------------------
// Child ⇄ parent messages (internal; both ends are Preflight workflows)

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
  | { kind: 'DEADLINE_MISSED'; agencyId: string; at: string; deadline: string; status: AgencyStatus }
  | { kind: 'CASE_ROUTING'; agencyId: string; at: string; findingId: string; routing: CaseRouting };

export const agencyReportSignal = defineSignal<[AgencyReport]>('agencyReport');
export const windowChangedSignal = defineSignal<[{ windowClosesAt: string }]>('windowChanged');
export const infoResponseSignal = defineSignal<[{ requestId: string; response: string; respondedAt: string }]>('infoResponse');
export type AssessmentEndReason = 'WINDOW_CLOSED' | 'SUBMISSION_WITHDRAWN' | 'SUBMISSION_RELEASED';
export const endAssessmentSignal = defineSignal<[{ reason: AssessmentEndReason }]>('endAssessment');
