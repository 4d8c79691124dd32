/**
 * One stuck key holds only itself. The ingress: a submission whose worker is gone cannot take its agency's command;
 * another submission's command on the same partition, sent after it, is answered at once, and the stuck one is
 * parked (dead letter `not-applied`, and a reply saying so) once others were applied meanwhile, then replayed by ops
 * when its worker is back. The dispatcher: a vendor whose endpoint registry does not answer holds its own events;
 * another vendor's events on the same partition are delivered meanwhile.
 */
import crypto, { type KeyObject } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { sendAgencyCommand } from '../../events/agency-client';
import { agencyKafka, readAgencyKafkaLogin } from '../../events/agency-login';
import { decodeEvent, tailTopic } from '../../events/consumer';
import { headersToStrings } from '../../events/envelope';
import { DEAD_LETTER_HEADERS } from '../../events/dead-letter';
import { createKafka } from '../../events/kafka';
import { createKafkaEventPublisher, type KafkaEventPublisher } from '../../events/producer';
import { agencyInboxTopic, TOPICS } from '../../events/topics';
import type { Config } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { deploymentPayloadKeys } from '../../infra/temporal';
import { agencyKafkaLoginFile } from '../../stack/dev-credentials';
import { replayDeadLetter } from '../../workers/api/dead-letters';
import { runDispatcher } from '../../workers/dispatcher';
import { runIngress } from '../../workers/ingress/index';
import { startWorker } from '../../workers/worker';
import type { StatusEvent } from '../../workflows/shared/outbox';
import { submissionWorkflowId } from '../../workflows/submission/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import { vendorWorkflowId } from '../../workflows/webhooks/contract';
import { agencyKeys, collect, eventually, startGroupAtEnd } from '../helpers/agency-events';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { submissionInput, waitForAgency } from '../helpers/lifecycle';
import { Receiver } from '../helpers/webhook-receiver';
import { testClient, testConfig, testKafka, testStack, unique } from '../helpers/stack-env';

jest.setTimeout(300_000);

const logger = createLogger({ level: 'error' });
const agencies = agencyKeys(['nsa']);
const stops: Array<() => Promise<unknown>> = [];
let client: Client;
let kafka: Kafka;

/** The partition kafkajs's default partitioner gives a key on a three-partition topic (the test stack's). */
const partitionOf = (key: string) =>
  Partitioners.DefaultPartitioner()({
    topic: 't',
    partitionMetadata: [0, 1, 2].map((partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], offlineReplicas: [], partitionErrorCode: 0 })),
    message: { key, value: null },
  });

/** Ids with the prefix, all on one partition. */
function idsOnOnePartition(prefix: string, count: number, key: (id: string) => string = (id) => id): string[] {
  const byPartition = new Map<number, string[]>();
  for (let i = 0; ; i++) {
    const id = unique(`${prefix}-${i}`);
    const p = partitionOf(key(id));
    const ids = [...(byPartition.get(p) ?? []), id];
    if (ids.length === count) return ids;
    byPartition.set(p, ids);
  }
}

beforeAll(async () => {
  client = await testClient({ encrypted: true });
  stops.push(() => client.connection.close());
  kafka = testKafka(logger);
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

describe('the ingress', () => {
  const stuckConfig = testConfig({ PREFLIGHT_TASK_QUEUE: unique('isolation-stuck') });
  const liveConfig = testConfig({ PREFLIGHT_TASK_QUEUE: unique('isolation-live') });
  const groupId = unique('isolation-ingress');

  /** The agency as it works: its signing key, its commands, its inbox read with its own Kafka login. */
  async function nsa(key: KeyObject) {
    const login = readAgencyKafkaLogin(agencyKafkaLoginFile(process.env.PREFLIGHT_TEST_DATA_DIR!, 'nsa'));
    const own = agencyKafka(login, logger, 'isolation-nsa');
    const inbox: Array<{ id: string; data: Record<string, unknown> }> = [];
    const tail = await tailTopic(
      own,
      agencyInboxTopic('nsa'),
      (message) => void inbox.push({ id: headersToStrings(message.headers).ce_id!, data: decodeEvent(message).data as Record<string, unknown> }),
      { groupPrefix: 'nsa.isolation' },
    );
    stops.push(() => tail.stop());
    const producer: Producer = own.producer({ idempotent: true });
    await producer.connect();
    stops.push(() => producer.disconnect());
    return {
      send: async (subject: string) =>
        (await sendAgencyCommand(producer, { agencyId: 'nsa', type: 'gov.preflight.assessment.accept.v1', subject, data: {} }, key)).id,
      reply: (commandId: string) => inbox.find((e) => e.id === `nsa/${commandId}/reply`),
    };
  }

  it('answers other submissions while one cannot take its command, parks that one, and applies it when replayed', async () => {
    const stack = testStack();
    const endpoints = { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers };
    // Stuck first, then a marker and the submission measured, all on one command partition (keyed by submission id).
    const [stuckId, markerId, otherId] = idsOnOnePartition('iso-sub', 3) as [string, string, string];
    let stuckWorker = await startWorker(stuckConfig, logger, endpoints);
    const liveWorker = await startWorker(liveConfig, logger, endpoints);
    stops.push(() => liveWorker.stop());
    for (const [id, config] of [
      [stuckId, stuckConfig],
      [markerId, liveConfig],
      [otherId, liveConfig],
    ] as Array<[string, Config]>) {
      const input = { ...submissionInput(Date.now(), 20, { requestedAgencies: ['nsa'] }), submissionId: id };
      await client.workflow.start(submissionWorkflow, { args: [input], taskQueue: config.taskQueue, workflowId: submissionWorkflowId(id) });
      await waitForAgency(client, id, 'nsa', 'INVITED');
    }
    // The stuck submission's worker goes away: its assessment exists and cannot take an update.
    await stuckWorker.stop();

    await startGroupAtEnd(kafka, groupId);
    const ingress = await runIngress(liveConfig, logger, { registry: agencies.registry, groupId, ...endpoints, parkAfterMs: 15_000 });
    stops.push(() => ingress.stop());
    const agency = await nsa(agencies.keys.nsa!);
    const deadLetters = await collect(kafka, TOPICS.deadLetter);
    stops.push(() => deadLetters.stop());

    const stuck = await agency.send(stuckId);
    // The marker is answered: the stuck command has been fetched (it is before the marker on the partition).
    const marker = await agency.send(markerId);
    await eventually('the marker reply', () => agency.reply(marker), 120_000);
    const other = await agency.send(otherId);
    const otherReply = await eventually('the other submission’s reply', () => agency.reply(other), 60_000);
    expect(otherReply.data).toMatchObject({ commandId: other });
    expect(agency.reply(stuck)).toBeUndefined();

    // Parked once others were applied meanwhile: a reply says so, and a dead letter keeps it for replay.
    const parked = await eventually('the parked reply', () => agency.reply(stuck), 240_000);
    expect(parked.data).toMatchObject({ commandId: stuck, code: 'not-applied' });
    expect(String(parked.data.reason)).toMatch(/not applied for \d+ s while other commands were/);
    const letter = await eventually('the dead letter', () => deadLetters.messages.find((m) => m.headers.ce_id === stuck));
    expect(letter.headers[DEAD_LETTER_HEADERS.reason]).toBe('not-applied');

    // Its worker is back; ops replay the letter and the command is applied.
    stuckWorker = await startWorker(stuckConfig, logger, endpoints);
    stops.push(() => stuckWorker.stop());
    await replayDeadLetter(kafka, { partition: letter.partition, offset: letter.offset }, deploymentPayloadKeys(liveConfig));
    await waitForAgency(client, stuckId, 'nsa', 'ACCEPTED');
  });
});

describe('the dispatcher', () => {
  const config = testConfig({ PREFLIGHT_TASK_QUEUE: unique('isolation-dispatch'), PREFLIGHT_WEBHOOK_ALLOWLIST: '127.0.0.1/32' });
  const groupId = unique('isolation-dispatcher');
  const vendorKey = crypto.randomBytes(24).toString('base64url');
  let api: TestApi;
  let publisher: KafkaEventPublisher;
  let sequence = 0;

  const publishStatus = async (vendorId: string, submissionId: string): Promise<StatusEvent> => {
    sequence += 1;
    const at = new Date().toISOString();
    const event: StatusEvent = {
      id: `submission/${submissionId}/${sequence}`,
      type: 'gov.preflight.submission.status-changed.v1',
      source: '/preflight/submissions',
      subject: submissionId,
      sequence,
      time: at,
      data: { submissionId, vendorId, status: 'RECEIVED', previousStatus: null, at },
    };
    await publisher.publish('submission', event);
    return event;
  };

  it('delivers another vendor’s events while one vendor’s registry does not answer', async () => {
    const stack = testStack();
    const endpoints = { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers };
    const liveVendor = unique('isolation-live');
    const stuckVendor = unique('isolation-stuck');
    const worker = await startWorker(config, logger, endpoints);
    stops.push(() => worker.stop());
    api = await startTestApi(config, logger, { vendorKeys: { [vendorKey]: liveVendor }, opsTokens: {} });
    stops.push(() => api.stop());
    const receiver = new Receiver();
    await receiver.listen('127.0.0.1');
    stops.push(() => receiver.close());
    // The live vendor registers its endpoint with its own key.
    const res = await fetch(`${api.url}/v1/webhook-endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${vendorKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `http://127.0.0.1:${receiver.port}/` }),
    });
    expect(res.status).toBe(201);
    // The stuck vendor's registry runs where no worker polls: a query to it answers only with a timeout.
    await client.workflow.start('vendorWorkflow', {
      workflowId: vendorWorkflowId(stuckVendor),
      taskQueue: unique('nobody-polls'),
      args: [{ vendorId: stuckVendor }],
    });

    publisher = createKafkaEventPublisher(createKafka(config.kafka, logger, stack.kafkaBrokers, 'isolation-dispatch'), logger);
    await publisher.connect();
    stops.push(() => publisher.disconnect());
    await startGroupAtEnd(kafka, groupId, TOPICS.submissionEvents);
    const dispatcher = await runDispatcher(config, logger, { ...endpoints, groupId, taskQueue: config.taskQueue });
    stops.push(() => dispatcher.stop());

    const [stuckSub, markerSub, otherSub] = idsOnOnePartition('iso-event', 3) as [string, string, string];
    await publishStatus(stuckVendor, stuckSub);
    const marker = await publishStatus(liveVendor, markerSub);
    await eventually('the marker delivery', () => receiver.requests.find((r) => r.headers['webhook-id'] === marker.id), 120_000);
    const other = await publishStatus(liveVendor, otherSub);
    const delivered = await eventually('the other event’s delivery', () => receiver.requests.find((r) => r.headers['webhook-id'] === other.id), 60_000);
    expect(JSON.parse(delivered.body)).toMatchObject({ data: { submissionId: otherSub, vendorId: liveVendor } });
  });
});
