/**
 * Freshness at the broker's clock, against the real broker: a command is judged against the timestamp the broker gave
 * its record (the command topic is LogAppendTime), not against the time the ingress gets round to it.
 *
 * How the outage is staged: the broker's clock cannot be turned back, so the commands are signed and appended now
 * (while the ingress is stopped) and the ingress is then started with its clock 10 minutes ahead (`clock` option),
 * exactly what the ingress sees when it comes back 10 minutes after the commands were appended. Judged against that
 * clock (the old rule) every one of them is 600 s old and would be refused as `expired`.
 */
import type { Client } from '@temporalio/client';
import { ConfigResourceTypes, type Kafka, type Producer } from 'kafkajs';
import { buildAgencyCommand, produceAgencyMessage, sendAgencyCommand } from '../../events/agency-client';
import { REPLY_TYPES } from '../../events/catalog';
import { decodeEvent } from '../../events/consumer';
import { DEAD_LETTER_HEADERS } from '../../events/dead-letter';
import { ORIGINAL_RECORD_HEADERS } from '../../events/freshness';
import { commandTopicTimestampType, ensureTopics, TOPIC_RETENTION_MS, TOPICS } from '../../events/topics';
import { createLogger } from '../../infra/logger';
import { deploymentPayloadKeys } from '../../infra/temporal';
import { replayDeadLetter } from '../../workers/api/dead-letters';
import { runIngress } from '../../workers/ingress/index';
import { startWorker } from '../../workers/worker';
import { agencyWorkflowId, submissionWorkflowId } from '../../workflows/submission/contract';
import { agencyStateQuery } from '../../workflows/assessment/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import { agencyKeys, collect, eventually, startGroupAtEnd, type Received } from '../helpers/agency-events';
import { finding, submissionInput, waitForAgency, waitForStatus } from '../helpers/lifecycle';
import { testClient, testConfig, testKafka, testStack, unique } from '../helpers/stack-env';

jest.setTimeout(240_000);

const TEN_MINUTES = 10 * 60_000;
const config = testConfig({ PREFLIGHT_TASK_QUEUE: unique('ingress-backlog') });
const logger = createLogger({ level: 'warn' });
const agencies = agencyKeys(['nsa']);
const groupId = unique('ingress-backlog');

let client: Client;
let kafka: Kafka;
let producer: Producer;
let replies: Awaited<ReturnType<typeof collect>>;
let deadLetters: Awaited<ReturnType<typeof collect>>;
let commands: Awaited<ReturnType<typeof collect>>;
let ingress: { stop(): Promise<void> } | undefined;
const stops: Array<() => Promise<unknown>> = [];

const startIngress = async (clock?: () => number) => {
  const stack = testStack();
  ingress = await runIngress(config, logger, {
    registry: agencies.registry,
    groupId,
    temporalAddress: stack.temporalAddress,
    kafkaBrokers: stack.kafkaBrokers,
    ...(clock ? { clock } : {}),
  });
};
const stopIngress = async () => {
  await ingress?.stop();
  ingress = undefined;
};
const replyTo = (id: string) => replies.messages.find((m) => m.headers.ce_id === `nsa/${id}/reply`);
const deadLetterOf = (id: string, after = -1) => deadLetters.messages.find((m) => m.headers.ce_id === id && Number(m.offset) > after);

beforeAll(async () => {
  const stack = testStack();
  client = await testClient({ encrypted: true });
  stops.push(() => client.connection.close());
  kafka = testKafka(logger);
  producer = kafka.producer();
  await producer.connect();
  stops.push(() => producer.disconnect());
  replies = await collect(kafka, TOPICS.agencyReplies);
  stops.push(() => replies.stop());
  deadLetters = await collect(kafka, TOPICS.deadLetter);
  stops.push(() => deadLetters.stop());
  commands = await collect(kafka, TOPICS.agencyCommands);
  stops.push(() => commands.stop());
  const worker = await startWorker(config, logger, { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers });
  stops.push(() => worker.stop());
  await startGroupAtEnd(kafka, groupId);
});

afterAll(async () => {
  await stopIngress().catch(() => undefined);
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

it('the command topic stamps records with the broker’s clock (LogAppendTime)', async () => {
  expect(await commandTopicTimestampType(kafka)).toBe('LogAppendTime');
});

it('a 10-minute-old backlog is applied after an ingress restart, each command once', async () => {
  const input = submissionInput(Date.now(), 20, { requestedAgencies: ['nsa'] });
  const id = input.submissionId;
  await client.workflow.start(submissionWorkflow, { args: [input], taskQueue: config.taskQueue, workflowId: submissionWorkflowId(id) });
  await waitForStatus(client, id, 'UNDER_ASSESSMENT');
  const key = agencies.keys.nsa!;

  await startIngress();
  const accept = await sendAgencyCommand(producer, { agencyId: 'nsa', type: 'gov.preflight.assessment.accept.v1', subject: id, data: {} }, key);
  await eventually('the accept reply', () => replyTo(accept.id));
  await stopIngress();

  // The outage: start and five findings wait in the topic.
  const backlog = [
    buildAgencyCommand({ agencyId: 'nsa', type: 'gov.preflight.assessment.start.v1', subject: id, data: {} }, key),
    ...Array.from({ length: 5 }, (_, i) =>
      buildAgencyCommand({ agencyId: 'nsa', type: 'gov.preflight.finding.submit.v1', subject: id, data: { finding: finding('LOW', `backlog-${i}`) } }, key),
    ),
  ];
  for (const c of backlog) await produceAgencyMessage(producer, c);
  // One of them twice, as a producer retry would: the command id is the update id, so it has one effect.
  await produceAgencyMessage(producer, backlog[1]!);
  const appended = await eventually('the backlog on the topic', () => {
    const ids = new Set(backlog.map((c) => c.headers.ce_id));
    const found = commands.messages.filter((m) => ids.has(m.headers.ce_id ?? ''));
    return found.length === backlog.length + 1 ? found : undefined;
  });
  for (const m of appended) {
    // Stamped by the broker within the freshness window of the signed timestamp.
    expect(Math.abs(Number(m.raw.timestamp) - Number(m.headers['preflight-timestamp']) * 1000)).toBeLessThan(60_000);
  }

  // The ingress comes back "10 minutes later".
  await startIngress(() => Date.now() + TEN_MINUTES);
  const answered = await eventually(
    'a reply to every backlogged command',
    () => {
      const found = backlog.map((c) => replyTo(c.headers.ce_id!));
      return found.every(Boolean) ? (found as Received[]) : undefined;
    },
    120_000,
  );
  for (const r of answered) expect(decodeEvent(r.raw).envelope.type).toBe(REPLY_TYPES.accepted);
  for (const c of backlog) expect(deadLetterOf(c.headers.ce_id!)).toBeUndefined();
  await waitForAgency(client, id, 'nsa', 'IN_PROGRESS');
  const state = await client.workflow.getHandle(agencyWorkflowId(id, 'nsa')).query(agencyStateQuery);
  expect(state.findings).toHaveLength(5);
  await stopIngress();
});

it('a command signed 10 minutes before its record was appended is refused as expired, and neither a replay nor a forged header makes it fresh', async () => {
  const key = agencies.keys.nsa!;
  const subject = unique('sub-stale');
  await startIngress(() => Date.now() + TEN_MINUTES);
  const stale = await sendAgencyCommand(
    producer,
    { agencyId: 'nsa', type: 'gov.preflight.assessment.accept.v1', subject, data: {}, timestamp: Math.floor(Date.now() / 1000) - 600 },
    key,
  );
  const first = await eventually('the dead letter of the stale command', () => deadLetterOf(stale.id));
  expect(first.headers[DEAD_LETTER_HEADERS.reason]).toBe('expired');
  expect(first.headers[DEAD_LETTER_HEADERS.message]).toMatch(/ s older than its Kafka record; the window is ±300 s/);
  const rejected = await eventually('the rejection reply', () => replyTo(stale.id));
  expect(decodeEvent(rejected.raw).envelope.type).toBe(REPLY_TYPES.rejected);
  // The dead letter keeps the original record time, sealed.
  const original = await eventually('the stale command on the topic', () => commands.messages.find((m) => m.headers.ce_id === stale.id));
  expect(first.headers[DEAD_LETTER_HEADERS.recordTime]).toBe(original.raw.timestamp);
  expect(first.headers[DEAD_LETTER_HEADERS.recordSeal]).toMatch(/^master-v1,/);

  // Ops replay it: judged against the original record time again, so still expired (and dead-lettered again).
  await replayDeadLetter(kafka, { partition: first.partition, offset: first.offset }, deploymentPayloadKeys(config));
  const again = await eventually('the replay dead-lettered again', () => deadLetterOf(stale.id, Number(first.offset)));
  expect(again.headers[DEAD_LETTER_HEADERS.reason]).toBe('expired');
  expect(again.headers[DEAD_LETTER_HEADERS.message]).toMatch(/older than its original Kafka record \(a replayed dead letter\)/);
  expect(again.headers[DEAD_LETTER_HEADERS.recordTime]).toBe(original.raw.timestamp);

  // The agency claims an original record time itself: without this deployment's seal the claim is ignored.
  const claimed = buildAgencyCommand(
    { agencyId: 'nsa', type: 'gov.preflight.assessment.accept.v1', subject, data: {}, timestamp: Math.floor(Date.now() / 1000) - 600 },
    key,
  );
  await producer.send({
    topic: TOPICS.agencyCommands,
    acks: -1,
    messages: [
      {
        key: claimed.key,
        value: claimed.value,
        headers: {
          ...claimed.headers,
          [ORIGINAL_RECORD_HEADERS.time]: String(Date.now() - 600_000),
          [ORIGINAL_RECORD_HEADERS.seal]: `master-v1,${Buffer.alloc(32, 7).toString('base64')}`,
        },
      },
    ],
  });
  const forged = await eventually('the dead letter of the forged claim', () => deadLetterOf(claimed.headers.ce_id!));
  expect(forged.headers[DEAD_LETTER_HEADERS.reason]).toBe('expired');
  expect(forged.headers[DEAD_LETTER_HEADERS.message]).toMatch(/not sealed by this deployment and was ignored/);
  await stopIngress();
});

it('setup switches an existing command topic made with producer timestamps to LogAppendTime, keeping its other settings', async () => {
  const admin = kafka.admin();
  await admin.connect();
  const topicConfig = async () =>
    Object.fromEntries(
      (
        await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPICS.agencyCommands }] })
      ).resources[0]!.configEntries.map((e) => [e.configName, e.configValue]),
    );
  try {
    const before = await topicConfig();
    // As an operator-made topic would be: producer timestamps.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: TOPICS.agencyCommands,
          configEntries: [
            { name: 'retention.ms', value: before['retention.ms']! },
            { name: 'max.message.bytes', value: before['max.message.bytes']! },
            { name: 'message.timestamp.type', value: 'CreateTime' },
          ],
        },
      ],
    });
    await eventually('the topic on CreateTime', async () => ((await commandTopicTimestampType(kafka)) === 'CreateTime' ? true : undefined));
    await ensureTopics(kafka, { partitions: 1, replication: 1 });
    const after = await eventually('the topic back on LogAppendTime', async () => {
      const c = await topicConfig();
      return c['message.timestamp.type'] === 'LogAppendTime' ? c : undefined;
    });
    expect([after['retention.ms'], after['max.message.bytes']]).toEqual([String(TOPIC_RETENTION_MS[TOPICS.agencyCommands]), before['max.message.bytes']]);
  } finally {
    await ensureTopics(kafka, { partitions: 1, replication: 1 }).catch(() => undefined);
    await admin.disconnect();
  }
});
