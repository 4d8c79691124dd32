/**
 * The clearinghouse case contract shared by the workflow, activities, ingress, API and CLI: ids, states, inputs,
 * update/query handles, failure type names and event types. No zod, so workflow bundles stay small: the command bodies
 * and event data are declared once, as zod schemas in `wire/clearinghouse.ts`, and imported here as types.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { CASE_ID_PATTERN, FINGERPRINT_PATTERN, type CaseCloseReason, type CaseState, type PartyKind, type PartyStatus, type Severity } from '../../wire/enums';
import type {
  CaseAdvisoryPublishedData,
  CaseEmbargoLiftedData,
  CaseExploitationReportedData,
  CaseOpenedData,
  CasePartyStatusChangedData,
  CaseReminderData,
  CaseReportBody,
  CaseReporterJoinedData,
  CaseStatusChangedData,
} from '../../wire/clearinghouse';
import type { StatusEvent } from '../shared/outbox';

export const CASE_WORKFLOW_TYPE = 'clearinghouseCaseWorkflow';
export const CASE_KIND = 'clearinghouseCase';

export function caseWorkflowId(fingerprint: string): string {
  if (!FINGERPRINT_PATTERN.test(fingerprint)) throw new TypeError('a case fingerprint is 32 lowercase hex characters');
  return `case/${fingerprint}`;
}

export function isCaseId(value: unknown): value is string {
  return typeof value === 'string' && CASE_ID_PATTERN.test(value);
}

/**
 * Who acts on a case. `agencyId` is the verified signer of an agency command; `ops` is an authenticated operator;
 * `system` is Preflight itself (the submission workflow, the duplicate link between two cases).
 */
export type CaseActor = { kind: 'agency'; agencyId: string } | { kind: 'ops'; operatorId: string } | { kind: 'system'; component: string };

export type CaseReportSource = 'AGENCY_COMMAND' | 'FINDING';

/** Input of {@link reportCaseUpdate}: one agency's report, opening the case or joining it. */
export interface CaseReportInput extends CaseReportBody {
  /** Unique per report (the command's `ce_id`, or `finding/<submissionId>/<findingId>`); also the update id. */
  reportId: string;
  /** The reporting agency (verified signer, or the agency that submitted the finding). */
  agencyId: string;
  source: CaseReportSource;
  /**
   * The agencies whose registry domains match the report's `domain`, looked up by Preflight (never by the reporter);
   * the case is offered to those not already part of it (since `clearinghouse-domain-offers`).
   */
  offerTo?: string[];
}

/** The patch under which a case offers itself to the agencies whose registry domains match a report's domain. */
export const CASE_DOMAIN_OFFERS_PATCH = 'clearinghouse-domain-offers';

/** A report as the case records it. */
export interface CaseReportRecord extends CaseReportInput {
  reportedAt: string;
  /** Set when the report first went to a case later marked a duplicate of this one. */
  viaCaseId?: string;
}

export type CaseReportOutcome = 'OPENED' | 'JOINED' | 'ALREADY_REPORTED' | 'REDIRECTED' | 'CASE_CLOSED';

export interface CaseReportResult {
  caseId: string;
  outcome: CaseReportOutcome;
  state: CaseState;
  reporterCount: number;
  /** Set with outcome REDIRECTED: this case is a duplicate; the report belongs to the primary. */
  primaryCaseId?: string;
}

/** Every period of a case, in days or hours; each is configurable through the workflow input. */
export interface CasePolicy {
  /** Disclosure deadline after opening (coordinated disclosure default: 90 days). */
  disclosureDays: number;
  /** Disclosure deadline after exploitation is reported (7 days). */
  exploitedDisclosureDays: number;
  /** Remediation due date per affected party, counted from the party's notification, by case severity. */
  remediationDays: Record<Severity, number>;
  /** Reminders this many hours before the disclosure deadline. */
  disclosureReminderHours: number[];
  /** Reminders this many hours before a party's remediation due date. */
  remediationReminderHours: number[];
  /** While under embargo, how often the case re-reads its models' release dates (changed or declared releases). */
  releaseRefreshHours: number;
  /** How long a DUPLICATE case keeps redirecting new reports to its primary before it ends. */
  duplicateRetentionDays: number;
  /** Cap on recorded reports, so history stays bounded. */
  maxReports: number;
}

export const DEFAULT_CASE_POLICY: CasePolicy = {
  disclosureDays: 90,
  exploitedDisclosureDays: 7,
  remediationDays: { CRITICAL: 7, HIGH: 30, MEDIUM: 60, LOW: 90, INFO: 180 },
  disclosureReminderHours: [14 * 24, 7 * 24, 24],
  remediationReminderHours: [72, 24],
  releaseRefreshHours: 24,
  duplicateRetentionDays: 365,
  maxReports: 200,
};

/** Workflow input. The first report arrives as the update of an update-with-start, not in the input. */
export interface CaseWorkflowInput {
  caseId: string;
  policy?: Partial<CasePolicy>;
}

export interface TriageCaseInput {
  actor: CaseActor;
  severity: Severity;
  cweId?: string;
  /** The affected product as the operator names it for publication (the case id stays the reports' fingerprint). */
  affectedProduct?: string;
  /** Affected parties to notify (opaque ids: vendors, maintainers, agencies), initially UNKNOWN. */
  parties?: string[];
}

export interface SetPartyStatusInput {
  actor: CaseActor;
  partyId: string;
  status: PartyStatus;
  /** The party reports its fix is in place. */
  remediated?: boolean;
}

/** A contact at an affected party (sensitive: stays in codec-encrypted workflow payloads and the ops API). */
export interface PartyContact {
  name?: string;
  email?: string;
  role?: string;
}

/**
 * An operator adds an affected party to a triaged case (or changes its name and contacts): the party is notified
 * now and gets its remediation due date by the case severity. Adding the same party again keeps its status and dates.
 */
export interface AddCasePartyInput {
  actor: CaseActor;
  partyId: string;
  kind: PartyKind;
  name?: string;
  contacts: PartyContact[];
}

export interface ReportExploitationInput {
  actor: CaseActor;
  /** When exploitation was observed (ISO-8601); the short clock starts when it is reported to the case. */
  observedAt?: string;
}

export interface MarkRemediatingInput {
  actor: CaseActor;
}

export interface PublishCaseInput {
  actor: CaseActor;
  /** Public advisory reference, e.g. a CVE id or advisory URL; public once published. */
  advisoryRef?: string;
  /** Publish while the embargo still holds: only an operator, only with a reason (recorded on the case). */
  override?: { reason: string };
}

export interface CloseCaseInput {
  actor: CaseActor;
  reason: CaseCloseReason;
}

export interface MarkDuplicateInput {
  actor: CaseActor;
  primaryCaseId: string;
}

/** Sent by a case being marked DUPLICATE to its primary, carrying its reports over. */
export interface LinkDuplicateInput {
  actor: CaseActor;
  duplicateCaseId: string;
  reports: CaseReportRecord[];
}

/** The planned (or actual) public release of a model tied to this case; the embargo lifts at the latest one. */
export interface SetModelReleaseInput {
  actor: CaseActor;
  submissionId: string;
  releaseAt: string;
}

export interface CaseParty {
  partyId: string;
  /** Set when an operator added the party with {@link addCasePartyUpdate} (absent for ids given at triage). */
  kind?: PartyKind;
  name?: string;
  contacts?: PartyContact[];
  status: PartyStatus;
  notifiedAt: string;
  updatedAt: string;
  remediationDueAt?: string;
  remediatedAt?: string;
}

/** What the state query returns: the full case, as sensitive as a finding. */
export interface CaseView {
  caseId: string;
  state: CaseState;
  openedAt: string;
  updatedAt: string;
  affectedProduct?: string;
  weakness?: string;
  cweId?: string;
  severity?: Severity;
  reports: CaseReportRecord[];
  reporters: string[];
  parties: CaseParty[];
  triagedAt?: string;
  notifiedAt?: string;
  remediatingAt?: string;
  publishedAt?: string;
  advisoryRef?: string;
  /** Set when the case was published under embargo by an operator's override. */
  publishOverride?: { reason: string; by: string; at: string; embargoUntil: string };
  closedAt?: string;
  closeReason?: CaseCloseReason;
  duplicateOf?: string;
  duplicates: string[];
  exploitation?: { reportedAt: string; observedAt?: string; reportedBy: string };
  modelReleases: Array<{ submissionId: string; releaseAt: string }>;
  /** The weakness domains the reports named (registry domains). */
  domains: string[];
  /** Agencies the case was offered to because their registry domains match; they may read the case view. */
  offeredTo: Array<{ agencyId: string; domain: string; offeredAt: string }>;
  embargoUntil?: string;
  embargoActive: boolean;
  disclosureDeadline: string;
  policy: CasePolicy;
}

/** Another agency's report as an agency reader sees it: who and when, not what (its text and submission stay private). */
export interface RedactedCaseReport {
  agencyId: string;
  source: CaseReportSource;
  reportedAt: string;
  redacted: true;
}

/**
 * A case as one agency (a reporter or party) reads it: its own reports in full, others' reduced to who and when, and
 * no list of the models tied to the case (their submissions and planned releases are the vendors' business).
 */
export type AgencyCaseView = Omit<CaseView, 'reports' | 'modelReleases'> & { reports: Array<CaseReportRecord | RedactedCaseReport> };

/**
 * Agency commands on a case (Kafka key and `ce_subject` = the case id). `gov.preflight.case.open.v1` carries a
 * {@link CaseReportBody}; the others become updates whose actor is the verified signer.
 */
export const CASE_COMMAND_TYPES = {
  open: 'gov.preflight.case.open.v1',
  reportExploitation: 'gov.preflight.case.report-exploitation.v1',
  setPartyStatus: 'gov.preflight.case.set-party-status.v1',
} as const;

export const reportCaseUpdate = defineUpdate<CaseReportResult, [CaseReportInput]>('reportCase');
export const triageCaseUpdate = defineUpdate<CaseView, [TriageCaseInput]>('triageCase');
export const addCasePartyUpdate = defineUpdate<CaseView, [AddCasePartyInput]>('addCaseParty');
export const setPartyStatusUpdate = defineUpdate<CaseView, [SetPartyStatusInput]>('setPartyStatus');
export const reportExploitationUpdate = defineUpdate<CaseView, [ReportExploitationInput]>('reportExploitation');
export const markRemediatingUpdate = defineUpdate<CaseView, [MarkRemediatingInput]>('markRemediating');
export const publishCaseUpdate = defineUpdate<CaseView, [PublishCaseInput]>('publishCase');
export const closeCaseUpdate = defineUpdate<CaseView, [CloseCaseInput]>('closeCase');
export const markDuplicateUpdate = defineUpdate<CaseView, [MarkDuplicateInput]>('markDuplicate');
export const linkDuplicateUpdate = defineUpdate<CaseView, [LinkDuplicateInput]>('linkDuplicate');
export const setModelReleaseUpdate = defineUpdate<CaseView, [SetModelReleaseInput]>('setModelRelease');

export const caseStateQuery = defineQuery<CaseView>('caseState');

/**
 * What the assessment workflow passes when a finding is flagged `thirdPartyVulnerability`. `finding` takes the
 * finding as submitted; `affectedProduct` / `weakness` / `cweId` give the best de-duplication, and without them the
 * title stands in for both (such cases may need an operator to mark duplicates).
 */
export interface OpenClearinghouseCaseInput {
  submissionId: string;
  findingId: string;
  /** The agency that submitted the finding. */
  agencyId: string;
  finding: {
    title: string;
    severity?: Severity;
    /** Sensitive; stays in (codec-encrypted) workflow payloads as the report summary. */
    detail?: string;
    affectedProduct?: string;
    weakness?: string;
    cweId?: string;
    /** The finding's domain: the case is offered to the agencies whose registry domains include it. */
    domain?: string;
  };
  /** The model's planned release: the case embargo lasts until then. */
  plannedReleaseAt?: string;
  exploited?: boolean;
}

/** The current release of a model tied to a case: the declared release if it happened, else the planned one. */
export interface ModelRelease {
  submissionId: string;
  releaseAt: string;
}

/** The clearinghouse activities workflows call (implemented by `createClearinghouseActivities`). */
export interface CaseActivities {
  /** Opens or joins the clearinghouse case for a third-party finding; idempotent. */
  openClearinghouseCase: (input: OpenClearinghouseCaseInput) => Promise<CaseReportResult>;
  /** The current release of each model tied to a case; a submission that cannot be read is left out. */
  currentModelReleases: (submissionIds: string[]) => Promise<ModelRelease[]>;
  /** Hands a duplicate's reports to its primary case. */
  linkDuplicateCase: (input: { primaryCaseId: string; link: LinkDuplicateInput }) => Promise<void>;
  /** Tells a case the current release of a model tied to it (pushed by the submission when it changes). */
  setCaseModelRelease: (input: { caseId: string; submissionId: string; releaseAt: string }) => Promise<void>;
}

/** Event stream and types on `preflight.clearinghouse-events.v1`. Data is thin: ids, enums, states, times. */
export const CASE_EVENT_SOURCE = '/preflight/clearinghouse';
export const CASE_EVENT_TYPES = {
  opened: 'gov.preflight.case.opened.v1',
  reporterJoined: 'gov.preflight.case.reporter-joined.v1',
  statusChanged: 'gov.preflight.case.status-changed.v1',
  partyStatusChanged: 'gov.preflight.case.party-status-changed.v1',
  exploitationReported: 'gov.preflight.case.exploitation-reported.v1',
  embargoLifted: 'gov.preflight.case.embargo-lifted.v1',
  reminder: 'gov.preflight.case.reminder.v1',
  advisoryPublished: 'gov.preflight.case.advisory-published.v1',
} as const;

/** Cases that published before the advisory-published event replay without it. */
export const CASE_ADVISORY_EVENT_PATCH = 'clearinghouse-advisory-published-event';
export type CaseEventType = (typeof CASE_EVENT_TYPES)[keyof typeof CASE_EVENT_TYPES];

/** The data each case event type carries. */
export interface CaseEventMap {
  [CASE_EVENT_TYPES.opened]: CaseOpenedData;
  [CASE_EVENT_TYPES.reporterJoined]: CaseReporterJoinedData;
  [CASE_EVENT_TYPES.statusChanged]: CaseStatusChangedData;
  [CASE_EVENT_TYPES.partyStatusChanged]: CasePartyStatusChangedData;
  [CASE_EVENT_TYPES.exploitationReported]: CaseExploitationReportedData;
  [CASE_EVENT_TYPES.embargoLifted]: CaseEmbargoLiftedData;
  [CASE_EVENT_TYPES.reminder]: CaseReminderData;
  [CASE_EVENT_TYPES.advisoryPublished]: CaseAdvisoryPublishedData;
}

/** A case event on the stream 'clearinghouse'. */
export type CaseStatusEvent = StatusEvent<CaseEventType>;
