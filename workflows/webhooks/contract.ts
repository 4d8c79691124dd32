/**
 * The public surface of vendor webhooks: workflow ids, the endpoint registry (workflow `vendor/<vendorId>`) with its
 * updates, signals and queries, and the delivery workflow (`delivery/<eventId>/<endpointId>`) with its policy and
 * attempt log. Plain TypeScript: bundled into workflows and imported by the api, dispatcher and cli.
 *
 * Signing secrets never appear here: an endpoint holds only its secret *version* (and the previous version with the
 * end of its overlap); the secret itself is derived from the master key whenever a delivery is signed.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { ENDPOINT_ID_PATTERN, type DeliveryDisableReason, type DeliveryStatus, type EndpointDisableReason, type EndpointStatus } from '../../wire/enums';
import type { EndpointDisabledData } from '../../wire/webhooks';
import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from '../shared/time';

export const VENDOR_WORKFLOW_PREFIX = 'vendor/';
export const DELIVERY_WORKFLOW_PREFIX = 'delivery/';

/** `vendor/<vendorId>`: the vendor's endpoint registry. */
export function vendorWorkflowId(vendorId: string): string {
  return `${VENDOR_WORKFLOW_PREFIX}${vendorId}`;
}

/** `delivery/<eventId>/<endpointId>`: one delivery of one event to one endpoint; a redelivered Kafka message maps to the same id. */
export function deliveryWorkflowId(eventId: string, endpointId: string): string {
  return `${DELIVERY_WORKFLOW_PREFIX}${eventId}/${endpointId}`;
}

/** Inverse of `deliveryWorkflowId` (the event id may itself contain slashes; the endpoint id never does). */
export function parseDeliveryWorkflowId(workflowId: string): { eventId: string; endpointId: string } | undefined {
  if (!workflowId.startsWith(DELIVERY_WORKFLOW_PREFIX)) return undefined;
  const rest = workflowId.slice(DELIVERY_WORKFLOW_PREFIX.length);
  const cut = rest.lastIndexOf('/');
  if (cut <= 0) return undefined;
  const endpointId = rest.slice(cut + 1);
  return ENDPOINT_ID_PATTERN.test(endpointId) ? { eventId: rest.slice(0, cut), endpointId } : undefined;
}

/** Dotted, lowercase, versioned event types, or a prefix wildcard such as `gov.preflight.finding.*`. */
export const EVENT_TYPE_FILTER_PATTERN = /^([a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+\.v[1-9][0-9]*|([a-z][a-z0-9-]*\.)+\*)$/;
export const MAX_URL_LENGTH = 2048;
export const MAX_ENDPOINTS_PER_VENDOR = 20;
export const MAX_EVENT_TYPE_FILTERS = 50;
export const MAX_DESCRIPTION_LENGTH = 200;
export const DEFAULT_ROTATION_OVERLAP_MS = DAY_MS;
export const MAX_ROTATION_OVERLAP_MS = 7 * DAY_MS;

// ---------------------------------------------------------------------------------------------------------------
// Endpoint registry

export interface WebhookEndpoint {
  endpointId: string;
  vendorId: string;
  url: string;
  description?: string;
  /** Subscribed event types; empty means every event of the vendor. */
  eventTypes: string[];
  status: EndpointStatus;
  disabledReason?: EndpointDisableReason;
  disabledAt?: string;
  createdAt: string;
  updatedAt: string;
  /** The version the current signing secret is derived from (1-based). */
  secretVersion: number;
  /** During a rotation overlap: the previous version, still signed until `previousSecretExpiresAt`. */
  previousSecretVersion?: number;
  previousSecretExpiresAt?: string;
  /** Start of the current run of failed attempts; cleared by a success or by enabling. */
  failingSince?: string;
}

export interface VendorWorkflowInput {
  vendorId: string;
  /** Carried across continue-as-new. */
  endpoints?: WebhookEndpoint[];
  /** Last published event sequence of this aggregate, carried across continue-as-new. */
  sequence?: number;
  /** Continue-as-new after this many history events (tests shrink it). */
  historyLimit?: number;
}

export interface RegisterEndpointInput {
  endpointId: string;
  url: string;
  eventTypes?: string[];
  description?: string;
}
export interface UpdateEndpointInput {
  endpointId: string;
  url?: string;
  eventTypes?: string[];
  description?: string;
}
export interface EndpointRef {
  endpointId: string;
}
export interface RotateSecretInput {
  endpointId: string;
  /** How long the previous secret keeps signing; default 24 h, at most 7 days, 0 ends it now. */
  overlapMs?: number;
}

export const registerEndpointUpdate = defineUpdate<WebhookEndpoint, [RegisterEndpointInput]>('registerEndpoint');
export const updateEndpointUpdate = defineUpdate<WebhookEndpoint, [UpdateEndpointInput]>('updateEndpoint');
export const disableEndpointUpdate = defineUpdate<WebhookEndpoint, [EndpointRef]>('disableEndpoint');
export const enableEndpointUpdate = defineUpdate<WebhookEndpoint, [EndpointRef]>('enableEndpoint');
export const deleteEndpointUpdate = defineUpdate<{ endpointId: string; deleted: true }, [EndpointRef]>('deleteEndpoint');
export const rotateSecretUpdate = defineUpdate<WebhookEndpoint, [RotateSecretInput]>('rotateSecret');

/** From a delivery: the endpoint answered 410 or failed for the whole span. Idempotent. */
export interface DisableFromDeliveryInput {
  endpointId: string;
  reason: DeliveryDisableReason;
  at: string;
  eventId: string;
}
/** From a delivery: an attempt failed (`ok: false`, starts the failing clock if unset) or succeeded (clears it). */
export interface EndpointHealthInput {
  endpointId: string;
  ok: boolean;
  at: string;
}
export const disableFromDeliverySignal = defineSignal<[DisableFromDeliveryInput]>('disableFromDelivery');
export const endpointHealthSignal = defineSignal<[EndpointHealthInput]>('endpointHealth');

export const endpointsQuery = defineQuery<WebhookEndpoint[]>('endpoints');

/** True when the endpoint takes events of this type. */
export function endpointSubscribes(endpoint: Pick<WebhookEndpoint, 'eventTypes'>, eventType: string): boolean {
  if (endpoint.eventTypes.length === 0) return true;
  return endpoint.eventTypes.some((t) => (t.endsWith('.*') ? eventType.startsWith(t.slice(0, -1)) : t === eventType));
}

/** Secret versions that sign at `nowMs`: the current one, and the previous one while its overlap lasts. */
export function activeSecretVersions(endpoint: WebhookEndpoint, nowMs: number): number[] {
  const versions = [endpoint.secretVersion];
  if (endpoint.previousSecretVersion !== undefined && endpoint.previousSecretExpiresAt !== undefined && Date.parse(endpoint.previousSecretExpiresAt) > nowMs) {
    versions.push(endpoint.previousSecretVersion);
  }
  return versions;
}

export const WEBHOOK_EVENT_SOURCE = '/preflight/webhooks';
export const WEBHOOK_EVENT_TYPES = {
  endpointDisabled: 'gov.preflight.webhook-endpoint.disabled.v1',
} as const;

/** The data each webhook registry event type carries. */
export interface WebhookEventMap {
  [WEBHOOK_EVENT_TYPES.endpointDisabled]: EndpointDisabledData;
}

// ---------------------------------------------------------------------------------------------------------------
// Delivery

export interface DeliveryPolicy {
  /** Delay before each attempt; the first is normally 0 (immediately). Its length is the number of attempts. */
  delaysMs: number[];
  /** Each delay is spread by ± this fraction, from workflow-deterministic randomness. */
  jitterRatio: number;
  /** An endpoint failing this long without a success is disabled. */
  disableAfterMs: number;
  requestTimeoutMs: number;
  /** Response bodies are read up to this many bytes, then the connection is dropped. */
  maxResponseBytes: number;
  /** A Retry-After longer than this is capped. */
  maxRetryAfterMs: number;
}

/** Svix-like: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; endpoint disabled after 5 days of failure. */
export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  delaysMs: [0, 5 * SECOND_MS, 5 * MINUTE_MS, 30 * MINUTE_MS, 2 * HOUR_MS, 5 * HOUR_MS, 10 * HOUR_MS, 10 * HOUR_MS],
  jitterRatio: 0.2,
  disableAfterMs: 5 * DAY_MS,
  requestTimeoutMs: 15 * SECOND_MS,
  maxResponseBytes: 64 * 1024,
  maxRetryAfterMs: 10 * HOUR_MS,
};

export interface WebhookDeliveryInput {
  eventId: string;
  eventType: string;
  vendorId: string;
  endpointId: string;
  /** The exact JSON body `{type, timestamp, data}` (thin), signed and sent unchanged on every attempt. */
  body: string;
  policy?: Partial<DeliveryPolicy>;
  /** Set on an ops replay: a new run of the same delivery id. */
  replayedAt?: string;
  /** The first attempt, already made by the dispatcher: the workflow records it and goes on from the second. */
  firstAttempt?: { result: AttemptResult; at: string };
}

export type AttemptOutcome =
  | 'DELIVERED'
  /** Non-2xx (redirects included), connection error, timeout, oversized answer. */
  | 'FAILED'
  /** 410 Gone. */
  | 'GONE'
  /** The SSRF guard refused the target address. */
  | 'REFUSED'
  | 'ENDPOINT_DISABLED'
  | 'ENDPOINT_DELETED';

export interface AttemptResult {
  outcome: AttemptOutcome;
  status?: number;
  latencyMs: number;
  /** The first bytes of the response, printable characters only. */
  excerpt?: string;
  /** A short machine-readable error (`timeout`, `ECONNRESET`, `redirect`, `ssrf:loopback`, …). */
  error?: string;
  retryAfterMs?: number;
  /** The endpoint as the attempt saw it (for the failing clock). */
  endpointFailingSince?: string;
}

export interface AttemptInput {
  eventId: string;
  vendorId: string;
  endpointId: string;
  body: string;
  attempt: number;
  requestTimeoutMs: number;
  maxResponseBytes: number;
}

/** The webhook activities (implemented by `createWebhookActivities`). One attempt each: the workflow owns retries. */
export interface WebhookActivities {
  attemptWebhookDelivery: (input: AttemptInput) => Promise<AttemptResult>;
}

export interface AttemptRecord extends AttemptResult {
  attempt: number;
  at: string;
  /** When the next attempt is due, when there is one. */
  nextAttemptAt?: string;
}

export type { DeliveryStatus };

export interface DeliveryView {
  eventId: string;
  eventType: string;
  vendorId: string;
  endpointId: string;
  status: DeliveryStatus;
  startedAt: string;
  replayedAt?: string;
  nextAttemptAt?: string;
  attempts: AttemptRecord[];
  policy: DeliveryPolicy;
  /** The body sent; thin by construction. Replays reuse it. */
  body: string;
}

export const deliveryStateQuery = defineQuery<DeliveryView>('deliveryState');

/** Resolved policy; a bad value in tests or config is refused rather than silently clamped. */
export function resolveDeliveryPolicy(partial: Partial<DeliveryPolicy> | undefined): DeliveryPolicy {
  const p: DeliveryPolicy = { ...DEFAULT_DELIVERY_POLICY, ...(partial ?? {}) };
  const ok =
    p.delaysMs.length > 0 &&
    p.delaysMs.every((d) => Number.isFinite(d) && d >= 0) &&
    p.jitterRatio >= 0 &&
    p.jitterRatio < 1 &&
    p.disableAfterMs > 0 &&
    p.requestTimeoutMs > 0 &&
    p.maxResponseBytes > 0 &&
    p.maxRetryAfterMs >= 0;
  if (!ok) throw new TypeError('invalid delivery policy');
  return p;
}

/** The delay before attempt `index` (0-based) with jitter from `random` in [0, 1), never below `retryAfterMs`. */
export function nextDelayMs(policy: DeliveryPolicy, index: number, random: number, retryAfterMs?: number): number {
  const base = policy.delaysMs[index] ?? 0;
  const jittered = Math.round(base * (1 + policy.jitterRatio * (2 * random - 1)));
  const floor = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, policy.maxRetryAfterMs);
  return Math.max(jittered, floor);
}
