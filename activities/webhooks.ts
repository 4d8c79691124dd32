import type { Client } from '@temporalio/client';
import { deriveWebhookSecret, webhookHeaders } from '../events/webhook-signing';
import type { Logger } from '../infra/logger';
import { metrics } from '../infra/metrics';
import { activeSecretVersions, type AttemptInput, type AttemptResult, type WebhookActivities, type WebhookEndpoint } from '../workflows/webhooks/contract';
import { isSsrfRefusedError, parseAllowlist, resolveAndCheck, type Resolver } from '../infra/ssrf-guard';
import { getEndpoint } from '../clients/endpoints';
import { postWebhook, WebhookTransportError } from '../infra/webhook-http';

export interface WebhookDeps {
  logger: Logger;
  masterKey: Buffer;
  temporalClient: Client;
  /** CIDRs the SSRF guard lets through despite being private/loopback; empty in production. */
  webhookAllowlist: readonly string[];
  /** Host name resolution for the SSRF guard; the system resolver when absent. */
  webhookResolver?: Resolver;
}

/** Classifies an HTTP status: 2xx delivered, 410 gone, everything else (3xx included: never followed) failed. */
export function outcomeOfStatus(status: number): AttemptResult['outcome'] {
  if (status >= 200 && status < 300) return 'DELIVERED';
  if (status === 410) return 'GONE';
  return 'FAILED';
}

/** What one signed POST needs besides the endpoint and the event. */
export interface WebhookSender {
  log: Logger;
  allowlist: ReturnType<typeof parseAllowlist>;
  masterKey: Buffer;
  resolver?: Resolver;
}

export function webhookSender(deps: Pick<WebhookDeps, 'logger' | 'masterKey' | 'webhookAllowlist' | 'webhookResolver'>): WebhookSender {
  return {
    log: deps.logger.child({ component: 'webhooks' }),
    allowlist: parseAllowlist(deps.webhookAllowlist),
    masterKey: deps.masterKey,
    resolver: deps.webhookResolver,
  };
}

/**
 * One attempt to an enabled endpoint as given: the SSRF guard on its URL, the body signed with its active secrets,
 * one POST. Counted by outcome; the latency is observed when a request was sent.
 */
export async function sendWebhook(
  endpoint: WebhookEndpoint,
  input: Pick<AttemptInput, 'eventId' | 'body' | 'attempt' | 'requestTimeoutMs' | 'maxResponseBytes'>,
  sender: WebhookSender,
): Promise<AttemptResult> {
  const { log } = sender;
  const started = Date.now();
  const seen = endpoint.failingSince === undefined ? {} : { endpointFailingSince: endpoint.failingSince };
  const fields = { eventId: input.eventId, endpointId: endpoint.endpointId, attempt: input.attempt };

  let target;
  try {
    target = await resolveAndCheck(endpoint.url, { allowlist: sender.allowlist, resolver: sender.resolver });
  } catch (err) {
    if (!isSsrfRefusedError(err)) throw err;
    log.warn({ ...fields, reason: err.reason }, 'webhook target refused');
    return { outcome: 'REFUSED', latencyMs: Date.now() - started, error: `ssrf:${err.reason}`, ...seen };
  }

  const now = Date.now();
  const secrets = activeSecretVersions(endpoint, now).map((v) => deriveWebhookSecret(sender.masterKey, endpoint.endpointId, v));
  const headers = webhookHeaders({ id: input.eventId, timestampSeconds: Math.floor(now / 1000), body: input.body, secrets });
  try {
    const res = await postWebhook(target, headers, input.body, { timeoutMs: input.requestTimeoutMs, maxResponseBytes: input.maxResponseBytes });
    const outcome = outcomeOfStatus(res.status);
    const result: AttemptResult = { outcome, status: res.status, latencyMs: res.latencyMs, excerpt: res.excerpt, ...seen };
    if (res.status >= 300 && res.status < 400) result.error = 'redirect';
    if ((res.status === 429 || res.status === 503) && res.retryAfterMs !== undefined) result.retryAfterMs = res.retryAfterMs;
    log.info({ ...fields, status: res.status, outcome, latencyMs: res.latencyMs }, 'webhook attempt');
    return result;
  } catch (err) {
    if (!(err instanceof WebhookTransportError)) throw err;
    log.info({ ...fields, error: err.code, latencyMs: err.latencyMs }, 'webhook attempt failed');
    return { outcome: 'FAILED', latencyMs: err.latencyMs, error: err.code, ...seen };
  }
}

/** Counts one attempt's outcome, and its latency when a request was sent. */
export function countAttempt(result: AttemptResult): void {
  metrics.deliveryAttempts.inc({ outcome: result.outcome.toLowerCase() });
  if (result.outcome === 'DELIVERED' || result.outcome === 'FAILED' || result.outcome === 'GONE') {
    metrics.deliveryLatencySeconds.observe(result.latencyMs / 1000);
  }
}

/** Webhook activities. `attemptWebhookDelivery` is one attempt: the workflow owns retries. */
export function createWebhookActivities(deps: WebhookDeps): WebhookActivities {
  const sender = webhookSender(deps);

  /** One attempt with the endpoint as the registry has it now. */
  async function attemptWebhookDelivery(input: AttemptInput): Promise<AttemptResult> {
    const result = await attempt(input);
    countAttempt(result);
    return result;
  }

  async function attempt(input: AttemptInput): Promise<AttemptResult> {
    const endpoint = await getEndpoint(deps.temporalClient, input.vendorId, input.endpointId);
    if (!endpoint) return { outcome: 'ENDPOINT_DELETED', latencyMs: 0 };
    if (endpoint.status !== 'ENABLED') return { outcome: 'ENDPOINT_DISABLED', latencyMs: 0 };
    return sendWebhook(endpoint, input, sender);
  }

  return { attemptWebhookDelivery };
}
