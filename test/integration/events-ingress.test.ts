/**
 * The event backbone against the real broker and dev server: a worker publishing status events to Kafka, and the
 * ingress applying signed agency commands, replying, and dead-lettering what it refuses.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Command } from 'commander';
import { type CloudEvent, Kafka as CeKafka, type KafkaMessage as CeKafkaMessage } from 'cloudevents';
import type { Kafka, Producer } from 'kafkajs';
import { buildAgencyCommand, produceAgencyMessage, sendAgencyCommand } from '../../events/agency-client';
import type { AuditRecord } from '../../events/audit';
import { verifyAuditTrail } from '../../events/audit';
import { readAuditTopic } from '../../events/audit-trail';
import { REPLY_TYPES } from '../../events/catalog';
import { decodeEvent } from '../../events/consumer';
import { originalValue, readDeadLetter } from '../../events/dead-letter';
import { signCommand } from '../../events/signing';
import { TOPICS } from '../../events/topics';
import { createLogger } from '../../infra/logger';
import { metrics } from '../../infra/metrics';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { deploymentDataConverter, deploymentPayloadKeys } from '../../infra/temporal';
import { buildActivityDeps } from '../../workers/worker';
import { registerAgencyCommands } from '../../workers/cli/agency';
import { runIngress } from '../../workers/ingress/index';
import {
  agencyWorkflowId,
  declareReleasedUpdate,
  respondToFindingUpdate,
  submissionWorkflowId,
  SUBMISSION_EVENT_TYPES,
  type SubmissionInput,
} from '../../workflows/submission/contract';
import { agencyStateQuery } from '../../workflows/assessment/contract';
import { submissionWorkflow } from '../../workflows/submission/workflow';
import { agencyKeys, collect, eventually, startGroupAtEnd, type Received } from '../helpers/agency-events';
import { HAPPY_PATH_TRAIL, finding, submissionInput, waitForAgency, waitForStatus } from '../helpers/lifecycle';
import { testClient, testConfig, testKafka, testStack, unique } from '../helpers/stack-env';

const taskQueue = unique('events');
const auditTopic = unique('preflight.audit.ingress-it');
const auditWriterId = unique('it-ingress');
const config = testConfig({ PREFLIGHT_TASK_QUEUE: taskQueue });
const logger = createLogger({ level: 'warn' });
const agencies = agencyKeys(['nsa', 'cisa', 'dod']);

let client: Client;
let kafka: Kafka;
let producer: Producer;
let worker: { stop(): Promise<void> };
let ingress: { stop(): Promise<void> };
let events: Awaited<ReturnType<typeof collect>>;
let replies: Awaited<ReturnType<typeof collect>>;
let deadLetters: Awaited<ReturnType<typeof collect>>;

beforeAll(async () => {
  const stack = testStack();
  client = await testClient({ encrypted: true });
  kafka = testKafka(logger);
  producer = kafka.producer();
  await producer.connect();
  [events, replies, deadLetters] = await Promise.all([
    collect(kafka, TOPICS.submissionEvents),
    collect(kafka, TOPICS.agencyReplies),
    collect(kafka, TOPICS.deadLetter),
  ]);
  // The production activity deps (real Kafka publisher, codec) on a worker of this file's own task queue.
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
  const groupId = unique('ingress');
  await startGroupAtEnd(kafka, groupId);
  ingress = await runIngress(config, logger, { registry: agencies.registry, groupId, auditTopic, auditWriterId });
});

afterAll(async () => {
  // Every step runs even if one fails, so no consumer is left polling a stopped broker.
  const failures: unknown[] = [];
  const steps: (() => unknown)[] = [
    () => ingress?.stop(),
    () => worker?.stop(),
    () => Promise.all([events?.stop(), replies?.stop(), deadLetters?.stop()]),
    () => producer?.disconnect(),
    () => client?.connection.close(),
  ];
  for (const step of steps) {
    await Promise.resolve()
      .then(step)
      .catch((e: unknown) => failures.push(e));
  }
  if (failures.length > 0) throw failures[0];
});

async function startSubmission(requestedAgencies: string[], overrides: Partial<SubmissionInput> = {}): Promise<string> {
  const input = submissionInput(Date.now(), 20, { requestedAgencies, settings: { closeAfterReleaseDays: 0.00002 }, ...overrides });
  await client.workflow.start(submissionWorkflow, { args: [input], taskQueue, workflowId: submissionWorkflowId(input.submissionId) });
  await waitForStatus(client, input.submissionId, 'UNDER_ASSESSMENT');
  return input.submissionId;
}

function send(agencyId: string, type: string, subject: string, data: Record<string, unknown> = {}, id?: string) {
  return sendAgencyCommand(producer, { agencyId, type, subject, data, ...(id ? { id } : {}) }, agencies.keys[agencyId]!);
}

function replyFor(agencyId: string, commandId: string): Received | undefined {
  return replies.messages.find((m) => m.headers.ce_id === `${agencyId}/${commandId}/reply`);
}

async function awaitReply(agencyId: string, commandId: string): Promise<{ type: string; data: Record<string, unknown> }> {
  const m = await eventually(`reply to ${commandId}`, () => replyFor(agencyId, commandId));
  const decoded = decodeEvent<Record<string, unknown>>(m.raw);
  return { type: decoded.envelope.type, data: decoded.data };
}

function eventsOf(submissionId: string): Received[] {
  return events.messages.filter((m) => m.key === submissionId);
}

/** Parses a received message with the official CloudEvents SDK (binary mode, string headers). */
function cloudEvent(m: Received): CloudEvent<Record<string, unknown>> {
  const message: CeKafkaMessage<string> = { key: m.key!, value: m.value!.toString(), body: m.value!.toString(), headers: m.headers };
  return CeKafka.toEvent(message) as CloudEvent<Record<string, unknown>>;
}

describe('status events', () => {
  it('every status change of a full lifecycle arrives in order, with headers the CloudEvents SDK parses', async () => {
    const id = await startSubmission(['nsa', 'cisa']);
    const commands: [string, string, Record<string, unknown>][] = [
      ['nsa', 'gov.preflight.assessment.accept.v1', {}],
      ['cisa', 'gov.preflight.assessment.accept.v1', {}],
      ['nsa', 'gov.preflight.assessment.start.v1', {}],
      ['cisa', 'gov.preflight.assessment.start.v1', {}],
      ['nsa', 'gov.preflight.finding.submit.v1', { finding: finding('HIGH', 'SECRET-MARKER') }],
      ['nsa', 'gov.preflight.assessment.complete.v1', {}],
      ['cisa', 'gov.preflight.assessment.complete.v1', { noFindings: true }],
    ];
    for (const [agency, type, data] of commands) {
      const sent = await send(agency, type, id, data);
      const reply = await awaitReply(agency, sent.id);
      expect({ type, reply: reply.type, data: reply.data }).toMatchObject({
        type,
        reply: REPLY_TYPES.accepted,
        data: { commandId: sent.id, agencyId: agency, subject: id },
      });
    }
    await waitForStatus(client, id, 'CLEARANCE_ISSUED');
    const handle = client.workflow.getHandle(submissionWorkflowId(id));
    await handle.executeUpdate(respondToFindingUpdate, { args: [{ findingId: 'nsa-f1', response: 'MITIGATED' }] });
    await handle.executeUpdate(declareReleasedUpdate, { args: [{}] });
    await handle.result();

    const received = await eventually('the CLOSED status event', () => {
      const all = eventsOf(id);
      return all.some((m) => m.headers.ce_type === SUBMISSION_EVENT_TYPES.submissionStatusChanged && m.value?.toString().includes('"CLOSED"'))
        ? all
        : undefined;
    });
    // One key → one partition → arrival order is publication order.
    expect(new Set(received.map((m) => m.partition)).size).toBe(1);
    const parsed = received.map(cloudEvent);
    for (const ce of parsed) {
      expect(() => ce.validate()).not.toThrow();
      expect(ce.specversion).toBe('1.0');
      expect(ce.source).toBe('/preflight/submissions');
      expect(ce.subject).toBe(id);
      expect(ce.datacontenttype).toBe('application/json');
    }
    const sequences = parsed.map((ce) => Number(ce['sequence']));
    expect(sequences).toEqual(sequences.map((_, i) => i + 1));
    expect(parsed.map((ce) => ce.id)).toEqual(sequences.map((s) => `${submissionWorkflowId(id)}/${s}`));

    const trail = parsed.filter((ce) => ce.type === SUBMISSION_EVENT_TYPES.submissionStatusChanged).map((ce) => ce.data!.status);
    expect(trail).toEqual(HAPPY_PATH_TRAIL);
    const nsaTrail = parsed
      .filter((ce) => ce.type === SUBMISSION_EVENT_TYPES.assessmentStatusChanged && ce.data!.agencyId === 'nsa')
      .map((ce) => ce.data!.status);
    expect(nsaTrail).toEqual(['INVITED', 'ACCEPTED', 'IN_PROGRESS', 'FINDINGS_SUBMITTED']);
    const types = new Set(parsed.map((ce) => ce.type));
    for (const t of [
      SUBMISSION_EVENT_TYPES.findingSubmitted,
      SUBMISSION_EVENT_TYPES.findingResponded,
      SUBMISSION_EVENT_TYPES.clearanceIssued,
      SUBMISSION_EVENT_TYPES.accessWindowChanged,
    ]) {
      expect(types).toContain(t);
    }
    // Thin events: the finding's text never reaches Kafka, neither in values nor in headers.
    expect(JSON.stringify(received.map((m) => [m.headers, m.value?.toString()]))).not.toMatch(/SECRET-MARKER/);
    // Every event also passes the catalog schemas.
    for (const m of received) expect(() => decodeEvent(m.raw)).not.toThrow();
  });
});

describe('agency commands', () => {
  it('`preflight agency send --wait` signs, produces with the agency login and prints the reply from its inbox', async () => {
    const id = await startSubmission(['nsa']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agency-send-'));
    const keyFile = path.join(dir, 'nsa.key.pem');
    fs.writeFileSync(keyFile, agencies.keys.nsa!.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
    const saved = { ...process.env };
    // The agency's own Kafka login, as the local stack wrote it to <dataDir>/dev; not the internal listener.
    Object.assign(process.env, { TEMPORAL_ADDRESS: testStack().temporalAddress, PREFLIGHT_DATA_DIR: process.env.PREFLIGHT_TEST_DATA_DIR });
    delete process.env.KAFKA_BROKERS;
    let out = '';
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += chunk.toString();
      return true;
    });
    try {
      const program = new Command('preflight').exitOverride();
      registerAgencyCommands(program);
      await program.parseAsync([
        'node',
        'preflight',
        'agency',
        'send',
        '--agency',
        'nsa',
        '--key',
        keyFile,
        '--type',
        'gov.preflight.assessment.accept.v1',
        '--subject',
        id,
        '--wait',
        '--json',
      ]);
    } finally {
      spy.mockRestore();
      process.env = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const printed = JSON.parse(out) as { commandId: string; reply: { type: string; data: { commandId: string; result: unknown } } };
    expect(printed.reply).toEqual({
      type: REPLY_TYPES.accepted,
      data: expect.objectContaining({ commandId: printed.commandId, result: { status: 'ACCEPTED' } }),
    });
    await waitForAgency(client, id, 'nsa', 'ACCEPTED');
  });

  it('the same command delivered three times, and a captured command replayed later, each take effect once', async () => {
    const id = await startSubmission(['nsa']);
    const accept = buildAgencyCommand({ agencyId: 'nsa', type: 'gov.preflight.assessment.accept.v1', subject: id, data: {} }, agencies.keys.nsa!);
    for (let i = 0; i < 3; i++) await produceAgencyMessage(producer, accept);
    const start = await send('nsa', 'gov.preflight.assessment.start.v1', id);
    const ask = buildAgencyCommand(
      { agencyId: 'nsa', type: 'gov.preflight.assessment.request-info.v1', subject: id, data: { question: 'Which tools can the model call?' } },
      agencies.keys.nsa!,
    );
    await produceAgencyMessage(producer, ask);
    await awaitReply('nsa', start.id);
    const first = await awaitReply('nsa', ask.headers.ce_id!);
    expect(first).toMatchObject({ type: REPLY_TYPES.accepted, data: { result: { requestId: 'nsa-ir-1', status: 'INFO_REQUESTED' } } });

    // Later: the captured request is replayed (still inside its signature window).
    await new Promise((r) => setTimeout(r, 1500));
    await produceAgencyMessage(producer, ask);
    const marker = await send('nsa', 'gov.preflight.assessment.decline.v1', id, { reason: 'sent after the replay, to know it was processed' });
    // A business refusal: a reply with the workflow's code and reason, and no dead letter.
    expect(await awaitReply('nsa', marker.id)).toMatchObject({ type: REPLY_TYPES.rejected, data: { code: 'not-allowed-in-state' } });
    expect(deadLetters.messages.some((m) => m.headers.ce_id === marker.id)).toBe(false);

    const acceptReplies = replies.messages.filter((m) => m.headers.ce_id === `nsa/${accept.headers.ce_id}/reply`);
    expect(acceptReplies).toHaveLength(3);
    for (const r of acceptReplies) expect(decodeEvent(r.raw).envelope.type).toBe(REPLY_TYPES.accepted);
    const askReplies = replies.messages.filter((m) => m.headers.ce_id === `nsa/${ask.headers.ce_id}/reply`);
    expect(askReplies).toHaveLength(2);
    expect(askReplies.map((r) => decodeEvent<{ result: unknown }>(r.raw).data.result)).toEqual([first.data.result, first.data.result]);

    const state = await client.workflow.getHandle(agencyWorkflowId(id, 'nsa')).query(agencyStateQuery);
    expect(state.infoRequests).toHaveLength(1);
    const nsaStatuses = await eventually('the status events of the commands', () => {
      const s = eventsOf(id)
        .filter((m) => m.headers.ce_type === SUBMISSION_EVENT_TYPES.assessmentStatusChanged)
        .map((m) => JSON.parse(m.value!.toString()) as { status: string });
      return s.length >= 4 ? s.map((x) => x.status) : undefined;
    });
    // INVITED once, ACCEPTED once (not three times), IN_PROGRESS, INFO_REQUESTED once; the decline is refused in that state.
    expect(nsaStatuses).toEqual(['INVITED', 'ACCEPTED', 'IN_PROGRESS', 'INFO_REQUESTED']);
  });

  it('refused messages each reach the dead-letter topic with their reason (and a reply when the sender is known) while good ones around them are applied', async () => {
    const id = await startSubmission(['nsa']);
    const nsa = agencies.keys.nsa!;
    const build = (over: Partial<Parameters<typeof buildAgencyCommand>[0]> = {}, key = nsa) =>
      buildAgencyCommand({ agencyId: 'nsa', type: 'gov.preflight.assessment.accept.v1', subject: id, data: {}, ...over }, key, { validate: false });
    const resigned = (type: string, body: string) => {
      const m = build({ type });
      const value = Buffer.from(body);
      const signature = signCommand({
        id: m.headers.ce_id!,
        timestamp: Number(m.headers['preflight-timestamp']),
        context: { type, subject: id },
        body: value,
        privateKey: nsa,
      });
      return { ...m, value, headers: { ...m.headers, 'preflight-signature': signature } };
    };

    const good1 = build();
    const forged = (() => {
      const m = build({ type: 'gov.preflight.assessment.request-info.v1', data: { question: 'signed question' } });
      return { ...m, value: Buffer.from('{"question":"altered question"}') };
    })();
    const unsigned = (() => {
      const m = build({ type: 'gov.preflight.assessment.start.v1' });
      const { 'preflight-signature': _s, ...headers } = m.headers;
      return { ...m, headers };
    })();
    const expired = build({ type: 'gov.preflight.assessment.start.v1', timestamp: Math.floor(Date.now() / 1000) - 600 });
    const wrongAgency = build({ type: 'gov.preflight.assessment.start.v1' }, agencies.keys.cisa!);
    const uninvited = buildAgencyCommand({ agencyId: 'dod', type: 'gov.preflight.assessment.accept.v1', subject: id, data: {} }, agencies.keys.dod!);
    const malformed = resigned('gov.preflight.assessment.start.v1', '{"oops":');
    const schemaViolation = resigned('gov.preflight.assessment.request-info.v1', '{"question":42}');
    const proto = resigned('gov.preflight.assessment.request-info.v1', '{"question":"q","__proto__":{"isAdmin":true}}');
    const oversized = build({ type: 'gov.preflight.assessment.request-info.v1', data: { question: 'x'.repeat(2 * 1024 * 1024) } });
    const unknownType = build({ type: 'gov.preflight.assessment.approve.v1' });
    const good2 = build({ type: 'gov.preflight.assessment.start.v1' });
    const good3 = build({ type: 'gov.preflight.assessment.request-info.v1', data: { question: 'What is the rate limit?' } });

    const sequence = [good1, forged, unsigned, expired, wrongAgency, uninvited, malformed, schemaViolation, proto, oversized, unknownType, good2, good3];
    for (const m of sequence) await produceAgencyMessage(producer, m);

    for (const good of [good1, good2, good3]) expect((await awaitReply('nsa', good.headers.ce_id!)).type).toBe(REPLY_TYPES.accepted);
    await waitForAgency(client, id, 'nsa', 'INFO_REQUESTED');

    const expectations: [typeof good1, string, string | undefined][] = [
      [forged, 'forged', undefined],
      [unsigned, 'unsigned', undefined],
      [expired, 'expired', 'nsa'],
      [wrongAgency, 'wrong-agency', 'cisa'],
      [uninvited, 'not-invited', 'dod'],
      [malformed, 'malformed-json', 'nsa'],
      [schemaViolation, 'schema-violation', 'nsa'],
      [proto, 'forbidden-key', 'nsa'],
      [oversized, 'oversized', undefined],
      [unknownType, 'unknown-type', 'nsa'],
    ];
    for (const [message, reason, repliedTo] of expectations) {
      const commandId = message.headers.ce_id!;
      const letter = await eventually(`dead letter ${reason}`, () => deadLetters.messages.find((m) => m.headers.ce_id === commandId));
      const info = readDeadLetter(letter.raw.headers);
      expect({ reason, got: info?.reason }).toEqual({ reason, got: reason });
      expect(info!.topic).toBe(TOPICS.agencyCommands);
      expect(info!.message.length).toBeGreaterThan(0);
      expect(letter.key).toBe(id);
      // Sealed on the topic (a refused command may carry finding details); the original bytes, unsealed.
      expect(letter.value!.includes(message.value)).toBe(false);
      expect(Buffer.compare(originalValue(letter.raw, deploymentPayloadKeys(config))!, message.value)).toBe(0);
      if (repliedTo) {
        const reply = await awaitReply(repliedTo, commandId);
        expect({ reason, type: reply.type, code: reply.data.code }).toEqual({ reason, type: REPLY_TYPES.rejected, code: reason });
        expect(String(reply.data.reason).length).toBeGreaterThan(0);
      } else {
        expect(replies.messages.filter((m) => m.headers.ce_id?.endsWith(`/${commandId}/reply`))).toEqual([]);
      }
    }
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    const counted = (await metrics.ingressCommands.get()).values.map((v) => String(v.labels.outcome));
    for (const [, reason] of expectations) expect(counted).toContain(reason);
    expect(counted).toContain('accepted');
    const state = await client.workflow.getHandle(agencyWorkflowId(id, 'nsa')).query(agencyStateQuery);
    expect(state.infoRequests).toHaveLength(1);
    await expect(client.workflow.getHandle(agencyWorkflowId(id, 'dod')).describe()).rejects.toThrow();

    // Every command, applied or refused, is in the audit trail: the verified sender (none when no signature verified),
    // the type, the submission, the outcome; never the body. The trail's chain verifies.
    const { entries } = await readAuditTopic(kafka, auditTopic);
    const verification = verifyAuditTrail(entries.map((e) => ({ position: `offset ${e.offset}`, value: e.value })));
    expect(verification.problems).toEqual([]);
    expect(Object.keys(verification.writers)).toEqual([auditWriterId]);
    const records = entries.map((e) => e.value as AuditRecord);
    const recordOf = (m: typeof good1, field = 'commandId') => {
      const found = records.filter((r) => r.details?.[field] === m.headers.ce_id);
      expect({ command: m.headers.ce_id, records: found.length }).toEqual({ command: m.headers.ce_id, records: 1 });
      return found[0]!;
    };
    for (const good of [good1, good2, good3]) {
      expect(recordOf(good)).toMatchObject({ actor: { kind: 'agency', id: 'nsa' }, action: `COMMAND ${good.headers.ce_type}`, target: id, outcome: 'ok' });
    }
    expect(recordOf(forged, 'claimedCommandId')).toMatchObject({ actor: { kind: 'unknown-credential', id: '-' }, outcome: 'refused', reason: 'forged' });
    expect(recordOf(unsigned, 'claimedCommandId')).toMatchObject({ actor: { kind: 'unknown-credential', id: '-' }, outcome: 'refused', reason: 'unsigned' });
    expect(recordOf(expired)).toMatchObject({ actor: { kind: 'agency', id: 'nsa' }, outcome: 'refused', reason: 'expired' });
    expect(recordOf(wrongAgency)).toMatchObject({ actor: { kind: 'agency', id: 'cisa' }, outcome: 'refused', reason: 'wrong-agency' });
    expect(recordOf(uninvited)).toMatchObject({ actor: { kind: 'agency', id: 'dod' }, outcome: 'refused', reason: 'not-invited', target: id });
    expect(recordOf(schemaViolation)).toMatchObject({ actor: { kind: 'agency', id: 'nsa' }, outcome: 'rejected', reason: 'schema-violation' });
    expect(recordOf(unknownType)).toMatchObject({ action: 'COMMAND unknown', outcome: 'rejected', reason: 'unknown-type' });
    // The oversized message was never parsed: no command id to name, but its record position is there.
    expect(records.some((r) => r.reason === 'oversized' && r.actor.kind === 'unknown-credential' && /@\d+$/.test(String(r.details?.record)))).toBe(true);
    expect(JSON.stringify(records)).not.toContain('What is the rate limit?');
    expect(JSON.stringify(records)).not.toContain('signed question');
  });
});
