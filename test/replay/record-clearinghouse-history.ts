/**
 * Records the clearinghouse case history that test/replay/clearinghouse-case.test.ts replays. Run it again only
 * when a new workflow shape ships (keeping the old files): `npx tsx test/replay/record-clearinghouse-history.ts`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv } from '../helpers/time-skipping';
import {
  caseWorkflowId,
  closeCaseUpdate,
  markRemediatingUpdate,
  publishCaseUpdate,
  reportCaseUpdate,
  reportExploitationUpdate,
  setPartyStatusUpdate,
  triageCaseUpdate,
} from '../../workflows/clearinghouse/contract';

const DAY = 24 * 3600 * 1000;

/** The file name for the current workflow shape; earlier shapes' files stay, and every one is replayed. */
const SHAPE = 'v3';
let releaseAt: string | undefined;

async function main(): Promise<void> {
  const ts = await createTimeSkippingEnv();
  const taskQueue = 'record-clearinghouse';
  const worker = await Worker.create({
    connection: ts.env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../helpers/clearinghouse-workflows'),
    activities: {
      publishEvent: async () => undefined,
      linkDuplicateCase: async () => undefined,
      currentModelReleases: async (ids: string[]) => ids.map((submissionId) => ({ submissionId, releaseAt: releaseAt! })),
    },
  });
  await worker.runUntil(async () => {
    const caseId = caseWorkflowId('0123456789abcdef0123456789abcdef');
    const handle = await ts.env.client.workflow.start('clearinghouseCaseWorkflow', { workflowId: caseId, taskQueue, args: [{ caseId }] });
    releaseAt = new Date((await ts.env.currentTimeMs()) + 10 * DAY).toISOString();
    const base = { source: 'AGENCY_COMMAND' as const, affectedProduct: 'Example Gateway 1.0', weakness: 'prompt injection' };
    await handle.executeUpdate(reportCaseUpdate, { args: [{ ...base, reportId: 'r1', agencyId: 'nsa', submissionId: 'sub-1', plannedReleaseAt: releaseAt }] });
    await handle.executeUpdate(reportCaseUpdate, { args: [{ ...base, reportId: 'r2', agencyId: 'cisa' }] });
    await handle.executeUpdate(triageCaseUpdate, { args: [{ actor: { kind: 'ops', operatorId: 'op' }, severity: 'CRITICAL', parties: ['acme'] }] });
    await ts.env.sleep(2 * DAY);
    await handle.executeUpdate(reportExploitationUpdate, { args: [{ actor: { kind: 'agency', agencyId: 'nsa' } }] });
    await handle
      .executeUpdate(setPartyStatusUpdate, { args: [{ actor: { kind: 'agency', agencyId: 'acme' }, partyId: 'acme', status: 'AFFECTED' }] })
      .catch(() => undefined);
    await handle.executeUpdate(markRemediatingUpdate, { args: [{ actor: { kind: 'ops', operatorId: 'op' } }] });
    await ts.env.sleep(9 * DAY);
    await handle.executeUpdate(publishCaseUpdate, { args: [{ actor: { kind: 'ops', operatorId: 'op' }, advisoryRef: 'ADV-1' }] });
    await handle.executeUpdate(closeCaseUpdate, { args: [{ actor: { kind: 'ops', operatorId: 'op' }, reason: 'RESOLVED' }] });
    await handle.result();
    const history = await handle.fetchHistory();
    // Binary protobuf: this install has two protobufjs copies, and the JSON history helpers fail across them.
    const file = path.join(__dirname, 'histories', `clearinghouse-case-${SHAPE}.binpb`);
    fs.writeFileSync(file, temporal.api.history.v1.History.encode(history).finish());
    process.stdout.write(`${file}: ${history.events?.length} events\n`);
  });
  await ts.teardown();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
