/**
 * Records the clearinghouse case history that test/replay/clearinghouse-case.test.ts replays. Run it again only
 * when a new workflow shape ships (keeping the old files): `npx tsx test/replay/record-clearinghouse-history.ts`.
 */
import { record, saveBinaryHistory } from './history-files';
import {
  addCasePartyUpdate,
  caseWorkflowId,
  closeCaseUpdate,
  markRemediatingUpdate,
  publishCaseUpdate,
  reportCaseUpdate,
  reportExploitationUpdate,
  setModelReleaseUpdate,
  setPartyStatusUpdate,
  triageCaseUpdate,
} from '../../workflows/clearinghouse/contract';

const DAY = 24 * 3600 * 1000;

/** The file name for the current workflow shape; earlier shapes' files stay, and every one is replayed. */
const taskQueue = 'record-clearinghouse';
const SHAPE = process.env.PREFLIGHT_HISTORY_SHAPE ?? 'v6';
let releaseAt: string | undefined;

record(
  {
    taskQueue,
    workflowsPath: require.resolve('../helpers/clearinghouse-workflows'),
    activities: {
      publishEvent: async () => undefined,
      linkDuplicateCase: async () => undefined,
      currentModelReleases: async (ids: string[]) => ids.map((submissionId) => ({ submissionId, releaseAt: releaseAt! })),
    },
  },
  async (env) => {
    const caseId = caseWorkflowId('0123456789abcdef0123456789abcdef');
    const handle = await env.client.workflow.start('clearinghouseCaseWorkflow', { workflowId: caseId, taskQueue, args: [{ caseId }] });
    releaseAt = new Date((await env.currentTimeMs()) + 10 * DAY).toISOString();
    const base = { source: 'AGENCY_COMMAND' as const, affectedProduct: 'Example Gateway 1.0', weakness: 'prompt injection' };
    // Since `clearinghouse-domain-offers` the report's domain offers the case to cisa and dhs (the registry's match).
    await handle.executeUpdate(reportCaseUpdate, {
      args: [
        {
          ...base,
          reportId: 'r1',
          agencyId: 'nsa',
          submissionId: 'sub-1',
          plannedReleaseAt: releaseAt,
          domain: 'critical-infrastructure',
          offerTo: ['cisa', 'dhs'],
        },
      ],
    });
    await handle.executeUpdate(reportCaseUpdate, { args: [{ ...base, reportId: 'r2', agencyId: 'cisa' }] });
    await handle.executeUpdate(triageCaseUpdate, { args: [{ actor: { kind: 'ops', operatorId: 'op' }, severity: 'CRITICAL', parties: ['acme'] }] });
    // v5: an operator adds an agency party with contacts (the addCaseParty update).
    if (SHAPE >= 'v5') {
      await handle.executeUpdate(addCasePartyUpdate, {
        args: [{ actor: { kind: 'ops', operatorId: 'op' }, partyId: 'cisa', kind: 'agency', contacts: [{ email: 'vuln@cisa.example.gov' }] }],
      });
    }
    await env.sleep(2 * DAY);
    await handle.executeUpdate(reportExploitationUpdate, { args: [{ actor: { kind: 'agency', agencyId: 'nsa' } }] });
    await handle
      .executeUpdate(setPartyStatusUpdate, { args: [{ actor: { kind: 'agency', agencyId: 'acme' }, partyId: 'acme', status: 'AFFECTED' }] })
      .catch(() => undefined);
    await handle.executeUpdate(markRemediatingUpdate, { args: [{ actor: { kind: 'ops', operatorId: 'op' } }] });
    // Since `clearinghouse-releases-pushed` the submission pushes its release (here: declared a day later than planned).
    await handle.executeUpdate(setModelReleaseUpdate, {
      args: [{ actor: { kind: 'system', component: 'submission' }, submissionId: 'sub-1', releaseAt: new Date(Date.parse(releaseAt) + DAY).toISOString() }],
    });
    await env.sleep(10 * DAY);
    await handle.executeUpdate(publishCaseUpdate, { args: [{ actor: { kind: 'ops', operatorId: 'op' }, advisoryRef: 'ADV-1' }] });
    await handle.executeUpdate(closeCaseUpdate, { args: [{ actor: { kind: 'ops', operatorId: 'op' }, reason: 'RESOLVED' }] });
    await handle.result();
    saveBinaryHistory(`clearinghouse-case-${SHAPE}.binpb`, await handle.fetchHistory());
  },
);
