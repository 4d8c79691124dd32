/**
 * The agency inbox as the submission workflow produces it (time-skipping server): each agency hears only of its own
 * assessment, in order, with ids `submission/<id>/inbox/<n>`, and every event passes the catalog on its way to the
 * agency's own topic.
 */
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createLifecycleActivities } from '../../activities/lifecycle';
import { createPublisherActivities } from '../../activities/publisher';
import { InMemoryEventPublisher } from '../../events/publisher';
import { encodeStatusEvent } from '../../events/producer';
import { createLogger } from '../../infra/logger';
import { AGENCY_INBOX_EVENT_TYPES as T } from '../../workflows/shared/agency-inbox';
import { DAY_MS } from '../../workflows/shared/time';
import { completeAssessmentUpdate, declineInvitationUpdate, requestInfoUpdate, submitFindingUpdate } from '../../workflows/assessment/contract';
import {
  agencyWorkflowId,
  changeReleaseDateUpdate,
  respondToFindingUpdate,
  respondToInfoRequestUpdate,
  submissionWorkflowId,
} from '../../workflows/submission/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import {
  RecordingAccessBroker,
  finding,
  registerSearchAttributes,
  submissionHandle,
  submissionInput,
  waitFor,
  waitForAgency,
  waitForStatus,
} from '../helpers/lifecycle';
import { acceptInvitationUpdate, startAssessmentUpdate } from '../../workflows/assessment/contract';
import { createTimeSkippingEnv, type TimeSkippingEnv } from '../helpers/time-skipping';
import '../helpers/quiet-runtime';

jest.setTimeout(240_000);

const taskQueue = 'agency-inbox-ts';
let ts: TimeSkippingEnv;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const publisher = new InMemoryEventPublisher();
let cmd = 0;

beforeAll(async () => {
  ts = await createTimeSkippingEnv();
  client = ts.env.client;
  await registerSearchAttributes(ts.env);
  const logger = createLogger({ level: 'silent' });
  const domains: Record<string, string[]> = { nsa: ['offensive-cyber'], cisa: ['critical-infrastructure'] };
  worker = await Worker.create({
    connection: ts.env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: {
      ...createPublisherActivities({ publisher, agencyDomains: (a) => domains[a] ?? [] }),
      ...createLifecycleActivities({ logger, accessBroker: new RecordingAccessBroker(), publisher }),
      async openClearinghouseCase() {
        return { caseId: 'case/test', outcome: 'OPENED' };
      },
      async setCaseModelRelease() {
        return undefined;
      },
    },
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await ts?.teardown();
});

async function agency<R>(submissionId: string, agencyId: string, update: { name: string }, body: object = {}): Promise<R> {
  cmd += 1;
  return client.workflow
    .getHandle(agencyWorkflowId(submissionId, agencyId))
    .executeUpdate(update.name, { args: [{ agencyId, ...body }], updateId: `inbox-ce-${cmd}` }) as Promise<R>;
}

const types = (agencyId: string, submissionId: string) => publisher.inbox(agencyId, submissionId).map((e) => e.type);

it('each agency hears of its invitation, grants, window move, answers, responses, claimed mitigations and its end, in order', async () => {
  const now = await ts.env.currentTimeMs();
  const input = submissionInput(now, 20, { requestedAgencies: ['nsa', 'cisa'] });
  const id = input.submissionId;
  const handle = await client.workflow.start(submissionWorkflow, { taskQueue, workflowId: submissionWorkflowId(id), args: [input] });
  try {
    const view = await waitForStatus(client, id, 'UNDER_ASSESSMENT');
    await waitFor(
      async () => types('cisa', id),
      (t) => t.length === 2,
      'the invitation and the grant in the cisa inbox',
    );
    const [invited, granted] = publisher.inbox('nsa', id);
    expect(invited).toMatchObject({
      id: `${submissionWorkflowId(id)}/inbox/1`,
      type: T.invited,
      subject: id,
      source: '/preflight/agency-inbox',
      data: {
        submissionId: id,
        agencyId: 'nsa',
        vendorId: input.vendorId,
        model: input.model,
        windowOpensAt: view.window!.opensAt,
        windowClosesAt: view.window!.closesAt,
        domains: ['offensive-cyber'],
      },
    });
    const nsaGrant = view.activeGrants.find((g) => g.agencyId === 'nsa')!;
    expect(granted).toMatchObject({ type: T.accessGranted, data: { agencyId: 'nsa', grantId: nsaGrant.grantId, expiresAt: nsaGrant.expiresAt } });
    expect(publisher.inbox('cisa', id)[0]!.data).toMatchObject({ agencyId: 'cisa', domains: ['critical-infrastructure'] });

    await agency(id, 'nsa', acceptInvitationUpdate);
    await agency(id, 'nsa', startAssessmentUpdate);
    const ir = await agency<{ requestId: string }>(id, 'nsa', requestInfoUpdate, { question: 'QUESTION-MARKER' });
    await waitFor(
      () => handle.query('submissionState') as Promise<{ openInfoRequests: unknown[] }>,
      (v) => v.openInfoRequests.length === 1,
      'open info request',
    );
    await handle.executeUpdate(respondToInfoRequestUpdate, { args: [{ requestId: ir.requestId, response: 'ANSWER-MARKER' }] });
    await waitForAgency(client, id, 'nsa', 'IN_PROGRESS');

    // The vendor moves the release earlier: the window shrinks, both agencies hear of it, and grants are re-issued.
    const opens = Date.parse(view.window!.opensAt);
    const moved = await handle.executeUpdate(changeReleaseDateUpdate, { args: [{ plannedReleaseAt: new Date(opens + 15 * DAY_MS).toISOString() }] });
    await waitFor(
      async () => types('cisa', id),
      (t) => t.includes(T.accessRevoked),
      'the old cisa grant revoked',
    );

    const f = await agency<{ findingId: string }>(id, 'nsa', submitFindingUpdate, { finding: finding('HIGH', 'FINDING-MARKER') });
    await waitFor(
      () => handle.query('findingsSummary') as Promise<{ total: number }>,
      (v) => v.total === 1,
      'the finding reaching the submission',
    );
    await handle.executeUpdate(respondToFindingUpdate, { args: [{ findingId: f.findingId, response: 'MITIGATED', note: 'NOTE-MARKER' }] });
    await agency(id, 'cisa', declineInvitationUpdate, {});
    await agency(id, 'nsa', completeAssessmentUpdate);
    await waitForStatus(client, id, 'CLEARANCE_ISSUED');
    for (const agencyId of ['nsa', 'cisa']) {
      await waitFor(
        async () => types(agencyId, id),
        (t) => t.filter((x) => x === T.accessRevoked).length === 2,
        `both ${agencyId} grants revoked`,
      );
    }

    expect(types('nsa', id)).toEqual([
      T.invited,
      T.accessGranted,
      T.infoRequestAnswered,
      T.windowChanged,
      T.accessGranted,
      T.accessRevoked,
      T.findingResponded,
      T.mitigationClaimed,
      T.assessmentEnded,
      T.accessRevoked,
    ]);
    expect(types('cisa', id)).toEqual([T.invited, T.accessGranted, T.windowChanged, T.accessGranted, T.accessRevoked, T.assessmentEnded, T.accessRevoked]);
    const nsa = publisher.inbox('nsa', id);
    expect(nsa.find((e) => e.type === T.infoRequestAnswered)!.data).toMatchObject({ infoRequestId: ir.requestId });
    expect(nsa.find((e) => e.type === T.windowChanged)!.data).toMatchObject({ windowClosesAt: moved.windowClosesAt });
    expect(nsa.find((e) => e.type === T.mitigationClaimed)!.data).toMatchObject({ findingId: f.findingId });
    expect(nsa.find((e) => e.type === T.assessmentEnded)!.data).toMatchObject({ status: 'FINDINGS_SUBMITTED' });
    expect(publisher.inbox('cisa', id).find((e) => e.type === T.assessmentEnded)!.data).toMatchObject({ status: 'DECLINED' });

    // One sequence for the submission's inbox: ids are unique and increase, so a retry or replay repeats an id.
    const all = publisher.events.filter((e) => e.stream === 'agency-inbox' && e.event.subject === id).map((e) => e.event);
    expect(all.map((e) => e.id)).toEqual(all.map((e) => `${submissionWorkflowId(id)}/inbox/${e.sequence}`));
    expect(all.map((e) => e.sequence)).toEqual(all.map((_, i) => i + 1));
    // Thin, and each event passes the catalog on its way to its own agency's topic.
    expect(JSON.stringify(all)).not.toMatch(/MARKER|pfa1\./);
    for (const e of all) expect(encodeStatusEvent('agency-inbox', e).topic).toBe(`preflight.agency-inbox.${String(e.data.agencyId)}.v1`);
  } finally {
    await submissionHandle(client, id)
      .terminate('test over')
      .catch(() => undefined);
  }
});
