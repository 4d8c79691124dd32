import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { Config } from '../../infra/config';
import { deploymentDataConverter } from '../../infra/temporal';
import { agencyWorkflowId, submissionWorkflowId } from '../../workflows/submission/contract';
import { acceptInvitationUpdate, startAssessmentUpdate, submitFindingUpdate } from '../../workflows/assessment/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import { finding, lifecycleTestActivities, submissionInput, waitForAgency } from './lifecycle';

/**
 * A worker on its own task queue with the deployment's encrypting data converter (as `preflight worker` runs it) and
 * in-memory side effects, so every payload it and the given client write is encrypted with the config's keys.
 */
export async function startEncryptedWorker(config: Config, temporalAddress: string): Promise<{ stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: lifecycleTestActivities().activities,
    dataConverter: deploymentDataConverter(config),
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/**
 * Starts a submission and has NSA accept, start and submit a finding whose title, detail and mitigation carry the
 * canary. Returns the NSA assessment's workflow id: its history holds the finding (encrypted) in an update event.
 */
export async function submitCanaryFinding(client: Client, taskQueue: string, canary: string): Promise<{ submissionId: string; workflowId: string }> {
  const input = submissionInput(Date.now(), 20, { requestedAgencies: ['nsa'] });
  const submissionId = input.submissionId;
  await client.workflow.start(submissionWorkflow, { taskQueue, workflowId: submissionWorkflowId(submissionId), args: [input] });
  await waitForAgency(client, submissionId, 'nsa', 'INVITED');
  const handle = client.workflow.getHandle(agencyWorkflowId(submissionId, 'nsa'));
  await handle.executeUpdate(acceptInvitationUpdate, { args: [{ agencyId: 'nsa' }] });
  await handle.executeUpdate(startAssessmentUpdate, { args: [{ agencyId: 'nsa' }] });
  await handle.executeUpdate(submitFindingUpdate, { args: [{ agencyId: 'nsa', finding: finding('HIGH', canary) }] });
  return { submissionId, workflowId: agencyWorkflowId(submissionId, 'nsa') };
}

/** Every payload list in a history, in the remote codec's JSON shape (`{ metadata: {k: base64}, data: base64 }`). */
export function historyPayloads(history: temporal.api.history.v1.IHistory): Array<{ metadata?: Record<string, string>; data?: string }> {
  const out: Array<{ metadata?: Record<string, string>; data?: string }> = [];
  const visit = (node: unknown, depth: number): void => {
    if (depth > 16 || typeof node !== 'object' || node === null || ArrayBuffer.isView(node)) return;
    if (Array.isArray(node)) return node.forEach((n) => visit(n, depth + 1));
    for (const [key, value] of Object.entries(node)) {
      if (key === 'payloads' && Array.isArray(value)) {
        for (const p of value as temporal.api.common.v1.IPayload[]) {
          out.push(
            temporal.api.common.v1.Payload.toObject(temporal.api.common.v1.Payload.fromObject(p), { bytes: String }) as {
              metadata?: Record<string, string>;
              data?: string;
            },
          );
        }
      } else visit(value, depth + 1);
    }
  };
  // The SDK's patch markers hold only a patch id and are written outside the data converter.
  for (const event of history.events ?? []) if (event.markerRecordedEventAttributes?.markerName !== 'core_patch') visit(event, 0);
  return out;
}
