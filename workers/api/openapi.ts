/**
 * The OpenAPI 3.1 document of the vendor and ops HTTP API, generated from the zod schemas in `http-schemas.ts`
 * (JSON Schema 2020-12, which OpenAPI 3.1 uses as is). The api serves it at `GET /openapi.json`.
 */
import { z } from 'zod';
import * as H from './http-schemas';
import * as W from '../../events/webhook-schemas';

type Json = Record<string, unknown>;
type Security = 'vendor' | 'ops' | 'vendorOrOps' | 'agency' | 'none';

interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  operationId: string;
  summary: string;
  /** Longer text where the summary alone would mislead. */
  description?: string;
  tag: 'vendor' | 'agency' | 'ops' | 'service';
  security: Security;
  request?: string;
  /** Schema name of the 2xx body, or a content type for non-JSON answers. */
  response?: string;
  status?: number;
  query?: z.ZodObject;
  /** Extra refusals this route can give beyond the common ones. */
  errors?: number[];
  idempotent?: boolean;
}

/** Every named schema of the document; the keys are the `#/components/schemas/<name>` names. */
export const OPENAPI_SCHEMAS: Record<string, z.ZodType> = {
  CreateSubmissionRequest: H.CreateSubmissionRequest,
  ChangeReleaseDateRequest: H.ChangeReleaseDateRequest,
  InfoRequestResponseRequest: H.InfoRequestResponseRequest,
  FindingResponseRequest: H.FindingResponseRequest,
  AcknowledgeRequest: H.AcknowledgeRequest,
  WithdrawRequest: H.WithdrawRequest,
  DeclareReleaseRequest: H.DeclareReleaseRequest,
  AccessVerifyRequest: H.AccessVerifyRequest,
  AccessVerifyResponse: H.AccessVerifyResponse,
  Problem: H.Problem,
  Submission: H.Submission,
  SubmissionList: H.SubmissionList,
  SubmissionListItem: H.SubmissionListItem,
  SubmissionCreated: H.SubmissionCreated,
  CommandResult: H.CommandResult,
  FindingDetail: H.FindingDetail,
  FindingListItem: H.FindingListItem,
  FindingList: H.FindingList,
  InfoRequestListItem: H.InfoRequestListItem,
  InfoRequestList: H.InfoRequestList,
  InfoRequestDetail: H.InfoRequestDetail,
  Clocks: H.Clocks,
  FindingsSummary: H.FindingsSummary,
  OpsSubmission: H.OpsSubmission,
  TimelineEntry: H.TimelineEntry,
  Timeline: H.Timeline,
  DeadLetter: H.DeadLetter,
  DeadLetterList: H.DeadLetterList,
  DeadLetterReplayRequest: H.DeadLetterReplayRequest,
  DeadLetterReplayResult: H.DeadLetterReplayResult,
  AuditRecord: H.AuditRecord,
  AuditList: H.AuditList,
  CodecPayloads: H.CodecPayloads,
  OpsSession: H.OpsSession,
  AgencyAssessmentList: H.AgencyAssessmentList,
  AgencyAssessment: H.AgencyAssessment,
  AgencyInfoRequest: H.AgencyInfoRequest,
  AgencyInfoRequestList: H.AgencyInfoRequestList,
  AgencyFinding: H.AgencyFinding,
  AgencyFindingList: H.AgencyFindingList,
  AgencyAccessToken: H.AgencyAccessToken,
  CreateWebhookEndpointRequest: W.CreateWebhookEndpointRequest,
  UpdateWebhookEndpointRequest: W.UpdateWebhookEndpointRequest,
  RotateWebhookSecretRequest: W.RotateWebhookSecretRequest,
  ReplayWebhookRequest: W.ReplayWebhookRequest,
  WebhookEndpoint: W.WebhookEndpointBody,
  WebhookEndpointWithSecret: W.WebhookEndpointWithSecret,
  WebhookEndpointList: z.object({ items: z.array(W.WebhookEndpointBody) }),
  WebhookPayload: W.WebhookPayload,
  WebhookReplayResult: H.WebhookReplayResult,
  Overview: H.Overview,
  SubmissionAgencyCards: H.SubmissionAgencyCards,
  OpsDeliveryList: H.OpsDeliveryList,
  BulkReplayRequest: H.BulkReplayRequest,
  BulkReplayJob: H.BulkReplayJob,
  BulkReplayJobList: H.BulkReplayJobList,
  CaseTriageRequest: H.CaseTriageRequest,
  CasePartyRequest: H.CasePartyRequest,
  CaseStatusRequest: H.CaseStatusRequest,
  CaseExploitationRequest: H.CaseExploitationRequest,
  CaseDuplicateRequest: H.CaseDuplicateRequest,
  CasePublishRequest: H.CasePublishRequest,
  CaseCloseRequest: H.CaseCloseRequest,
  OpsCase: H.OpsCase,
  AgencyCase: H.AgencyCase,
};

const sub = '/v1/submissions/{id}';
const assessment = '/v1/agency/assessments/{sid}';
export const API_OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/v1/submissions',
    operationId: 'createSubmission',
    summary: 'Submit a model for pre-release evaluation',
    tag: 'vendor',
    security: 'vendor',
    request: 'CreateSubmissionRequest',
    response: 'SubmissionCreated',
    status: 201,
    idempotent: true,
  },
  {
    method: 'get',
    path: '/v1/submissions',
    operationId: 'listSubmissions',
    summary: "List the caller's submissions",
    tag: 'vendor',
    security: 'vendorOrOps',
    response: 'SubmissionList',
    query: H.VendorSubmissionListQuery,
  },
  { method: 'get', path: sub, operationId: 'getSubmission', summary: 'Read one submission', tag: 'vendor', security: 'vendorOrOps', response: 'Submission' },
  {
    method: 'post',
    path: `${sub}/resubmit`,
    operationId: 'resubmit',
    summary: 'Resubmit corrected details of a RETURNED submission',
    tag: 'vendor',
    security: 'vendor',
    request: 'CreateSubmissionRequest',
    response: 'CommandResult',
    errors: [409],
    idempotent: true,
  },
  {
    method: 'post',
    path: `${sub}/release-date`,
    operationId: 'changeReleaseDate',
    summary: 'Change the planned release date',
    description:
      'The release date is the vendor’s decision: any future date is accepted, however far out. Once access has started ' +
      'the access window is recomputed as min(access start + 30 days, planned release) and never exceeds 30 days; a ' +
      'moved window is announced (`gov.preflight.submission.access-window-changed.v1`) and access grants are re-issued ' +
      'with the new expiry. Refused only with 422 for a malformed date or one already passed, and 409 once the ' +
      'submission is released, closed or withdrawn.',
    tag: 'vendor',
    security: 'vendor',
    request: 'ChangeReleaseDateRequest',
    response: 'CommandResult',
    errors: [409],
    idempotent: true,
  },
  {
    method: 'post',
    path: `${sub}/info-requests/{rid}/response`,
    operationId: 'answerInfoRequest',
    summary: "Answer an agency's information request",
    tag: 'vendor',
    security: 'vendor',
    request: 'InfoRequestResponseRequest',
    response: 'CommandResult',
    errors: [409],
    idempotent: true,
  },
  {
    method: 'post',
    path: `${sub}/findings/{fid}/response`,
    operationId: 'respondToFinding',
    summary: 'Respond to a finding',
    tag: 'vendor',
    security: 'vendor',
    request: 'FindingResponseRequest',
    response: 'CommandResult',
    errors: [409],
    idempotent: true,
  },
  {
    method: 'get',
    path: `${sub}/findings`,
    operationId: 'listFindings',
    summary: "List the submission's findings: title, severity, the vendor's response and note, and whether the reporting agency confirmed a claimed mitigation",
    tag: 'vendor',
    security: 'vendorOrOps',
    response: 'FindingList',
    query: H.PageQuery,
  },
  {
    method: 'get',
    path: `${sub}/findings/{fid}`,
    operationId: 'getFinding',
    summary:
      "Fetch a finding with its details, the vendor's response and note, and the agency's mitigation review; for ops, also a third-party finding's clearinghouse case routing (case id, or the refusal reason)",
    tag: 'vendor',
    security: 'vendorOrOps',
    response: 'FindingDetail',
  },
  {
    method: 'get',
    path: `${sub}/info-requests`,
    operationId: 'listInfoRequests',
    summary: "List the agencies' information requests, answered or not",
    tag: 'vendor',
    security: 'vendor',
    response: 'InfoRequestList',
    query: H.PageQuery,
  },
  {
    method: 'get',
    path: `${sub}/info-requests/{rid}`,
    operationId: 'getInfoRequest',
    summary: "Read an information request's question and the vendor's answer",
    tag: 'vendor',
    security: 'vendor',
    response: 'InfoRequestDetail',
  },
  {
    method: 'post',
    path: `${sub}/acknowledge`,
    operationId: 'acknowledge',
    summary: 'Acknowledge the results',
    tag: 'vendor',
    security: 'vendor',
    request: 'AcknowledgeRequest',
    response: 'CommandResult',
    errors: [409],
    idempotent: true,
  },
  {
    method: 'post',
    path: `${sub}/withdraw`,
    operationId: 'withdraw',
    summary: 'Withdraw the submission (any time before release)',
    tag: 'vendor',
    security: 'vendor',
    request: 'WithdrawRequest',
    response: 'CommandResult',
    errors: [409],
    idempotent: true,
  },
  {
    method: 'post',
    path: `${sub}/release`,
    operationId: 'declareRelease',
    summary: 'Declare the model released (accepted whatever the advisory notice says)',
    tag: 'vendor',
    security: 'vendor',
    request: 'DeclareReleaseRequest',
    response: 'CommandResult',
    errors: [409],
    idempotent: true,
  },
  {
    method: 'post',
    path: '/v1/access/verify',
    operationId: 'verifyAccessToken',
    summary: "Verify an agency's access token (for the vendor's model gateway)",
    tag: 'vendor',
    security: 'vendor',
    request: 'AccessVerifyRequest',
    response: 'AccessVerifyResponse',
  },
  {
    method: 'get',
    path: '/v1/agency/assessments',
    operationId: 'agencyListAssessments',
    summary: 'List the assessments the signing agency was invited to',
    tag: 'agency',
    security: 'agency',
    response: 'AgencyAssessmentList',
  },
  {
    method: 'get',
    path: `${assessment}`,
    operationId: 'agencyGetAssessment',
    summary: 'Read one own assessment: status, review clock, deadline and the submission facts the agency is entitled to',
    tag: 'agency',
    security: 'agency',
    response: 'AgencyAssessment',
  },
  {
    method: 'get',
    path: `${assessment}/info-requests`,
    operationId: 'agencyListInfoRequests',
    summary: "List the agency's information requests with the vendor's answers",
    tag: 'agency',
    security: 'agency',
    response: 'AgencyInfoRequestList',
  },
  {
    method: 'get',
    path: `${assessment}/info-requests/{rid}`,
    operationId: 'agencyGetInfoRequest',
    summary: "Read one information request with the vendor's answer",
    tag: 'agency',
    security: 'agency',
    response: 'AgencyInfoRequest',
  },
  {
    method: 'get',
    path: `${assessment}/findings`,
    operationId: 'agencyListFindings',
    summary: "List the agency's findings with the vendor's responses and notes",
    tag: 'agency',
    security: 'agency',
    response: 'AgencyFindingList',
  },
  {
    method: 'get',
    path: `${assessment}/findings/{fid}`,
    operationId: 'agencyGetFinding',
    summary: "Read one finding with the vendor's response and note, and a third-party finding's clearinghouse case routing (case id, or the refusal reason)",
    tag: 'agency',
    security: 'agency',
    response: 'AgencyFinding',
  },
  {
    method: 'get',
    path: `${assessment}/access-token`,
    operationId: 'agencyGetAccessToken',
    summary: "Fetch the bearer token of the agency's live access grant (a new one after the window moved)",
    tag: 'agency',
    security: 'agency',
    response: 'AgencyAccessToken',
    errors: [409],
  },
  {
    method: 'get',
    path: '/v1/agency/cases/{fingerprint}',
    operationId: 'agencyGetCase',
    summary: 'A clearinghouse case the signing agency reported or is a party to: its own reports in full, others’ only who and when; 404 for any other case',
    tag: 'agency',
    security: 'agency',
    response: 'AgencyCase',
  },
  {
    method: 'get',
    path: '/v1/webhook-endpoints',
    operationId: 'listWebhookEndpoints',
    summary: "List the caller's webhook endpoints",
    tag: 'vendor',
    security: 'vendor',
    response: 'WebhookEndpointList',
    query: W.WebhookEndpointListQuery,
  },
  {
    method: 'post',
    path: '/v1/webhook-endpoints',
    operationId: 'createWebhookEndpoint',
    summary: 'Register a webhook endpoint (the signing secret is returned once)',
    tag: 'vendor',
    security: 'vendor',
    request: 'CreateWebhookEndpointRequest',
    response: 'WebhookEndpointWithSecret',
    status: 201,
    errors: [409],
    idempotent: true,
  },
  {
    method: 'get',
    path: '/v1/webhook-endpoints/{id}',
    operationId: 'getWebhookEndpoint',
    summary: 'Read a webhook endpoint',
    tag: 'vendor',
    security: 'vendor',
    response: 'WebhookEndpoint',
  },
  {
    method: 'patch',
    path: '/v1/webhook-endpoints/{id}',
    operationId: 'updateWebhookEndpoint',
    summary: 'Change, disable or enable a webhook endpoint',
    tag: 'vendor',
    security: 'vendor',
    request: 'UpdateWebhookEndpointRequest',
    response: 'WebhookEndpoint',
    errors: [409],
  },
  {
    method: 'delete',
    path: '/v1/webhook-endpoints/{id}',
    operationId: 'deleteWebhookEndpoint',
    summary: 'Delete a webhook endpoint',
    tag: 'vendor',
    security: 'vendor',
    status: 204,
  },
  {
    method: 'post',
    path: '/v1/webhook-endpoints/{id}/rotate-secret',
    operationId: 'rotateWebhookSecret',
    summary: 'Rotate the signing secret (the previous one keeps signing during the overlap)',
    tag: 'vendor',
    security: 'vendor',
    request: 'RotateWebhookSecretRequest',
    response: 'WebhookEndpointWithSecret',
    errors: [409],
    idempotent: true,
  },
  {
    method: 'get',
    path: '/v1/webhook-endpoints/{id}/deliveries',
    operationId: 'listWebhookDeliveries',
    summary: "The newest 100 deliveries to one of the caller's endpoints",
    tag: 'vendor',
    security: 'vendor',
    response: 'OpsDeliveryList',
  },
  {
    method: 'post',
    path: '/v1/webhook-endpoints/{id}/replay',
    operationId: 'replayWebhookDeliveries',
    summary: 'Deliver again the deliveries to this endpoint matching an event id, a time range or failure (at most 1000)',
    description:
      'Each matching delivery gets a new run with the same body and `webhook-id`, to the endpoint as it is now; a delivery still running is left alone.',
    tag: 'vendor',
    security: 'vendor',
    request: 'ReplayWebhookRequest',
    response: 'WebhookReplayResult',
    idempotent: true,
  },
  {
    method: 'get',
    path: '/ops/submissions',
    operationId: 'opsListSubmissions',
    summary: 'List submissions by status, vendor, agency and release window',
    tag: 'ops',
    security: 'ops',
    response: 'SubmissionList',
    query: H.OpsSubmissionListQuery,
  },
  {
    method: 'get',
    path: '/ops/submissions/{id}',
    operationId: 'opsGetSubmission',
    summary: 'State, clocks, agencies and findings summary',
    tag: 'ops',
    security: 'ops',
    response: 'OpsSubmission',
  },
  {
    method: 'get',
    path: '/ops/submissions/{id}/timeline',
    operationId: 'opsTimeline',
    summary: 'The readable timeline built from the event histories',
    tag: 'ops',
    security: 'ops',
    response: 'Timeline',
  },
  {
    method: 'get',
    path: '/ops/submissions/{id}/history',
    operationId: 'opsHistory',
    summary: 'The raw Temporal event histories as JSON',
    tag: 'ops',
    security: 'ops',
    response: 'application/json',
  },
  {
    method: 'get',
    path: '/ops/cases',
    operationId: 'opsListCases',
    summary: 'List clearinghouse cases (ids and enums only); ?agencyId= shows what that agency may see',
    tag: 'ops',
    security: 'ops',
    response: 'application/json',
  },
  {
    method: 'get',
    path: '/ops/cases/{fingerprint}',
    operationId: 'opsGetCase',
    summary: 'Read one case (sensitive)',
    tag: 'ops',
    security: 'ops',
    response: 'OpsCase',
  },
  {
    method: 'get',
    path: '/ops/cases/{fingerprint}/csaf',
    operationId: 'opsCaseCsaf',
    summary: 'The CSAF 2.0 document (csaf_vex, publisher category coordinator) of a published case',
    description:
      'Built deterministically from the case: `document.tracking.id` is `PREFLIGHT-CASE-<FINGERPRINT>`, version 1 at publication and 2 once closed as resolved. 404 `not-published` before publication; validates against the OASIS CSAF 2.0 JSON schema.',
    tag: 'ops',
    security: 'ops',
    response: 'application/json',
  },
  ...(
    [
      ['triage', 'opsTriageCase', 'Triage: severity (sets the parties’ remediation due dates), CWE id (CWE-<digits>), affected product', 'CaseTriageRequest'],
      [
        'parties',
        'opsAddCaseParty',
        'Add an affected party with contacts; it is notified and gets its remediation due date by severity (422 for an agency id outside the registry)',
        'CasePartyRequest',
      ],
      ['status', 'opsSetCaseStatus', 'Move a PARTIES_NOTIFIED case to REMEDIATING', 'CaseStatusRequest'],
      [
        'exploitation',
        'opsReportCaseExploitation',
        'Exploitation in the wild reported: the disclosure deadline becomes 7 days from now',
        'CaseExploitationRequest',
      ],
      [
        'duplicate',
        'opsMarkCaseDuplicate',
        'Mark the case a duplicate of another existing case (422 if there is none); its reports move there',
        'CaseDuplicateRequest',
      ],
      [
        'publish',
        'opsPublishCase',
        'Publish the case; 409 `embargoed` while the embargo holds unless `override.reason` is given (the override is audited and kept on the case)',
        'CasePublishRequest',
      ],
      ['close', 'opsCloseCase', 'Close the case: RESOLVED after publication, or REJECTED', 'CaseCloseRequest'],
    ] as const
  ).map(([action, operationId, summary, request]): Operation => ({
    method: 'post',
    path: `/ops/cases/{fingerprint}/${action}`,
    operationId,
    summary,
    description:
      'Audited (operator, case, action, outcome) in GET /ops/audit and the log. 409 with a sentence a person understands when the case’s state does not allow it (`not-allowed-in-state`, `embargoed`), 422 for a schema violation or an input the case refuses, 404 for an unknown case; a refused action changes nothing. Answers the case as it is after the action.',
    tag: 'ops',
    security: 'ops',
    request,
    response: 'OpsCase',
    errors: [409, 415],
  })),
  {
    method: 'get',
    path: '/ops/dead-letters',
    operationId: 'opsListDeadLetters',
    summary: 'List dead letters',
    tag: 'ops',
    security: 'ops',
    query: H.DeadLetterListQuery,
    response: 'DeadLetterList',
  },
  {
    method: 'post',
    path: '/ops/dead-letters/replay',
    operationId: 'opsReplayDeadLetter',
    summary: 'Re-produce a dead letter onto its original topic',
    tag: 'ops',
    security: 'ops',
    request: 'DeadLetterReplayRequest',
    response: 'DeadLetterReplayResult',
  },
  {
    method: 'get',
    path: '/ops/overview',
    operationId: 'opsOverview',
    summary:
      'The console overview: submissions by status, windows closing within 7 days, agencies on hold or overdue, notices by kind, failing endpoints, dead letters waiting, cases by state',
    description:
      'Counts come from Temporal visibility; open assessments and noticed submissions are read once each, at most 200 of each (`capped` says when there were more).',
    tag: 'ops',
    security: 'ops',
    query: H.OverviewQuery,
    response: 'Overview',
  },
  {
    method: 'get',
    path: '/ops/submissions/{id}/agencies',
    operationId: 'opsSubmissionAgencies',
    summary: "Each requested agency's assessment: status, review clock, deadline, information requests and finding summaries",
    tag: 'ops',
    security: 'ops',
    response: 'SubmissionAgencyCards',
  },
  {
    method: 'get',
    path: '/ops/deliveries',
    operationId: 'opsListDeliveries',
    summary: 'Webhook deliveries by status, endpoint, vendor and start time, newest first',
    tag: 'ops',
    security: 'ops',
    query: H.OpsDeliveryListQuery,
    response: 'OpsDeliveryList',
  },
  {
    method: 'post',
    path: '/ops/bulk-replays',
    operationId: 'opsStartBulkReplay',
    summary: 'Replay every dead letter or webhook delivery matching a filter, as one named job (audited when it starts and when it ends)',
    description: 'Answers 202 with the job at once; `GET /ops/bulk-replays/{id}` gives its progress.',
    tag: 'ops',
    security: 'ops',
    request: 'BulkReplayRequest',
    response: 'BulkReplayJob',
    status: 202,
  },
  {
    method: 'get',
    path: '/ops/bulk-replays',
    operationId: 'opsListBulkReplays',
    summary: 'The bulk replays this api process ran, newest first',
    tag: 'ops',
    security: 'ops',
    response: 'BulkReplayJobList',
  },
  {
    method: 'get',
    path: '/ops/bulk-replays/{id}',
    operationId: 'opsGetBulkReplay',
    summary: "One bulk replay's progress",
    tag: 'ops',
    security: 'ops',
    response: 'BulkReplayJob',
  },
  {
    method: 'get',
    path: '/ops/audit',
    operationId: 'opsAudit',
    summary:
      'The audit trail, newest first: every command, refusal, read of finding details or answers and codec call, from the ' +
      'Kafka audit topic (the same from every api replica)',
    tag: 'ops',
    security: 'ops',
    query: H.AuditQuery,
    response: 'AuditList',
  },
  {
    method: 'post',
    path: '/ops/session',
    operationId: 'opsSession',
    summary: 'Sets the short-lived ops session cookie (HttpOnly, SameSite=Strict, Path=/codec) the Temporal Web UI sends to the codec endpoint',
    tag: 'ops',
    security: 'ops',
    response: 'OpsSession',
  },
  { method: 'delete', path: '/ops/session', operationId: 'opsEndSession', summary: 'Clears the ops session cookie', tag: 'ops', security: 'ops', status: 204 },
  {
    method: 'post',
    path: '/codec/decode',
    operationId: 'codecDecode',
    summary: 'Temporal remote codec: decrypts payloads for ops (bearer token or ops session cookie); header X-Namespace',
    tag: 'ops',
    security: 'ops',
    request: 'CodecPayloads',
    response: 'CodecPayloads',
    errors: [413, 422],
  },
  {
    method: 'post',
    path: '/codec/encode',
    operationId: 'codecEncode',
    summary: 'Temporal remote codec: encrypts payloads for ops with the current key (signal or start input from the Temporal UI)',
    tag: 'ops',
    security: 'ops',
    request: 'CodecPayloads',
    response: 'CodecPayloads',
    errors: [413, 422],
  },
  { method: 'get', path: '/healthz', operationId: 'health', summary: 'Liveness', tag: 'service', security: 'none', response: 'application/json' },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'ready',
    summary: 'Readiness: Temporal and Kafka reachable',
    tag: 'service',
    security: 'none',
    response: 'application/json',
    errors: [503],
  },
  { method: 'get', path: '/metrics', operationId: 'metrics', summary: 'Prometheus metrics', tag: 'service', security: 'none', response: 'text/plain' },
];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });

function schemasDocument(named: Record<string, z.ZodType>): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io: 'input', unrepresentable: 'any' }) as {
    schemas: Record<string, Json>;
  };
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema;
    out[id] = rest;
  }
  return out;
}

function parameters(op: Operation): Json[] {
  const params: Json[] = [];
  for (const m of op.path.matchAll(/\{(\w+)\}/g)) {
    params.push({ name: m[1], in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } });
  }
  if (op.query) {
    const schema = z.toJSONSchema(op.query, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, s] of Object.entries(schema.properties ?? {}))
      params.push({ name, in: 'query', required: (schema.required ?? []).includes(name), schema: s });
  }
  if (op.idempotent) {
    params.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'Makes a retry safe: the first answer (any status below 500) is stored for 24 hours per vendor and key, and a retry with the same key and the same request (method, path, JSON body) gets it again, with `Idempotent-Replayed: true`, and has no second effect. The same key on another request is refused (422 `idempotency-key-reused`); a retry while the first request still runs gets 409 `idempotency-key-in-use`.',
      schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,128}$' },
    });
  }
  return params;
}

function security(s: Security): Json[] {
  if (s === 'none') return [];
  if (s === 'vendor') return [{ vendorKey: [] }];
  if (s === 'ops') return [{ opsToken: [] }];
  if (s === 'agency') return [{ agencySignature: [] }];
  return [{ vendorKey: [] }, { opsToken: [] }];
}

function responseContent(name: string | undefined): Json | undefined {
  if (!name) return undefined;
  if (name.includes('/')) return { [name]: { schema: {} } };
  return { 'application/json': { schema: ref(name) } };
}

/** How an agency signs its requests (the `agencySignature` security scheme). */
export const AGENCY_SIGNATURE_SCHEME = [
  'HTTP Message Signatures (RFC 9421) with the Ed25519 key the agency registry pins for the agency; no shared secret.',
  'Send `Signature-Input: preflight=("@method" "@target-uri");created=<unix s>;keyid="<agency id>";alg="ed25519";nonce="<16-128 random URL-safe chars>"`',
  'and `Signature: preflight=:<base64 Ed25519 signature of the RFC 9421 signature base>:`.',
  '`@target-uri` is the absolute URI as sent (scheme, host[:port], path and query). A request with a body also covers `"content-digest"` and sends',
  '`Content-Digest: sha-256=:<base64>:` (RFC 9530). `keyid` is the agency id; any of its pinned keys may sign.',
  'A signature is fresh for 300 s after `created` (30 s of clock skew ahead allowed) and each nonce is accepted once:',
  'every request gets a new signature. Refusals are 401 with `code` unsigned, malformed-signature, unknown-key, bad-signature,',
  'stale-signature, replayed-nonce or digest-mismatch, and an `Accept-Signature` header; every refusal is audited.',
  'An agency reads only its own assessments: anything else is 404, like an unknown id. `preflight agency assessments|token` sign for you.',
].join(' ');

/** Authenticated operations that make no Temporal call, so the request deadline's 503 never applies to them. */
const WITHOUT_TEMPORAL: ReadonlySet<string> = new Set([
  'opsAudit',
  'opsSession',
  'opsEndSession',
  'codecDecode',
  'codecEncode',
  'opsListDeadLetters',
  'opsReplayDeadLetter',
]);

/** The whole OpenAPI 3.1 document. `operations` lets the api add routes other modules own (e.g. webhook endpoints). */
export function openApiDocument(options: { serverUrl?: string; extraOperations?: Operation[]; extraSchemas?: Record<string, z.ZodType> } = {}): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const op of [...API_OPERATIONS, ...(options.extraOperations ?? [])]) {
    const responses: Record<string, Json> = {
      [String(op.status ?? 200)]: { description: 'OK', ...(responseContent(op.response) ? { content: responseContent(op.response) } : {}) },
    };
    if (op.security === 'agency') {
      responses['401'] = problemResponse(
        'Signature refused; `code` says why: unsigned, malformed-signature, unknown-key, bad-signature, stale-signature, replayed-nonce, digest-mismatch',
      );
    } else if (op.security !== 'none') {
      responses['401'] = problemResponse('No or unknown credential');
      responses['403'] = problemResponse('This credential may not use this route');
    }
    if (op.path.includes('{')) responses['404'] = problemResponse('Unknown, or not visible to the caller (the two are indistinguishable)');
    // Any method but GET may carry a body, and the api parses one whenever it is sent (json-body.ts).
    if (op.method !== 'get') {
      responses['400'] = problemResponse(
        'The body is not JSON (`invalid-json`), or holds a forbidden key (`forbidden-key`: `__proto__` or `constructor.prototype`)',
      );
      responses['413'] = problemResponse('Body too large');
      responses['415'] = problemResponse('A body of another media type than application/json (`text/plain` included)');
    }
    if (op.request) responses['422'] = problemResponse('Invalid input');
    // Routes that call Temporal answer 503 with Retry-After when it does not answer within the request's deadline.
    if (op.security !== 'none' && !WITHOUT_TEMPORAL.has(op.operationId)) {
      responses['503'] = problemResponse('Temporal did not answer in time; retry after Retry-After seconds');
    }
    for (const code of op.errors ?? []) {
      responses[String(code)] = problemResponse(code === 409 ? 'Not allowed in the current state' : code === 503 ? 'Not ready' : 'Refused');
    }
    if (op.idempotent) {
      responses['409'] = problemResponse(
        op.errors?.includes(409)
          ? 'Not allowed in the current state; or (`idempotency-key-in-use`) the first request with this Idempotency-Key is still running'
          : 'The first request with this Idempotency-Key is still running (`idempotency-key-in-use`)',
      );
      responses['422'] = problemResponse('Invalid input; or (`idempotency-key-reused`) the Idempotency-Key was first used for another request');
    }
    (paths[op.path] ??= {})[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      security: security(op.security),
      parameters: parameters(op),
      ...(op.request ? { requestBody: { required: true, content: { 'application/json': { schema: ref(op.request) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Preflight API',
      version: '1.0.0',
      description:
        'Vendor and ops API of Preflight, the orchestration of voluntary pre-release evaluations of frontier AI models. ' +
        'Advisory and non-gating: nothing here approves, blocks or delays a release. Errors are application/problem+json (RFC 9457).',
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    tags: [
      { name: 'vendor', description: 'Vendor API (Authorization: Bearer <vendor key>)' },
      { name: 'agency', description: "Agency API (requests signed with the agency's registered Ed25519 key, RFC 9421)" },
      { name: 'ops', description: 'Ops API (Authorization: Bearer <ops token>)' },
      { name: 'service', description: 'Health, readiness and metrics' },
    ],
    paths,
    components: {
      securitySchemes: {
        vendorKey: { type: 'http', scheme: 'bearer', description: 'A vendor API key; stored by Preflight only as a SHA-256 hash' },
        opsToken: { type: 'http', scheme: 'bearer', description: 'An ops token; stored only as a SHA-256 hash' },
        agencySignature: { type: 'apiKey', in: 'header', name: 'Signature', description: AGENCY_SIGNATURE_SCHEME },
      },
      schemas: schemasDocument({ ...OPENAPI_SCHEMAS, ...(options.extraSchemas ?? {}) }),
    },
  };
}

export type { Operation as OpenApiOperation };
