import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one Prometheus registry of a Preflight process and the metrics every process may increment. Each process
 * increments what it does (the api: HTTP and vendor commands; the worker: lifecycle; the ingress: command outcomes
 * and lag; the dispatcher: deliveries); the api serves the registry at `/metrics`. Labels are enums and ids of
 * bounded cardinality only (statuses, outcomes, agency ids), never submission ids or free text.
 */
export const registry = new Registry();
registry.setDefaultLabels({ service: 'preflight' });

let defaultsCollected = false;
/** Adds Node process metrics (CPU, memory, event loop lag) once per process. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry, prefix: 'preflight_' });
}

export const metrics = {
  /** Submission lifecycle transitions seen (`to` = the new status). */
  lifecycleTransitions: new Counter({
    name: 'preflight_lifecycle_transitions_total',
    help: 'Submission status transitions, by new status',
    labelNames: ['to'] as const,
    registers: [registry],
  }),
  /** Submissions started through the API. */
  submissionsCreated: new Counter({
    name: 'preflight_submissions_created_total',
    help: 'Submissions created through the vendor API',
    registers: [registry],
  }),
  /** Submissions currently in each status (set by whoever lists visibility, e.g. the api on scrape). */
  submissionsByStatus: new Gauge({
    name: 'preflight_submissions',
    help: 'Submissions by current status (from Temporal visibility)',
    labelNames: ['status'] as const,
    registers: [registry],
  }),
  /** Time from submission to an outcome (clearance issued, withdrawn, closed). */
  lifecycleDurationSeconds: new Histogram({
    name: 'preflight_lifecycle_duration_seconds',
    help: 'Seconds from submission to the given status',
    labelNames: ['status'] as const,
    buckets: [60, 3600, 6 * 3600, 86_400, 3 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400, 60 * 86_400],
    registers: [registry],
  }),
  /** Vendor and ops commands through the API, by command and outcome (`ok` or a problem code). */
  apiCommands: new Counter({
    name: 'preflight_api_commands_total',
    help: 'Vendor/ops commands through the API, by command and outcome',
    labelNames: ['command', 'outcome'] as const,
    registers: [registry],
  }),
  /** HTTP requests served, by route pattern, method and status code. */
  httpRequests: new Counter({
    name: 'preflight_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  }),
  httpDurationSeconds: new Histogram({
    name: 'preflight_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route', 'method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  /** Refused requests (authentication or authorization), by reason. */
  authRefusals: new Counter({
    name: 'preflight_auth_refusals_total',
    help: 'Requests refused by authentication or authorization, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
  /** Remote codec requests (Temporal Web UI, CLI), by operation (`decode`, `encode`) and outcome (`ok` or a problem code). */
  codecRequests: new Counter({
    name: 'preflight_codec_requests_total',
    help: 'Codec endpoint requests by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  }),
  /** Payloads the codec endpoint decoded or encoded for ops. */
  codecPayloads: new Counter({
    name: 'preflight_codec_payloads_total',
    help: 'Payloads decoded or encoded by the codec endpoint, by operation',
    labelNames: ['operation'] as const,
    registers: [registry],
  }),
  /** Agency commands by outcome (`accepted` or a rejection code) and type. */
  ingressCommands: new Counter({
    name: 'preflight_ingress_commands_total',
    help: 'Agency commands processed by the ingress, by type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  }),
  /** Seconds between a command's timestamp and its processing. */
  ingressLagSeconds: new Histogram({
    name: 'preflight_ingress_lag_seconds',
    help: 'Seconds from an agency command being produced to its processing',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  }),
  /** Consumer lag in messages per topic partition, as last observed. */
  consumerLagMessages: new Gauge({
    name: 'preflight_consumer_lag_messages',
    help: 'Messages between the committed offset and the high watermark, by consumer group and topic',
    labelNames: ['group', 'topic'] as const,
    registers: [registry],
  }),
  /** Webhook delivery attempts by outcome (`delivered`, `retry`, `failed`, `disabled`). */
  deliveryAttempts: new Counter({
    name: 'preflight_webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  deliveryLatencySeconds: new Histogram({
    name: 'preflight_webhook_delivery_latency_seconds',
    help: 'Latency of webhook delivery attempts',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
    registers: [registry],
  }),
  /** Dead letters replayed by ops. */
  deadLettersReplayed: new Counter({
    name: 'preflight_dead_letters_replayed_total',
    help: 'Dead letters replayed onto their original topic',
    registers: [registry],
  }),
} as const;

/** The Prometheus text exposition of everything registered. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
