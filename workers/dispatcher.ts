import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { deliverySearchAttributes } from '../clients/deliveries';
import { subscribedEndpoints } from '../clients/endpoints';
import { withHeartbeat } from '../events/consumer';
import { decodeEnvelope, headersToStrings, parseJsonStrict, type Envelope } from '../events/envelope';
import { createKafka } from '../events/kafka';
import { TOPICS } from '../events/topics';
import type { Config } from '../infra/config';
import type { Logger } from '../infra/logger';
import { metrics } from '../infra/metrics';
import { connectClient, deploymentDataConverter } from '../infra/temporal';
import { VENDOR_ID_PATTERN } from '../wire/enums';
import { deliveryWorkflowId, type DeliveryPolicy, type WebhookDeliveryInput } from '../workflows/webhooks/contract';

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
}

export const DEFAULT_DISPATCHER_GROUP = 'preflight-dispatcher';
const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;

/** What one event led to. */
export interface DispatchResult {
  eventId?: string;
  skipped?: 'malformed' | 'no-vendor' | 'oversized';
  started: string[];
  alreadyStarted: string[];
}

/** The webhook body: `{type, timestamp, data}`, with data as the event carried it (thin by contract). */
export function webhookBody(envelope: Envelope, data: unknown): string {
  return JSON.stringify({ type: envelope.type, timestamp: envelope.time, data });
}

/**
 * Starts one delivery per subscribed endpoint, each with its deterministic id and a reject-duplicate policy: a
 * redelivered or replayed Kafka message finds every delivery already started (or done) and starts nothing new.
 * Temporal errors propagate, so the offset is not committed and the message is processed again.
 */
export async function dispatchMessage(
  client: Client,
  message: Pick<KafkaMessage, 'headers' | 'value'>,
  options: { taskQueue: string; deliveryPolicy?: Partial<DeliveryPolicy>; maxEventBytes?: number },
): Promise<DispatchResult> {
  const result: DispatchResult = { started: [], alreadyStarted: [] };
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

  const endpoints = await subscribedEndpoints(client, vendorId, envelope.type);
  const body = webhookBody(envelope, data);
  for (const endpoint of endpoints) {
    const workflowId = deliveryWorkflowId(envelope.id, endpoint.endpointId);
    const input: WebhookDeliveryInput = { eventId: envelope.id, eventType: envelope.type, vendorId, endpointId: endpoint.endpointId, body };
    if (options.deliveryPolicy) input.policy = options.deliveryPolicy;
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
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPICS.submissionEvents], fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      // Partitions are independent; within one, events are handled in order.
      partitionsConsumedConcurrently: 3,
      eachMessage: async ({ partition, message, heartbeat }) => {
        let outcome: DispatchResult;
        try {
          // A registry whose worker is down answers only after ~30 s; the membership must outlast that.
          outcome = await withHeartbeat(heartbeat, () =>
            dispatchMessage(client, message, { taskQueue, deliveryPolicy: options.deliveryPolicy, maxEventBytes: options.maxEventBytes }),
          );
        } catch (err) {
          // Not committed: kafkajs retries this message, so no delivery is lost while Temporal is unavailable.
          metrics.dispatcherEvents.inc({ outcome: 'retry' });
          log.warn({ partition, offset: message.offset, err }, 'dispatch failed; will retry');
          throw err;
        }
        metrics.dispatcherEvents.inc({ outcome: outcome.skipped ? `skipped_${outcome.skipped.replace(/-/g, '_')}` : 'dispatched' });
        metrics.dispatcherDeliveries.inc({ result: 'started' }, outcome.started.length);
        metrics.dispatcherDeliveries.inc({ result: 'already_started' }, outcome.alreadyStarted.length);
        if (outcome.skipped) log.warn({ partition, offset: message.offset, eventId: outcome.eventId, skipped: outcome.skipped }, 'event not dispatched');
        else if (outcome.started.length > 0 || outcome.alreadyStarted.length > 0) {
          log.info({ eventId: outcome.eventId, started: outcome.started.length, alreadyStarted: outcome.alreadyStarted.length }, 'event dispatched');
        }
      },
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
      await consumer.disconnect();
      await closeClient();
      log.info('dispatcher stopped');
    },
  };
}
