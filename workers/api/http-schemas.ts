/**
 * HTTP bodies of the vendor and ops API: JSON-safe and transform-free, and the OpenAPI document
 * (`workers/api/openapi.ts`) is generated from them. Request bodies are strict: unknown keys are refused. The bodies
 * and views that are workflow inputs and query results are declared in `wire/submission.ts` and named here too.
 */
import { z } from 'zod';
import { AuditOutcome, AuditRecord } from '../../events/audit';
import { AgencyId, EventTime as Time, Id, text } from '../../wire/common';
import {
  CASE_CLOSE_REASONS,
  CASE_STATES,
  CLEARANCE_NOTICES,
  DELIVERY_STATUSES,
  ENDPOINT_ID_PATTERN,
  PARTY_KINDS,
  PARTY_STATUSES,
  SUBMISSION_STATUSES,
} from '../../wire/enums';
import {
  AccessWindowView,
  AgencyClockView,
  AgencyStatus,
  Clocks,
  CreateSubmissionRequest,
  FindingResponse,
  CaseRoutingView,
  FindingSummaryView,
  MitigationReview,
  Severity,
  Submission,
  SubmissionStatus,
} from '../../wire/submission';

export {
  AcknowledgeRequest,
  ChangeReleaseDateRequest,
  Clocks,
  CreateSubmissionRequest,
  DeclareReleaseRequest,
  FindingResponseRequest,
  InfoRequestResponseRequest,
  Submission,
  WithdrawRequest,
} from '../../wire/submission';

// ---------------------------------------------------------------------------------------------------------------
// Requests

export const ResubmitRequest = CreateSubmissionRequest;

export const AccessVerifyRequest = z
  .strictObject({ token: text(2048) })
  .meta({ description: "An agency's bearer access token as presented to the vendor's model gateway" });

// ---------------------------------------------------------------------------------------------------------------
// Responses

/** RFC 9457 problem details. `code` is a stable machine code; `errors` lists input problems (422). */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  code: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export const SubmissionListItem = z.object({
  submissionId: z.string(),
  vendorId: z.string(),
  status: SubmissionStatus.or(z.string()),
  agencies: z.array(z.string()),
  plannedReleaseAt: Time.optional(),
  startedAt: Time,
  closedAt: Time.optional(),
  running: z.boolean(),
});

export const SubmissionList = z.object({ items: z.array(SubmissionListItem), nextPageToken: z.string().optional() });

export const SubmissionCreated = z.object({ submissionId: z.string(), status: SubmissionStatus, location: z.string() });

export const CommandResult = z
  .object({ submissionId: z.string(), command: z.string(), result: z.record(z.string(), z.unknown()) })
  .meta({ description: "The workflow's answer to a vendor command" });

export const FindingDetail = z
  .object({
    findingId: z.string(),
    agencyId: z.string(),
    severity: Severity,
    domain: z.string(),
    title: z.string(),
    detail: z.string(),
    modelVersionTested: z.string(),
    recommendedMitigation: z.string(),
    thirdPartyVulnerability: z.boolean(),
    submittedAt: Time,
    response: FindingResponse.optional(),
    respondedAt: Time.optional(),
    /** The vendor's note with its response. */
    note: z.string().optional(),
    /** Once the vendor reported MITIGATED: whether the reporting agency confirmed it (only CONFIRMED counts in the notice). */
    mitigation: MitigationReview.optional(),
    mitigationReviewedAt: Time.optional(),
    /** The agency's note when it confirmed, or its reason when it rejected, the mitigation. */
    mitigationReviewNote: z.string().optional(),
    /**
     * A third-party finding's report to the clearinghouse: PENDING, ROUTED with its case id, or FAILED with the
     * reason. Shown to ops and the reporting agency, never to the vendor.
     */
    caseRouting: CaseRoutingView.optional(),
  })
  .meta({
    description:
      'One finding with its sensitive detail, the vendor response and note, the mitigation review, and (ops only) its clearinghouse case routing (only for its vendor and ops)',
  });
export type FindingDetail = z.infer<typeof FindingDetail>;

export const FindingListItem = z
  .object({
    findingId: z.string(),
    agencyId: z.string(),
    severity: Severity,
    domain: z.string(),
    title: z.string(),
    modelVersionTested: z.string(),
    thirdPartyVulnerability: z.boolean(),
    submittedAt: Time,
    response: FindingResponse.optional(),
    respondedAt: Time.optional(),
    note: z.string().optional(),
    mitigation: MitigationReview.optional(),
    mitigationReviewedAt: Time.optional(),
  })
  .meta({
    description:
      'A finding in a list: its title, the vendor response and note, and the mitigation review state (detail and recommendation in the finding itself)',
  });
export type FindingListItem = z.infer<typeof FindingListItem>;
export const FindingList = z.object({ items: z.array(FindingListItem), nextPageToken: z.string().optional() });

export const InfoRequestListItem = z.object({ requestId: z.string(), agencyId: z.string(), requestedAt: Time, respondedAt: Time.optional() });
export const InfoRequestList = z.object({ items: z.array(InfoRequestListItem), nextPageToken: z.string().optional() });
export const InfoRequestDetail = z
  .object({
    requestId: z.string(),
    agencyId: z.string(),
    requestedAt: Time,
    respondedAt: Time.optional(),
    /** What the agency asks (sensitive). */
    question: z.string(),
    /** The vendor's answer, once given. */
    response: z.string().optional(),
  })
  .meta({ description: "An agency's information request with its question and the vendor's answer (only for its vendor)" });
export type InfoRequestDetail = z.infer<typeof InfoRequestDetail>;

/** Page through a submission's findings or information requests, in the order they arrived. */
export const PageQuery = z.strictObject({
  pageSize: z.coerce.number().int().min(1).max(500).optional(),
  nextPageToken: z.string().max(200).optional(),
});

export const AccessVerifyResponse = z.discriminatedUnion('valid', [
  z.object({ valid: z.literal(true), grantId: z.string(), submissionId: z.string(), agencyId: z.string(), scope: z.string(), expiresAt: Time }),
  z.object({ valid: z.literal(false), reason: z.enum(['malformed', 'bad-signature', 'expired', 'revoked']) }),
]);

// ---------------------------------------------------------------------------------------------------------------
// Ops responses

export const FindingsSummary = z.object({
  total: z.number().int(),
  bySeverity: z.record(z.string(), z.number().int()),
  unresolvedCriticalOrHigh: z.number().int(),
  findings: z.array(FindingSummaryView),
});

export const OpsSubmission = z
  .object({ state: Submission, clocks: Clocks, findings: FindingsSummary })
  .meta({ description: 'State, clocks and findings summary of one submission' });

export const TimelineEntry = z.object({
  at: Time,
  actor: z.string().describe('who: vendor:<id>, agency:<id>, ops, system (timers, Preflight itself)'),
  kind: z.string().describe('a stable machine kind, e.g. submitted, status, agency-status, finding, info-request, grant, notice, command-refused'),
  summary: z.string(),
  workflowId: z.string(),
  eventId: z.number().int(),
  agencyId: z.string().optional(),
  status: z.string().optional().describe('the state it led to'),
  refs: z.record(z.string(), z.string()).optional(),
});

export const Timeline = z
  .object({
    submissionId: z.string(),
    entries: z.array(TimelineEntry),
    lanes: z.object({
      window: AccessWindowView.optional(),
      agencies: z.array(
        z.object({
          agencyId: z.string(),
          status: z.string(),
          invitedAt: Time.optional(),
          startedAt: Time.optional(),
          endedAt: Time.optional(),
          holds: z.array(z.object({ from: Time, to: Time.optional(), requestId: z.string().optional() })),
        }),
      ),
    }),
  })
  .meta({ description: 'A readable history built from the Temporal event histories' });

export const DeadLetter = z
  .object({
    partition: z.number().int(),
    offset: z.string(),
    reason: z.string(),
    message: z.string(),
    originalTopic: z.string(),
    originalPartition: z.number().int(),
    originalOffset: z.string(),
    time: z.string(),
    agencyId: z.string().optional(),
    /** The Kafka record time the command's signed timestamp was judged against; a replay is judged against it again. */
    recordTime: z.string().optional(),
    key: z.string().nullable(),
    type: z.string().optional(),
    commandId: z.string().optional(),
    sizeBytes: z.number().int(),
  })
  .meta({ description: 'A refused inbound message (its bytes are not shown; replay re-produces them)' });

export const DeadLetterList = z.object({ items: z.array(DeadLetter) });

export const DeadLetterReplayRequest = z.strictObject({ partition: z.number().int().min(0).max(10_000), offset: z.string().regex(/^\d{1,20}$/) });
export const DeadLetterReplayResult = z.object({ replayed: z.boolean(), topic: z.string(), partition: z.number().int(), offset: z.string() });

export const OpsSubmissionListQuery = z.strictObject({
  status: SubmissionStatus.optional(),
  vendor: Id.optional(),
  agency: AgencyId.optional(),
  releaseFrom: Time.optional(),
  releaseTo: Time.optional(),
  pageSize: z.coerce.number().int().min(1).max(500).optional(),
  nextPageToken: z.string().max(4096).optional(),
});

export const VendorSubmissionListQuery = z.strictObject({
  status: SubmissionStatus.optional(),
  pageSize: z.coerce.number().int().min(1).max(500).optional(),
  nextPageToken: z.string().max(4096).optional(),
});

/** `pageSize` like every list; `limit` is its old name, still accepted. */
export const DeadLetterListQuery = z.strictObject({
  pageSize: z.coerce.number().int().min(1).max(1000).optional().meta({ description: 'At most this many per partition, newest first (default 100)' }),
  limit: z.coerce.number().int().min(1).max(1000).optional().meta({ description: 'The old name of pageSize', deprecated: true }),
});

export { AuditRecord };
export const AuditList = z
  .object({
    items: z.array(AuditRecord),
    nextCursor: z.string().optional().meta({ description: 'Pass as `cursor` for the next (older) page; absent on the last page' }),
  })
  .meta({ description: 'Audit records, newest first (topic order reversed), the same from every api replica' });
export const AuditQuery = z.strictObject({
  from: Time.optional().meta({ description: 'Records written at or after this time' }),
  to: Time.optional().meta({ description: 'Records written at or before this time' }),
  actor: z.string().max(200).optional().meta({ description: '`kind:id` (e.g. `ops:alice`), or a bare kind (`vendor`) or id' }),
  action: z.string().max(200).optional().meta({ description: 'Exactly, e.g. `POST /v1/submissions/:id/withdraw`' }),
  outcome: AuditOutcome.optional(),
  pageSize: z.coerce.number().int().min(1).max(1000).optional().meta({ description: 'Default 100' }),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
});

/** The most payloads one codec request may carry. */
export const CODEC_MAX_PAYLOADS = 1000;
const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
// Not strict on purpose: the Temporal UI forwards payloads as the server sent them, and a newer server may add fields.
// Only metadata and data are read; anything else is dropped from the answer.
export const CodecPayload = z
  .object({
    metadata: z.record(z.string().min(1).max(256), Base64).optional(),
    data: Base64.optional(),
  })
  .meta({ description: 'A Temporal payload in protobuf JSON: metadata values and data base64' });
export const CodecPayloads = z
  .strictObject({ payloads: z.array(CodecPayload).max(CODEC_MAX_PAYLOADS) })
  .meta({ description: 'The Temporal remote codec body (`temporal.api.common.v1.Payloads` as JSON), in and out' });
export const OpsSession = z
  .object({ operator: z.string(), expiresAt: Time, path: z.string() })
  .meta({ description: 'The ops session set as an HttpOnly cookie scoped to /codec' });

// ---------------------------------------------------------------------------------------------------------------
// Agency API (requests signed with the agency's registered Ed25519 key, RFC 9421)

export const AgencyAssessmentListItem = z.object({
  submissionId: z.string(),
  agencyId: z.string(),
  status: AgencyStatus.or(z.string()),
  running: z.boolean(),
  invitedAt: Time,
  endedAt: Time.optional(),
});
export const AgencyAssessmentList = z
  .object({ items: z.array(AgencyAssessmentListItem) })
  .meta({ description: 'The assessments the signing agency was invited to, newest first' });

const ModelIdentity = z.object({ name: z.string(), version: z.string(), versionHash: z.string() });

export const AgencySubmissionFacts = z
  .object({
    model: ModelIdentity,
    window: AccessWindowView.optional(),
    /** The agency's assessment domains (agency registry). */
    domains: z.array(z.string()),
  })
  .meta({ description: 'What an invited agency may know of the submission: the model, its access window and its domains (no vendor-private data)' });

export const AgencyAssessment = z
  .object({
    submissionId: z.string(),
    agencyId: z.string(),
    status: AgencyStatus,
    running: z.boolean(),
    /** The deadline: the access window close. */
    deadline: Time,
    clock: AgencyClockView,
    remindersSent: z.array(z.number()),
    deadlineMissed: z.boolean(),
    submission: AgencySubmissionFacts,
    infoRequests: z.array(z.object({ requestId: z.string(), requestedAt: Time, respondedAt: Time.optional() })),
    findings: z.array(z.object({ findingId: z.string(), severity: Severity, submittedAt: Time, response: FindingResponse.optional() })),
  })
  .meta({ description: "One of the signing agency's assessments: status, review clock and deadline" });

export const AgencyInfoRequest = z
  .object({
    requestId: z.string(),
    requestedAt: Time,
    question: z.string(),
    respondedAt: Time.optional(),
    /** The vendor's answer, once given. */
    response: z.string().optional(),
  })
  .meta({ description: "An information request of the signing agency with the vendor's answer" });
export const AgencyInfoRequestList = z.object({ items: z.array(AgencyInfoRequest) });

export const AgencyFinding = FindingDetail.omit({ response: true, respondedAt: true, note: true })
  .extend({
    vendorResponse: z
      .object({ response: FindingResponse, respondedAt: Time, note: z.string().optional() })
      .optional()
      .meta({ description: "The vendor's response to the finding and its note, once given" }),
  })
  .meta({ description: "A finding the signing agency submitted, with the vendor's response" });
export const AgencyFindingList = z.object({ items: z.array(AgencyFinding) });

export const AgencyAccessToken = z
  .object({
    submissionId: z.string(),
    agencyId: z.string(),
    grantId: z.string(),
    tokenType: z.literal('Bearer'),
    token: z.string(),
    scope: z.string(),
    expiresAt: Time,
  })
  .meta({
    description:
      "The bearer token of the signing agency's live access grant for the model, for the vendor's gateway. A new grant (and token) replaces it when the window moves; it is revoked when the assessment ends.",
  });

// ---------------------------------------------------------------------------------------------------------------
// The console's ops reads and bulk replays (workers/api/console.ts)

const Counts = <K extends readonly [string, ...string[]]>(keys: K) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.number().int()])) as Record<K[number], z.ZodNumber>);

export const OverviewQuery = z.strictObject({
  /** Only this vendor's submissions, assessments and deliveries (cases and dead letters are never per vendor). */
  vendor: Id.optional(),
});

export const Overview = z
  .object({
    generatedAt: Time,
    vendor: z.string().optional(),
    submissions: z.object({ total: z.number().int(), byStatus: Counts(SUBMISSION_STATUSES) }),
    windowsClosingSoon: z.array(
      z.object({ submissionId: z.string(), vendorId: z.string().optional(), closesAt: Time, remainingDays: z.number(), openAgencies: z.array(z.string()) }),
    ),
    agencies: z.object({
      onHold: z.array(
        z.object({ submissionId: z.string(), agencyId: z.string(), status: AgencyStatus, activeDays: z.number(), onHoldDays: z.number(), deadline: Time }),
      ),
      overdue: z.array(
        z.object({ submissionId: z.string(), agencyId: z.string(), status: AgencyStatus, activeDays: z.number(), onHoldDays: z.number(), deadline: Time }),
      ),
      /** Running assessments read; `capped` when there were more than the overview reads. */
      scanned: z.number().int(),
      capped: z.boolean(),
      unreachable: z.number().int(),
    }),
    notices: z.object({ byKind: Counts(CLEARANCE_NOTICES), scanned: z.number().int(), capped: z.boolean() }),
    endpoints: z.array(
      z.object({
        vendorId: z.string().optional(),
        endpointId: z.string(),
        failed: z.number().int(),
        disabled: z.number().int(),
        lastAt: Time,
      }),
    ),
    deadLetters: z.object({ waiting: z.number().int().optional(), unavailable: z.string().optional() }),
    cases: z.object({ total: z.number().int(), byState: Counts(CASE_STATES) }),
  })
  .meta({ description: 'The console overview: counts from Temporal visibility, the open assessments read once each, and the dead-letter topic size' });

export const SubmissionAgencyCard = z
  .object({
    agencyId: z.string(),
    status: AgencyStatus,
    running: z.boolean(),
    deadline: Time.optional(),
    deadlineMissed: z.boolean(),
    clock: AgencyClockView.optional(),
    infoRequests: z.array(z.object({ requestId: z.string(), requestedAt: Time, respondedAt: Time.optional() })),
    findings: z.array(FindingSummaryView),
  })
  .meta({ description: "One agency's assessment of a submission as the console shows it: no finding or question text" });
export const SubmissionAgencyCards = z.object({ items: z.array(SubmissionAgencyCard) });

export const OpsDeliveryListQuery = z.strictObject({
  status: z.enum(DELIVERY_STATUSES).optional(),
  endpoint: z.string().regex(ENDPOINT_ID_PATTERN, 'an endpoint id').optional(),
  vendor: Id.optional(),
  since: Time.optional(),
  until: Time.optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
export const OpsDelivery = z.object({
  workflowId: z.string(),
  eventId: z.string(),
  endpointId: z.string(),
  vendorId: z.string().optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  startedAt: Time,
  closedAt: Time.optional(),
  execution: z.string(),
});
export const OpsDeliveryList = z.object({ items: z.array(OpsDelivery) });

export const DeadLetterFilter = z.strictObject({
  reason: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/, 'a dead-letter reason such as "invalid-signature"')
    .optional(),
  agencyId: AgencyId.optional(),
  since: Time.optional(),
  until: Time.optional(),
});
export const DeliveryReplayFilter = z.strictObject({
  status: z.enum(DELIVERY_STATUSES).optional(),
  endpoint: z.string().regex(ENDPOINT_ID_PATTERN, 'an endpoint id').optional(),
  vendor: Id.optional(),
  since: Time.optional(),
  until: Time.optional(),
});
export const BulkReplayRequest = z
  .discriminatedUnion('target', [
    z.strictObject({ target: z.literal('dead-letters'), filter: DeadLetterFilter.default({}), limit: z.number().int().min(1).max(5000).optional() }),
    z.strictObject({ target: z.literal('deliveries'), filter: DeliveryReplayFilter.default({}), limit: z.number().int().min(1).max(5000).optional() }),
  ])
  .meta({ description: 'Replay every dead letter or delivery matching a filter, as one named, audited job' });
export const BulkReplayJob = z
  .object({
    id: z.string(),
    name: z.string(),
    target: z.enum(['dead-letters', 'deliveries']),
    filter: z.record(z.string(), z.string()),
    operator: z.string(),
    state: z.enum(['matching', 'running', 'done', 'failed']),
    startedAt: Time,
    endedAt: Time.optional(),
    total: z.number().int().optional(),
    replayed: z.number().int(),
    skipped: z.number().int(),
    failed: z.number().int(),
    error: z.string().optional(),
    items: z.array(z.object({ ref: z.string(), result: z.enum(['replayed', 'skipped', 'failed']), detail: z.string().optional() })),
  })
  .meta({ description: "A bulk replay and its progress (kept by the api process that runs it, for the process's lifetime)" });
export const BulkReplayJobList = z.object({ items: z.array(BulkReplayJob) });

export const WebhookReplayResult = z
  .object({
    items: z.array(z.object({ workflowId: z.string(), result: z.enum(['started', 'in-progress', 'failed']), error: z.string().optional() })),
  })
  .meta({ description: 'Per matching delivery: a new run started, one still running (left alone), or the error' });
// ---- clearinghouse case actions (ops) --------------------------------------------------------------------------

const CaseSeverity = Severity;
const CweIdStrict = z.string().regex(/^CWE-[1-9]\d{0,5}$/, 'a CWE id: CWE-<digits>, e.g. CWE-79');
const CaseText = (max: number) => z.string().trim().min(1).max(max);

export const CaseTriageRequest = z
  .strictObject({ severity: CaseSeverity, cweId: CweIdStrict.optional(), affectedProduct: CaseText(200).optional() })
  .meta({ description: 'Triage a case: its severity (which sets every party’s remediation due date), CWE and affected product' });
export const CaseContact = z.strictObject({ name: CaseText(200).optional(), email: z.email().max(200).optional(), role: CaseText(200).optional() });
export const CasePartyRequest = z
  .strictObject({
    partyId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'an id of letters, digits and . _ : - (at most 128)'),
    kind: z.enum(PARTY_KINDS),
    name: CaseText(200).optional(),
    contacts: z.array(CaseContact).max(20),
  })
  .meta({ description: 'Add an affected party (an agency party must be a registered agency id); it gets a remediation due date by severity' });
export const CaseStatusRequest = z
  .strictObject({ state: z.enum(['REMEDIATING']) })
  .meta({ description: 'Move a PARTIES_NOTIFIED case to REMEDIATING (publish, duplicate and close have their own routes)' });
export const CaseExploitationRequest = z
  .strictObject({ observedAt: Time.optional() })
  .meta({ description: 'Exploitation in the wild was reported: the disclosure deadline becomes 7 days from now' });
export const CaseDuplicateRequest = z
  .strictObject({ primaryCaseId: z.string().regex(/^(case\/)?[0-9a-f]{32}$/, 'a case id (case/<32 hex>) or its fingerprint') })
  .meta({ description: 'Mark the case a duplicate of another; its reports move to the primary' });
export const CasePublishRequest = z
  .strictObject({
    advisoryRef: CaseText(256).optional(),
    override: z.strictObject({ reason: CaseText(1000) }).optional(),
  })
  .meta({
    description:
      'Publish the case (CSAF 2.0 document at /csaf). Refused (409 embargoed) while the embargo holds, unless override.reason is given; the override is audited',
  });
export const CaseCloseRequest = z
  .strictObject({ reason: z.enum(CASE_CLOSE_REASONS) })
  .meta({ description: 'Close the case: RESOLVED (after publication) or REJECTED (not a vulnerability)' });

const CaseParty = z.object({
  partyId: z.string(),
  kind: z.enum(PARTY_KINDS).optional(),
  name: z.string().optional(),
  contacts: z.array(z.object({ name: z.string().optional(), email: z.string().optional(), role: z.string().optional() })).optional(),
  status: z.enum(PARTY_STATUSES),
  notifiedAt: Time,
  updatedAt: Time,
  remediationDueAt: Time.optional(),
  remediatedAt: Time.optional(),
});
export const OpsCase = z
  .looseObject({
    caseId: z.string(),
    state: z.enum(CASE_STATES),
    openedAt: Time,
    updatedAt: Time,
    affectedProduct: z.string().optional(),
    weakness: z.string().optional(),
    cweId: z.string().optional(),
    severity: CaseSeverity.optional(),
    reporters: z.array(z.string()),
    parties: z.array(CaseParty),
    publishedAt: Time.optional(),
    advisoryRef: z.string().optional(),
    publishOverride: z.object({ reason: z.string(), by: z.string(), at: Time, embargoUntil: Time }).optional(),
    closedAt: Time.optional(),
    closeReason: z.enum(CASE_CLOSE_REASONS).optional(),
    duplicateOf: z.string().optional(),
    embargoUntil: Time.optional(),
    embargoActive: z.boolean(),
    disclosureDeadline: Time,
  })
  .meta({ description: 'A clearinghouse case as ops see it (sensitive: includes the reports, as a finding is)' });
export const AgencyCase = z
  .looseObject({ caseId: z.string(), state: z.enum(CASE_STATES), reporters: z.array(z.string()), parties: z.array(CaseParty), embargoActive: z.boolean() })
  .meta({ description: 'A case as one agency (a reporter or party) reads it: its own reports in full, others’ only who and when' });
