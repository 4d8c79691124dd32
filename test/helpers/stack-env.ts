import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../../events/kafka';
import { loadConfig, type Config } from '../../infra/config';
import { createLogger, type Logger } from '../../infra/logger';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';

export interface TestStack {
  temporalAddress: string;
  kafkaBrokers: string[];
  namespace: string;
}

/** The servers the integration global setup started (or the external ones it was given). */
export function testStack(): TestStack {
  const temporalAddress = process.env.PREFLIGHT_TEST_TEMPORAL_ADDRESS;
  const brokers = process.env.PREFLIGHT_TEST_KAFKA_BROKERS;
  if (!temporalAddress || !brokers) throw new Error('The integration stack is not running: run this test in the jest "integration" project');
  return { temporalAddress, kafkaBrokers: brokers.split(','), namespace: 'default' };
}

/** A configuration pointing at the test stack, with overrides. */
export function testConfig(overrides: NodeJS.ProcessEnv = {}): Config {
  const stack = testStack();
  return loadConfig({
    PREFLIGHT_DATA_DIR: process.env.PREFLIGHT_TEST_DATA_DIR,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    PREFLIGHT_LOG_LEVEL: 'warn',
    PREFLIGHT_MASTER_KEY: process.env.PREFLIGHT_TEST_MASTER_KEY,
    ...overrides,
  });
}

/**
 * A client on the test stack. Plain by default, matching workers created in a test with `Worker.create`; pass
 * `encrypted` to talk to workers that use the deployment's encrypting data converter (`startWorker`, `runWorker`).
 */
export async function testClient(options: { encrypted?: boolean } = {}): Promise<Client> {
  const stack = testStack();
  return connectClient(testConfig().temporal, stack.temporalAddress, options.encrypted ? testDataConverter() : undefined);
}

/** The encrypting data converter the test configuration's Preflight processes use. */
export function testDataConverter(): DataConverter {
  return deploymentDataConverter(testConfig());
}

export function testKafka(logger: Logger = createLogger({ level: 'warn' })): Kafka {
  const config = testConfig();
  return createKafka(config.kafka, logger, config.kafka.brokers);
}

/** A name unique to this test run, for task queues, ids and consumer groups. */
export function unique(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

export interface TestWorker {
  worker: Worker;
  /** Shuts the worker down and closes its connection. */
  stop(): Promise<void>;
}

/** A worker on the test stack's Temporal server, running until `stop`. */
export async function startTestWorker(options: Omit<WorkerOptions, 'connection'>): Promise<TestWorker> {
  const connection = await NativeConnection.connect({ address: testStack().temporalAddress });
  const worker = await Worker.create({ ...options, connection });
  const running = worker.run();
  return {
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
