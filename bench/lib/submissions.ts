import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { DEFAULT_AGENCY_REGISTRY } from '../../events/agency-registry';
import type { Severity } from '../../wire/enums';
import type { FindingInput } from '../../wire/submission';
import { DAY_MS } from '../../workflows/shared/time';
import { agencyWorkflowId, declareReleasedUpdate, submissionStateQuery, submissionWorkflowId, type SubmissionInput } from '../../workflows/submission/contract';
import { acceptInvitationUpdate, completeAssessmentUpdate, startAssessmentUpdate, submitFindingUpdate } from '../../workflows/assessment/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import { minimalSubmissionWorkflow } from '../workflows/minimal';
import { pollUntil } from './blocks';

/** What one benchmark submission looks like: which agencies assess it and how many findings each reports. */
export interface SubmissionShape {
  agencies: string[];
  findingsPerAgency: number[];
}

export interface DrivenSubmission {
  submissionId: string;
  /** The submission's workflow and its agency children. */
  workflowIds: string[];
}

const MODEL_VERSION = '7.0.1';
const REAL_AGENCIES = DEFAULT_AGENCY_REGISTRY.agencies.map((a) => ({ id: a.id, domain: a.domains?.[0] ?? 'general' }));

/**
 * `count` agency ids: the program's six agencies first, then synthetic ones (`agency-07`…). The submission workflow
 * accepts any well-formed agency id; only the ingress checks ids against the agency registry.
 */
export function benchAgencies(count: number): string[] {
  return Array.from({ length: count }, (_, i) => REAL_AGENCIES[i]?.id ?? `agency-${String(i + 1).padStart(2, '0')}`);
}

/** `total` findings spread as evenly as possible over the agencies (the first ones get the remainder). */
export function spreadFindings(total: number, agencies: number): number[] {
  return Array.from({ length: agencies }, (_, i) => Math.floor(total / agencies) + (i < total % agencies ? 1 : 0));
}

export function shape(agencies: number, totalFindings: number): SubmissionShape {
  return { agencies: benchAgencies(agencies), findingsPerAgency: spreadFindings(totalFindings, agencies) };
}

const SEVERITY_MIX: Severity[] = ['MEDIUM', 'LOW', 'HIGH', 'INFO', 'MEDIUM'];
const PARAGRAPH =
  'Under a multi-turn elicitation protocol the model produced step-by-step guidance that an evaluator with domain ' +
  'training judged materially more useful than public references; the transcript, prompts, sampling settings and ' +
  'grader notes are attached, with the refusal rate across 40 paraphrases and the variance between seeds. ';

/** A realistic finding: a few KB of detail and mitigation text, as agency reports carry. */
export function benchFinding(agencyId: string, n: number): FindingInput {
  const domain = REAL_AGENCIES.find((a) => a.id === agencyId)?.domain ?? 'general';
  return {
    severity: SEVERITY_MIX[n % SEVERITY_MIX.length]!,
    domain,
    title: `Elicited uplift in ${domain}, scenario ${n + 1}`,
    detail: `Finding ${n + 1} of ${agencyId}. ${PARAGRAPH.repeat(9)}`,
    modelVersionTested: MODEL_VERSION,
    recommendedMitigation: `Strengthen refusal training for the scenario family and re-test before release. ${PARAGRAPH.repeat(2)}`,
    thirdPartyVulnerability: false,
  };
}

function benchId(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(6).toString('hex')}`;
}

function submissionInput(submissionId: string, agencies: string[]): SubmissionInput {
  return {
    submissionId,
    vendorId: 'vendor-bench',
    model: { name: 'frontier-7', version: MODEL_VERSION, versionHash: `sha256:${'ab'.repeat(32)}` },
    plannedReleaseAt: new Date(Date.now() + 20 * DAY_MS).toISOString(),
    accessMethod: 'API',
    contacts: [{ name: 'Release Desk', email: 'release@vendor.example' }],
    requestedAgencies: agencies,
    // The post-release period at its minimum, so a declared release closes the submission at once.
    settings: { closeAfterReleaseDays: 0 },
  };
}

function isNotFound(err: unknown): boolean {
  return (err as Error)?.name === 'WorkflowNotFoundError' || /not found/i.test((err as Error)?.message ?? '');
}

/** One agency's commands: accept, start, its findings; then complete unless the assessment is to stay open. */
async function actAsAgency(client: Client, submissionId: string, agencyId: string, findings: number, complete: boolean): Promise<void> {
  const handle = client.workflow.getHandle(agencyWorkflowId(submissionId, agencyId));
  // The child starts a moment after the submission reaches access provisioning: retry until it exists.
  await pollUntil(
    async () => {
      try {
        await handle.executeUpdate(acceptInvitationUpdate, { args: [{ agencyId }] });
        return true;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    `assessment ${agencyId} of ${submissionId}`,
    60_000,
    50,
  );
  await handle.executeUpdate(startAssessmentUpdate, { args: [{ agencyId }] });
  for (let n = 0; n < findings; n++) await handle.executeUpdate(submitFindingUpdate, { args: [{ agencyId, finding: benchFinding(agencyId, n) }] });
  if (complete) await handle.executeUpdate(completeAssessmentUpdate, { args: [{ agencyId }] });
}

async function startCandidate(client: Client, taskQueue: string, s: SubmissionShape, complete: boolean): Promise<DrivenSubmission> {
  const submissionId = benchId('bench-sub');
  await client.workflow.start(submissionWorkflow, {
    taskQueue,
    workflowId: submissionWorkflowId(submissionId),
    args: [submissionInput(submissionId, s.agencies)],
  });
  await Promise.all(s.agencies.map((a, i) => actAsAgency(client, submissionId, a, s.findingsPerAgency[i] ?? 0, complete)));
  return { submissionId, workflowIds: [submissionWorkflowId(submissionId), ...s.agencies.map((a) => agencyWorkflowId(submissionId, a))] };
}

/**
 * The full lifecycle through the client, as the ingress and API would drive it: start → access granted → every agency
 * accepts, starts, submits its findings and completes → the advisory notice is issued → the vendor declares the
 * release → the submission closes.
 */
export async function runCandidate(client: Client, taskQueue: string, s: SubmissionShape): Promise<DrivenSubmission> {
  const driven = await startCandidate(client, taskQueue, s, true);
  const handle = client.workflow.getHandle<typeof submissionWorkflow>(submissionWorkflowId(driven.submissionId));
  // The last agency report reaches the submission by signal; the notice follows.
  await pollUntil(
    async () => ((await handle.query(submissionStateQuery)).status === 'CLEARANCE_ISSUED' ? true : undefined),
    `notice of ${driven.submissionId}`,
    120_000,
    50,
  );
  await handle.executeUpdate(declareReleasedUpdate, { args: [{}] });
  const outcome = await handle.result();
  if (outcome.status !== 'CLOSED') throw new Error(`submission ${driven.submissionId} ended ${outcome.status}, not CLOSED`);
  return driven;
}

/** A submission left open in its assessment window: every agency has accepted, started and reported its findings. */
export async function openCandidate(client: Client, taskQueue: string, s: SubmissionShape): Promise<DrivenSubmission> {
  return startCandidate(client, taskQueue, s, false);
}

async function startMinimal(client: Client, taskQueue: string, s: SubmissionShape, holdMs: number) {
  const submissionId = benchId('bench-min');
  const handle = await client.workflow.start(minimalSubmissionWorkflow, {
    taskQueue,
    workflowId: submissionWorkflowId(submissionId),
    args: [{ submissionId, agencies: s.agencies, findingsPerAgency: s.findingsPerAgency, holdMs }],
  });
  const driven = { submissionId, workflowIds: [submissionWorkflowId(submissionId), ...s.agencies.map((a) => agencyWorkflowId(submissionId, a))] };
  return { handle, driven };
}

/** The baseline: the minimal workflow with the same agencies and findings, run to completion. */
export async function runMinimal(client: Client, taskQueue: string, s: SubmissionShape): Promise<DrivenSubmission> {
  const { handle, driven } = await startMinimal(client, taskQueue, s, 0);
  const outcome = await handle.result();
  if (outcome.submissionId !== driven.submissionId) throw new Error(`minimal submission ${driven.submissionId} returned another id`);
  return driven;
}

/** A minimal submission whose assessments stay open for `holdMs`; resolves once every child has run its first task. */
export async function openMinimal(client: Client, taskQueue: string, s: SubmissionShape, holdMs: number): Promise<DrivenSubmission> {
  const { driven } = await startMinimal(client, taskQueue, s, holdMs);
  for (const id of driven.workflowIds.slice(1)) {
    await pollUntil(
      async () => ((await client.workflow.getHandle(id).describe()).historyLength >= 5 ? true : undefined),
      `minimal assessment ${id} to wait`,
      60_000,
      50,
    );
  }
  return driven;
}

/** Ends benchmark submissions left open (their children go with them). */
export async function terminateAll(client: Client, submissions: DrivenSubmission[]): Promise<void> {
  for (const s of submissions) {
    await client.workflow
      .getHandle(s.workflowIds[0]!)
      .terminate('benchmark finished')
      .catch(() => undefined);
  }
}
