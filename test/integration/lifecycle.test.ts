import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities';
import { LocalAccessBroker, temporalGrantLiveness } from '../../clients/access-broker';
import { InMemoryEventPublisher } from '../../events/publisher';
import { createLogger } from '../../infra/logger';
import { historyToObject } from '../replay/history-files';
import { DAY_MS } from '../../workflows/shared/time';
import {
  SUBMISSION_EVENT_TYPES,
  agencyWorkflowId,
  clocksQuery,
  confirmMitigationUpdate,
  declareReleasedUpdate,
  findingsSummaryQuery,
  respondToFindingUpdate,
  submissionStateQuery,
  submissionWorkflowId,
  withdrawUpdate,
  type SubmissionInput,
} from '../../workflows/submission/contract';
import {
  acceptInvitationUpdate,
  completeAssessmentUpdate,
  declineInvitationUpdate,
  startAssessmentUpdate,
  submitFindingUpdate,
} from '../../workflows/assessment/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import { HAPPY_PATH_TRAIL, SIX_AGENCIES, finding, submissionInput, waitFor, waitForStatus } from '../helpers/lifecycle';
import { testClient, unique, startTestWorker, type TestWorker } from '../helpers/stack-env';

jest.setTimeout(180_000);

/**
 * Set PREFLIGHT_RECORD_HISTORIES=1 to record test/replay/histories from these runs. Each workflow shape gets new file
 * names (`-v3`: the next shape; `-revoke` and `-v2` hold the shapes of patches `revoke-access-when-assessment-ends` and
 * `assessment-reminders-once-per-offset`); the files of older
 * shapes stay as they were recorded and keep being replayed.
 */
const RECORD = process.env.PREFLIGHT_RECORD_HISTORIES === '1';
const HISTORY_DIR = path.resolve(__dirname, '../replay/histories');

const logger = createLogger({ level: 'warn' });
const masterKey = crypto.randomBytes(32);
const taskQueue = unique('lifecycle');
const publisher = new InMemoryEventPublisher();
let client: Client;
let testWorker: TestWorker | undefined;
/** Stands in for the API process: same master key, its own broker, revocation read from the workflow. */
let gatewayBroker: LocalAccessBroker;
let cmd = 0;

beforeAll(async () => {
  client = await testClient();
  const accessBroker = new LocalAccessBroker({ masterKey, isGrantLive: temporalGrantLiveness(client) });
  gatewayBroker = new LocalAccessBroker({ masterKey, isGrantLive: temporalGrantLiveness(client) });
  testWorker = await startTestWorker({
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createActivities({ logger, masterKey, temporalClient: client, webhookAllowlist: [], publisher, accessBroker }),
  });
});

afterAll(async () => {
  await testWorker?.stop();
  await client?.connection.close();
});

async function agency(submissionId: string, agencyId: string, update: { name: string }, body: object = {}) {
  cmd += 1;
  return client.workflow
    .getHandle(agencyWorkflowId(submissionId, agencyId))
    .executeUpdate(update.name, { args: [{ agencyId, ...body }], updateId: `${submissionId}-cmd-${cmd}` });
}

function input(overrides: Partial<SubmissionInput> = {}): SubmissionInput {
  // Real time here: the post-release period is two seconds so the run closes within the test.
  return submissionInput(Date.now(), 20, { submissionId: unique('it-sub'), settings: { closeAfterReleaseDays: 2000 / DAY_MS }, ...overrides });
}

async function record(name: string, submissionId: string, agencies: string[]) {
  if (!RECORD) return;
  const ids = [submissionWorkflowId(submissionId), ...agencies.map((a) => agencyWorkflowId(submissionId, a))];
  const histories = [];
  for (const workflowId of ids) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    histories.push({ workflowId, history: historyToObject(history) });
  }
  fs.mkdirSync(HISTORY_DIR, { recursive: true });
  fs.writeFileSync(path.join(HISTORY_DIR, `${name}.json`), `${JSON.stringify(histories, null, 1)}\n`);
}

function tokenFor(submissionId: string, agencyId: string, grant: { grantId: string; expiresAt: string }) {
  return gatewayBroker.tokenFor({ grantId: grant.grantId, submissionId, agencyId, expiresAt: grant.expiresAt });
}

it('happy path end to end: six agencies, findings, clearance, release, close — with visibility and access checks', async () => {
  const sub = input();
  const id = sub.submissionId;
  const handle = await client.workflow.start(submissionWorkflow, { taskQueue, workflowId: submissionWorkflowId(id), args: [sub] });
  const assessing = await waitForStatus(client, id, 'UNDER_ASSESSMENT');
  expect(assessing.activeGrants).toHaveLength(6);
  // The window clock stays current between workflow tasks.
  const before = (await handle.query(clocksQuery)).window!.remainingMs;
  await new Promise((r) => setTimeout(r, 1100));
  const after = (await handle.query(clocksQuery)).window!.remainingMs;
  expect(before - after).toBeGreaterThanOrEqual(1000);

  // A model gateway verifies an agency's token while the window is open.
  const nsaGrant = assessing.activeGrants.find((g) => g.agencyId === 'nsa')!;
  await expect(gatewayBroker.verify(tokenFor(id, 'nsa', nsaGrant))).resolves.toMatchObject({ valid: true, agencyId: 'nsa', submissionId: id });

  for (const a of SIX_AGENCIES) {
    await agency(id, a, acceptInvitationUpdate);
    await agency(id, a, startAssessmentUpdate);
  }
  const f = (await agency(id, 'nsa', submitFindingUpdate, { finding: finding('HIGH', 'IT-SECRET') })) as { findingId: string };
  for (const a of SIX_AGENCIES) await agency(id, a, completeAssessmentUpdate);
  const issued = await waitForStatus(client, id, 'CLEARANCE_ISSUED');
  expect(issued).toMatchObject({ notice: 'CONCERNS_NOTED', consolidationTrigger: 'ALL_AGENCIES_DONE', activeGrants: [] });
  await expect(gatewayBroker.verify(tokenFor(id, 'nsa', nsaGrant))).resolves.toEqual({ valid: false, reason: 'revoked' });

  await handle.executeUpdate(respondToFindingUpdate, { args: [{ findingId: f.findingId, response: 'MITIGATED' }] });
  // A claim until the reporting agency confirms it.
  expect(await handle.query(findingsSummaryQuery)).toMatchObject({ unresolvedCriticalOrHigh: 1, mitigationsAwaitingConfirmation: [f.findingId] });
  await handle.executeUpdate(confirmMitigationUpdate, { args: [{ agencyId: 'nsa', findingId: f.findingId }], updateId: `${id}-confirm` });
  expect((await handle.query(findingsSummaryQuery)).unresolvedCriticalOrHigh).toBe(0);
  await handle.executeUpdate(declareReleasedUpdate, { args: [{}] });
  const outcome = await handle.result();
  expect(outcome).toMatchObject({ status: 'CLOSED', endReason: 'RELEASED_AND_CLOSED', notice: 'CLEAR' });

  // Visibility on the real server: opaque ids and enums, one parent and six children findable by submission.
  const found: Record<string, unknown>[] = [];
  await waitFor(
    async () => {
      found.length = 0;
      for await (const w of client.workflow.list({ query: `PreflightSubmissionId = '${id}'` })) found.push({ id: w.workflowId, sa: w.typedSearchAttributes });
      return found.length;
    },
    (n) => n === 7,
    'visibility to index the parent and six children',
  );
  const closed = [];
  for await (const w of client.workflow.list({ query: `PreflightSubmissionId = '${id}' AND PreflightKind = 'submission' AND PreflightStatus = 'CLOSED'` })) {
    closed.push(w.workflowId);
  }
  expect(closed).toEqual([submissionWorkflowId(id)]);
  expect(JSON.stringify(found)).not.toMatch(/IT-SECRET/);

  const events = publisher.forSubject(id);
  expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => e.type === SUBMISSION_EVENT_TYPES.submissionStatusChanged).map((e) => e.data.status)).toEqual(HAPPY_PATH_TRAIL);
  expect(JSON.stringify(events)).not.toMatch(/IT-SECRET/);
  await record('submission-happy-path-v3', id, SIX_AGENCIES);
});

it('withdrawal end to end: every assessment ends, every grant is revoked, the history shows it', async () => {
  const sub = input();
  const id = sub.submissionId;
  const handle = await client.workflow.start(submissionWorkflow, { taskQueue, workflowId: submissionWorkflowId(id), args: [sub] });
  const assessing = await waitForStatus(client, id, 'UNDER_ASSESSMENT');
  await agency(id, 'nsa', acceptInvitationUpdate);
  await agency(id, 'nsa', startAssessmentUpdate);
  await agency(id, 'cisa', acceptInvitationUpdate);
  await agency(id, 'dhs', declineInvitationUpdate);
  const tokens = assessing.activeGrants.map((g) => tokenFor(id, g.agencyId, g));
  // dhs declined: its access is revoked at once; the others keep theirs until the withdrawal.
  const dhsGrant = assessing.activeGrants.find((g) => g.agencyId === 'dhs')!;
  await waitFor(
    () => gatewayBroker.verify(tokenFor(id, 'dhs', dhsGrant)),
    (v) => !v.valid && v.reason === 'revoked',
    "dhs's grant to be revoked after it declined",
    120_000,
  );
  for (const g of assessing.activeGrants.filter((x) => x.agencyId !== 'dhs')) {
    expect((await gatewayBroker.verify(tokenFor(id, g.agencyId, g))).valid).toBe(true);
  }

  const withdrawn = await handle.executeUpdate(withdrawUpdate, { args: [{ reason: 'plans changed' }] });
  expect(withdrawn.status).toBe('WITHDRAWN');
  const outcome = await handle.result();
  expect(outcome.status).toBe('WITHDRAWN');
  expect(outcome.revokedGrantIds.sort()).toEqual(assessing.activeGrants.map((g) => g.grantId).sort());
  for (const t of tokens) await expect(gatewayBroker.verify(t)).resolves.toEqual({ valid: false, reason: 'revoked' });
  expect(Object.fromEntries(outcome.agencies.map((a) => [a.agencyId, a.status]))).toEqual({
    nsa: 'WITHDRAWN',
    cisa: 'WITHDRAWN',
    treasury: 'WITHDRAWN',
    nist: 'WITHDRAWN',
    dod: 'WITHDRAWN',
    dhs: 'DECLINED',
  });
  const history = await handle.fetchHistory();
  const names = history.events!.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
  expect(names.filter((n) => n === 'revokeAccess')).toHaveLength(6);
  expect(names.filter((n) => n === 'grantAccess')).toHaveLength(6);
  const view = await handle.query(submissionStateQuery);
  expect(view).toMatchObject({ status: 'WITHDRAWN', endReason: 'VENDOR_WITHDREW', activeGrants: [] });
  await record('submission-withdrawal-v3', id, SIX_AGENCIES);
});
