import { ApplicationFailure, allHandlersFinished, condition, continueAsNew, log, setHandler, workflowInfo } from '@temporalio/workflow';

import { ENDPOINT_ID_PATTERN } from '../../wire/enums';
import { iso, nowIso } from '../shared/time';
import {
  DEFAULT_ROTATION_OVERLAP_MS,
  EVENT_TYPE_FILTER_PATTERN,
  MAX_DESCRIPTION_LENGTH,
  MAX_ENDPOINTS_PER_VENDOR,
  MAX_EVENT_TYPE_FILTERS,
  MAX_ROTATION_OVERLAP_MS,
  MAX_URL_LENGTH,
  WEBHOOK_EVENT_SOURCE,
  WEBHOOK_EVENT_TYPES,
  deleteEndpointUpdate,
  disableEndpointUpdate,
  disableFromDeliverySignal,
  enableEndpointUpdate,
  endpointHealthSignal,
  endpointsQuery,
  registerEndpointUpdate,
  rotateSecretUpdate,
  updateEndpointUpdate,
  type VendorWorkflowInput,
  type WebhookEndpoint,
  type WebhookEventMap,
} from './contract';
import { FAILURES } from '../shared/failures';
import { Outbox } from '../shared/outbox';

const DEFAULT_HISTORY_LIMIT = 5000;

function invalid(message: string): never {
  throw ApplicationFailure.nonRetryable(message, FAILURES.invalidInput.type);
}

function checkUrl(url: unknown): void {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_URL_LENGTH) invalid(`url must be a string of 1-${MAX_URL_LENGTH} characters`);
  if (!/^https?:\/\/[^\s/?#@]+(?:[/?#]\S*)?$/i.test(url)) invalid('url must be an absolute http(s) URL without credentials or spaces');
}

function checkEventTypes(types: unknown): void {
  if (types === undefined) return;
  if (!Array.isArray(types) || types.length > MAX_EVENT_TYPE_FILTERS) invalid(`eventTypes must be a list of at most ${MAX_EVENT_TYPE_FILTERS} types`);
  for (const t of types) {
    if (typeof t !== 'string' || t.length > 200 || !EVENT_TYPE_FILTER_PATTERN.test(t))
      invalid(`eventTypes holds an invalid type ${JSON.stringify(String(t).slice(0, 80))}`);
  }
}

function checkDescription(d: unknown): void {
  if (d !== undefined && (typeof d !== 'string' || d.length > MAX_DESCRIPTION_LENGTH))
    invalid(`description must be at most ${MAX_DESCRIPTION_LENGTH} characters`);
}

/**
 * A vendor's webhook endpoint registry (id `vendor/<vendorId>`), long-running: every change is a validated update,
 * deliveries report health and disable endpoints by signal, and an endpoint disabled by its deliveries is announced
 * with a `gov.preflight.webhook-endpoint.disabled.v1` event (aggregate `vendor/<vendorId>`, its own sequence).
 */
export async function vendorWorkflow(input: VendorWorkflowInput): Promise<void> {
  const endpoints = new Map<string, WebhookEndpoint>((input.endpoints ?? []).map((e) => [e.endpointId, e]));
  const outbox = new Outbox<WebhookEventMap>({
    stream: 'submission',
    source: WEBHOOK_EVENT_SOURCE,
    subject: workflowInfo().workflowId,
    sequence: input.sequence ?? 0,
    activityOptions: { startToCloseTimeout: '30 seconds', retry: { initialInterval: '1 second', maximumInterval: '1 minute' } },
  });
  const historyLimit = input.historyLimit ?? DEFAULT_HISTORY_LIMIT;

  const existing = (endpointId: unknown): WebhookEndpoint => {
    const endpoint = typeof endpointId === 'string' ? endpoints.get(endpointId) : undefined;
    if (!endpoint) throw ApplicationFailure.nonRetryable(`unknown webhook endpoint ${String(endpointId).slice(0, 80)}`, FAILURES.unknownEndpoint.type);
    return endpoint;
  };
  const touch = (endpoint: WebhookEndpoint, change: Partial<WebhookEndpoint>): WebhookEndpoint => {
    const next: WebhookEndpoint = { ...endpoint, ...change, updatedAt: nowIso() };
    endpoints.set(next.endpointId, next);
    return next;
  };

  setHandler(endpointsQuery, () => [...endpoints.values()]);

  setHandler(
    registerEndpointUpdate,
    (req) => {
      const at = nowIso();
      const endpoint: WebhookEndpoint = {
        endpointId: req.endpointId,
        vendorId: input.vendorId,
        url: req.url,
        eventTypes: [...new Set(req.eventTypes ?? [])].sort(),
        status: 'ENABLED',
        createdAt: at,
        updatedAt: at,
        secretVersion: 1,
      };
      if (req.description !== undefined) endpoint.description = req.description;
      endpoints.set(endpoint.endpointId, endpoint);
      return endpoint;
    },
    {
      validator: (req) => {
        if (typeof req?.endpointId !== 'string' || !ENDPOINT_ID_PATTERN.test(req.endpointId)) invalid('endpointId must look like ep_<8-64 letters or digits>');
        if (endpoints.has(req.endpointId)) throw ApplicationFailure.nonRetryable(`endpoint ${req.endpointId} already exists`, FAILURES.duplicateEndpoint.type);
        if (endpoints.size >= MAX_ENDPOINTS_PER_VENDOR)
          throw ApplicationFailure.nonRetryable(`at most ${MAX_ENDPOINTS_PER_VENDOR} endpoints per vendor`, FAILURES.tooManyEndpoints.type);
        checkUrl(req.url);
        checkEventTypes(req.eventTypes);
        checkDescription(req.description);
      },
    },
  );

  setHandler(
    updateEndpointUpdate,
    (req) => {
      const change: Partial<WebhookEndpoint> = {};
      if (req.url !== undefined) change.url = req.url;
      if (req.eventTypes !== undefined) change.eventTypes = [...new Set(req.eventTypes)].sort();
      if (req.description !== undefined) change.description = req.description;
      return touch(existing(req.endpointId), change);
    },
    {
      validator: (req) => {
        existing(req?.endpointId);
        if (req.url !== undefined) checkUrl(req.url);
        checkEventTypes(req.eventTypes);
        checkDescription(req.description);
      },
    },
  );

  setHandler(
    disableEndpointUpdate,
    (req) => {
      const endpoint = existing(req.endpointId);
      if (endpoint.status === 'DISABLED') return endpoint;
      return touch(endpoint, { status: 'DISABLED', disabledReason: 'VENDOR', disabledAt: nowIso() });
    },
    { validator: (req) => void existing(req?.endpointId) },
  );

  setHandler(
    enableEndpointUpdate,
    (req) => {
      const endpoint = existing(req.endpointId);
      const { disabledReason: _r, disabledAt: _a, failingSince: _f, ...rest } = endpoint;
      return touch({ ...rest }, { status: 'ENABLED' });
    },
    { validator: (req) => void existing(req?.endpointId) },
  );

  setHandler(
    deleteEndpointUpdate,
    (req) => {
      existing(req.endpointId);
      endpoints.delete(req.endpointId);
      return { endpointId: req.endpointId, deleted: true as const };
    },
    { validator: (req) => void existing(req?.endpointId) },
  );

  setHandler(
    rotateSecretUpdate,
    (req) => {
      const endpoint = existing(req.endpointId);
      const overlapMs = req.overlapMs ?? DEFAULT_ROTATION_OVERLAP_MS;
      return touch(endpoint, {
        secretVersion: endpoint.secretVersion + 1,
        previousSecretVersion: endpoint.secretVersion,
        previousSecretExpiresAt: iso(Date.now() + overlapMs),
      });
    },
    {
      validator: (req) => {
        existing(req?.endpointId);
        const o = req.overlapMs;
        if (o !== undefined && (typeof o !== 'number' || !Number.isInteger(o) || o < 0 || o > MAX_ROTATION_OVERLAP_MS)) {
          invalid(`overlapMs must be an integer between 0 and ${MAX_ROTATION_OVERLAP_MS}`);
        }
      },
    },
  );

  setHandler(disableFromDeliverySignal, (sig) => {
    const endpoint = endpoints.get(sig.endpointId);
    // Several deliveries may report the same endpoint; only the first disable is announced.
    if (!endpoint || endpoint.status === 'DISABLED') return;
    touch(endpoint, { status: 'DISABLED', disabledReason: sig.reason, disabledAt: sig.at });
    outbox.publish(
      WEBHOOK_EVENT_TYPES.endpointDisabled,
      { vendorId: input.vendorId, endpointId: sig.endpointId, reason: sig.reason, eventId: sig.eventId, at: sig.at },
      sig.at,
    );
    log.info('webhook endpoint disabled by delivery', { endpointId: sig.endpointId, reason: sig.reason });
  });

  setHandler(endpointHealthSignal, (sig) => {
    const endpoint = endpoints.get(sig.endpointId);
    if (!endpoint) return;
    if (sig.ok && endpoint.failingSince !== undefined) {
      const { failingSince: _f, ...rest } = endpoint;
      touch({ ...rest }, {});
    } else if (!sig.ok && endpoint.failingSince === undefined && endpoint.status === 'ENABLED') {
      touch(endpoint, { failingSince: sig.at });
    }
  });

  const shouldContinueAsNew = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyLimit;

  void outbox.keepSending((err, event) => {
    // Only a non-retryable refusal (a contract violation) ends up here; the registry must outlive it.
    log.error('endpoint-disabled event not published', { endpointId: event.data.endpointId, error: (err as Error).name });
    return undefined;
  });

  await condition(shouldContinueAsNew);
  await condition(() => outbox.idle && allHandlersFinished());
  await continueAsNew<typeof vendorWorkflow>({
    vendorId: input.vendorId,
    endpoints: [...endpoints.values()],
    sequence: outbox.sequence,
    historyLimit: input.historyLimit,
  });
}
