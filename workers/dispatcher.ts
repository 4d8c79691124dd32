import { setMaxListeners } from 'node:events';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { deliverySearchAttributes } from '../clients/deliveries';
import { countAttempt, sendWebhook, webhookSender, type WebhookSender } from '../activities/webhooks';
import { listEndpoints } from '../clients/endpoints';
import { decodeEnvelope, headersToStrings, parseJsonStrict, type Envelope } from '../events/envelope';
import { createKafka } from '../events/kafka';
import { TOPICS } from '../events/topics';
import type { Config } from '../infra/config';
import type { Logger } from '../infra/logger';
import { metrics } from '../infra/metrics';
import { connectClient, deploymentDataConverter } from '../infra/temporal';
import { VENDOR_ID_PATTERN } from '../wire/enums';
import { resolveMasterKey } from '../infra/master-key';
import type { Resolver } from '../infra/ssrf-guard';
import { runKeyedConsumer, type KeyedConsumer } from '../events/keyed-consumer';
import {
  deliveryWorkflowId,
  endpointSubscribes,
  resolveDeliveryPolicy,
  WEBHOOK_EVENT_TYPES,
  type AttemptResult,
  type DeliveryPolicy,
  type WebhookDeliveryInput,
  type WebhookEndpoint,
} from '../workflows/webhooks/contract';

export interface DispatcherOptions {
  /** Overrides config.temporal.address (e.g. the local stack's). */
  temporalAddress?: string;
  /** Overrides config.kafka.brokers. */
  kafkaBrokers?: string[];
  /** Consumer group; every dispatcher replica uses the same one. */
  groupId?: string;
  /** Task queue delivery workflows run on; config.taskQueue by default. */
  taskQueue?: string;
  /** Retry schedule overrides passed to every delivery (tests shrink it). */
  deliveryPolicy?: Partial<DeliveryPolicy>;
  /** Where a group without committed offsets starts; default true, so no event published before the first start is lost. */
  fromBeginning?: boolean;
  /** Events larger than this are skipped (they cannot be thin). */
  maxEventBytes?: number;
  /** A Temporal client to use instead of connecting one (it must share the workers' data converter); not closed on stop. */
  client?: Client;
  /** Derives the webhook secrets of the first attempts (default: the deployment's master key, as the worker's). */
  masterKey?: Buffer;
  /** CIDRs the SSRF guard lets through (default config.webhookAllowlist, as the worker's). */
  webhookAllowlist?: readonly string[];
  /** Host name resolution for the SSRF guard (default the system resolver, as the worker's). */
  webhookResolver?: Resolver;
  /** The first attempt's timeout; 0 leaves every attempt to the delivery workflows (default config, else 2 s). */
  directTimeoutMs?: number;
  /** Events handled at once, each for a different submission (Kafka key); one submission's events in order. */
  eventsInFlight?: number;
}

export const DEFAULT_DISPATCHER_GROUP = 'preflight-dispatcher';
export const DEFAULT_DIRECT_TIMEOUT_MS = 2000;
export const DEFAULT_EVENTS_IN_FLIGHT = 32;
const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;

/** What one event led to. */
export interface DispatchResult {
  eventId?: string;
  skipped?: 'malformed' | 'no-vendor' | 'oversized';
  started: string[];
  alreadyStarted: string[];
  /** Endpoints the dispatcher itself sent the first attempt to, with its outcome. */
  direct: Array<{ endpointId: string; outcome: AttemptResult['outcome'] }>;
}

/** The webhook body: `{type, timestamp, data}`, with data as the event carried it (thin by contract). */
export function webhookBody(envelope: Envelope, data: unknown): string {
  return JSON.stringify({ type: envelope.type, timestamp: envelope.time, data });
}

/**
 * Each vendor's endpoints as the dispatcher last read them from the registry. Only the first attempt is sent from it:
 * every event still reads the registry before its deliveries start, so an endpoint registered before an event is
 * dispatched gets it, and each delivery's later attempts read the registry again.
 */
export class EndpointCache {
  readonly #entries = new Map<string, { endpoints: WebhookEndpoint[]; at: number }>();
  constructor(readonly maxAgeMs = 60_000) {}

  get(vendorId: string, now = Date.now()): WebhookEndpoint[] | undefined {
    const entry = this.#entries.get(vendorId);
    return entry && now - entry.at <= this.maxAgeMs ? entry.endpoints : undefined;
  }

  set(vendorId: string, endpoints: WebhookEndpoint[], now = Date.now()): void {
    this.#entries.delete(vendorId);
    this.#entries.set(vendorId, { endpoints, at: now });
    // Oldest first: bounded to the vendors seen lately.
    if (this.#entries.size > 10_000) this.#entries.delete(this.#entries.keys().next().value!);
  }

  forget(vendorId: string): void {
    this.#entries.delete(vendorId);
  }
}

/** The dispatcher's own first attempts: sent at once from its endpoint cache, each bounded by `timeoutMs`. */
export interface DirectAttempts {
  sender: WebhookSender;
  cache: EndpointCache;
  timeoutMs: number;
  /** Events this process dispatched lately: a redelivered one is not sent again, only its deliveries are checked. */
  recent: Set<string>;
}

const RECENT_EVENTS = 10_000;

/** Sends the first attempt to each endpoint that takes the event and is not known to be failing. */
async function sendDirect(direct: DirectAttempts, endpoints: WebhookEndpoint[], eventId: string, body: string, policy: DeliveryPolicy) {
  const attempts = new Map<string, { endpoint: WebhookEndpoint; result: AttemptResult; at: string }>();
  await Promise.all(
    endpoints
      // An endpoint already failing gets its attempts on the delivery's schedule, not one more at once.
      .filter((e) => e.failingSince === undefined)
      .map(async (endpoint) => {
        const at = new Date().toISOString();
        let result: AttemptResult;
        try {
          result = await sendWebhook(
            endpoint,
            { eventId, body, attempt: 1, requestTimeoutMs: Math.min(direct.timeoutMs, policy.requestTimeoutMs), maxResponseBytes: policy.maxResponseBytes },
            direct.sender,
          );
        } catch (err) {
          result = { outcome: 'FAILED', latencyMs: Date.now() - Date.parse(at), error: `dispatcher: ${(err as Error).message}`.slice(0, 200) };
        }
        countAttempt(result);
        attempts.set(endpoint.endpointId, { endpoint, result, at });
      }),
  );
  return attempts;
}

/**
 * Starts one delivery per subscribed endpoint, each with its deterministic id and a reject-duplicate policy: a
 * redelivered or replayed Kafka message finds every delivery already started (or done) and starts nothing new.
 * With `direct`, the first attempt goes out from here before the deliveries start (from the endpoints last read when
 * there are any, else after reading them), and each delivery records it instead of making it.
 * Temporal errors propagate, so the message is handled again.
 */
export async function dispatchMessage(
  client: Client,
  message: Pick<KafkaMessage, 'headers' | 'value'>,
  options: { taskQueue: string; deliveryPolicy?: Partial<DeliveryPolicy>; maxEventBytes?: number; direct?: DirectAttempts },
): Promise<DispatchResult> {
  const result: DispatchResult = { started: [], alreadyStarted: [], direct: [] };
  const value = message.value ?? Buffer.alloc(0);
  if (value.length > (options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES)) return { ...result, skipped: 'oversized' };
  let envelope: Envelope;
  let data: unknown;
  try {
    envelope = decodeEnvelope(headersToStrings(message.headers));
    data = parseJsonStrict(value);
  } catch {
    return { ...result, skipped: 'malformed' };
  }
  result.eventId = envelope.id;
  const vendorId = (data as { vendorId?: unknown } | null)?.vendorId;
  if (typeof vendorId !== 'string' || !VENDOR_ID_PATTERN.test(vendorId)) return { ...result, skipped: 'no-vendor' };
  const direct = options.direct;
  // A disabled endpoint is announced on this topic: the next event reads the registry before any direct attempt.
  if (envelope.type === WEBHOOK_EVENT_TYPES.endpointDisabled) direct?.cache.forget(vendorId);

  const body = webhookBody(envelope, data);
  const policy = resolveDeliveryPolicy(options.deliveryPolicy);
  const subscribed = (endpoints: WebhookEndpoint[]) => endpoints.filter((e) => e.status === 'ENABLED' && endpointSubscribes(e, envelope.type));
  const sendFirst = direct !== undefined && direct.timeoutMs > 0 && !direct.recent.has(envelope.id);
  const cached = sendFirst ? direct.cache.get(vendorId) : undefined;
  const early = cached ? sendDirect(direct!, subscribed(cached), envelope.id, body, policy) : undefined;
  const current = await listEndpoints(client, vendorId);
  direct?.cache.set(vendorId, current);
  const endpoints = subscribed(current);
  const attempts = (await early) ?? (sendFirst ? await sendDirect(direct!, endpoints, envelope.id, body, policy) : new Map());
  if (direct) {
    direct.recent.add(envelope.id);
    if (direct.recent.size > RECENT_EVENTS) direct.recent.delete(direct.recent.values().next().value!);
  }
  for (const endpoint of endpoints) {
    const workflowId = deliveryWorkflowId(envelope.id, endpoint.endpointId);
    const input: WebhookDeliveryInput = { eventId: envelope.id, eventType: envelope.type, vendorId, endpointId: endpoint.endpointId, body };
    if (options.deliveryPolicy) input.policy = options.deliveryPolicy;
    const made = attempts.get(endpoint.endpointId);
    // Recorded only when made to the endpoint as it is now; otherwise the delivery makes its own first attempt.
    if (made && made.endpoint.url === endpoint.url && made.endpoint.secretVersion === endpoint.secretVersion) {
      input.firstAttempt = { result: made.result, at: made.at };
      result.direct.push({ endpointId: endpoint.endpointId, outcome: made.result.outcome });
    }
    try {
      await client.workflow.start('webhookDeliveryWorkflow', {
        workflowId,
        taskQueue: options.taskQueue,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: deliverySearchAttributes(input),
      });
      result.started.push(workflowId);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      result.alreadyStarted.push(workflowId);
    }
  }
  return result;
}

/** The `dispatcher` process: status events → one webhook delivery workflow per subscribed endpoint. */
export async function runDispatcher(config: Config, logger: Logger, options: DispatcherOptions = {}): Promise<{ stop(): Promise<void> }> {
  const log = logger.child({ component: 'dispatcher' });
  const ownClient = options.client === undefined;
  // The deployment's encrypting data converter, as every Preflight process uses: workers must decode what this starts.
  const client = options.client ?? (await connectClient(config.temporal, options.temporalAddress, deploymentDataConverter(config)));
  const closeClient = async () => {
    if (ownClient) await client.connection.close();
  };
  const kafka = createKafka(config.kafka, logger, options.kafkaBrokers ?? config.kafka.brokers, 'dispatcher');
  let stopping = false;
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId ?? DEFAULT_DISPATCHER_GROUP,
    allowAutoTopicCreation: false,
    // A dispatcher that dies hands its partitions over after 10 s (kafkajs's default is 30 s).
    sessionTimeout: 10_000,
    heartbeatInterval: 3000,
    // kafkajs can still be fetching after disconnect() and would then crash and restart itself forever.
    retry: { initialRetryTime: 200, retries: 8, restartOnFailure: async () => !stopping },
  });
  const taskQueue = options.taskQueue ?? config.taskQueue;
  const direct: DirectAttempts = {
    sender: webhookSender({
      logger,
      masterKey: options.masterKey ?? resolveMasterKey(config.masterKey, config.stack.dataDir),
      webhookAllowlist: options.webhookAllowlist ?? config.webhookAllowlist,
      webhookResolver: options.webhookResolver,
    }),
    cache: new EndpointCache(),
    timeoutMs: options.directTimeoutMs ?? config.dispatcherDirectTimeoutMs ?? DEFAULT_DIRECT_TIMEOUT_MS,
    recent: new Set(),
  };
  let keyed: KeyedConsumer | undefined;
  const stopped = new AbortController();
  // Every Temporal call in flight listens on this one signal: up to eventsInFlight events, each with a registry
  // query and its deliveries' starts.
  setMaxListeners(0, stopped.signal);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPICS.submissionEvents], fromBeginning: options.fromBeginning ?? true });
    keyed = await runKeyedConsumer(consumer, {
      // One submission's events in order; other submissions (and partitions) go on while one waits on its vendor's
      // registry or endpoints.
      concurrency: options.eventsInFlight ?? DEFAULT_EVENTS_IN_FLIGHT,
      log,
      handle: async (_topic, partition, message) => {
        let outcome: DispatchResult;
        try {
          // Cancelled when the process stops: a registry that does not answer must not keep a call running past it.
          outcome = await client.withAbortSignal(stopped.signal, () =>
            dispatchMessage(client, message, { taskQueue, deliveryPolicy: options.deliveryPolicy, maxEventBytes: options.maxEventBytes, direct }),
          );
        } catch (err) {
          // Handled again after a back-off, holding only this submission's events: no delivery is lost while
          // Temporal is unavailable.
          metrics.dispatcherEvents.inc({ outcome: 'retry' });
          log.warn({ partition, offset: message.offset, err }, 'dispatch failed; will retry');
          throw err;
        }
        metrics.dispatcherEvents.inc({ outcome: outcome.skipped ? `skipped_${outcome.skipped.replace(/-/g, '_')}` : 'dispatched' });
        metrics.dispatcherDeliveries.inc({ result: 'started' }, outcome.started.length);
        metrics.dispatcherDeliveries.inc({ result: 'already_started' }, outcome.alreadyStarted.length);
        if (outcome.skipped) log.warn({ partition, offset: message.offset, eventId: outcome.eventId, skipped: outcome.skipped }, 'event not dispatched');
        else if (outcome.started.length > 0 || outcome.alreadyStarted.length > 0) {
          log.info(
            { eventId: outcome.eventId, started: outcome.started.length, alreadyStarted: outcome.alreadyStarted.length, direct: outcome.direct },
            'event dispatched',
          );
        }
        return true;
      },
      retryMs: 200,
      maxRetryMs: 10_000,
    });
  } catch (err) {
    await consumer.disconnect().catch(() => undefined);
    await closeClient().catch(() => undefined);
    throw err;
  }
  log.info({ taskQueue, topic: TOPICS.submissionEvents }, 'dispatcher started');
  return {
    async stop() {
      stopping = true;
      stopped.abort();
      await keyed?.drain();
      await consumer.disconnect();
      await closeClient();
      log.info('dispatcher stopped');
    },
  };
}
