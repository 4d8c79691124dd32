import type { temporal } from '@temporalio/proto';
import {
  acknowledgeUpdate,
  confirmMitigationUpdate,
  rejectMitigationUpdate,
  AGENCY_TERMINAL_STATUSES,
  changeReleaseDateUpdate,
  declareReleasedUpdate,
  parseAgencyWorkflowId,
  resubmitUpdate,
  respondToFindingUpdate,
  respondToInfoRequestUpdate,
  SUBMISSION_EVENT_TYPES,
  withdrawUpdate,
} from '../workflows/submission/contract';
import { AGENCY_STATUS_UPDATES, agencyReportSignal, submitFindingUpdate } from '../workflows/assessment/contract';
import type { AgencyStatus } from '../wire/enums';
import { iso, SECOND_MS } from '../workflows/shared/time';

type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;

/** One line of the readable history: who did what, when, and the state it led to. Ids, enums and times only. */
export interface TimelineEntry {
  at: string;
  /** `vendor:<id>`, `agency:<id>` or `system` (Preflight itself: timers, screening, consolidation, deliveries). */
  actor: string;
  kind: string;
  summary: string;
  /** The workflow whose history the fact comes from. */
  workflowId: string;
  /** Its event id in that history. */
  eventId: number;
  agencyId?: string;
  /** The state it led to: the submission's, or the agency's for agency entries, or the notice. */
  status?: string;
  refs?: Record<string, string>;
}

export interface AgencyLane {
  agencyId: string;
  status: string;
  invitedAt?: string;
  startedAt?: string;
  endedAt?: string;
  /** Review-clock holds: an information request waiting on the vendor. */
  holds: Array<{ from: string; to?: string; requestId?: string }>;
}

export interface Timeline {
  submissionId: string;
  entries: TimelineEntry[];
  lanes: { window?: { opensAt: string; closesAt: string }; agencies: AgencyLane[] };
}

/** A webhook delivery as the console shows it (from the delivery workflow's state). */
export interface DeliveryFacts {
  eventId: string;
  eventType: string;
  endpointId: string;
  status: string;
  attempts: Array<{ attempt: number; at: string; outcome: string; status?: number }>;
}

export interface TimelineInput {
  submissionId: string;
  /** The `submission/<id>` history: the backbone. */
  submission: History;
  /** `submission/<id>/agency/<agencyId>` histories, keyed by workflow id; they give each agency command's id. */
  agencies?: Record<string, History>;
  deliveries?: DeliveryFacts[];
}

const EVENT = {
  started: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
  completed: 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
  failed: 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED',
  terminated: 'EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED',
  canceled: 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED',
  timedOut: 'EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT',
  continued: 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW',
  updateAccepted: 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED',
  updateCompleted: 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED',
  activityScheduled: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
  activityFailed: 'EVENT_TYPE_ACTIVITY_TASK_FAILED',
  taskStarted: 'EVENT_TYPE_WORKFLOW_TASK_STARTED',
  signaled: 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED',
} as const;

// Numeric values of the EventType enum (temporal/api/enums/v1/event_type.proto), so this module needs no proto runtime.
const EVENT_TYPE_NUMBERS: Record<number, string> = {
  1: EVENT.started,
  2: EVENT.completed,
  3: EVENT.failed,
  4: EVENT.timedOut,
  6: EVENT.taskStarted,
  10: EVENT.activityScheduled,
  13: EVENT.activityFailed,
  21: EVENT.canceled,
  26: EVENT.signaled,
  27: EVENT.terminated,
  28: EVENT.continued,
  41: EVENT.updateAccepted,
  43: EVENT.updateCompleted,
};

function typeName(event: HistoryEvent): string {
  const t = event.eventType as unknown;
  if (typeof t === 'number') return EVENT_TYPE_NUMBERS[t] ?? `EVENT_TYPE_${t}`;
  return String(t ?? '');
}

function eventTime(event: HistoryEvent): string {
  const ts = event.eventTime as { seconds?: unknown; nanos?: unknown } | null | undefined;
  const seconds = Number(ts?.seconds ?? 0);
  const nanos = Number(ts?.nanos ?? 0);
  return iso(seconds * SECOND_MS + Math.floor(nanos / 1e6));
}

function text(bytes: Uint8Array | string | null | undefined): string {
  if (bytes === null || bytes === undefined) return '';
  return typeof bytes === 'string' ? Buffer.from(bytes, 'base64').toString('utf8') : Buffer.from(bytes).toString('utf8');
}

/** Decodes a plain JSON payload; anything else (encrypted by a codec, binary) is not read. */
export function decodePayload(payload: Payload | null | undefined): unknown {
  if (!payload) return undefined;
  const encoding = text(payload.metadata?.encoding as Uint8Array | undefined);
  if (encoding !== 'json/plain') return undefined;
  try {
    return JSON.parse(text(payload.data as Uint8Array | undefined));
  } catch {
    return undefined;
  }
}

function args(payloads: { payloads?: Payload[] | null } | null | undefined): unknown[] {
  return (payloads?.payloads ?? []).map(decodePayload);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length <= 256 ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** Agency statuses the agency itself causes; the others come from Preflight (invitation, deadline) or the vendor. */
const AGENCY_CAUSED: ReadonlySet<string> = new Set(Object.keys(AGENCY_STATUS_UPDATES).filter((s) => s !== 'IN_PROGRESS'));
const AGENCY_TERMINAL: ReadonlySet<string> = new Set<AgencyStatus>(AGENCY_TERMINAL_STATUSES);

/** Agency update name → what it is called in the timeline and the command's Kafka type. */
const AGENCY_UPDATES: Record<string, string> = {
  acceptInvitation: 'accept',
  declineInvitation: 'decline',
  startAssessment: 'start',
  requestInfo: 'request-info',
  submitFinding: 'submit-finding',
  completeAssessment: 'complete',
};

interface AgencyCommandRef {
  updateId: string;
  name: string;
  at: string;
}

/** The accepted agency commands per agency and update name, in history order (the update id is the command's ce_id). */
function agencyCommands(histories: Record<string, History> | undefined): Map<string, AgencyCommandRef[]> {
  const out = new Map<string, AgencyCommandRef[]>();
  for (const [workflowId, history] of Object.entries(histories ?? {})) {
    const parsed = parseAgencyWorkflowId(workflowId);
    if (!parsed) continue;
    for (const event of history.events ?? []) {
      if (typeName(event) !== EVENT.updateAccepted) continue;
      const request = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
      const name = request?.input?.name ?? '';
      if (!(name in AGENCY_UPDATES)) continue;
      const key = `${parsed.agencyId}/${name}`;
      const list = out.get(key) ?? [];
      list.push({ updateId: request?.meta?.updateId ?? '', name, at: eventTime(event) });
      out.set(key, list);
    }
  }
  return out;
}

function vendorCommandSummary(name: string, input: Record<string, unknown>): { kind: string; summary: string; refs?: Record<string, string> } {
  switch (name) {
    case changeReleaseDateUpdate.name:
      return { kind: 'release-date', summary: `changed the planned release to ${str(input.plannedReleaseAt) ?? '(unreadable)'}` };
    case respondToInfoRequestUpdate.name:
      return { kind: 'info-response', summary: `answered information request ${str(input.requestId) ?? '?'}`, refs: { requestId: str(input.requestId) ?? '' } };
    case respondToFindingUpdate.name:
      return {
        kind: 'finding-response',
        summary: `responded ${str(input.response) ?? '?'} to finding ${str(input.findingId) ?? '?'}`,
        refs: { findingId: str(input.findingId) ?? '' },
      };
    case acknowledgeUpdate.name:
      return { kind: 'acknowledge', summary: 'acknowledged the results' };
    case confirmMitigationUpdate.name:
    case rejectMitigationUpdate.name:
      return {
        kind: 'mitigation-review',
        summary: `${name === confirmMitigationUpdate.name ? 'confirmed' : 'rejected'} the mitigation of finding ${str(input.findingId) ?? '?'}`,
        refs: { findingId: str(input.findingId) ?? '' },
      };
    case withdrawUpdate.name:
      return { kind: 'withdraw', summary: 'withdrew the submission' };
    case declareReleasedUpdate.name:
      return { kind: 'release', summary: `declared the model released${str(input.releasedAt) ? ` at ${str(input.releasedAt)}` : ''}` };
    case resubmitUpdate.name:
      return { kind: 'resubmit', summary: 'resubmitted corrected details' };
    default:
      return { kind: 'command', summary: `sent ${name}` };
  }
}

/**
 * Builds the readable timeline of one submission from its Temporal event histories. Pure: no I/O, deterministic for
 * the same histories. The backbone is the parent's history: its start (the vendor's submission), the vendor's
 * updates, the status events it published (each state change, finding, notice), the grants and revocations of
 * access and its end. Agency histories add the id of each agency command; deliveries add webhook attempts.
 * Only ids, enums and times are read: answers, questions and finding texts never reach the timeline.
 */
export function buildTimeline(input: TimelineInput): Timeline {
  const { submissionId } = input;
  const parentId = `submission/${submissionId}`;
  const entries: TimelineEntry[] = [];
  const commands = agencyCommands(input.agencies);
  const takeCommand = (agencyId: string, name: string): AgencyCommandRef | undefined => commands.get(`${agencyId}/${name}`)?.shift();
  const lanes = new Map<string, AgencyLane>();
  const lane = (agencyId: string): AgencyLane => {
    let l = lanes.get(agencyId);
    if (!l) {
      l = { agencyId, status: 'INVITED', holds: [] };
      lanes.set(agencyId, l);
    }
    return l;
  };
  let window: { opensAt: string; closesAt: string } | undefined;
  let vendorId = '?';
  let submissionStatus = 'RECEIVED';
  const pendingUpdates = new Map<string, TimelineEntry>();
  // Workflow code runs at its task's start time: updates and scheduled activities are dated by it, not by the later
  // moment the task's results were recorded.
  let taskTime: string | undefined;

  for (const event of input.submission.events ?? []) {
    const at = eventTime(event);
    const eventId = Number(event.eventId ?? 0);
    const base = { workflowId: parentId, eventId };
    switch (typeName(event)) {
      case EVENT.taskStarted:
        taskTime = at;
        break;
      case EVENT.started: {
        const a = event.workflowExecutionStartedEventAttributes;
        const first = obj(args(a?.input)[0]);
        vendorId = str(first.vendorId) ?? vendorId;
        const model = obj(first.model);
        const agencies = Array.isArray(first.requestedAgencies) ? first.requestedAgencies.filter((x): x is string => typeof x === 'string') : [];
        entries.push({
          ...base,
          at,
          actor: `vendor:${vendorId}`,
          kind: 'submitted',
          summary: `submitted ${str(model.name) ?? 'a model'}${str(model.version) ? ` ${str(model.version)}` : ''} for ${agencies.join(', ') || 'no agency'}`,
          status: 'RECEIVED',
          ...(str(first.plannedReleaseAt) ? { refs: { plannedReleaseAt: str(first.plannedReleaseAt)! } } : {}),
        });
        break;
      }
      case EVENT.updateAccepted: {
        const request = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
        const name = request?.input?.name ?? '';
        const updateInput = obj(args(request?.input?.args)[0]);
        const described = vendorCommandSummary(name, updateInput);
        // Mitigation reviews are the agencies' commands on the submission; every other update there is the vendor's.
        const byAgency = name === confirmMitigationUpdate.name || name === rejectMitigationUpdate.name;
        const entry: TimelineEntry = {
          ...base,
          at: taskTime ?? at,
          actor: byAgency ? `agency:${str(updateInput.agencyId) ?? '?'}` : `vendor:${vendorId}`,
          ...(byAgency && str(updateInput.agencyId) ? { agencyId: str(updateInput.agencyId)! } : {}),
          kind: described.kind,
          summary: described.summary,
          status: submissionStatus,
          refs: { ...(described.refs ?? {}), updateId: request?.meta?.updateId ?? '' },
        };
        entries.push(entry);
        pendingUpdates.set(request?.meta?.updateId ?? '', entry);
        break;
      }
      case EVENT.updateCompleted: {
        const a = event.workflowExecutionUpdateCompletedEventAttributes;
        const entry = pendingUpdates.get(a?.meta?.updateId ?? '');
        if (entry && a?.outcome?.failure) entry.summary += ` (failed: ${String(a.outcome.failure.message ?? '').slice(0, 120)})`;
        const result = obj(args(a?.outcome?.success)[0]);
        if (entry && str(result.status)) entry.status = str(result.status);
        break;
      }
      case EVENT.activityScheduled: {
        const a = event.activityTaskScheduledEventAttributes;
        const name = a?.activityType?.name ?? '';
        const [first, second] = args(a?.input);
        if (name === 'grantAccess' || name === 'revokeAccess') {
          const g = obj(first);
          const agencyId = str(g.agencyId) ?? '?';
          entries.push({
            ...base,
            at: taskTime ?? at,
            actor: 'system',
            kind: name === 'grantAccess' ? 'grant' : 'revoke',
            summary: name === 'grantAccess' ? `granted ${agencyId} access until ${str(g.expiresAt) ?? '?'}` : `revoked ${agencyId}'s access`,
            agencyId,
            refs: { grantId: str(g.grantId) ?? '' },
          });
        } else if (name === 'setCaseModelRelease') {
          const r = obj(first);
          entries.push({
            ...base,
            at: taskTime ?? at,
            actor: 'system',
            kind: 'case-release',
            summary: `told case ${str(r.caseId) ?? '?'} the model's release: ${str(r.releaseAt) ?? '?'}`,
            refs: { caseId: str(r.caseId) ?? '', releaseAt: str(r.releaseAt) ?? '' },
          });
        } else if (name === 'publishEvent') {
          const statusEvent = obj(second);
          // Publishing is chained, so it is scheduled later than the change: the event's own (workflow) time is when it happened.
          const entry = statusEntry(str(statusEvent.type) ?? '', obj(statusEvent.data), str(statusEvent.time) ?? taskTime ?? at);
          if (entry) entries.push({ ...base, ...entry, refs: { ...(entry.refs ?? {}), eventId: str(statusEvent.id) ?? '' } });
        }
        break;
      }
      case EVENT.signaled: {
        // An agency's third-party finding reached its clearinghouse case, or failed to (reported by the assessment).
        const a = event.workflowExecutionSignaledEventAttributes;
        if (a?.signalName !== agencyReportSignal.name) break;
        const report = obj(args(a.input)[0]);
        if (report.kind !== 'CASE_ROUTING') break;
        const routing = obj(report.routing);
        const agencyId = str(report.agencyId) ?? '?';
        const findingId = str(report.findingId) ?? '?';
        const routed = routing.status === 'ROUTED';
        entries.push({
          ...base,
          at: str(report.at) ?? at,
          actor: 'system',
          kind: routed ? 'case-routed' : 'case-routing-failed',
          summary: routed
            ? `${agencyId}: finding ${findingId} reached clearinghouse case ${str(routing.caseId) ?? '?'} (${str(routing.outcome) ?? '?'})`
            : `${agencyId}: finding ${findingId} did not reach the clearinghouse: ${str(routing.reason) ?? 'unknown reason'}`,
          agencyId,
          status: str(routing.status),
          refs: { findingId, ...(str(routing.caseId) ? { caseId: str(routing.caseId)! } : {}) },
        });
        break;
      }
      case EVENT.completed:
        entries.push({ ...base, at, actor: 'system', kind: 'ended', summary: `the submission workflow ended (${submissionStatus})`, status: submissionStatus });
        break;
      case EVENT.failed:
      case EVENT.terminated:
      case EVENT.canceled:
      case EVENT.timedOut:
        entries.push({
          ...base,
          at,
          actor: 'system',
          kind: 'ended',
          summary: `the submission workflow ${typeName(event).replace('EVENT_TYPE_WORKFLOW_EXECUTION_', '').toLowerCase().replace('_', ' ')}`,
        });
        break;
      default:
        break;
    }
  }

  function statusEntry(type: string, data: Record<string, unknown>, at: string): Omit<TimelineEntry, 'workflowId' | 'eventId'> | undefined {
    const agencyId = str(data.agencyId);
    switch (type) {
      case SUBMISSION_EVENT_TYPES.submissionStatusChanged: {
        const status = str(data.status) ?? '?';
        const previous = str(data.previousStatus);
        if (!previous) return undefined; // the initial RECEIVED is the `submitted` entry
        submissionStatus = status;
        const byVendor = status === 'WITHDRAWN' ? str(data.endReason) === 'VENDOR_WITHDREW' : status === 'RELEASED';
        return {
          at,
          actor: byVendor ? `vendor:${vendorId}` : 'system',
          kind: 'status',
          summary: `submission ${previous} → ${status}${str(data.endReason) ? ` (${str(data.endReason)})` : ''}`,
          status,
        };
      }
      case SUBMISSION_EVENT_TYPES.accessWindowChanged:
        window = { opensAt: str(data.windowOpensAt) ?? at, closesAt: str(data.windowClosesAt) ?? at };
        return { at, actor: 'system', kind: 'window', summary: `access window ${window.opensAt} → ${window.closesAt}`, status: submissionStatus };
      case SUBMISSION_EVENT_TYPES.assessmentStatusChanged: {
        if (!agencyId) return undefined;
        const status = str(data.status) ?? '?';
        const previous = str(data.previousStatus);
        const l = lane(agencyId);
        l.status = status;
        if (status === 'INVITED') l.invitedAt ??= at;
        if (status === 'IN_PROGRESS') l.startedAt ??= at;
        if (AGENCY_TERMINAL.has(status)) l.endedAt ??= at;
        const openHold = l.holds.find((h) => h.to === undefined);
        if (openHold && status !== 'INFO_REQUESTED') openHold.to = at;
        if (status === 'INFO_REQUESTED') l.holds.push({ from: at, ...(str(data.infoRequestId) ? { requestId: str(data.infoRequestId)! } : {}) });
        const byAgency = AGENCY_CAUSED.has(status) || (status === 'IN_PROGRESS' && previous === 'ACCEPTED');
        const byVendorAnswer = status === 'IN_PROGRESS' && previous === 'INFO_REQUESTED';
        const command = byAgency ? takeCommand(agencyId, AGENCY_STATUS_UPDATES[status as AgencyStatus] ?? '') : undefined;
        const refs: Record<string, string> = {};
        if (str(data.infoRequestId)) refs.requestId = str(data.infoRequestId)!;
        if (command) refs.commandId = command.updateId;
        const what =
          status === 'INFO_REQUESTED'
            ? `requested information${refs.requestId ? ` (${refs.requestId})` : ''}`
            : byVendorAnswer
              ? `review clock resumed: information request answered`
              : `${previous ?? 'none'} → ${status}`;
        return {
          at,
          actor: byAgency ? `agency:${agencyId}` : byVendorAnswer ? `vendor:${vendorId}` : 'system',
          kind: status === 'INFO_REQUESTED' ? 'info-request' : 'agency-status',
          summary: `${agencyId}: ${what}`,
          agencyId,
          status,
          ...(Object.keys(refs).length ? { refs } : {}),
        };
      }
      case SUBMISSION_EVENT_TYPES.findingSubmitted: {
        if (!agencyId) return undefined;
        const command = takeCommand(agencyId, submitFindingUpdate.name);
        return {
          at,
          actor: `agency:${agencyId}`,
          kind: 'finding',
          summary: `${agencyId} submitted finding ${str(data.findingId) ?? '?'} (${str(data.severity) ?? '?'}${data.thirdPartyVulnerability === true ? ', third-party vulnerability' : ''})`,
          agencyId,
          status: str(data.severity),
          refs: { findingId: str(data.findingId) ?? '', ...(command ? { commandId: command.updateId } : {}) },
        };
      }
      case SUBMISSION_EVENT_TYPES.findingResponded:
        // The vendor's command entry says it already; this records that the response took effect.
        return undefined;
      case SUBMISSION_EVENT_TYPES.assessmentReminder:
        return {
          at,
          actor: 'system',
          kind: 'reminder',
          summary: `${agencyId ?? '?'}: reminder, ${String(data.hoursBefore)} h before ${str(data.deadline) ?? '?'}`,
          ...(agencyId ? { agencyId } : {}),
        };
      case SUBMISSION_EVENT_TYPES.assessmentDeadlineMissed:
        return {
          at,
          actor: 'system',
          kind: 'deadline-missed',
          summary: `${agencyId ?? '?'}: missed the deadline ${str(data.deadline) ?? '?'}`,
          ...(agencyId ? { agencyId } : {}),
        };
      case SUBMISSION_EVENT_TYPES.clearanceIssued:
        return {
          at,
          actor: 'system',
          kind: 'notice',
          summary: `advisory notice ${str(data.notice) ?? '?'} issued (${str(data.trigger) ?? '?'})`,
          status: str(data.notice),
        };
      default:
        return { at, actor: 'system', kind: 'event', summary: type };
    }
  }

  for (const d of input.deliveries ?? []) {
    for (const attempt of d.attempts) {
      entries.push({
        at: attempt.at,
        actor: 'system',
        kind: 'delivery',
        summary: `webhook ${d.eventType} to ${d.endpointId}: attempt ${attempt.attempt} ${attempt.outcome}${attempt.status ? ` (HTTP ${attempt.status})` : ''}`,
        workflowId: `delivery/${d.eventId}/${d.endpointId}`,
        eventId: 0,
        status: attempt.outcome,
        refs: { eventId: d.eventId, endpointId: d.endpointId },
      });
    }
  }

  // By time; at the same workflow instant a command precedes the changes it caused, and those precede the grants and
  // revocations scheduled with them (publishing is chained, so history order alone would put grants first). The sort
  // is stable, so history order decides the rest.
  const rank = (e: TimelineEntry) => (e.kind === 'grant' || e.kind === 'revoke' ? 2 : e.refs?.eventId || e.kind === 'delivery' ? 1 : 0);
  entries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || rank(a) - rank(b));
  return { submissionId, entries, lanes: { ...(window ? { window } : {}), agencies: [...lanes.values()] } };
}

/** The timeline as lines for a terminal. */
export function formatTimeline(timeline: Timeline): string {
  const lines = timeline.entries.map((e) => `${e.at}  ${e.actor.padEnd(18)} ${e.summary}${e.status ? `  [${e.status}]` : ''}`);
  return `${lines.join('\n')}\n`;
}
