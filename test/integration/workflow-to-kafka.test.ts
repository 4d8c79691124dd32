import { Worker, NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { Kafka, Producer } from 'kafkajs';
import { createFixtureActivities } from '../helpers/fixtures/activities';
import { produceWorkflow } from '../helpers/fixtures/workflows';
import { testClient, testKafka, testStack, unique } from '../helpers/stack-env';
import { TOPICS } from '../../events/topics';

describe('a workflow on the dev server producing to the Kafka broker', () => {
  let client: Client;
  let kafka: Kafka;
  let producer: Producer;
  beforeAll(async () => {
    client = await testClient();
    kafka = testKafka();
    producer = kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await client?.connection.close();
  });

  it('runs an activity that produces a message the test then consumes', async () => {
    const taskQueue = unique('kafka-smoke');
    const key = unique('key');
    const value = JSON.stringify({ hello: 'broker', key });
    const connection = await NativeConnection.connect({ address: testStack().temporalAddress });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: require.resolve('../helpers/fixtures/workflows'),
      activities: createFixtureActivities(producer),
    });
    const produced = await worker.runUntil(
      client.workflow.execute(produceWorkflow, { args: [TOPICS.deadLetter, key, value], taskQueue, workflowId: unique('produce') }),
    );
    await connection.close();

    const consumer = kafka.consumer({ groupId: unique('smoke-group') });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPICS.deadLetter, fromBeginning: true });
    const received = await new Promise<{ key: string; value: string; partition: number; offset: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          if (message.key?.toString() === key) {
            clearTimeout(timer);
            resolve({ key, value: message.value!.toString(), partition, offset: message.offset });
          }
        },
      });
    });
    await consumer.disconnect();
    expect(received.value).toBe(value);
    expect(received.partition).toBe(produced.partition);
    expect(received.offset).toBe(produced.offset);
  });
});
