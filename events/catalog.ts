/**
 * The event catalog: one entry per (type, version) on Preflight's topics, with its topic, key, direction and schema.
 * The producer, the ingress, the JSON Schema / AsyncAPI generator and the golden fixtures all read this table.
 */
import type { z } from 'zod';
import {
  AGENCY_SUBMISSION_COMMAND_UPDATES,
  SUBMISSION_EVENT_SOURCE,
  SUBMISSION_EVENT_TYPES,
  type AgencySubmissionCommandType,
} from '../workflows/submission/contract';
import { AGENCY_COMMAND_UPDATES, type AgencyCommandType } from '../workflows/assessment/contract';
import { CASE_ID_PATTERN, ID_PATTERN, OPAQUE_ID_PATTERN } from '../wire/enums';
import { CASE_COMMAND_TYPES, CASE_EVENT_SOURCE, CASE_EVENT_TYPES } from '../workflows/clearinghouse/contract';
import * as C from './clearinghouse-schemas';
import { EVENT_TYPE_PATTERN } from './envelope';
import * as S from './schemas';
import * as W from './webhook-schemas';
import { WEBHOOK_EVENT_SOURCE, WEBHOOK_EVENT_TYPES } from '../workflows/webhooks/contract';
import { AGENCY_INBOX_EVENT_SOURCE, AGENCY_INBOX_EVENT_TYPES } from '../workflows/shared/agency-inbox';
import * as I from './agency-inbox-schemas';
import { AGENCY_INBOX_CHANNEL, TOPICS, type AgencyInboxChannel, type TopicName } from './topics';

export type Direction = 'inbound' | 'outbound';

/** What an inbound command does in Temporal. */
export type CommandTarget =
  { kind: 'assessment-update'; updateName: string } | { kind: 'submission-update'; updateName: string } | { kind: 'case-open' } | { kind: 'case-command' };

export interface CatalogEntry {
  /** Full CloudEvents type, e.g. `gov.preflight.assessment.accept.v1`. */
  type: string;
  /** The type without its version suffix. */
  name: string;
  version: number;
  direction: Direction;
  /** Inbox events name the per-agency channel `preflight.agency-inbox.{agencyId}.v1`; each goes to its recipient's topic. */
  topic: TopicName | AgencyInboxChannel;
  /** What the Kafka key (= `ce_subject`) holds; `reference` is a submission id or the agency's own report reference. */
  key: 'submissionId' | 'caseId' | 'agencyId' | 'reference' | 'vendorId';
  /** Inbound only: what `ce_subject` must look like. */
  subjectPattern?: RegExp;
  /** `ce_source` of the producer; `/agencies/{agencyId}` for commands. */
  source: string;
  summary: string;
  schema: z.ZodType;
  /** A valid `data` value: used in the AsyncAPI document and the golden fixtures. */
  example: Record<string, unknown>;
  command?: CommandTarget;
}

export const AGENCY_SOURCE_PREFIX = '/agencies/';
export const INGRESS_SOURCE = '/preflight/ingress';
export const REPLY_TYPES = { accepted: 'gov.preflight.command.accepted.v1', rejected: 'gov.preflight.command.rejected.v1' } as const;

const T0 = '2026-07-01T12:00:00.000Z';
const about = { submissionId: 'sub-0001', vendorId: 'vendor-acme' };

function entry(e: Omit<CatalogEntry, 'name' | 'version'>): CatalogEntry {
  const m = /^(.*)\.v([1-9][0-9]*)$/.exec(e.type);
  if (!m || !EVENT_TYPE_PATTERN.test(e.type)) throw new Error(`Bad catalog type ${e.type}`);
  return { ...e, name: m[1]!, version: Number(m[2]) };
}

function agencyCommand(type: AgencyCommandType, schema: z.ZodType, summary: string, example: Record<string, unknown>) {
  return entry({
    type,
    topic: TOPICS.agencyCommands,
    direction: 'inbound',
    key: 'submissionId',
    source: `${AGENCY_SOURCE_PREFIX}{agencyId}`,
    summary,
    schema,
    example,
    command: { kind: 'assessment-update', updateName: AGENCY_COMMAND_UPDATES[type] },
    subjectPattern: ID_PATTERN,
  });
}

/** An agency command on the submission itself (`submission/<ce_subject>`), e.g. a mitigation review. */
function agencySubmissionCommand(type: AgencySubmissionCommandType, schema: z.ZodType, summary: string, example: Record<string, unknown>) {
  return entry({
    type,
    topic: TOPICS.agencyCommands,
    direction: 'inbound',
    key: 'submissionId',
    source: `${AGENCY_SOURCE_PREFIX}{agencyId}`,
    summary,
    schema,
    example,
    command: { kind: 'submission-update', updateName: AGENCY_SUBMISSION_COMMAND_UPDATES[type] },
    subjectPattern: ID_PATTERN,
  });
}

function caseEvent(type: string, schema: z.ZodType, summary: string, example: Record<string, unknown>) {
  return entry({ type, topic: TOPICS.clearinghouseEvents, direction: 'outbound', key: 'caseId', source: CASE_EVENT_SOURCE, summary, schema, example });
}

const CASE = { caseId: 'case/0f1e2d3c4b5a69788796a5b4c3d2e1f0' };

function submissionEvent(type: string, schema: z.ZodType, summary: string, example: Record<string, unknown>) {
  return entry({ type, topic: TOPICS.submissionEvents, direction: 'outbound', key: 'submissionId', source: SUBMISSION_EVENT_SOURCE, summary, schema, example });
}

function inboxEvent(type: string, schema: z.ZodType, summary: string, example: Record<string, unknown>, key: 'submissionId' | 'caseId' = 'submissionId') {
  return entry({ type, topic: AGENCY_INBOX_CHANNEL, direction: 'outbound', key, source: AGENCY_INBOX_EVENT_SOURCE, summary, schema, example });
}

const TO = { submissionId: 'sub-0001', agencyId: 'nsa' };
const CLOSES = '2026-07-31T12:00:00.000Z';

export const CATALOG: readonly CatalogEntry[] = [
  agencyCommand('gov.preflight.assessment.accept.v1', S.AcceptAssessmentCommand, 'Accept an invitation to assess a submission.', {}),
  agencyCommand('gov.preflight.assessment.decline.v1', S.DeclineAssessmentCommand, 'Decline an invitation.', {
    reason: 'No capacity in this window',
  }),
  agencyCommand('gov.preflight.assessment.start.v1', S.StartAssessmentCommand, 'Start the assessment after accepting.', {}),
  agencyCommand(
    'gov.preflight.assessment.request-info.v1',
    S.RequestInfoCommand,
    'Ask the vendor for information; the agency review clock pauses until the vendor answers.',
    { question: 'Which tool-use permissions does the hosted UI grant?' },
  ),
  agencyCommand('gov.preflight.finding.submit.v1', S.SubmitFindingCommand, 'Submit one finding (its detail is sensitive).', {
    finding: {
      severity: 'HIGH',
      domain: 'offensive-cyber',
      title: 'Exploit chain generation',
      detail: 'Details are shared privately with the vendor.',
      modelVersionTested: '2026.06.1',
      recommendedMitigation: 'Strengthen refusal training for exploit development.',
      thirdPartyVulnerability: false,
    },
  }),
  agencyCommand(
    'gov.preflight.assessment.complete.v1',
    S.CompleteAssessmentCommand,
    'Complete the assessment, with findings already submitted or asserting there are none.',
    { noFindings: true },
  ),
  agencySubmissionCommand(
    'gov.preflight.finding.confirm-mitigation.v1',
    S.ConfirmMitigationCommand,
    'Confirm the vendor’s MITIGATED claim on one of the agency’s own findings; only then does the advisory notice count it as mitigated. Accepted until the submission closes, also after the assessment ended.',
    { findingId: 'nsa-f1', note: 'Re-tested on the updated checkpoint; the exploit chain is refused.' },
  ),
  agencySubmissionCommand(
    'gov.preflight.finding.reject-mitigation.v1',
    S.RejectMitigationCommand,
    'Reject the vendor’s MITIGATED claim on one of the agency’s own findings, with a reason; the finding stays open until the vendor claims it again.',
    { findingId: 'nsa-f1', reason: 'The exploit chain still succeeds with a two-step prompt.' },
  ),
  entry({
    type: CASE_COMMAND_TYPES.open,
    topic: TOPICS.agencyCommands,
    direction: 'inbound',
    key: 'reference',
    source: `${AGENCY_SOURCE_PREFIX}{agencyId}`,
    summary:
      'Report a third-party vulnerability to the clearinghouse: opens the case for its fingerprint (product + weakness) or joins the case another agency opened.',
    schema: C.OpenCaseCommand,
    example: {
      affectedProduct: 'Acme Inference Gateway 2.3',
      weakness: 'prompt injection',
      cweId: 'CWE-1427',
      severity: 'HIGH',
      summary: 'Shared with the clearinghouse only.',
      submissionId: 'sub-0001',
      exploited: false,
    },
    command: { kind: 'case-open' },
    subjectPattern: OPAQUE_ID_PATTERN,
  }),
  entry({
    type: CASE_COMMAND_TYPES.reportExploitation,
    topic: TOPICS.agencyCommands,
    direction: 'inbound',
    key: 'caseId',
    source: `${AGENCY_SOURCE_PREFIX}{agencyId}`,
    summary: 'Report exploitation in the wild on a case the agency reported or is a party to; starts the short disclosure clock.',
    schema: C.ReportExploitationCommand,
    example: { observedAt: T0 },
    command: { kind: 'case-command' },
    subjectPattern: CASE_ID_PATTERN,
  }),
  entry({
    type: CASE_COMMAND_TYPES.setPartyStatus,
    topic: TOPICS.agencyCommands,
    direction: 'inbound',
    key: 'caseId',
    source: `${AGENCY_SOURCE_PREFIX}{agencyId}`,
    summary: 'Set the signing agency’s own status as an affected party of a case.',
    schema: C.SetPartyStatusCommand,
    example: { status: 'AFFECTED', remediated: false },
    command: { kind: 'case-command' },
    subjectPattern: CASE_ID_PATTERN,
  }),

  submissionEvent(SUBMISSION_EVENT_TYPES.submissionStatusChanged, S.SubmissionStatusChanged, 'The submission moved to another status.', {
    ...about,
    status: 'SCREENING',
    previousStatus: 'RECEIVED',
    at: T0,
  }),
  submissionEvent(SUBMISSION_EVENT_TYPES.accessWindowChanged, S.AccessWindowChanged, 'The access window opened or its close time changed.', {
    ...about,
    windowOpensAt: T0,
    windowClosesAt: '2026-07-31T12:00:00.000Z',
    plannedReleaseAt: '2026-08-01T12:00:00.000Z',
  }),
  submissionEvent(SUBMISSION_EVENT_TYPES.assessmentStatusChanged, S.AssessmentStatusChanged, 'An agency assessment moved to another status.', {
    ...about,
    agencyId: 'nsa',
    status: 'ACCEPTED',
    previousStatus: 'INVITED',
    at: T0,
  }),
  submissionEvent(SUBMISSION_EVENT_TYPES.assessmentReminder, S.AssessmentReminder, 'An agency deadline approaches.', {
    ...about,
    agencyId: 'nsa',
    deadline: '2026-07-31T12:00:00.000Z',
    hoursBefore: 72,
    at: '2026-07-28T12:00:00.000Z',
  }),
  submissionEvent(SUBMISSION_EVENT_TYPES.assessmentDeadlineMissed, S.AssessmentDeadlineMissed, 'An agency did not finish before its deadline.', {
    ...about,
    agencyId: 'nsa',
    deadline: '2026-07-31T12:00:00.000Z',
    status: 'IN_PROGRESS',
    at: '2026-07-31T12:00:00.000Z',
  }),
  submissionEvent(SUBMISSION_EVENT_TYPES.findingSubmitted, S.FindingSubmitted, 'An agency submitted a finding (thin: no text).', {
    ...about,
    agencyId: 'nsa',
    findingId: 'nsa-f1',
    severity: 'HIGH',
    thirdPartyVulnerability: false,
    at: T0,
  }),
  submissionEvent(SUBMISSION_EVENT_TYPES.findingResponded, S.FindingResponded, 'The vendor responded to a finding.', {
    ...about,
    agencyId: 'nsa',
    findingId: 'nsa-f1',
    response: 'MITIGATED',
    at: T0,
  }),
  submissionEvent(SUBMISSION_EVENT_TYPES.clearanceIssued, S.ClearanceIssued, 'The advisory release-clearance notice was issued.', {
    ...about,
    notice: 'CLEAR_WITH_RECOMMENDATIONS',
    trigger: 'ALL_AGENCIES_DONE',
    agencies: [
      { agencyId: 'nsa', status: 'FINDINGS_SUBMITTED' },
      { agencyId: 'cisa', status: 'NO_FINDINGS' },
    ],
    at: T0,
  }),

  caseEvent(CASE_EVENT_TYPES.opened, C.CaseOpened, 'A clearinghouse case was opened.', {
    ...CASE,
    state: 'OPEN',
    reporterCount: 1,
    disclosureDeadline: '2026-09-29T12:00:00.000Z',
    embargoUntil: '2026-08-01T12:00:00.000Z',
  }),
  caseEvent(CASE_EVENT_TYPES.reporterJoined, C.CaseReporterJoined, 'Another agency reported the same vulnerability.', {
    ...CASE,
    state: 'OPEN',
    reporterCount: 2,
  }),
  caseEvent(CASE_EVENT_TYPES.statusChanged, C.CaseStatusChanged, 'The case moved to another state.', {
    ...CASE,
    state: 'TRIAGED',
    previousState: 'OPEN',
    severity: 'HIGH',
    disclosureDeadline: '2026-09-29T12:00:00.000Z',
  }),
  caseEvent(CASE_EVENT_TYPES.partyStatusChanged, C.CasePartyStatusChanged, 'An affected party’s status changed.', {
    ...CASE,
    state: 'PARTIES_NOTIFIED',
    partyId: 'acme',
    status: 'AFFECTED',
    remediated: false,
    remediationDueAt: '2026-07-31T12:00:00.000Z',
  }),
  caseEvent(CASE_EVENT_TYPES.exploitationReported, C.CaseExploitationReported, 'Exploitation in the wild was reported; the short disclosure clock runs.', {
    ...CASE,
    state: 'REMEDIATING',
    disclosureDeadline: '2026-07-08T12:00:00.000Z',
  }),
  caseEvent(CASE_EVENT_TYPES.embargoLifted, C.CaseEmbargoLifted, 'The embargo tied to a model release ended.', {
    ...CASE,
    state: 'REMEDIATING',
    embargoUntil: '2026-08-01T12:00:00.000Z',
  }),
  caseEvent(
    CASE_EVENT_TYPES.advisoryPublished,
    C.CaseAdvisoryPublished,
    'The case was published: its CSAF 2.0 document (id and version here) is read with GET /ops/cases/{fingerprint}/csaf.',
    { ...CASE, state: 'PUBLISHED', documentId: 'PREFLIGHT-CASE-0F1E2D3C4B5A69788796A5B4C3D2E1F0', version: '1', publishedAt: T0 },
  ),
  caseEvent(CASE_EVENT_TYPES.reminder, C.CaseReminder, 'A disclosure deadline or remediation due date approaches or is reached.', {
    ...CASE,
    state: 'REMEDIATING',
    kind: 'REMEDIATION_DUE',
    phase: 'UPCOMING',
    dueAt: '2026-07-31T12:00:00.000Z',
    partyId: 'acme',
  }),

  inboxEvent(AGENCY_INBOX_EVENT_TYPES.invited, I.AgencyInvited, 'The agency is invited to assess a submission: its model, access window and domains.', {
    ...TO,
    vendorId: 'vendor-acme',
    model: { name: 'frontier-7', version: '2026.06.1', versionHash: 'sha256:9f2c4e1a7b3d5f60817263544536271809a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4' },
    windowOpensAt: T0,
    windowClosesAt: CLOSES,
    domains: ['offensive-cyber'],
    at: T0,
  }),
  inboxEvent(
    AGENCY_INBOX_EVENT_TYPES.accessGranted,
    I.AgencyAccessGranted,
    'Model access was granted to the agency until the window closes; the agency fetches the credential through its authenticated API (never broadcast).',
    { ...TO, grantId: 'sub-0001.nsa.g1', expiresAt: CLOSES, at: T0 },
  ),
  inboxEvent(
    AGENCY_INBOX_EVENT_TYPES.accessRevoked,
    I.AgencyAccessRevoked,
    'A grant of the agency was revoked (window moved, assessment consolidated, or the submission ended).',
    {
      ...TO,
      grantId: 'sub-0001.nsa.g1',
      at: T0,
    },
  ),
  inboxEvent(AGENCY_INBOX_EVENT_TYPES.windowChanged, I.AgencyWindowChanged, 'The access window (and so the agency deadline) moved.', {
    ...TO,
    windowOpensAt: T0,
    windowClosesAt: '2026-07-25T12:00:00.000Z',
    at: '2026-07-05T12:00:00.000Z',
  }),
  inboxEvent(AGENCY_INBOX_EVENT_TYPES.deadlineReminder, I.AgencyDeadlineReminder, 'The agency deadline (the window close) approaches.', {
    ...TO,
    deadline: CLOSES,
    hoursBefore: 72,
    at: '2026-07-28T12:00:00.000Z',
  }),
  inboxEvent(AGENCY_INBOX_EVENT_TYPES.deadlineMissed, I.AgencyDeadlineMissed, 'The window closed before the agency completed its assessment.', {
    ...TO,
    deadline: CLOSES,
    status: 'IN_PROGRESS',
    at: CLOSES,
  }),
  inboxEvent(
    AGENCY_INBOX_EVENT_TYPES.infoRequestAnswered,
    I.AgencyInfoRequestAnswered,
    'The vendor answered an information request of the agency; the answer is read through the agency API.',
    { ...TO, infoRequestId: 'nsa-ir-1', at: T0 },
  ),
  inboxEvent(
    AGENCY_INBOX_EVENT_TYPES.findingResponded,
    I.AgencyFindingResponded,
    'The vendor responded to a finding of the agency; the note is read through the agency API.',
    { ...TO, findingId: 'nsa-f1', response: 'MITIGATED', at: T0 },
  ),
  inboxEvent(
    AGENCY_INBOX_EVENT_TYPES.mitigationClaimed,
    I.AgencyMitigationClaimed,
    'The vendor reports a finding of the agency MITIGATED: a claim for the agency to check.',
    {
      ...TO,
      findingId: 'nsa-f1',
      at: T0,
    },
  ),
  inboxEvent(AGENCY_INBOX_EVENT_TYPES.assessmentEnded, I.AgencyAssessmentEnded, 'The agency assessment reached a terminal status.', {
    ...TO,
    status: 'FINDINGS_SUBMITTED',
    at: T0,
  }),
  inboxEvent(
    AGENCY_INBOX_EVENT_TYPES.caseUpdated,
    I.AgencyCaseUpdated,
    'A clearinghouse case the agency reported changed: the case event it follows and the case state (key: the case id).',
    { ...CASE, agencyId: 'nsa', caseEvent: CASE_EVENT_TYPES.statusChanged, state: 'TRIAGED', at: T0 },
    'caseId',
  ),
  inboxEvent(
    AGENCY_INBOX_EVENT_TYPES.caseOffered,
    I.AgencyCaseOffered,
    "A clearinghouse case offered to the agency because its registry domains include the weakness's domain; the agency may read the case (key: the case id).",
    { ...CASE, agencyId: 'nsa', domain: 'offensive-cyber', state: 'OPEN', at: T0 },
    'caseId',
  ),

  entry({
    type: WEBHOOK_EVENT_TYPES.endpointDisabled,
    topic: TOPICS.submissionEvents,
    direction: 'outbound',
    key: 'vendorId',
    source: WEBHOOK_EVENT_SOURCE,
    summary:
      'A vendor webhook endpoint was disabled by its own deliveries (410 Gone, or failing for the whole span); the vendor re-enables it through the API. Key and subject: vendor/<vendorId>.',
    schema: W.EndpointDisabledEventData,
    example: { vendorId: 'vendor-acme', endpointId: 'ep_0123456789abcdef01234567', reason: 'FAILING', eventId: 'submission/sub-0001/7', at: T0 },
  }),

  entry({
    type: REPLY_TYPES.accepted,
    topic: TOPICS.agencyReplies,
    direction: 'outbound',
    key: 'agencyId',
    source: INGRESS_SOURCE,
    summary: 'The command was applied (or had already been applied: the outcome of its first delivery).',
    schema: S.CommandAccepted,
    example: {
      commandId: 'nsa-2026-000042',
      commandType: 'gov.preflight.finding.submit.v1',
      agencyId: 'nsa',
      subject: 'sub-0001',
      result: { findingId: 'nsa-f1' },
    },
  }),
  entry({
    type: REPLY_TYPES.rejected,
    topic: TOPICS.agencyReplies,
    direction: 'outbound',
    key: 'agencyId',
    source: INGRESS_SOURCE,
    summary: 'The command was refused, with a machine code and a human reason.',
    schema: S.CommandRejected,
    example: {
      commandId: 'nsa-2026-000043',
      commandType: 'gov.preflight.assessment.start.v1',
      agencyId: 'nsa',
      subject: 'sub-0001',
      code: 'not-allowed-in-state',
      reason: 'The assessment must be accepted before it starts',
    },
  }),
];

const BY_TYPE = new Map(CATALOG.map((e) => [e.type, e]));
if (BY_TYPE.size !== CATALOG.length) throw new Error('The event catalog lists a type twice');

/** The catalog entry of a type, or undefined for an unknown type. */
export function catalogEntry(type: string): CatalogEntry | undefined {
  return BY_TYPE.get(type);
}

/** Catalog entries of the agency inbox events. */
export function inboxEntries(): CatalogEntry[] {
  return CATALOG.filter((e) => e.topic === AGENCY_INBOX_CHANNEL);
}

/** Catalog entries of the inbound agency commands. */
export function commandEntries(): CatalogEntry[] {
  return CATALOG.filter((e) => e.direction === 'inbound');
}
