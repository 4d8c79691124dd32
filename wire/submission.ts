/**
 * Wire shapes of the submission lifecycle: agency command bodies and the update inputs they become, status event data,
 * vendor HTTP bodies and the views the API returns. Each schema is its type; workflows import the types only
 * (`import type`), so zod stays out of workflow bundles. JSON-safe and transform-free: JSON Schema, AsyncAPI and
 * OpenAPI are generated from them.
 */
import { z } from 'zod';
import { AgencyId, Domain, EventTime as Time, Id, RefId, CweId, text } from './common';
import {
  ACCESS_METHODS,
  AGENCY_STATUSES,
  CLEARANCE_NOTICES,
  CONSOLIDATION_TRIGGERS,
  END_REASONS,
  FINDING_RESPONSES,
  MITIGATION_REVIEWS,
  SEVERITIES,
  SUBMISSION_STATUSES,
} from './enums';

export const Severity = z.enum(SEVERITIES);
export const SubmissionStatus = z.enum(SUBMISSION_STATUSES);
export const AgencyStatus = z.enum(AGENCY_STATUSES);
export const FindingResponse = z.enum(FINDING_RESPONSES);
export const MitigationReview = z.enum(MITIGATION_REVIEWS);
export const ClearanceNotice = z.enum(CLEARANCE_NOTICES);
export const EndReason = z.enum(END_REASONS);
export const ConsolidationTrigger = z.enum(CONSOLIDATION_TRIGGERS);

// ---------------------------------------------------------------------------------------------------------------
// Agency command bodies. `agencyId` is filled in by the ingress from the verified signature; a body may state it,
// and then it must be the signer. The update input is the body with the signer set.

const signer = { agencyId: AgencyId.optional() };

/** The verified signer (from the command's signature), not a claim in the body. */
interface AgencySigned {
  agencyId: string;
}

export const AcceptAssessmentCommand = z.strictObject({ ...signer });
export const DeclineAssessmentCommand = z.strictObject({
  ...signer,
  /** Optional free text. */
  reason: text(2000).optional(),
});
export const StartAssessmentCommand = z.strictObject({ ...signer });
export const RequestInfoCommand = z.strictObject({
  ...signer,
  /** What the agency needs from the vendor (sensitive). */
  question: text(10_000),
});
export const Finding = z.strictObject({
  severity: Severity,
  /** Assessment domain, e.g. "offensive-cyber", "critical-infrastructure". */
  domain: Domain,
  title: text(300),
  /** Sensitive detail. */
  detail: text(50_000),
  /** Must equal the submission's `model.version`. */
  modelVersionTested: text(200),
  recommendedMitigation: text(20_000),
  /** Opens a clearinghouse case. */
  thirdPartyVulnerability: z.boolean(),
  /** For third-party findings: the affected product, e.g. "Acme Inference Gateway 2.3" (best de-duplication). */
  affectedProduct: text(200).optional(),
  /** For third-party findings: the weakness in words, e.g. "prompt injection". */
  weakness: text(500).optional(),
  /** For third-party findings: a CWE id such as "CWE-1427". */
  cweId: CweId.optional(),
});
export const SubmitFindingCommand = z.strictObject({ ...signer, finding: Finding });
export const CompleteAssessmentCommand = z.strictObject({
  ...signer,
  /** Set to assert that there are no findings; refused if findings were submitted. */
  noFindings: z.boolean().optional(),
});

/** The reporting agency confirms the vendor's MITIGATED claim on one of its findings; the notice then counts it. */
export const ConfirmMitigationCommand = z.strictObject({
  ...signer,
  /** The agency's own finding, e.g. "nsa-f1". */
  findingId: RefId,
  /** Optional note to the vendor (sensitive: kept in workflow state, never in events). */
  note: text(20_000).optional(),
});
/** The reporting agency does not accept the vendor's MITIGATED claim; the finding stays open. */
export const RejectMitigationCommand = z.strictObject({
  ...signer,
  findingId: RefId,
  /** Why, for the vendor (sensitive: kept in workflow state, never in events). */
  reason: text(20_000),
});

export type FindingInput = z.infer<typeof Finding>;
export type AcceptInvitationInput = z.infer<typeof AcceptAssessmentCommand> & AgencySigned;
export type DeclineInvitationInput = z.infer<typeof DeclineAssessmentCommand> & AgencySigned;
export type StartAssessmentInput = z.infer<typeof StartAssessmentCommand> & AgencySigned;
export type RequestInfoInput = z.infer<typeof RequestInfoCommand> & AgencySigned;
export type SubmitFindingInput = z.infer<typeof SubmitFindingCommand> & AgencySigned;
export type CompleteAssessmentInput = z.infer<typeof CompleteAssessmentCommand> & AgencySigned;
export type ConfirmMitigationInput = z.infer<typeof ConfirmMitigationCommand> & AgencySigned;
export type RejectMitigationInput = z.infer<typeof RejectMitigationCommand> & AgencySigned;

// ---------------------------------------------------------------------------------------------------------------
// Status event data (thin: ids, enums, statuses, times — never finding text, questions, answers or secrets)

// Agency ids in events are whatever screening accepted (the definitions' id pattern), not only registry slugs,
// so an event can never be refused for an id the workflow already took.
const about = { submissionId: Id, vendorId: Id };

export const SubmissionStatusChanged = z.strictObject({
  ...about,
  status: SubmissionStatus,
  previousStatus: SubmissionStatus.nullable(),
  /** Set for WITHDRAWN and CLOSED. */
  endReason: EndReason.optional(),
  at: Time,
});
export const AccessWindowChanged = z.strictObject({
  ...about,
  windowOpensAt: Time,
  windowClosesAt: Time,
  plannedReleaseAt: Time,
});
export const AssessmentStatusChanged = z.strictObject({
  ...about,
  agencyId: Id,
  status: AgencyStatus,
  previousStatus: AgencyStatus.nullable(),
  /** Present when the change is an information request (INFO_REQUESTED) or its answer. */
  infoRequestId: RefId.optional(),
  at: Time,
});
export const AssessmentReminder = z.strictObject({
  ...about,
  agencyId: Id,
  deadline: Time,
  hoursBefore: z
    .number()
    .nonnegative()
    .max(24 * 366),
  at: Time,
});
export const AssessmentDeadlineMissed = z.strictObject({ ...about, agencyId: Id, deadline: Time, status: AgencyStatus, at: Time });
export const FindingSubmitted = z.strictObject({
  ...about,
  agencyId: Id,
  findingId: RefId,
  severity: Severity,
  thirdPartyVulnerability: z.boolean(),
  at: Time,
});
export const FindingResponded = z.strictObject({ ...about, agencyId: Id, findingId: RefId, response: FindingResponse, at: Time });
export const ClearanceIssued = z.strictObject({
  ...about,
  notice: ClearanceNotice,
  trigger: ConsolidationTrigger,
  agencies: z.array(z.strictObject({ agencyId: Id, status: AgencyStatus })).max(100),
  /** Findings the vendor reported MITIGATED that their reporting agency has not confirmed yet (absent on older notices). */
  mitigationsAwaitingConfirmation: z.array(RefId).max(1000).optional(),
  at: Time,
});

export type SubmissionStatusChangedData = z.infer<typeof SubmissionStatusChanged>;
export type AccessWindowChangedData = z.infer<typeof AccessWindowChanged>;
export type AssessmentStatusChangedData = z.infer<typeof AssessmentStatusChanged>;
export type AssessmentReminderData = z.infer<typeof AssessmentReminder>;
export type AssessmentDeadlineMissedData = z.infer<typeof AssessmentDeadlineMissed>;
export type FindingSubmittedData = z.infer<typeof FindingSubmitted>;
export type FindingRespondedData = z.infer<typeof FindingResponded>;
export type ClearanceIssuedData = z.infer<typeof ClearanceIssued>;

// ---------------------------------------------------------------------------------------------------------------
// Vendor HTTP bodies (updates of the submission workflow). Strict: unknown keys are refused.

export const ModelIdentityBody = z.strictObject({
  /** Public or internal model name, e.g. "frontier-7". */
  name: text(200),
  /** The exact version string agencies will test; findings must name this version. */
  version: text(200),
  /**
   * Content hash of the weights or serving artifact, e.g. "sha256:<64 hex>". Screening checks the format; a malformed
   * hash returns the submission with a reason.
   */
  versionHash: text(200),
});

export const ContactBody = z.strictObject({
  name: text(200),
  email: text(320),
  role: text(200).optional(),
});

/**
 * A new submission (and a resubmission's corrected details). Structure is checked here (422); completeness and
 * timing are screened by the workflow, which returns an incomplete submission with reasons (status RETURNED).
 */
export const CreateSubmissionRequest = z
  .strictObject({
    model: ModelIdentityBody,
    /** ISO-8601 planned public release time. */
    plannedReleaseAt: Time,
    accessMethod: z.enum(ACCESS_METHODS),
    contacts: z.array(ContactBody).min(1).max(20),
    /** Agency ids from the registry, e.g. ["nsa","cisa","treasury","nist","dod","dhs"]. */
    requestedAgencies: z.array(AgencyId).min(1).max(20),
    /** ISO-8601 time access should start; absent or past means "as soon as screening passes". */
    accessStartAt: Time.optional(),
  })
  .meta({ description: 'A model offered for pre-release evaluation' });

export const ChangeReleaseDateRequest = z
  .strictObject({
    /** ISO-8601 new planned release time. */
    plannedReleaseAt: Time,
  })
  .meta({ description: 'A new planned release time, any time in the future; the access window is recomputed and stays capped at 30 days' });

export const InfoRequestResponseRequest = z
  .strictObject({
    /** The vendor's answer (sensitive: stays in workflow state, never in events). */
    response: text(100_000),
  })
  .meta({ description: "The vendor's answer to an agency's information request" });

export const FindingResponseRequest = z
  .strictObject({
    response: FindingResponse,
    /** Optional note to the agency (sensitive). */
    note: text(20_000).optional(),
  })
  .meta({ description: "The vendor's response to one finding" });

export const AcknowledgeRequest = z.strictObject({ note: text(2000).optional() });
/** `reason` is kept in state, not in events. */
export const WithdrawRequest = z.strictObject({ reason: text(2000).optional() });
/** `releasedAt` defaults to now. */
export const DeclareReleaseRequest = z.strictObject({ releasedAt: Time.optional() });

export type ModelIdentity = z.infer<typeof ModelIdentityBody>;
export type Contact = z.infer<typeof ContactBody>;
/** What a vendor submits (and corrects on resubmission). */
export type SubmissionDetails = z.infer<typeof CreateSubmissionRequest>;
export type ChangeReleaseDateInput = z.infer<typeof ChangeReleaseDateRequest>;
export type RespondToInfoRequestInput = z.infer<typeof InfoRequestResponseRequest> & { requestId: string };
export type RespondToFindingInput = z.infer<typeof FindingResponseRequest> & { findingId: string };
export type AcknowledgeInput = z.infer<typeof AcknowledgeRequest>;
export type WithdrawInput = z.infer<typeof WithdrawRequest>;
export type DeclareReleasedInput = z.infer<typeof DeclareReleaseRequest>;

// ---------------------------------------------------------------------------------------------------------------
// Views (query results the API returns as they are)

const ModelIdentityView = z.object({ name: z.string(), version: z.string(), versionHash: z.string() });
export const AccessWindowView = z.object({ opensAt: Time, closesAt: Time });
const AgencyProgressView = z.object({ agencyId: z.string(), status: AgencyStatus, updatedAt: Time, findingsCount: z.number().int() });
const ScreeningIssueView = z.object({ field: z.string(), reason: z.string() });
const InfoRequestSummaryView = z.object({ requestId: z.string(), agencyId: z.string(), requestedAt: Time, respondedAt: Time.optional() });
const AccessGrantView = z.object({ grantId: z.string(), agencyId: z.string(), expiresAt: Time });

export const Submission = z
  .object({
    submissionId: z.string(),
    vendorId: z.string(),
    status: SubmissionStatus,
    model: ModelIdentityView,
    plannedReleaseAt: Time,
    submittedAt: Time,
    window: AccessWindowView.optional(),
    agencies: z.array(AgencyProgressView),
    returnIssues: z.array(ScreeningIssueView),
    resubmitBy: Time.optional(),
    openInfoRequests: z.array(InfoRequestSummaryView),
    notice: ClearanceNotice.optional(),
    /** Findings reported MITIGATED whose reporting agency has not confirmed the mitigation yet; the notice does not count them. */
    mitigationsAwaitingConfirmation: z.array(z.string()),
    noticeIssuedAt: Time.optional(),
    consolidationTrigger: ConsolidationTrigger.optional(),
    acknowledgedAt: Time.optional(),
    releasedAt: Time.optional(),
    endedAt: Time.optional(),
    endReason: EndReason.optional(),
    /** Access grants currently live: ids and expiries only, never tokens. */
    activeGrants: z.array(AccessGrantView),
    revokedGrantIds: z.array(z.string()),
  })
  .meta({ description: 'A submission as its workflow reports it: ids, statuses and times' });

export const AgencyClockView = z.object({
  agencyId: z.string(),
  status: AgencyStatus,
  activeMs: z.number(),
  onHoldMs: z.number(),
  /** Whole and fractional days, for display. */
  activeDays: z.number(),
  onHoldDays: z.number(),
  onHold: z.boolean(),
});
export const Clocks = z.object({
  now: Time,
  window: AccessWindowView.extend({ remainingMs: z.number(), remainingDays: z.number(), totalDays: z.number() }).optional(),
  agencies: z.array(AgencyClockView),
});

/**
 * Where a third-party finding's report to the clearinghouse stands: PENDING while the report is on its way (the
 * assessment does not end before it settles), ROUTED with the case that holds it, or FAILED with the reason the case
 * (or the clearinghouse) gave.
 */
export const CaseRoutingView = z.object({
  status: z.enum(['PENDING', 'ROUTED', 'FAILED']),
  /** The case that holds the report (the primary, when the case it reached is a duplicate). */
  caseId: z.string().optional(),
  outcome: z.enum(['OPENED', 'JOINED', 'ALREADY_REPORTED', 'REDIRECTED', 'CASE_CLOSED']).optional(),
  /** With FAILED: why, in words, and the failure type (e.g. `CaseTooManyReports`). */
  reason: z.string().optional(),
  failureType: z.string().optional(),
  at: Time.optional(),
});
export type CaseRouting = z.infer<typeof CaseRoutingView>;

/** A finding without its sensitive text: what the parent keeps and what summaries show. */
export const FindingSummaryView = z.object({
  findingId: z.string(),
  agencyId: z.string(),
  severity: Severity,
  domain: z.string(),
  modelVersionTested: z.string(),
  thirdPartyVulnerability: z.boolean(),
  submittedAt: Time,
  response: FindingResponse.optional(),
  respondedAt: Time.optional(),
  /** Set once the vendor reported MITIGATED: whether the reporting agency confirmed it. */
  mitigation: MitigationReview.optional(),
  mitigationReviewedAt: Time.optional(),
});

export type SubmissionView = z.infer<typeof Submission>;
export type AccessWindowView = z.infer<typeof AccessWindowView>;
export type AgencyProgress = z.infer<typeof AgencyProgressView>;
export type ScreeningIssue = z.infer<typeof ScreeningIssueView>;
export type InfoRequestSummary = z.infer<typeof InfoRequestSummaryView>;
export type AccessGrantRef = z.infer<typeof AccessGrantView>;
export type AgencyClockView = z.infer<typeof AgencyClockView>;
export type ClocksView = z.infer<typeof Clocks>;
export type FindingSummary = z.infer<typeof FindingSummaryView>;
