/**
 * Wire schemas: agency command bodies, status event data and agency replies. They mirror the plain types in
 * `workflows/submission/contract.ts` (the compile-time checks at the bottom fail the build when the two drift) and are
 * JSON-safe and transform-free, so JSON Schema and AsyncAPI are generated from them.
 */
import { z } from 'zod';
import {
  AGENCY_STATUSES,
  CLEARANCE_NOTICES,
  CONSOLIDATION_TRIGGERS,
  END_REASONS,
  FINDING_RESPONSES,
  ID_PATTERN,
  SEVERITIES,
  SUBMISSION_STATUSES,
  type AcceptInvitationInput,
  type AccessWindowChangedData,
  type AssessmentDeadlineMissedData,
  type AssessmentReminderData,
  type AssessmentStatusChangedData,
  type ClearanceIssuedData,
  type CompleteAssessmentInput,
  type DeclineInvitationInput,
  type FindingInput,
  type FindingRespondedData,
  type FindingSubmittedData,
  type RequestInfoInput,
  type StartAssessmentInput,
  type SubmissionStatusChangedData,
  type SubmitFindingInput,
} from '../workflows/submission/contract';
import { AgencyIdSchema } from './agency-registry';
import { CommandId, EventTime, EventType } from './envelope';

export const Id = z.string().regex(ID_PATTERN, 'an id of letters, digits, ".", "_" or "-" (at most 64)');
/** Ids the workflow derives from others (`<agencyId>-f<n>`, `<agencyId>-ir-<n>`), so a little longer than `Id`. */
export const RefId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'an id of letters, digits, ".", "_" or "-" (at most 128)');
export const AgencyId = AgencyIdSchema;
export const Time = EventTime;
export const Severity = z.enum(SEVERITIES);
export const SubmissionStatus = z.enum(SUBMISSION_STATUSES);
export const AgencyStatus = z.enum(AGENCY_STATUSES);
export const FindingResponse = z.enum(FINDING_RESPONSES);
export const ClearanceNotice = z.enum(CLEARANCE_NOTICES);
export const EndReason = z.enum(END_REASONS);
export const ConsolidationTrigger = z.enum(CONSOLIDATION_TRIGGERS);
export const Domain = z.string().regex(/^[a-z][a-z0-9-]{1,63}$/, 'a lowercase domain slug such as "offensive-cyber"');

const text = (max: number) => z.string().min(1).max(max);

// ---------------------------------------------------------------------------------------------------------------
// Agency command bodies. `agencyId` is filled in by the ingress from the verified signature; a body may state it,
// and then it must be the signer.

const signer = { agencyId: AgencyId.optional() };

export const AcceptAssessmentCommand = z.strictObject({ ...signer });
export const DeclineAssessmentCommand = z.strictObject({ ...signer, reason: text(2000).optional() });
export const StartAssessmentCommand = z.strictObject({ ...signer });
export const RequestInfoCommand = z.strictObject({ ...signer, question: text(10_000) });
export const Finding = z.strictObject({
  severity: Severity,
  domain: Domain,
  title: text(300),
  detail: text(50_000),
  modelVersionTested: text(200),
  recommendedMitigation: text(20_000),
  thirdPartyVulnerability: z.boolean(),
  /** For third-party findings, what the clearinghouse de-duplicates on. */
  affectedProduct: text(200).optional(),
  weakness: text(500).optional(),
  cweId: z.string().regex(/^\s*cwe[\s_-]*0*\d{1,6}\s*$/i, 'a CWE id such as "CWE-79"').optional(),
});
export const SubmitFindingCommand = z.strictObject({ ...signer, finding: Finding });
export const CompleteAssessmentCommand = z.strictObject({ ...signer, noFindings: z.boolean().optional() });

// ---------------------------------------------------------------------------------------------------------------
// Status event data (thin: ids, enums, statuses, times)

// Agency ids in events are whatever screening accepted (the definitions' id pattern), not only registry slugs,
// so an event can never be refused for an id the workflow already took.
const about = { submissionId: Id, vendorId: Id };

export const SubmissionStatusChanged = z.strictObject({
  ...about,
  status: SubmissionStatus,
  previousStatus: SubmissionStatus.nullable(),
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
  infoRequestId: RefId.optional(),
  at: Time,
});
export const AssessmentReminder = z.strictObject({
  ...about,
  agencyId: Id,
  deadline: Time,
  hoursBefore: z.number().nonnegative().max(24 * 366),
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
  at: Time,
});

// ---------------------------------------------------------------------------------------------------------------
// Replies to agencies

/** Machine codes of a rejected command. Stable: agencies program against them. */
export const REJECTION_CODES = [
  'oversized',
  'invalid-envelope',
  'unsigned',
  'malformed-signature',
  'forged',
  'expired',
  'unknown-agency',
  'wrong-agency',
  'unknown-type',
  'malformed-json',
  'forbidden-key',
  'schema-violation',
  'not-invited',
  'not-found',
  'forbidden',
  'invalid-input',
  'not-allowed-in-state',
  'model-version-mismatch',
  'unknown-reference',
  'ended',
  'rejected',
  'internal-error',
] as const;
export const RejectionCode = z.enum(REJECTION_CODES);
export type RejectionCode = z.infer<typeof RejectionCode>;

export const CommandAccepted = z.strictObject({
  commandId: CommandId,
  commandType: EventType,
  agencyId: AgencyId,
  subject: z.string().min(1).max(256),
  /** What the workflow answered: ids and statuses only (e.g. an assigned finding or info-request id). */
  result: z.record(z.string(), z.union([z.string().max(256), z.number(), z.boolean(), z.null()])).optional(),
});
export const CommandRejected = z.strictObject({
  commandId: CommandId,
  commandType: z.string().max(200).optional(),
  agencyId: AgencyId,
  subject: z.string().max(256).optional(),
  code: RejectionCode,
  reason: text(1000),
});

// ---------------------------------------------------------------------------------------------------------------
// Compile-time checks: each schema's type is assignable to the definitions type (and back, where both are plain data).

type Assert<T extends true> = T;
type Extends<A, B> = [A] extends [B] ? true : false;
type Signed<T> = Omit<T, 'agencyId'> & { agencyId: string };
/** Optional fields make plain assignability too lenient, so the key sets must match as well. */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type Both<A, B> = Extends<A, B> extends true ? (Extends<B, A> extends true ? SameKeys<A, B> : false) : false;

export type _AcceptMirrors = Assert<Both<Signed<z.infer<typeof AcceptAssessmentCommand>>, AcceptInvitationInput>>;
export type _DeclineMirrors = Assert<Both<Signed<z.infer<typeof DeclineAssessmentCommand>>, DeclineInvitationInput>>;
export type _StartMirrors = Assert<Both<Signed<z.infer<typeof StartAssessmentCommand>>, StartAssessmentInput>>;
export type _RequestInfoMirrors = Assert<Both<Signed<z.infer<typeof RequestInfoCommand>>, RequestInfoInput>>;
export type _SubmitFindingMirrors = Assert<Both<Signed<z.infer<typeof SubmitFindingCommand>>, SubmitFindingInput>>;
export type _CompleteMirrors = Assert<Both<Signed<z.infer<typeof CompleteAssessmentCommand>>, CompleteAssessmentInput>>;
export type _FindingMirrors = Assert<Both<z.infer<typeof Finding>, FindingInput>>;

export type _SubmissionStatusChangedMirrors = Assert<
  Both<z.infer<typeof SubmissionStatusChanged>, SubmissionStatusChangedData>
>;
export type _AccessWindowChangedMirrors = Assert<
  Both<z.infer<typeof AccessWindowChanged>, AccessWindowChangedData>
>;
export type _AssessmentStatusChangedMirrors = Assert<
  Both<z.infer<typeof AssessmentStatusChanged>, AssessmentStatusChangedData>
>;
export type _AssessmentReminderMirrors = Assert<
  Both<z.infer<typeof AssessmentReminder>, AssessmentReminderData>
>;
export type _AssessmentDeadlineMissedMirrors = Assert<
  Both<z.infer<typeof AssessmentDeadlineMissed>, AssessmentDeadlineMissedData>
>;
export type _FindingSubmittedMirrors = Assert<
  Both<z.infer<typeof FindingSubmitted>, FindingSubmittedData>
>;
export type _FindingRespondedMirrors = Assert<
  Both<z.infer<typeof FindingResponded>, FindingRespondedData>
>;
export type _ClearanceIssuedMirrors = Assert<
  Both<z.infer<typeof ClearanceIssued>, ClearanceIssuedData>
>;
