import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostPort } from './local-process';
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
  /**
   * Webhook delivery attempts by outcome: `delivered`, `failed` (non-2xx, connection error, timeout), `gone` (410),
   * `refused` (the SSRF guard), `endpoint_deleted`, `endpoint_disabled`.
   */
  deliveryAttempts: new Counter({
    name: 'preflight_webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  /** Seconds from sending a delivery's request to its answer (or the transport error), for attempts that sent one. */
  deliveryLatencySeconds: new Histogram({
    name: 'preflight_webhook_delivery_latency_seconds',
    help: 'Latency of webhook delivery attempts that sent a request',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
    registers: [registry],
  }),
  /** Status events the dispatcher handled: `dispatched` (a delivery per subscribed endpoint, maybe none), a skip reason, or `retry`. */
  dispatcherEvents: new Counter({
    name: 'preflight_dispatcher_events_total',
    help: 'Status events handled by the dispatcher, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  /** Delivery workflows the dispatcher started, or found already started (a redelivered or replayed event). */
  dispatcherDeliveries: new Counter({
    name: 'preflight_dispatcher_deliveries_total',
    help: 'Webhook delivery workflows started by the dispatcher, or found already started',
    labelNames: ['result'] as const,
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

/**
 * Serves `GET /metrics` (and `GET /healthz`) on its own port, for the processes that have no HTTP API: `preflight
 * worker`, `ingress` and `dispatcher` run on their own. Anything else is 404; only GET and HEAD are answered.
 */
export async function serveMetrics(host: string, port: number): Promise<{ url: string; stop(): Promise<void> }> {
  collectProcessMetrics();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    renderMetrics().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${hostPort(address.address, address.port)}/metrics`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
