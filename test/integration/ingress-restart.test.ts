/**
 * Killing the ingress process mid-stream (SIGKILL: no clean shutdown, no last commit) and starting it again loses
 * no command: every command sent has exactly one effect and one accepted reply.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Kafka, Producer } from 'kafkajs';
import { createActivities } from '../../activities';
import { buildAgencyCommand, produceAgencyMessage, sendAgencyCommand } from '../../events/agency-client';
import { REPLY_TYPES } from '../../events/catalog';
import { decodeEvent } from '../../events/consumer';
import { TOPICS } from '../../events/topics';
import { createLogger } from '../../infra/logger';
import { deploymentDataConverter } from '../../infra/temporal';
import { buildActivityDeps } from '../../workers/worker';
import { agencyWorkflowId, submissionWorkflowId } from '../../workflows/submission/contract';
import { agencyStateQuery } from '../../workflows/assessment/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import { agencyKeys, collect, eventually, startGroupAtEnd } from '../helpers/agency-events';
import { finding, submissionInput, waitForAgency, waitForStatus } from '../helpers/lifecycle';
import { testClient, testConfig, testKafka, testStack, unique } from '../helpers/stack-env';

const taskQueue = unique('ingress-restart');
const config = testConfig({ PREFLIGHT_TASK_QUEUE: taskQueue });
const logger = createLogger({ level: 'warn' });
const agencies = agencyKeys(['nsa']);
const registryFile = agencies.writeFile();
const groupId = unique('ingress-restart');

let client: Client;
let kafka: Kafka;
let producer: Producer;
let worker: { stop(): Promise<void> };
let replies: Awaited<ReturnType<typeof collect>>;
const children: ChildProcess[] = [];

function startIngressProcess(): Promise<ChildProcess> {
  const stack = testStack();
  // `node --import tsx` runs the script in this one process; the tsx CLI would fork a grandchild that SIGKILL misses.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'helpers', 'ingress-process.ts'), groupId], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      PREFLIGHT_AGENCY_REGISTRY: registryFile,
      PREFLIGHT_TASK_QUEUE: taskQueue,
      PREFLIGHT_MASTER_KEY: process.env.PREFLIGHT_TEST_MASTER_KEY,
      PREFLIGHT_DATA_DIR: process.env.PREFLIGHT_TEST_DATA_DIR,
      PREFLIGHT_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the ingress process did not become ready')), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`the ingress process exited with ${code}`)));
  });
}

beforeAll(async () => {
  const stack = testStack();
  client = await testClient({ encrypted: true });
  kafka = testKafka(logger);
  producer = kafka.producer();
  await producer.connect();
  replies = await collect(kafka, TOPICS.agencyReplies);
  const { deps, close } = await buildActivityDeps(config, logger, { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers });
  const connection = await NativeConnection.connect({ address: stack.temporalAddress });
  const w = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createActivities(deps),
    dataConverter: deploymentDataConverter(config),
  });
  const running = w.run();
  worker = {
    async stop() {
      w.shutdown();
      await running;
      await connection.close();
      await close();
    },
  };
  await startGroupAtEnd(kafka, groupId);
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  // Every step runs even if one fails, so no consumer is left polling a stopped broker.
  const failures: unknown[] = [];
  const steps: (() => unknown)[] = [() => worker?.stop(), () => replies?.stop(), () => producer?.disconnect(), () => client?.connection.close()];
  for (const step of steps) {
    await Promise.resolve()
      .then(step)
      .catch((e: unknown) => failures.push(e));
  }
  if (failures.length > 0) throw failures[0];
});

it('loses no command when the ingress is killed mid-stream and restarted', async () => {
  const input = submissionInput(Date.now(), 20, { requestedAgencies: ['nsa'] });
  const id = input.submissionId;
  await client.workflow.start(submissionWorkflow, { args: [input], taskQueue, workflowId: submissionWorkflowId(id) });
  await waitForStatus(client, id, 'UNDER_ASSESSMENT');

  const first = await startIngressProcess();
  const key = agencies.keys.nsa!;
  const accept = await sendAgencyCommand(producer, { agencyId: 'nsa', type: 'gov.preflight.assessment.accept.v1', subject: id, data: {} }, key);
  await eventually('accept reply', () => replies.messages.find((m) => m.headers.ce_id === `nsa/${accept.id}/reply`));
  await sendAgencyCommand(producer, { agencyId: 'nsa', type: 'gov.preflight.assessment.start.v1', subject: id, data: {} }, key);
  await waitForAgency(client, id, 'nsa', 'IN_PROGRESS');

  // Thirty findings, each a distinct command with its own effect (a new finding id).
  const total = 30;
  const commands = Array.from({ length: total }, (_, i) =>
    buildAgencyCommand({ agencyId: 'nsa', type: 'gov.preflight.finding.submit.v1', subject: id, data: { finding: finding('LOW', `k${i}`) } }, key),
  );
  const replyIds = new Set(commands.map((c) => `nsa/${c.headers.ce_id}/reply`));
  const answered = () => new Set(replies.messages.filter((m) => replyIds.has(m.headers.ce_id ?? '')).map((m) => m.headers.ce_id)).size;
  for (const c of commands) await produceAgencyMessage(producer, c);

  await eventually('some commands applied before the kill', () => (answered() >= 5 ? true : undefined));
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  expect(first.signalCode).toBe('SIGKILL');
  const before = answered();
  // The kill really interrupted the stream: some commands were still unanswered, and nothing answers them meanwhile.
  expect(before).toBeLessThan(total);
  await new Promise((r) => setTimeout(r, 2000));
  expect(answered()).toBe(before);

  await startIngressProcess();
  await eventually(`all ${total} commands answered after the restart`, () => (answered() === total ? true : undefined), 120_000);

  for (const m of replies.messages.filter((r) => replyIds.has(r.headers.ce_id ?? ''))) {
    expect(decodeEvent(m.raw).envelope.type).toBe(REPLY_TYPES.accepted);
  }
  const state = await client.workflow.getHandle(agencyWorkflowId(id, 'nsa')).query(agencyStateQuery);
  // Commands in = effects out: exactly one finding per command, although some were delivered twice.
  expect(state.findings).toHaveLength(total);
  expect(new Set(state.findings.map((f) => f.findingId)).size).toBe(total);
});
