import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { catalogEntry } from '../../events/catalog';
import type { AcceptedCommand } from '../../events/command-intake';
import { decodeEvent } from '../../events/consumer';
import { applyCommand, replyMessage } from '../../workers/ingress/index';
import { FAILURES } from '../../workflows/shared/failures';

const type = 'gov.preflight.assessment.request-info.v1';
const command: AcceptedCommand = {
  ok: true,
  agencyId: 'nsa',
  envelope: {
    specversion: '1.0',
    id: 'cmd-1',
    source: '/agencies/nsa',
    type,
    time: '2026-07-01T12:00:00.000Z',
    subject: 'sub-1',
    datacontenttype: 'application/json',
  },
  entry: catalogEntry(type)!,
  data: { question: 'q', agencyId: 'nsa' },
};

/** A stand-in for the Temporal client: records the update call and answers as told. */
function fakeClient(update: () => Promise<unknown>, describe: () => Promise<unknown> = async () => ({ status: { name: 'RUNNING' } })) {
  const calls: { workflowId: string; name: unknown; options: unknown }[] = [];
  const client = {
    workflow: {
      getHandle: (workflowId: string) => ({
        executeUpdate: async (name: unknown, options: unknown) => {
          calls.push({ workflowId, name, options });
          return update();
        },
        describe,
      }),
    },
  } as unknown as Client;
  return { client, calls };
}

describe('applyCommand', () => {
  it('updates the agency child with the command id as update id and the verified signer in the input', async () => {
    const { client, calls } = fakeClient(async () => ({ requestId: 'nsa-ir-1', status: 'INFO_REQUESTED', question: { nested: true } }));
    const outcome = await applyCommand(client, command);
    expect(calls).toEqual([
      { workflowId: 'submission/sub-1/agency/nsa', name: 'requestInfo', options: { args: [{ question: 'q', agencyId: 'nsa' }], updateId: 'cmd-1' } },
    ]);
    // Only flat ids and statuses go into the reply.
    expect(outcome).toEqual({ kind: 'accepted', result: { requestId: 'nsa-ir-1', status: 'INFO_REQUESTED' } });
  });

  it('turns a validator refusal into a rejection with a machine code and the workflow’s reason', async () => {
    const refusal = ApplicationFailure.create({
      message: 'Information can be requested only while in progress',
      type: FAILURES.notAllowedInState.type,
      nonRetryable: true,
    });
    const { client } = fakeClient(async () => {
      throw new WorkflowUpdateFailedError('Workflow Update failed', refusal);
    });
    expect(await applyCommand(client, command)).toEqual({
      kind: 'rejected',
      code: 'not-allowed-in-state',
      reason: 'Information can be requested only while in progress',
      deadLetter: false,
    });
    const wrong = ApplicationFailure.create({ message: 'not yours', type: FAILURES.wrongAgency.type, nonRetryable: true });
    const other = fakeClient(async () => {
      throw new WorkflowUpdateFailedError('Workflow Update failed', wrong);
    });
    expect(await applyCommand(other.client, command)).toMatchObject({ kind: 'rejected', code: 'wrong-agency', deadLetter: true });
  });

  it('says not-invited when no such assessment exists, and ended when it has finished', async () => {
    const missing = () => Promise.reject(new WorkflowNotFoundError('not found', 'submission/sub-1/agency/nsa', undefined));
    expect(await applyCommand(fakeClient(missing, missing).client, command)).toMatchObject({ kind: 'rejected', code: 'not-invited', deadLetter: true });
    const ended = fakeClient(missing, async () => ({ status: { name: 'COMPLETED' } }));
    expect(await applyCommand(ended.client, command)).toMatchObject({ kind: 'rejected', code: 'ended', deadLetter: false });
  });

  it('throws (so the offset stays uncommitted and the command is retried) when Temporal does not answer', async () => {
    const timeout = fakeClient(async () => {
      throw new WorkflowUpdateRPCTimeoutOrCancelledError('timed out');
    });
    await expect(applyCommand(timeout.client, command)).rejects.toMatchObject({ name: 'TransientError' });
    const unavailable = fakeClient(async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 14 });
    });
    await expect(applyCommand(unavailable.client, command)).rejects.toMatchObject({ name: 'TransientError' });
    const refused = fakeClient(async () => {
      throw Object.assign(new Error('bad request'), { code: 3 });
    });
    expect(await applyCommand(refused.client, command)).toMatchObject({ kind: 'rejected', code: 'internal-error', deadLetter: true });
  });
});

describe('replyMessage', () => {
  it('keys replies by agency id with a deterministic id per command, and they decode against the catalog', () => {
    const about = { agencyId: 'nsa', commandId: 'cmd-1', commandType: type, subject: 'sub-1' };
    const accepted = replyMessage(about, { kind: 'accepted', result: { requestId: 'nsa-ir-1' } }, new Date('2026-07-01T12:00:00Z'));
    expect(accepted.key).toBe('nsa');
    expect(accepted.headers.ce_id).toBe('nsa/cmd-1/reply');
    expect(decodeEvent(accepted)).toMatchObject({
      envelope: { type: 'gov.preflight.command.accepted.v1' },
      data: { commandId: 'cmd-1', result: { requestId: 'nsa-ir-1' } },
    });
    const rejected = replyMessage(about, { kind: 'rejected', code: 'expired', reason: 'too old', deadLetter: true });
    expect(decodeEvent(rejected)).toMatchObject({ envelope: { type: 'gov.preflight.command.rejected.v1' }, data: { code: 'expired', reason: 'too old' } });
    expect(rejected.headers.ce_id).toBe(accepted.headers.ce_id);
  });
});
