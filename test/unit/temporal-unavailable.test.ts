import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { isTemporalUnavailable } from '../../workers/api/problems';

/** A gRPC error as @grpc/grpc-js makes it: code, details, metadata. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

describe('which Temporal errors make an api request answer 503', () => {
  it.each([
    ['a deadline that passed', grpcError(4, 'Deadline exceeded')],
    ['a deadline that passed on the server first', grpcError(1, 'Cancelled on server')],
    ['an unreachable server', grpcError(14, 'No connection established')],
    ['no worker polling the task queue', grpcError(9, 'no poller seen for task queue recently, worker may be down')],
  ])('%s, also as the cause of a client ServiceError', (_what, error) => {
    expect(isTemporalUnavailable(error)).toBe(true);
    expect(isTemporalUnavailable(new ServiceError('Failed to query Workflow', { cause: error }))).toBe(true);
  });

  it('an update whose wait ran out', () => {
    expect(
      isTemporalUnavailable(new WorkflowUpdateRPCTimeoutOrCancelledError('Timeout or cancellation waiting for update', { cause: grpcError(4, 'x') })),
    ).toBe(true);
  });

  it.each([
    ['a workflow task in failed state (a bug, not an outage)', grpcError(9, 'Unable to query workflow due to Workflow Task in failed state.')],
    ['not found', grpcError(5, 'workflow not found')],
    ['invalid argument', grpcError(3, 'bad')],
    ['a plain error with a numeric code', Object.assign(new Error('x'), { code: 4 })],
    ['not an error', { code: 14, details: 'x', metadata: {} }],
  ])('not %s', (_what, error) => {
    expect(isTemporalUnavailable(error)).toBe(false);
  });
});
