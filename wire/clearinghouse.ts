/**
 * Wire shapes of the clearinghouse: the agency command bodies on a case and the case event data on
 * `preflight.clearinghouse-events.v1` (thin: ids, enums, states, times). Workflows import the types only.
 */
import { z } from 'zod';
import { CweId, Domain, EventTime } from './common';
import { CASE_CLOSE_REASONS, CASE_ID_PATTERN, CASE_REMINDER_KINDS, CASE_REMINDER_PHASES, CASE_STATES, OPAQUE_ID_PATTERN, PARTY_STATUSES } from './enums';
import { Severity } from './submission';

const OpaqueId = z.string().regex(OPAQUE_ID_PATTERN, 'an opaque id (letters, digits, ".", "_", ":" or "-"; at most 128)');
export const CaseId = z.string().regex(CASE_ID_PATTERN, 'case/<32 lowercase hex>');
const CaseState = z.enum(CASE_STATES);

/**
 * Body of `gov.preflight.case.open.v1`, and of a third-party finding turned into a report; `agencyId` may be stated
 * and must then be the signer. `summary` is as sensitive as a finding's detail: it lives only in (codec-encrypted)
 * workflow payloads.
 */
export const OpenCaseCommand = z.strictObject({
  agencyId: OpaqueId.optional(),
  /** The affected third-party product, e.g. "Acme Inference Gateway 2.3". */
  affectedProduct: z.string().min(1).max(200),
  /** The weakness in words, e.g. "prompt injection", or with a CWE id, e.g. "CWE-1427". */
  weakness: z.string().min(1).max(500),
  /**
   * The weakness's domain (an agency registry domain such as "critical-infrastructure"): the case is offered to the
   * agencies whose registry domains include it.
   */
  domain: Domain.optional(),
  /** A CWE id if the reporter knows it ("CWE-79"); wins over the words in `weakness` for de-duplication. */
  cweId: CweId.optional(),
  /** The reporter's view of severity; triage sets the case severity. */
  severity: Severity.optional(),
  summary: z.string().min(1).max(8000).optional(),
  /** Set when the vulnerability came out of a submission's assessment: ties the embargo to that model's release. */
  submissionId: OpaqueId.optional(),
  findingId: OpaqueId.optional(),
  /** The model's planned public release (ISO-8601): the embargo lasts until then. */
  plannedReleaseAt: EventTime.optional(),
  /** True when the reporter already knows of exploitation in the wild (starts the short disclosure clock). */
  exploited: z.boolean().optional(),
});

/** Body of `gov.preflight.case.report-exploitation.v1` (key = the case id). */
export const ReportExploitationCommand = z.strictObject({ agencyId: OpaqueId.optional(), observedAt: EventTime.optional() });
/** Body of `gov.preflight.case.set-party-status.v1`: the signing agency's own status as an affected party. */
export const SetPartyStatusCommand = z.strictObject({ agencyId: OpaqueId.optional(), status: z.enum(PARTY_STATUSES), remediated: z.boolean().optional() });

/** A report's content, as the reporter sent it (the signer is not part of it). */
export type CaseReportBody = Omit<z.infer<typeof OpenCaseCommand>, 'agencyId'>;

const base = { caseId: CaseId, state: CaseState };

export const CaseOpened = z.strictObject({
  ...base,
  reporterCount: z.number().int().nonnegative(),
  disclosureDeadline: EventTime,
  embargoUntil: EventTime.optional(),
});
export const CaseReporterJoined = z.strictObject({ ...base, reporterCount: z.number().int().nonnegative() });
export const CaseStatusChanged = z.strictObject({
  ...base,
  previousState: CaseState,
  severity: Severity.optional(),
  disclosureDeadline: EventTime,
  embargoUntil: EventTime.optional(),
  /** Set with DUPLICATE. */
  primaryCaseId: CaseId.optional(),
  /** Set with PARTIES_NOTIFIED: the parties told of the case. */
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
  kind: z.enum(CASE_REMINDER_KINDS),
  phase: z.enum(CASE_REMINDER_PHASES),
  dueAt: EventTime,
  partyId: OpaqueId.optional(),
});

/** A case was published: the CSAF 2.0 document's id and version (the document itself is read on the ops API). */
export const CaseAdvisoryPublished = z.strictObject({
  ...base,
  /** The CSAF `document.tracking.id`, derived from the case id. */
  documentId: z.string().min(1).max(64),
  /** The CSAF `document.tracking.version`. */
  version: z.string().min(1).max(32),
  publishedAt: EventTime,
});

export type CaseOpenedData = z.infer<typeof CaseOpened>;
export type CaseReporterJoinedData = z.infer<typeof CaseReporterJoined>;
export type CaseStatusChangedData = z.infer<typeof CaseStatusChanged>;
export type CasePartyStatusChangedData = z.infer<typeof CasePartyStatusChanged>;
export type CaseExploitationReportedData = z.infer<typeof CaseExploitationReported>;
export type CaseEmbargoLiftedData = z.infer<typeof CaseEmbargoLifted>;
export type CaseReminderData = z.infer<typeof CaseReminder>;
export type CaseAdvisoryPublishedData = z.infer<typeof CaseAdvisoryPublished>;
export type CaseEventData =
  | CaseOpenedData
  | CaseReporterJoinedData
  | CaseStatusChangedData
  | CasePartyStatusChangedData
  | CaseExploitationReportedData
  | CaseEmbargoLiftedData
  | CaseReminderData
  | CaseAdvisoryPublishedData;
