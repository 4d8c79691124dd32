/**
 * Records a submission whose access window moves after a deadline reminder went out, parent and agency child, for
 * test/replay/window-move.test.ts. Run it again only when a new workflow shape ships (keeping the old files):
 * `npx tsx test/replay/record-window-move-histories.ts`.
 *
 * The scenario: release (and window close) 10 days out, one agency that never starts; after the T-168h and T-72h
 * reminders, the vendor postpones the release by two days (so the T-72h reminder of the new deadline lies ahead).
 */
import { record, saveBinaryHistory } from './history-files';
import { lifecycleTestActivities, registerSearchAttributes, submissionInput } from '../helpers/lifecycle';
import { DAY_MS } from '../../workflows/shared/time';
import { agencyWorkflowId, changeReleaseDateUpdate, submissionStateQuery, submissionWorkflowId } from '../../workflows/submission/contract';

/** v1: before `assessment-reminders-once-per-offset` (a moved window cleared the reminders already sent); v2: with it. */
const SHAPE = process.env.PREFLIGHT_HISTORY_SHAPE ?? 'v1';
const taskQueue = 'record-window-move';
const t = lifecycleTestActivities();

record({ taskQueue, workflowsPath: require.resolve('../../workflows'), activities: t.activities }, async (env) => {
  await registerSearchAttributes(env);
  const now = await env.currentTimeMs();
  const input = submissionInput(now, 10, { submissionId: 'sub-window-move', requestedAgencies: ['nist'] });
  const handle = await env.client.workflow.start('submissionWorkflow', { taskQueue, workflowId: submissionWorkflowId(input.submissionId), args: [input] });
  for (let i = 0; i < 100 && (await handle.query(submissionStateQuery)).status !== 'UNDER_ASSESSMENT'; i += 1) await env.sleep(1000);
  await env.sleep(8 * DAY_MS);
  await handle.executeUpdate(changeReleaseDateUpdate, { args: [{ plannedReleaseAt: new Date(now + 12 * DAY_MS).toISOString() }] });
  await handle.result();
  const child = env.client.workflow.getHandle(agencyWorkflowId(input.submissionId, 'nist'));
  const reminders = t.publisher
    .forSubject(input.submissionId)
    .filter((e) => e.type === 'gov.preflight.assessment.deadline-reminder.v1')
    .map((e) => (e.data as { hoursBefore: number }).hoursBefore);
  process.stdout.write(`reminders sent: ${JSON.stringify(reminders)}\n`);
  saveBinaryHistory(`submission-window-move-${SHAPE}.binpb`, await handle.fetchHistory());
  saveBinaryHistory(`assessment-window-move-${SHAPE}.binpb`, await child.fetchHistory());
});
