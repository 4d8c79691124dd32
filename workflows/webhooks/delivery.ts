import {
  ActivityFailure,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { SA } from '../shared/search-attributes';
/** Runs started before it made every attempt themselves; with it, a first attempt made by the dispatcher is recorded. */
export const FIRST_ATTEMPT_BY_DISPATCHER_PATCH = 'delivery-first-attempt-by-dispatcher';
import { iso, nowIso } from '../shared/time';
import {
  deliveryStateQuery,
  disableFromDeliverySignal,
  endpointHealthSignal,
  nextDelayMs,
  resolveDeliveryPolicy,
  vendorWorkflowId,
  type AttemptRecord,
  type AttemptResult,
  type DeliveryStatus,
  type DeliveryView,
  type WebhookActivities,
  type WebhookDeliveryInput,
} from './contract';

/**
 * Delivers one event to one endpoint (id `delivery/<eventId>/<endpointId>`). The workflow owns the retry schedule,
 * so the attempt activity runs exactly once per attempt (Temporal retries off); a worker dying mid-attempt shows up as
 * an activity timeout, which is just a failed attempt. The attempt log is exposed by `deliveryStateQuery`.
 */
export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<DeliveryView> {
  const policy = resolveDeliveryPolicy(input.policy);
  const { attemptWebhookDelivery } = proxyActivities<WebhookActivities>({
    // The request's own timeout plus time for the endpoint look-up and the SSRF resolution.
    startToCloseTimeout: policy.requestTimeoutMs + 15_000,
    retry: { maximumAttempts: 1 },
  });
  const vendor = getExternalWorkflowHandle(vendorWorkflowId(input.vendorId));
  const view: DeliveryView = {
    eventId: input.eventId,
    eventType: input.eventType,
    vendorId: input.vendorId,
    endpointId: input.endpointId,
    status: 'PENDING',
    startedAt: nowIso(),
    attempts: [],
    policy,
    body: input.body,
  };
  if (input.replayedAt !== undefined) view.replayedAt = input.replayedAt;
  setHandler(deliveryStateQuery, () => view);

  // Search attributes are set by the dispatcher at start; a workflow started without them (tests) keeps none.
  const indexed = workflowInfo().typedSearchAttributes.get(SA.kind) !== undefined;
  const finish = (status: DeliveryStatus): DeliveryView => {
    view.status = status;
    delete view.nextAttemptAt;
    if (indexed) upsertSearchAttributes([{ key: SA.status, value: status }]);
    return view;
  };
  const signalVendor = async (run: () => Promise<void>) => {
    try {
      await run();
    } catch (err) {
      // The registry is gone only when the vendor never had endpoints; nothing left to tell.
      log.warn('could not signal the vendor registry', { vendorId: input.vendorId, error: (err as Error).name });
    }
  };

  let firstFailureAt: number | undefined;
  let delay: number;
  /** What one attempt's result means: the delivery's end, or undefined to go on (with the next attempt's delay set). */
  const settle = async (result: AttemptResult, record: AttemptRecord, startedAt: number, index: number): Promise<DeliveryView | undefined> => {
    switch (result.outcome) {
      case 'DELIVERED':
        if (result.endpointFailingSince !== undefined) {
          await signalVendor(() => vendor.signal(endpointHealthSignal, { endpointId: input.endpointId, ok: true, at: nowIso() }));
        }
        return finish('DELIVERED');
      case 'GONE':
        await signalVendor(() =>
          vendor.signal(disableFromDeliverySignal, { endpointId: input.endpointId, reason: 'GONE', at: nowIso(), eventId: input.eventId }),
        );
        return finish('ENDPOINT_DISABLED');
      case 'ENDPOINT_DISABLED':
        return finish('ENDPOINT_DISABLED');
      case 'ENDPOINT_DELETED':
        return finish('ENDPOINT_DELETED');
      case 'FAILED':
      case 'REFUSED': {
        const now = Date.now();
        firstFailureAt ??= startedAt;
        const endpointSince = result.endpointFailingSince === undefined ? undefined : Date.parse(result.endpointFailingSince);
        if (endpointSince === undefined) {
          await signalVendor(() => vendor.signal(endpointHealthSignal, { endpointId: input.endpointId, ok: false, at: iso(startedAt) }));
        }
        const failingSince = Math.min(firstFailureAt, endpointSince ?? firstFailureAt);
        if (now - failingSince >= policy.disableAfterMs) {
          await signalVendor(() =>
            vendor.signal(disableFromDeliverySignal, { endpointId: input.endpointId, reason: 'FAILING', at: iso(now), eventId: input.eventId }),
          );
          return finish('ENDPOINT_DISABLED');
        }
        if (index + 1 < policy.delaysMs.length) {
          delay = nextDelayMs(policy, index + 1, Math.random(), result.retryAfterMs);
          record.nextAttemptAt = iso(now + delay);
        }
        return undefined;
      }
    }
  };

  // A first attempt the dispatcher already made is recorded as attempt 1, with no activity and no wait.
  const made = input.firstAttempt !== undefined && patched(FIRST_ATTEMPT_BY_DISPATCHER_PATCH) ? input.firstAttempt : undefined;
  delay = made ? 0 : nextDelayMs(policy, 0, Math.random());
  for (let index = 0; index < policy.delaysMs.length; index++) {
    if (index === 0 && made) {
      const startedAt = Date.parse(made.at);
      const record: AttemptRecord = { ...made.result, attempt: 1, at: made.at };
      view.attempts.push(record);
      const settled = await settle(made.result, record, startedAt, index);
      if (settled) return settled;
      continue;
    }
    if (delay > 0) {
      view.nextAttemptAt = iso(Date.now() + delay);
      await sleep(delay);
    }
    delete view.nextAttemptAt;
    const startedAt = Date.now();
    let result: AttemptResult;
    try {
      result = await attemptWebhookDelivery({
        eventId: input.eventId,
        vendorId: input.vendorId,
        endpointId: input.endpointId,
        body: input.body,
        attempt: index + 1,
        requestTimeoutMs: policy.requestTimeoutMs,
        maxResponseBytes: policy.maxResponseBytes,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      const cause = err instanceof ActivityFailure ? (err.cause?.message ?? err.message) : (err as Error).message;
      result = { outcome: 'FAILED', latencyMs: Date.now() - startedAt, error: `activity: ${cause}`.slice(0, 200) };
    }
    const record: AttemptRecord = { ...result, attempt: index + 1, at: iso(startedAt) };
    view.attempts.push(record);

    const settled = await settle(result, record, startedAt, index);
    if (settled) return settled;
  }
  return finish('FAILED');
}
