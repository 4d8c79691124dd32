/**
 * Records a submission whose agency reports a third-party finding and completes at once, then the vendor moves the
 * release and declares it: parent and agency child, for test/replay/case-routing.test.ts. Run it again only when a
 * new workflow shape ships (keeping the old files): `PREFLIGHT_HISTORY_SHAPE=<shape> npx tsx
 * test/replay/record-case-routing-histories.ts`.
 *
 * Shapes: `pre-routing` (the report was a fire-and-forget activity and the case polled the release date), `routing`
 * (patches `assessment-durable-case-routing` and `submission-push-release-to-cases`).
 */
import { record, saveBinaryHistory } from './history-files';
import { finding, lifecycleTestActivities, registerSearchAttributes, submissionInput } from '../helpers/lifecycle';
import { DAY_MS } from '../../workflows/shared/time';
import {
  agencyWorkflowId,
  changeReleaseDateUpdate,
  declareReleasedUpdate,
  submissionStateQuery,
  submissionWorkflowId,
} from '../../workflows/submission/contract';
import { acceptInvitationUpdate, completeAssessmentUpdate, startAssessmentUpdate, submitFindingUpdate } from '../../workflows/assessment/contract';

const SHAPE = process.env.PREFLIGHT_HISTORY_SHAPE ?? 'routing';
const taskQueue = 'record-case-routing';
const t = lifecycleTestActivities();
const releases: unknown[] = [];

record(
  {
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: {
      ...t.activities,
      async openClearinghouseCase(input: { findingId: string }) {
        return { caseId: 'case/0123456789abcdef0123456789abcdef', outcome: 'OPENED', state: 'OPEN', reporterCount: 1, findingId: input.findingId };
      },
      async setCaseModelRelease(input: unknown) {
        releases.push(input);
      },
    },
  },
  async (env) => {
    await registerSearchAttributes(env);
    const now = await env.currentTimeMs();
    const input = submissionInput(now, 10, { submissionId: 'sub-case-routing', requestedAgencies: ['nsa'], settings: { closeAfterReleaseDays: 1 } });
    const handle = await env.client.workflow.start('submissionWorkflow', { taskQueue, workflowId: submissionWorkflowId(input.submissionId), args: [input] });
    for (let i = 0; i < 100 && (await handle.query(submissionStateQuery)).status !== 'UNDER_ASSESSMENT'; i += 1) await env.sleep(1000);
    const child = env.client.workflow.getHandle(agencyWorkflowId(input.submissionId, 'nsa'));
    let n = 0;
    const send = (update: { name: string }, body: object = {}) =>
      child.executeUpdate(update.name, { args: [{ agencyId: 'nsa', ...body }], updateId: `cmd-${(n += 1)}` });
    await send(acceptInvitationUpdate);
    await send(startAssessmentUpdate);
    await send(submitFindingUpdate, { finding: finding('HIGH', 'ROUTED', { thirdPartyVulnerability: true, affectedProduct: 'Example Gateway 1.0' }) });
    await send(completeAssessmentUpdate);
    for (let i = 0; i < 100 && (await handle.query(submissionStateQuery)).status !== 'CLEARANCE_ISSUED'; i += 1) await env.sleep(1000);
    await handle.executeUpdate(changeReleaseDateUpdate, { args: [{ plannedReleaseAt: new Date(now + 12 * DAY_MS).toISOString() }] });
    await handle.executeUpdate(declareReleasedUpdate, { args: [{}] });
    await handle.result();
    process.stdout.write(`releases pushed: ${JSON.stringify(releases)}\n`);
    saveBinaryHistory(`submission-case-routing-${SHAPE}.binpb`, await handle.fetchHistory());
    saveBinaryHistory(`assessment-case-routing-${SHAPE}.binpb`, await child.fetchHistory());
  },
);
