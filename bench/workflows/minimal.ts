import { executeChild, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { BenchActivities } from '../lib/bench-activities';
import { SUBMISSION_EVENT_SOURCE, SUBMISSION_EVENT_TYPES, agencyWorkflowId, type SubmissionEventType } from '../../workflows/submission/contract';

// The same activity options as the submission workflow, so retries and timeouts cost the same.
const { discardEvent } = proxyActivities<BenchActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
const { grantAccess } = proxyActivities<BenchActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10 },
});
const { revokeAccess } = proxyActivities<BenchActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '5 minutes' },
});

export interface MinimalSubmissionInput {
  submissionId: string;
  agencies: string[];
  /** Findings each agency reports, in the order of `agencies`. */
  findingsPerAgency: number[];
  /** How long each assessment stays open (0 for none): holds workflows in the worker cache for memory measurements. */
  holdMs: number;
}

export interface MinimalAssessmentInput {
  submissionId: string;
  agencyId: string;
  findings: number;
  holdMs: number;
}

export interface MinimalOutcome {
  submissionId: string;
  events: number;
}

/**
 * The baseline of the lifecycle benchmarks: the submission workflow's activity graph (status events in one ordered
 * sequence, a grant per agency, one child per agency, revocations, a clearance event, a post-release timer) with no
 * updates, no signals, no queries and no search attributes, and a no-op in place of the Kafka publish.
 */
export async function minimalSubmissionWorkflow(input: MinimalSubmissionInput): Promise<MinimalOutcome> {
  const { submissionId, agencies } = input;
  const workflowId = workflowInfo().workflowId;
  let sequence = 0;
  let publishing: Promise<void> = Promise.resolve();
  const publish = (type: SubmissionEventType, data: Record<string, unknown>): void => {
    sequence += 1;
    const event = {
      id: `${workflowId}/${sequence}`,
      type,
      source: SUBMISSION_EVENT_SOURCE,
      subject: submissionId,
      sequence,
      time: new Date().toISOString(),
      data,
    };
    publishing = publishing.then(() => discardEvent('submission', event));
  };
  const status = (to: string) => publish(SUBMISSION_EVENT_TYPES.submissionStatusChanged, { submissionId, status: to });

  status('RECEIVED');
  status('SCREENING');
  status('ACCESS_PROVISIONING');
  const closesAt = new Date(Date.now() + 86_400_000).toISOString();
  publish(SUBMISSION_EVENT_TYPES.accessWindowChanged, { submissionId, windowClosesAt: closesAt });
  const grants: string[] = [];
  for (const agencyId of agencies) {
    const grant = await grantAccess({ grantId: `${submissionId}.${agencyId}.g1`, submissionId, agencyId, expiresAt: closesAt });
    grants.push(grant.grantId);
  }
  const children = agencies.map((agencyId, i) =>
    executeChild(minimalAssessmentWorkflow, {
      workflowId: agencyWorkflowId(submissionId, agencyId),
      args: [{ submissionId, agencyId, findings: input.findingsPerAgency[i] ?? 0, holdMs: input.holdMs }],
    }),
  );
  status('UNDER_ASSESSMENT');
  for (const agencyId of agencies) publish(SUBMISSION_EVENT_TYPES.assessmentStatusChanged, { submissionId, agencyId, status: 'INVITED' });
  const results = await Promise.all(children);
  for (const r of results) {
    publish(SUBMISSION_EVENT_TYPES.assessmentStatusChanged, { submissionId, agencyId: r.agencyId, status: 'ACCEPTED' });
    publish(SUBMISSION_EVENT_TYPES.assessmentStatusChanged, { submissionId, agencyId: r.agencyId, status: 'IN_PROGRESS' });
    for (let f = 1; f <= r.findings; f++)
      publish(SUBMISSION_EVENT_TYPES.findingSubmitted, { submissionId, agencyId: r.agencyId, findingId: `${r.agencyId}-f${f}` });
    publish(SUBMISSION_EVENT_TYPES.assessmentStatusChanged, {
      submissionId,
      agencyId: r.agencyId,
      status: r.findings > 0 ? 'FINDINGS_SUBMITTED' : 'NO_FINDINGS',
    });
  }
  status('CONSOLIDATING');
  for (const [i, grantId] of grants.entries()) await revokeAccess({ grantId, submissionId, agencyId: agencies[i]! });
  publish(SUBMISSION_EVENT_TYPES.clearanceIssued, { submissionId, notice: 'CONCERNS_NOTED' });
  status('CLEARANCE_ISSUED');
  status('RELEASED');
  // The submission workflow's post-release period, set to its 1 ms minimum in the benchmarks.
  await sleep(1);
  status('CLOSED');
  await publishing;
  return { submissionId, events: sequence };
}

export async function minimalAssessmentWorkflow(input: MinimalAssessmentInput): Promise<{ agencyId: string; findings: number }> {
  if (input.holdMs > 0) await sleep(input.holdMs);
  return { agencyId: input.agencyId, findings: input.findings };
}
