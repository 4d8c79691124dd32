/**
 * Wire schemas of the clearinghouse: the `gov.preflight.case.open.v1` command body and the case event data on
 * `preflight.clearinghouse-events.v1`. They mirror `workflows/clearinghouse/contract.ts` (checked at compile time).
 */
import { z } from 'zod';
import {
  CASE_CLOSE_REASONS,
  CASE_ID_PATTERN,
  CASE_STATES,
  OPAQUE_ID_PATTERN,
  PARTY_STATUSES,
  SEVERITIES,
  type CaseEmbargoLiftedData,
  type CaseExploitationReportedData,
  type CaseOpenedData,
  type CasePartyStatusChangedData,
  type CaseReminderData,
  type CaseReportBody,
  type CaseReporterJoinedData,
  type CaseStatusChangedData,
  type ReportExploitationCommand as ReportExploitationBody,
  type SetPartyStatusCommand as SetPartyStatusBody,
} from '../workflows/clearinghouse/contract';
import { EventTime } from './envelope';

const OpaqueId = z.string().regex(OPAQUE_ID_PATTERN, 'an opaque id (letters, digits, ".", "_", ":" or "-"; at most 128)');
export const CaseId = z.string().regex(CASE_ID_PATTERN, 'case/<32 lowercase hex>');
const CaseState = z.enum(CASE_STATES);
const Severity = z.enum(SEVERITIES);

/** Body of `gov.preflight.case.open.v1`; `agencyId` may be stated and must then be the signer. */
export const OpenCaseCommand = z.strictObject({
  agencyId: OpaqueId.optional(),
  affectedProduct: z.string().min(1).max(200),
  weakness: z.string().min(1).max(500),
  cweId: z.string().regex(/^\s*cwe[\s_-]*0*\d{1,6}\s*$/i, 'a CWE id such as "CWE-79"').optional(),
  severity: Severity.optional(),
  summary: z.string().min(1).max(8000).optional(),
  submissionId: OpaqueId.optional(),
  findingId: OpaqueId.optional(),
  plannedReleaseAt: EventTime.optional(),
  exploited: z.boolean().optional(),
});

/** Body of `gov.preflight.case.report-exploitation.v1` (key = the case id). */
export const ReportExploitationCommand = z.strictObject({ agencyId: OpaqueId.optional(), observedAt: EventTime.optional() });
/** Body of `gov.preflight.case.set-party-status.v1`: the signing agency's own status as an affected party. */
export const SetPartyStatusCommand = z.strictObject({ agencyId: OpaqueId.optional(), status: z.enum(PARTY_STATUSES), remediated: z.boolean().optional() });

const base = { caseId: CaseId, state: CaseState };

export const CaseOpened = z.strictObject({ ...base, reporterCount: z.number().int().nonnegative(), disclosureDeadline: EventTime, embargoUntil: EventTime.optional() });
export const CaseReporterJoined = z.strictObject({ ...base, reporterCount: z.number().int().nonnegative() });
export const CaseStatusChanged = z.strictObject({
  ...base,
  previousState: CaseState,
  severity: Severity.optional(),
  disclosureDeadline: EventTime,
  embargoUntil: EventTime.optional(),
  primaryCaseId: CaseId.optional(),
  partyIds: z.array(OpaqueId).max(100).optional(),
  closeReason: z.enum(CASE_CLOSE_REASONS).optional(),
});
export const CasePartyStatusChanged = z.strictObject({
  ...base,
  partyId: OpaqueId,
  status: z.enum(PARTY_STATUSES),
  remediated: z.boolean(),
  remediationDueAt: EventTime.optional(),
});
export const CaseExploitationReported = z.strictObject({ ...base, disclosureDeadline: EventTime });
export const CaseEmbargoLifted = z.strictObject({ ...base, embargoUntil: EventTime });
export const CaseReminder = z.strictObject({
  ...base,
  kind: z.enum(['DISCLOSURE_DEADLINE', 'REMEDIATION_DUE']),
  phase: z.enum(['UPCOMING', 'DUE']),
  dueAt: EventTime,
  partyId: OpaqueId.optional(),
});

type Assert<T extends true> = T;
type Extends<A, B> = [A] extends [B] ? true : false;
/** Optional fields make plain assignability too lenient, so the key sets must match as well. */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type Both<A, B> = Extends<A, B> extends true ? (Extends<B, A> extends true ? SameKeys<A, B> : false) : false;

export type _OpenCaseMirrors = Assert<Both<Omit<z.infer<typeof OpenCaseCommand>, 'agencyId'>, CaseReportBody>>;
export type _ReportExploitationMirrors = Assert<Both<Omit<z.infer<typeof ReportExploitationCommand>, 'agencyId'>, ReportExploitationBody>>;
export type _SetPartyStatusMirrors = Assert<Both<Omit<z.infer<typeof SetPartyStatusCommand>, 'agencyId'>, SetPartyStatusBody>>;
export type _CaseOpenedMirrors = Assert<Both<z.infer<typeof CaseOpened>, CaseOpenedData>>;
export type _CaseReporterJoinedMirrors = Assert<Both<z.infer<typeof CaseReporterJoined>, CaseReporterJoinedData>>;
export type _CaseStatusChangedMirrors = Assert<Both<z.infer<typeof CaseStatusChanged>, CaseStatusChangedData>>;
export type _CasePartyStatusChangedMirrors = Assert<Both<z.infer<typeof CasePartyStatusChanged>, CasePartyStatusChangedData>>;
export type _CaseExploitationReportedMirrors = Assert<Both<z.infer<typeof CaseExploitationReported>, CaseExploitationReportedData>>;
export type _CaseEmbargoLiftedMirrors = Assert<Both<z.infer<typeof CaseEmbargoLifted>, CaseEmbargoLiftedData>>;
export type _CaseReminderMirrors = Assert<Both<z.infer<typeof CaseReminder>, CaseReminderData>>;
