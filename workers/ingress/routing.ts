import type { Client } from '@temporalio/client';
import { applyAgencyCaseCommand, openOrJoinCase, type OpenOrJoinCaseOptions } from '../../clients/cases';
import type { AcceptedCommand } from '../../events/command-intake';
import { agencyWorkflowId, linkCaseSignal, submissionWorkflowId } from '../../workflows/submission/contract';
import { classifyTemporalError, type CommandOutcome } from './outcomes';

/** Opens or joins a clearinghouse case for a verified `gov.preflight.case.open.v1` command; returns ids/statuses. */
export type CaseOpener = (client: Client, command: AcceptedCommand) => Promise<Record<string, string | number | boolean | null>>;

/**
 * The default case opener: the clearinghouse's update-with-start on `case/<fingerprint>`, with the report id = the
 * command id, so a redelivered command joins nothing twice. `policy` sets the periods of the cases it opens.
 */
export function clearinghouseCaseOpener(options: OpenOrJoinCaseOptions): CaseOpener {
  return async (client, command) => {
    const { agencyId: _stated, ...body } = command.data;
    const result = await openOrJoinCase(
      client,
      {
        ...(body as Omit<Parameters<typeof openOrJoinCase>[1], 'reportId' | 'agencyId' | 'source'>),
        reportId: command.envelope.id,
        agencyId: command.agencyId,
        source: 'AGENCY_COMMAND',
      },
      options,
    );
    // A case that names the submission follows its model's release (the submission pushes it; it checks that the
    // agency is one it invited). A submission that is gone or ended has nothing more to push: the report stands.
    const submissionId = (body as { submissionId?: unknown }).submissionId;
    if (typeof submissionId === 'string' && result.outcome !== 'CASE_CLOSED') {
      await client.workflow
        .getHandle(submissionWorkflowId(submissionId))
        .signal(linkCaseSignal, { caseId: result.primaryCaseId ?? result.caseId, agencyId: command.agencyId })
        .catch(() => undefined);
    }
    return {
      caseId: result.caseId,
      outcome: result.outcome,
      state: result.state,
      reporterCount: result.reporterCount,
      ...(result.primaryCaseId ? { primaryCaseId: result.primaryCaseId } : {}),
    };
  };
}

function thinResult(value: unknown): Record<string, string | number | boolean | null> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 256)) out[k] = v;
  }
  return out;
}

/**
 * Applies a verified command in Temporal: an update on `submission/<id>/agency/<agencyId>` (or, for the commands on
 * the submission itself such as mitigation reviews, on `submission/<id>`) whose update id is the
 * command id, so a redelivered or replayed command returns the first outcome instead of acting twice. Throws
 * TransientError when Temporal could not answer, so the caller retries without committing the offset.
 */
export async function applyCommand(client: Client, command: AcceptedCommand, openCase?: CaseOpener): Promise<CommandOutcome> {
  const target = command.entry.command!;
  try {
    if (target.kind === 'case-open') {
      if (!openCase) return { kind: 'rejected', code: 'unknown-type', reason: 'Case commands are not enabled on this ingress', deadLetter: true };
      return { kind: 'accepted', result: await openCase(client, command) };
    }
    if (target.kind === 'case-command') {
      const { agencyId: _stated, ...body } = command.data;
      const result = await applyAgencyCaseCommand(client, {
        type: command.envelope.type,
        caseId: command.envelope.subject,
        agencyId: command.agencyId,
        commandId: command.envelope.id,
        body,
      });
      return { kind: 'accepted', result: { caseId: result.caseId, state: result.state } };
    }
    const workflowId =
      target.kind === 'submission-update' ? submissionWorkflowId(command.envelope.subject) : agencyWorkflowId(command.envelope.subject, command.agencyId);
    const result: unknown = await client.workflow
      .getHandle(workflowId)
      .executeUpdate(target.updateName, { args: [command.data], updateId: command.envelope.id });
    return { kind: 'accepted', result: thinResult(result) };
  } catch (e) {
    return classifyTemporalError(client, command, e);
  }
}
