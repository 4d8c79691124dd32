import type { Client } from '@temporalio/client';
import type { AcceptedCommand } from '../../events/command-intake';
import { RejectionCode } from '../../events/schemas';
import { findInCauses } from '../../infra/error-causes';
import { FAILURES, failureOfType } from '../../workflows/shared/failures';
import { agencyWorkflowId, submissionWorkflowId } from '../../workflows/submission/contract';

/** What happened to one command. `deadLetter` marks refusals ops should see (anything not a business outcome). */
export type CommandOutcome =
  | { kind: 'accepted'; result?: Record<string, string | number | boolean | null> }
  | { kind: 'rejected'; code: RejectionCode; reason: string; deadLetter: boolean };

/** Temporal could not answer now (unavailable, timed out): the command is retried, its offset not committed. */
class TransientError extends Error {
  override readonly name = 'TransientError';
}

export function isTransientError(e: unknown): e is TransientError {
  return e instanceof TransientError;
}

/** The reply code of a workflow's refusal: its catalog code where that is a reply code, `rejected` otherwise. */
function refusalCode(type: string | undefined): RejectionCode {
  const code = RejectionCode.safeParse(failureOfType(type)?.code);
  return code.success ? code.data : 'rejected';
}

/** Refusals that mean "not yours to act on": ops see them in the dead-letter topic too. */
const UNAUTHORIZED_CODES: ReadonlySet<RejectionCode> = new Set(['wrong-agency', 'forbidden', 'not-invited', 'not-found']);

/** gRPC status codes worth retrying: CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE. */
const TRANSIENT_GRPC = new Set<number>([1, 2, 4, 8, 10, 13, 14]);

function errorName(e: unknown): string {
  return typeof e === 'object' && e !== null ? String((e as { name?: unknown }).name ?? '') : '';
}

function grpcCode(e: unknown): number | undefined {
  return findInCauses(e, (c) => (typeof c.code === 'number' ? c.code : undefined));
}

/**
 * The outcome of a command Temporal refused: a workflow's refusal becomes a rejection with its reply code; a missing
 * assessment is `not-invited` or `ended`. Throws TransientError when Temporal could not answer.
 */
export async function classifyTemporalError(client: Client, command: AcceptedCommand, e: unknown): Promise<CommandOutcome> {
  const name = errorName(e);
  if (name === 'WorkflowUpdateFailedError' || name === 'ApplicationFailure') {
    const failure = (name === 'ApplicationFailure' ? e : (e as { cause?: unknown }).cause) as { type?: string; message?: string } | undefined;
    const code = refusalCode(failure?.type);
    const reason = (failure?.message || 'The command was refused').slice(0, 1000);
    return { kind: 'rejected', code, reason, deadLetter: UNAUTHORIZED_CODES.has(code) };
  }
  if (name === 'CaseNotFoundError') {
    return { kind: 'rejected', code: FAILURES.caseNotFound.code, reason: 'No such case, or not one this agency may act on', deadLetter: true };
  }
  if (name === 'WorkflowNotFoundError' && command.entry.command?.kind === 'submission-update') {
    // No such submission, or one that has ended: an agency learns no more than that it cannot act on it.
    try {
      const description = await client.workflow.getHandle(submissionWorkflowId(command.envelope.subject)).describe();
      if (description.status.name !== 'RUNNING') {
        return { kind: 'rejected', code: 'ended', reason: 'The submission has ended and takes no more commands', deadLetter: false };
      }
      throw new TransientError('The submission exists but did not take the update; retrying');
    } catch (d) {
      if (d instanceof TransientError) throw d;
      if (errorName(d) === 'WorkflowNotFoundError') {
        return { kind: 'rejected', code: 'not-found', reason: 'No such submission, or not one this agency may act on', deadLetter: true };
      }
      throw new TransientError(`Temporal did not answer: ${(d as Error).message}`);
    }
  }
  if (name === 'WorkflowNotFoundError') {
    // No such assessment: the agency was not invited. An assessment that has ended is a different answer.
    const workflowId = agencyWorkflowId(command.envelope.subject, command.agencyId);
    try {
      const description = await client.workflow.getHandle(workflowId).describe();
      if (description.status.name !== 'RUNNING') {
        return { kind: 'rejected', code: 'ended', reason: 'The assessment has ended and takes no more commands', deadLetter: false };
      }
      throw new TransientError('The assessment exists but did not take the update; retrying');
    } catch (d) {
      if (d instanceof TransientError) throw d;
      if (errorName(d) === 'WorkflowNotFoundError') {
        return { kind: 'rejected', code: 'not-invited', reason: 'The agency is not invited to assess this submission', deadLetter: true };
      }
      throw new TransientError(`Temporal did not answer: ${(d as Error).message}`);
    }
  }
  if (name === 'WorkflowUpdateRPCTimeoutOrCancelledError') throw new TransientError('The update call timed out');
  const code = grpcCode(e);
  if (code === undefined || TRANSIENT_GRPC.has(code)) throw new TransientError(`Temporal did not answer: ${(e as Error).message}`);
  return { kind: 'rejected', code: 'internal-error', reason: 'Temporal refused the command', deadLetter: true };
}
