/**
 * The value lists and id patterns of the wire: statuses, enums and the shapes ids must have. Plain data, no zod:
 * workflows import these values, and the zod schemas next to this file build on them.
 */

// ---------------------------------------------------------------------------------------------------------------
// Ids and types

/** Submission, agency, finding and info-request ids: opaque, URL- and id-safe. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Ids the workflow derives from others (`<agencyId>-f<n>`, `<agencyId>-ir-<n>`), so a little longer than `ID_PATTERN`. */
export const REF_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Agency ids are short lowercase slugs; they appear in workflow ids, `ce_source` and reply keys. */
export const AGENCY_ID_PATTERN = /^[a-z][a-z0-9-]{1,31}$/;
/** Assessment domains: lowercase slugs such as "offensive-cyber". */
export const DOMAIN_PATTERN = /^[a-z][a-z0-9-]{1,63}$/;
/** A CWE id as a reporter may write it: "CWE-79", "cwe 79", "CWE_079". */
export const CWE_ID_INPUT_PATTERN = /^\s*cwe[\s_-]*0*\d{1,6}\s*$/i;
/** Event and command types: dotted, lowercase, ending in the version, e.g. `gov.preflight.assessment.accept.v1`. */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+\.v[1-9][0-9]*$/;
/** Agency command ids: printable ASCII without spaces, at most 128 characters (they become Temporal update ids). */
export const COMMAND_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** `case/<fingerprint>`: the fingerprint is 32 lowercase hex characters (a keyed SHA-256 prefix). */
export const CASE_ID_PATTERN = /^case\/[0-9a-f]{32}$/;
export const FINGERPRINT_PATTERN = /^[0-9a-f]{32}$/;
/** Agency, party, submission and finding ids on a case: opaque, short, safe in search attributes and Kafka keys. */
export const OPAQUE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const VENDOR_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Endpoint ids are assigned by the API: `ep_` and 8–64 letters or digits. */
export const ENDPOINT_ID_PATTERN = /^ep_[A-Za-z0-9]{8,64}$/;

// ---------------------------------------------------------------------------------------------------------------
// Submissions and assessments

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

/** Of findings and of clearinghouse cases. */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const FINDING_RESPONSES = ['ACKNOWLEDGED', 'MITIGATED', 'DISPUTED', 'RISK_ACCEPTED'] as const;
export type FindingResponseKind = (typeof FINDING_RESPONSES)[number];

/**
 * Where a vendor's MITIGATED claim stands: it counts as mitigated in the notice only once the reporting agency
 * CONFIRMED it; REJECTED leaves the finding open until the vendor claims it again.
 */
export const MITIGATION_REVIEWS = ['AWAITING_CONFIRMATION', 'CONFIRMED', 'REJECTED'] as const;
export type MitigationReview = (typeof MITIGATION_REVIEWS)[number];

/** The advisory release-clearance notice. There is deliberately no approving, blocking or holding value. */
export const CLEARANCE_NOTICES = ['CLEAR', 'CLEAR_WITH_RECOMMENDATIONS', 'CONCERNS_NOTED', 'NOT_ASSESSED'] as const;
export type ClearanceNotice = (typeof CLEARANCE_NOTICES)[number];

export const ACCESS_METHODS = ['API', 'HOSTED_UI', 'WEIGHTS_ON_PREMISES'] as const;
export type AccessMethod = (typeof ACCESS_METHODS)[number];

/** Why a submission was withdrawn or closed, as a machine code. */
export const END_REASONS = ['VENDOR_WITHDREW', 'NOT_RESUBMITTED', 'RELEASED_AND_CLOSED', 'RELEASE_NOT_DECLARED'] as const;
export type EndReason = (typeof END_REASONS)[number];

/** Why a consolidation happened. */
export const CONSOLIDATION_TRIGGERS = ['ALL_AGENCIES_DONE', 'WINDOW_CLOSED', 'RELEASE_DECLARED'] as const;
export type ConsolidationTrigger = (typeof CONSOLIDATION_TRIGGERS)[number];

// ---------------------------------------------------------------------------------------------------------------
// Clearinghouse cases

export const CASE_STATES = ['OPEN', 'TRIAGED', 'PARTIES_NOTIFIED', 'REMEDIATING', 'PUBLISHED', 'CLOSED', 'DUPLICATE'] as const;
export type CaseState = (typeof CASE_STATES)[number];

export const PARTY_STATUSES = ['AFFECTED', 'NOT_AFFECTED', 'UNKNOWN'] as const;
export type PartyStatus = (typeof PARTY_STATUSES)[number];
/** What an affected party of a case is: an agency party must be a registered agency id. */
export const PARTY_KINDS = ['agency', 'vendor', 'maintainer', 'coordinator', 'other'] as const;
export type PartyKind = (typeof PARTY_KINDS)[number];

export const CASE_CLOSE_REASONS = ['RESOLVED', 'REJECTED'] as const;
export type CaseCloseReason = (typeof CASE_CLOSE_REASONS)[number];

export const CASE_REMINDER_KINDS = ['DISCLOSURE_DEADLINE', 'REMEDIATION_DUE'] as const;
export type CaseReminderKind = (typeof CASE_REMINDER_KINDS)[number];

/** UPCOMING before the due time, DUE when it is reached. */
export const CASE_REMINDER_PHASES = ['UPCOMING', 'DUE'] as const;
export type CaseReminderPhase = (typeof CASE_REMINDER_PHASES)[number];

// ---------------------------------------------------------------------------------------------------------------
// Webhooks

export const ENDPOINT_STATUSES = ['ENABLED', 'DISABLED'] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

/** VENDOR: the vendor disabled it; GONE: the receiver answered 410; FAILING: deliveries failed for the whole span. */
export const ENDPOINT_DISABLE_REASONS = ['VENDOR', 'GONE', 'FAILING'] as const;
export type EndpointDisableReason = (typeof ENDPOINT_DISABLE_REASONS)[number];

/** The reasons a delivery (not the vendor) disables an endpoint. */
export const DELIVERY_DISABLE_REASONS = ['GONE', 'FAILING'] as const;
export type DeliveryDisableReason = (typeof DELIVERY_DISABLE_REASONS)[number];

/** Where one delivery of an event to an endpoint stands. */
export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'FAILED', 'ENDPOINT_DISABLED', 'ENDPOINT_DELETED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

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
  'not-applied',
  'internal-error',
] as const;
