import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Consumer, Kafka } from 'kafkajs';
import { caseIdFor, deriveFingerprintKey } from '../../clients/case-fingerprint';
import { getCase } from '../../clients/cases';
import { headersToStrings } from '../../events/envelope';
import { createKafka } from '../../events/kafka';
import { TOPICS } from '../../events/topics';
import { createLogger } from '../../infra/logger';
import { resolveMasterKey } from '../../infra/master-key';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { buildActivityDeps } from '../../workers/worker';
import { CASE_EVENT_TYPES } from '../../workflows/clearinghouse/contract';
import type { FindingInput } from '../../wire/submission';
import { agencyWorkflowId, submissionStateQuery, submissionWorkflowId, type SubmissionInput } from '../../workflows/submission/contract';
import { acceptInvitationUpdate, agencyStateQuery, startAssessmentUpdate, submitFindingUpdate } from '../../workflows/assessment/contract';
import { preflightCli } from '../helpers/cli';
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
        received.push({
          key: message.key?.toString() ?? '',
          headers: headersToStrings(message.headers),
          data: JSON.parse(raw) as Record<string, unknown>,
          raw,
        });
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

  it('three agencies flag one vulnerability in their own words: one case, three reporters, thin events on Kafka', async () => {
    const submissionId = unique('sub');
    const agencies = ['nsa', 'cisa', 'treasury'];
    const input: SubmissionInput = {
      submissionId,
      vendorId: 'vendor-acme',
      model: { name: 'frontier-7', version: '7.0.1', versionHash: `sha256:${'ab'.repeat(32)}` },
      plannedReleaseAt: new Date(Date.now() + 20 * DAY).toISOString(),
      accessMethod: 'API',
      contacts: [{ name: 'Release Desk', email: 'release@acme.example' }],
      requestedAgencies: agencies,
    };
    const submission = client.workflow.getHandle(submissionWorkflowId(submissionId));
    await client.workflow.start('submissionWorkflow', { workflowId: submissionWorkflowId(submissionId), taskQueue: config.taskQueue, args: [input] });
    await waitFor('assessment to start', async () => ((await submission.query(submissionStateQuery)).status === 'UNDER_ASSESSMENT' ? true : undefined));
    for (const agencyId of agencies) {
      const child = client.workflow.getHandle(agencyWorkflowId(submissionId, agencyId));
      await child.executeUpdate(acceptInvitationUpdate, { args: [{ agencyId }] });
      await child.executeUpdate(startAssessmentUpdate, { args: [{ agencyId }] });
      await waitFor(`${agencyId} in progress`, async () => ((await child.query(agencyStateQuery)).status === 'IN_PROGRESS' ? true : undefined));
    }

    // A product name unique to this run; each agency words the same vulnerability its own way.
    const product = `Gateway${crypto.randomBytes(3).toString('hex')}`;
    const titles: Record<string, string> = {
      nsa: `Prompt injection in Acme ${product} 2.3`,
      cisa: `ACME ${product.toUpperCase()} v2.3 vulnerable to indirect prompt-injection`,
      treasury: `acme ${product.toLowerCase()} 2.3: Prompt Injection (CWE-1427)`,
    };
    const marker = crypto.randomBytes(4).toString('hex');
    const findingIds: Record<string, string> = {};
    for (const agencyId of agencies) {
      const flagged: FindingInput = {
        severity: 'HIGH',
        domain: 'offensive-cyber',
        title: titles[agencyId]!,
        detail: `detail ${marker}`,
        modelVersionTested: '7.0.1',
        recommendedMitigation: `mitigation ${marker}`,
        thirdPartyVulnerability: true,
      };
      const child = client.workflow.getHandle(agencyWorkflowId(submissionId, agencyId));
      findingIds[agencyId] = (await child.executeUpdate(submitFindingUpdate, { args: [{ agencyId, finding: flagged }] })).findingId;
    }

    // The worker's fingerprint key derives from the same master key; the case id follows from the wording alone.
    const fingerprintKey = deriveFingerprintKey(resolveMasterKey(config.masterKey, config.stack.dataDir));
    const caseId = caseIdFor({ affectedProduct: titles.nsa!, weakness: titles.nsa! }, fingerprintKey);
    // Consumers de-duplicate by event id (delivery is at least once).
    const events = await waitFor('three case events on Kafka', async () => {
      const mine = [...new Map(received.filter((m) => m.key === caseId).map((m) => [m.headers.ce_id, m])).values()];
      return mine.length >= 3 ? mine : undefined;
    });
    expect(events.map((m) => m.headers.ce_type).sort()).toEqual(
      [CASE_EVENT_TYPES.opened, CASE_EVENT_TYPES.reporterJoined, CASE_EVENT_TYPES.reporterJoined].sort(),
    );
    const opened = events.find((m) => m.headers.ce_type === CASE_EVENT_TYPES.opened)!;
    expect(opened.headers).toMatchObject({ ce_id: `${caseId}/1`, ce_subject: caseId, ce_source: '/preflight/clearinghouse', ce_sequence: '1' });
    expect(opened.data).toEqual({ caseId, state: 'OPEN', reporterCount: 1, disclosureDeadline: expect.any(String), embargoUntil: input.plannedReleaseAt });
    // One key, one partition, in sequence order.
    expect(events.map((m) => Number(m.headers.ce_sequence))).toEqual([1, 2, 3]);
    expect(events.map((m) => m.data.reporterCount)).toEqual([1, 2, 3]);
    // Thin: nothing of the findings' titles, details or mitigations on the wire.
    for (const m of events) expect(m.raw + JSON.stringify(m.headers)).not.toMatch(new RegExp(`${marker}|${product}`, 'i'));

    const view = await getCase(client, caseId, { kind: 'ops' });
    expect([...view.reporters].sort()).toEqual([...agencies].sort());
    expect(view.reports.map((r) => r.reportId).sort()).toEqual(agencies.map((a) => `finding/${submissionId}/${findingIds[a]}`).sort());
    expect(view.reports.every((r) => r.source === 'FINDING' && r.submissionId === submissionId)).toBe(true);
    expect(view.embargoActive).toBe(true);
    // An agency reads its own report in full and only who and when of the others.
    const cisa = await getCase(client, caseId, { kind: 'agency', agencyId: 'cisa' });
    expect(cisa.reports.filter((r) => !('redacted' in r)).map((r) => r.agencyId)).toEqual(['cisa']);
    expect(JSON.stringify(cisa)).not.toContain(findingIds.nsa!);

    // The same through the real `preflight cases` CLI.
    const row = await waitFor('the case in `preflight cases list`', async () => {
      const listed = await preflightCli(['cases', 'list', '--state', 'OPEN', '--json']);
      if (listed.code !== 0) throw new Error(listed.stderr);
      const found = (JSON.parse(listed.stdout) as Array<{ caseId: string; state: string; reporters: string[] }>).find((c) => c.caseId === caseId);
      return found && found.reporters.length === agencies.length ? found : undefined;
    });
    expect({ state: row.state, reporters: [...row.reporters].sort() }).toEqual({ state: 'OPEN', reporters: [...agencies].sort() });
    const table = await preflightCli(['cases', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^CASE\s+STATE\s+SEVERITY\s+REPORTERS\s+PARTIES\s+OPENED$/);
    const shown = await preflightCli(['cases', 'show', caseId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^Case +${caseId}$`, 'm'));
    expect(shown.stdout).toMatch(new RegExp(`^Reporters +${[...view.reporters].join(', ')}$`, 'm'));
    const asCisa = await preflightCli(['cases', 'show', caseId, '--as-agency', 'cisa', '--json']);
    expect(asCisa.code).toBe(0);
    expect(asCisa.stdout).not.toContain(findingIds.nsa!);
    expect((JSON.parse(asCisa.stdout) as { caseId: string }).caseId).toBe(caseId);
    const badState = await preflightCli(['cases', 'list', '--state', 'BOGUS']);
    expect({ code: badState.code, lines: badState.stderr.trim().split('\n').length }).toEqual({ code: 2, lines: 1 });
    const badAgency = await preflightCli(['cases', 'show', caseId, '--as-agency', 'not an id']);
    expect(badAgency.code).toBe(2);
    expect(badAgency.stderr).toContain('--as-agency');
  });
});
