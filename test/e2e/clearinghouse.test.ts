import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Consumer, Kafka } from 'kafkajs';
import { caseIdFor, deriveFingerprintKey } from '../../activities/case-fingerprint';
import { getCase } from '../../activities/clearinghouse';
import { headersToStrings } from '../../events/envelope';
import { createKafka } from '../../events/kafka';
import { TOPICS } from '../../events/topics';
import { createLogger } from '../../infra/logger';
import { resolveMasterKey } from '../../infra/master-key';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { buildActivityDeps } from '../../workers/processes';
import { CASE_EVENT_TYPES } from '../../workflows/clearinghouse-definitions';
import {
  acceptInvitationUpdate,
  agencyStateQuery,
  agencyWorkflowId,
  startAssessmentUpdate,
  submissionStateQuery,
  submissionWorkflowId,
  submitFindingUpdate,
  type FindingInput,
  type SubmissionInput,
} from '../../workflows/definitions';
import { testClient, testConfig, testDataConverter, testStack, unique } from '../helpers/stack-env';

const DAY = 24 * 3600 * 1000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Received {
  key: string;
  headers: Record<string, string>;
  data: Record<string, unknown>;
  raw: string;
}

describe('a third-party finding on a live submission, end to end', () => {
  const config = testConfig({ PREFLIGHT_TASK_QUEUE: unique('e2e-clearinghouse') });
  const logger = createLogger({ level: 'warn' });
  let worker: Worker;
  let running: Promise<void>;
  let connection: NativeConnection;
  let closeDeps: () => Promise<void>;
  let client: Client;
  let kafka: Kafka;
  let consumer: Consumer;
  const received: Received[] = [];

  beforeAll(async () => {
    const stack = testStack();
    kafka = createKafka(config.kafka, logger, stack.kafkaBrokers, 'e2e-clearinghouse');
    consumer = kafka.consumer({ groupId: unique('e2e-clearinghouse') });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPICS.clearinghouseEvents, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const raw = message.value?.toString() ?? '';
        received.push({ key: message.key?.toString() ?? '', headers: headersToStrings(message.headers), data: JSON.parse(raw) as Record<string, unknown>, raw });
      },
    });
    // The worker process's own wiring (real activities, Kafka publisher, encrypted payloads, every workflow), built
    // here rather than through runWorker, which installs the process-wide Temporal runtime.
    const { deps, close } = await buildActivityDeps(config, logger, { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers });
    closeDeps = close;
    connection = await NativeConnection.connect({ address: stack.temporalAddress });
    worker = await Worker.create({
      connection,
      taskQueue: config.taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      dataConverter: testDataConverter(),
      activities: createActivities(deps),
    });
    running = worker.run();
    client = await testClient({ encrypted: true });
  });

  afterAll(async () => {
    await consumer?.disconnect();
    worker?.shutdown();
    await running;
    await connection?.close();
    await closeDeps?.();
    await client?.connection.close();
  });

  it('opens a clearinghouse case whose thin events arrive on preflight.clearinghouse-events.v1', async () => {
    const submissionId = unique('sub');
    const input: SubmissionInput = {
      submissionId,
      vendorId: 'vendor-acme',
      model: { name: 'frontier-7', version: '7.0.1', versionHash: `sha256:${'ab'.repeat(32)}` },
      plannedReleaseAt: new Date(Date.now() + 20 * DAY).toISOString(),
      accessMethod: 'API',
      contacts: [{ name: 'Release Desk', email: 'release@acme.example' }],
      requestedAgencies: ['nsa'],
    };
    const submission = client.workflow.getHandle(submissionWorkflowId(submissionId));
    await client.workflow.start('submissionWorkflow', { workflowId: submissionWorkflowId(submissionId), taskQueue: config.taskQueue, args: [input] });
    await waitFor('assessment to start', async () => ((await submission.query(submissionStateQuery)).status === 'UNDER_ASSESSMENT' ? true : undefined));
    const nsa = client.workflow.getHandle(agencyWorkflowId(submissionId, 'nsa'));
    await nsa.executeUpdate(acceptInvitationUpdate, { args: [{ agencyId: 'nsa' }] });
    await nsa.executeUpdate(startAssessmentUpdate, { args: [{ agencyId: 'nsa' }] });
    await waitFor('nsa in progress', async () => ((await nsa.query(agencyStateQuery)).status === 'IN_PROGRESS' ? true : undefined));

    const marker = crypto.randomBytes(4).toString('hex');
    const flagged: FindingInput = {
      severity: 'HIGH',
      domain: 'offensive-cyber',
      title: `Prompt injection in Acme Gateway ${marker}`,
      detail: `detail ${marker}`,
      modelVersionTested: '7.0.1',
      recommendedMitigation: `mitigation ${marker}`,
      thirdPartyVulnerability: true,
    };
    const { findingId } = await nsa.executeUpdate(submitFindingUpdate, { args: [{ agencyId: 'nsa', finding: flagged }] });

    // The worker's fingerprint key derives from the same master key; the case id follows from the finding alone.
    const fingerprintKey = deriveFingerprintKey(resolveMasterKey(config.masterKey, config.stack.dataDir));
    const caseId = caseIdFor({ affectedProduct: flagged.title, weakness: flagged.title }, fingerprintKey);
    const opened = await waitFor('the case-opened event on Kafka', async () => received.find((m) => m.key === caseId && m.headers.ce_type === CASE_EVENT_TYPES.opened));
    expect(opened.headers).toMatchObject({ ce_id: `${caseId}/1`, ce_subject: caseId, ce_source: '/preflight/clearinghouse', ce_sequence: '1' });
    expect(opened.data).toEqual({ caseId, state: 'OPEN', reporterCount: 1, disclosureDeadline: expect.any(String), embargoUntil: input.plannedReleaseAt });
    // Thin: nothing of the finding's title, detail or mitigation on the wire.
    expect(opened.raw + JSON.stringify(opened.headers)).not.toContain(marker);

    const view = await getCase(client, caseId, { kind: 'agency', agencyId: 'nsa' });
    expect(view.reports).toEqual([expect.objectContaining({ source: 'FINDING', submissionId, findingId, agencyId: 'nsa', reportId: `finding/${submissionId}/${findingId}` })]);
    expect(view.embargoActive).toBe(true);
  });
});
