import { temporal } from '@temporalio/proto';
import { buildTimeline, decodePayload, formatTimeline } from '../../clients/timeline';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const historyFromJSON = (h: object) => temporal.api.history.v1.History.fromObject(h);
const payload = (v: unknown) => ({ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify(v)) });
const t = (minute: number) => new Date(Date.UTC(2026, 10, 1, 12, minute)).toISOString();

let nextId = 0;
function ev(minute: number, eventType: string, attributes: Record<string, unknown>) {
  nextId += 1;
  return { eventId: String(nextId), eventTime: { seconds: Date.parse(t(minute)) / 1000, nanos: 0 }, eventType, ...attributes };
}
const publish = (minute: number, seq: number, type: string, data: Record<string, unknown>, time = t(minute)) =>
  ev(minute, 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED', {
    activityTaskScheduledEventAttributes: {
      activityId: String(seq),
      activityType: { name: 'publishEvent' },
      input: {
        payloads: [
          payload('submission'),
          payload({ id: `submission/s1/${seq}`, type, source: '/preflight/submissions', subject: 's1', sequence: seq, time, data }),
        ],
      },
    },
  });
const about = { submissionId: 's1', vendorId: 'acme' };
const vendorUpdate = (minute: number, updateId: string, name: string, arg: unknown) =>
  ev(minute, 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED', {
    workflowExecutionUpdateAcceptedEventAttributes: {
      protocolInstanceId: updateId,
      acceptedRequest: { meta: { updateId }, input: { name, args: { payloads: [payload(arg)] } } },
    },
  });

function parentHistory() {
  nextId = 0;
  return historyFromJSON({
    events: [
      ev(0, 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', {
        workflowExecutionStartedEventAttributes: {
          workflowType: { name: 'submissionWorkflow' },
          input: {
            payloads: [
              payload({
                ...about,
                model: { name: 'frontier-7', version: '7.0.1', versionHash: 'sha256:' + 'a'.repeat(64) },
                plannedReleaseAt: t(600),
                accessMethod: 'API',
                contacts: [{ name: 'Pat', email: 'pat@acme.example' }],
                requestedAgencies: ['nsa', 'cisa'],
              }),
            ],
          },
        },
      }),
      publish(0, 1, 'gov.preflight.submission.status-changed.v1', { ...about, status: 'RECEIVED', previousStatus: null, at: t(0) }),
      publish(1, 2, 'gov.preflight.submission.status-changed.v1', { ...about, status: 'SCREENING', previousStatus: 'RECEIVED', at: t(1) }),
      publish(1, 3, 'gov.preflight.submission.status-changed.v1', { ...about, status: 'ACCESS_PROVISIONING', previousStatus: 'SCREENING', at: t(1) }),
      publish(2, 4, 'gov.preflight.submission.access-window-changed.v1', { ...about, windowOpensAt: t(2), windowClosesAt: t(600), plannedReleaseAt: t(600) }),
      ev(2, 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED', {
        activityTaskScheduledEventAttributes: {
          activityId: 'g1',
          activityType: { name: 'grantAccess' },
          input: { payloads: [payload({ grantId: 's1.nsa.g1', submissionId: 's1', agencyId: 'nsa', expiresAt: t(600) })] },
        },
      }),
      publish(3, 5, 'gov.preflight.submission.status-changed.v1', { ...about, status: 'UNDER_ASSESSMENT', previousStatus: 'ACCESS_PROVISIONING', at: t(3) }),
      publish(3, 6, 'gov.preflight.assessment.status-changed.v1', { ...about, agencyId: 'nsa', status: 'INVITED', previousStatus: null, at: t(3) }),
      publish(3, 7, 'gov.preflight.assessment.status-changed.v1', { ...about, agencyId: 'cisa', status: 'INVITED', previousStatus: null, at: t(3) }),
      publish(5, 8, 'gov.preflight.assessment.status-changed.v1', { ...about, agencyId: 'nsa', status: 'ACCEPTED', previousStatus: 'INVITED', at: t(5) }),
      publish(6, 9, 'gov.preflight.assessment.status-changed.v1', { ...about, agencyId: 'nsa', status: 'IN_PROGRESS', previousStatus: 'ACCEPTED', at: t(6) }),
      publish(7, 10, 'gov.preflight.assessment.status-changed.v1', {
        ...about,
        agencyId: 'nsa',
        status: 'INFO_REQUESTED',
        previousStatus: 'IN_PROGRESS',
        infoRequestId: 'nsa-ir-1',
        at: t(7),
      }),
      vendorUpdate(9, 'u-answer', 'respondToInfoRequest', { requestId: 'nsa-ir-1', response: 'SECRET ANSWER TEXT' }),
      publish(9, 11, 'gov.preflight.assessment.status-changed.v1', {
        ...about,
        agencyId: 'nsa',
        status: 'IN_PROGRESS',
        previousStatus: 'INFO_REQUESTED',
        infoRequestId: 'nsa-ir-1',
        at: t(9),
      }),
      publish(10, 12, 'gov.preflight.finding.submitted.v1', {
        ...about,
        agencyId: 'nsa',
        findingId: 'nsa-f1',
        severity: 'HIGH',
        thirdPartyVulnerability: false,
        at: t(10),
      }),
      publish(11, 13, 'gov.preflight.assessment.status-changed.v1', {
        ...about,
        agencyId: 'nsa',
        status: 'FINDINGS_SUBMITTED',
        previousStatus: 'IN_PROGRESS',
        at: t(11),
      }),
      publish(12, 14, 'gov.preflight.assessment.status-changed.v1', { ...about, agencyId: 'cisa', status: 'DECLINED', previousStatus: 'INVITED', at: t(12) }),
      publish(12, 15, 'gov.preflight.submission.status-changed.v1', { ...about, status: 'CONSOLIDATING', previousStatus: 'UNDER_ASSESSMENT', at: t(12) }),
      ev(12, 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED', {
        activityTaskScheduledEventAttributes: {
          activityId: 'r1',
          activityType: { name: 'revokeAccess' },
          input: { payloads: [payload({ grantId: 's1.nsa.g1', submissionId: 's1', agencyId: 'nsa' })] },
        },
      }),
      publish(12, 16, 'gov.preflight.clearance.issued.v1', { ...about, notice: 'CONCERNS_NOTED', trigger: 'ALL_AGENCIES_DONE', agencies: [], at: t(12) }),
      publish(12, 17, 'gov.preflight.submission.status-changed.v1', { ...about, status: 'CLEARANCE_ISSUED', previousStatus: 'CONSOLIDATING', at: t(12) }),
      vendorUpdate(14, 'u-resp', 'respondToFinding', { findingId: 'nsa-f1', response: 'MITIGATED', note: 'SECRET NOTE' }),
      publish(14, 18, 'gov.preflight.finding.responded.v1', { ...about, agencyId: 'nsa', findingId: 'nsa-f1', response: 'MITIGATED', at: t(14) }),
      vendorUpdate(15, 'u-rel', 'declareReleased', {}),
      ev(15, 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED', {
        workflowExecutionUpdateCompletedEventAttributes: {
          meta: { updateId: 'u-rel' },
          outcome: { success: { payloads: [payload({ status: 'RELEASED', releasedAt: t(15), notice: 'CLEAR' })] } },
        },
      }),
      publish(15, 19, 'gov.preflight.submission.status-changed.v1', { ...about, status: 'RELEASED', previousStatus: 'CLEARANCE_ISSUED', at: t(15) }),
    ],
  });
}

function nsaHistory() {
  const upd = (minute: number, updateId: string, name: string) =>
    ev(minute, 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED', {
      workflowExecutionUpdateAcceptedEventAttributes: {
        acceptedRequest: { meta: { updateId }, input: { name, args: { payloads: [payload({ agencyId: 'nsa' })] } } },
      },
    });
  return historyFromJSON({
    events: [
      upd(5, 'cmd-accept', 'acceptInvitation'),
      upd(6, 'cmd-start', 'startAssessment'),
      upd(7, 'cmd-ask', 'requestInfo'),
      upd(10, 'cmd-finding', 'submitFinding'),
      upd(11, 'cmd-complete', 'completeAssessment'),
    ],
  });
}

describe('buildTimeline', () => {
  const timeline = buildTimeline({
    submissionId: 's1',
    submission: parentHistory(),
    agencies: { 'submission/s1/agency/nsa': nsaHistory() },
    deliveries: [
      {
        eventId: 'submission/s1/16',
        eventType: 'gov.preflight.clearance.issued.v1',
        endpointId: 'ep_abcdefgh',
        status: 'DELIVERED',
        attempts: [{ attempt: 1, at: t(13), outcome: 'DELIVERED', status: 200 }],
      },
    ],
  });

  it('starts with the vendor submitting and says who did each thing', () => {
    const first = timeline.entries[0]!;
    expect(first).toMatchObject({ actor: 'vendor:acme', kind: 'submitted', status: 'RECEIVED' });
    expect(first.summary).toContain('frontier-7 7.0.1');
    expect(first.summary).toContain('nsa, cisa');
    const byKind = (kind: string) => timeline.entries.filter((e) => e.kind === kind);
    expect(byKind('info-request')).toEqual([
      expect.objectContaining({
        actor: 'agency:nsa',
        status: 'INFO_REQUESTED',
        refs: expect.objectContaining({ requestId: 'nsa-ir-1', commandId: 'cmd-ask' }),
      }),
    ]);
    expect(byKind('info-response')[0]).toMatchObject({ actor: 'vendor:acme', refs: { requestId: 'nsa-ir-1', updateId: 'u-answer' } });
    expect(byKind('finding')[0]).toMatchObject({ actor: 'agency:nsa', status: 'HIGH', refs: { findingId: 'nsa-f1', commandId: 'cmd-finding' } });
    expect(byKind('notice')[0]).toMatchObject({ actor: 'system', status: 'CONCERNS_NOTED' });
    expect(byKind('grant')[0]).toMatchObject({ agencyId: 'nsa', refs: { grantId: 's1.nsa.g1' } });
    expect(byKind('revoke')[0]).toMatchObject({ agencyId: 'nsa', refs: { grantId: 's1.nsa.g1' } });
    expect(byKind('delivery')[0]!.summary).toContain('DELIVERED (HTTP 200)');
  });

  it('attributes agency commands to the agency with their command ids, and system steps to the system', () => {
    const nsa = timeline.entries.filter((e) => e.kind === 'agency-status' && e.agencyId === 'nsa');
    expect(nsa.map((e) => [e.actor, e.status, e.refs?.commandId])).toEqual([
      ['system', 'INVITED', undefined],
      ['agency:nsa', 'ACCEPTED', 'cmd-accept'],
      ['agency:nsa', 'IN_PROGRESS', 'cmd-start'],
      ['vendor:acme', 'IN_PROGRESS', undefined],
      ['agency:nsa', 'FINDINGS_SUBMITTED', 'cmd-complete'],
    ]);
    expect(timeline.entries.find((e) => e.kind === 'status' && e.status === 'CONSOLIDATING')!.actor).toBe('system');
    expect(timeline.entries.find((e) => e.kind === 'status' && e.status === 'RELEASED')!.actor).toBe('vendor:acme');
  });

  it('gives the state each vendor command led to', () => {
    expect(timeline.entries.find((e) => e.kind === 'release')).toMatchObject({ status: 'RELEASED' });
    expect(timeline.entries.find((e) => e.kind === 'finding-response')).toMatchObject({ status: 'CLEARANCE_ISSUED', refs: { findingId: 'nsa-f1' } });
  });

  it('draws lanes: the window, each agency clock and its holds', () => {
    expect(timeline.lanes.window).toEqual({ opensAt: t(2), closesAt: t(600) });
    const nsa = timeline.lanes.agencies.find((a) => a.agencyId === 'nsa')!;
    expect(nsa).toMatchObject({ status: 'FINDINGS_SUBMITTED', invitedAt: t(3), startedAt: t(6), endedAt: t(11) });
    expect(nsa.holds).toEqual([{ from: t(7), to: t(9), requestId: 'nsa-ir-1' }]);
    expect(timeline.lanes.agencies.find((a) => a.agencyId === 'cisa')).toMatchObject({ status: 'DECLINED', endedAt: t(12), holds: [] });
  });

  it('is ordered by time and never copies answers, notes or other free text', () => {
    const times = timeline.entries.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const all = JSON.stringify(timeline) + formatTimeline(timeline);
    expect(all).not.toContain('SECRET');
    expect(all).not.toContain('pat@acme.example');
  });

  it('reports a failed vendor command and the workflow end', () => {
    const start = (temporal.api.history.v1.History.toObject(parentHistory(), { enums: String, bytes: String, longs: Number }).events ?? []).slice(0, 1);
    const failed = buildTimeline({
      submissionId: 's1',
      submission: historyFromJSON({
        events: [
          ...start,
          vendorUpdate(20, 'u-w', 'withdraw', {}),
          ev(20, 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED', {
            workflowExecutionUpdateCompletedEventAttributes: {
              meta: { updateId: 'u-w' },
              outcome: { failure: { message: 'The submission is being withdrawn.' } },
            },
          }),
          ev(21, 'EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED', { workflowExecutionTerminatedEventAttributes: { reason: 'ops' } }),
        ],
      }),
    });
    expect(failed.entries[0]).toMatchObject({ kind: 'submitted', actor: 'vendor:acme' });
    expect(failed.entries.find((e) => e.kind === 'withdraw')!.summary).toContain('failed: The submission is being withdrawn.');
    expect(failed.entries.at(-1)).toMatchObject({ kind: 'ended', actor: 'system' });
    expect(failed.entries.at(-1)!.summary).toContain('terminated');
  });

  it('does not read payloads it cannot decode (e.g. encrypted by a codec)', () => {
    expect(decodePayload({ metadata: { encoding: Buffer.from('binary/encrypted') }, data: Buffer.from('xx') })).toBeUndefined();
    expect(decodePayload({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"a":1}') })).toEqual({ a: 1 });
  });
});

describe('buildTimeline mitigation reviews', () => {
  it('attributes a mitigation review on the submission to the reviewing agency, without its note', () => {
    nextId = 0;
    const history = temporal.api.history.v1.History.fromObject({
      events: [
        ...(temporal.api.history.v1.History.toObject(parentHistory(), { enums: String, bytes: String, longs: Number }).events ?? []).slice(0, 1),
        vendorUpdate(30, 'nsa-cmd-9', 'confirmMitigation', { agencyId: 'nsa', findingId: 'nsa-f1', note: 'SECRET REVIEW NOTE' }),
      ],
    });
    const entry = buildTimeline({ submissionId: 's1', submission: history }).entries.at(-1)!;
    expect(entry).toMatchObject({ actor: 'agency:nsa', agencyId: 'nsa', kind: 'mitigation-review', summary: 'confirmed the mitigation of finding nsa-f1' });
    expect(JSON.stringify(entry)).not.toMatch(/SECRET/);
  });
});

describe('buildTimeline dates', () => {
  it('dates updates and grants by their workflow task, and status changes by their own time, so causes precede effects', () => {
    nextId = 0;
    const history = temporal.api.history.v1.History.fromObject({
      events: [
        ...(temporal.api.history.v1.History.toObject(parentHistory(), { enums: String, bytes: String, longs: Number }).events ?? []).slice(0, 1),
        ev(20, 'EVENT_TYPE_WORKFLOW_TASK_STARTED', { workflowTaskStartedEventAttributes: {} }),
        vendorUpdate(22, 'u-resp', 'respondToFinding', { findingId: 'nsa-f1', response: 'MITIGATED' }),
        ev(22, 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED', {
          activityTaskScheduledEventAttributes: {
            activityId: 'g9',
            activityType: { name: 'grantAccess' },
            input: { payloads: [payload({ grantId: 's1.nsa.g9', submissionId: 's1', agencyId: 'nsa', expiresAt: t(600) })] },
          },
        }),
        // Scheduled two minutes late (publishing is chained), about a change made at minute 20.
        publish(24, 20, 'gov.preflight.clearance.issued.v1', { ...about, notice: 'CLEAR', trigger: 'ALL_AGENCIES_DONE', agencies: [], at: t(20) }, t(20)),
      ],
    });
    const tl = buildTimeline({ submissionId: 's1', submission: history });
    expect(tl.entries.map((e) => [e.kind, e.at])).toEqual([
      ['submitted', t(0)],
      ['finding-response', t(20)],
      ['notice', t(20)],
      ['grant', t(20)],
    ]);
  });
});
