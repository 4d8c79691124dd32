import { Command } from 'commander';
import type { Kafka, Producer } from 'kafkajs';
import { buildAgencyCommand } from '../../events/agency-client';
import crypto from 'node:crypto';
import { deadLetterMessage } from '../../events/dead-letter';
import type { AuditRecord } from '../../events/audit';
import { readAuditTopic } from '../../events/audit-trail';
import { deploymentPayloadKeys } from '../../infra/temporal';
import { generateAgencyKeyPair, importPrivateKey } from '../../events/signing';
import { TOPICS } from '../../events/topics';
import { CliError } from '../../workers/cli/common';
import { registerDeadLetterCommands } from '../../workers/cli/dead-letters';
import { testConfig, testKafka, unique } from '../helpers/stack-env';

async function messageAt(kafka: Kafka, topic: string, partition: number, offset: string) {
  const consumer = kafka.consumer({ groupId: unique('dl-check') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    return await new Promise<{ key: string | null; value: Buffer | null; headers: Record<string, string> }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('message not read within 20 s')), 20_000);
      consumer.on(consumer.events.GROUP_JOIN, () => consumer.seek({ topic, partition, offset }));
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition: p, message }) => {
          if (p !== partition || message.offset !== offset) return;
          clearTimeout(timer);
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          resolve({ key: message.key?.toString() ?? null, value: message.value, headers });
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

describe('dead letters through the CLI', () => {
  let kafka: Kafka;
  let producer: Producer;
  let out = '';
  const program = new Command('preflight').exitOverride();
  const auditTopic = unique('preflight.audit.dl-it');
  registerDeadLetterCommands(program, { config: () => testConfig({ PREFLIGHT_AUDIT_TOPIC: auditTopic }), out: (t) => (out += t) });
  const audited = async () => (await readAuditTopic(kafka, auditTopic)).entries.map((e) => e.value as AuditRecord);
  const run = async (...args: string[]) => {
    out = '';
    await program.parseAsync(['node', 'preflight', 'dead-letters', ...args]);
    return out;
  };

  beforeAll(async () => {
    kafka = testKafka();
    producer = kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
  });

  it('lists a refused command without its bytes and replays it, byte for byte, onto the command topic', async () => {
    const key = importPrivateKey(generateAgencyKeyPair().privateKeyPem);
    const subject = unique('sub');
    const original = buildAgencyCommand({ agencyId: 'nsa', type: 'gov.preflight.assessment.accept.v1', subject, data: {} }, key);
    // Sealed with the deployment's current payload key, as the ingress writes it.
    const letter = deadLetterMessage(
      { key: original.key, value: original.value, headers: original.headers },
      {
        reason: 'expired',
        message: 'timestamp outside the window',
        topic: TOPICS.agencyCommands,
        partition: 0,
        offset: '7',
        time: new Date().toISOString(),
        agencyId: 'nsa',
      },
      deploymentPayloadKeys(testConfig())[0],
    );
    expect(letter.value!.includes(original.value)).toBe(false);
    const [sent] = await producer.send({ topic: TOPICS.deadLetter, acks: -1, messages: [letter] });
    const partition = sent!.partition;
    const offset = sent!.baseOffset!;

    const listed = JSON.parse(await run('list', '--json', '--page-size', '50')) as { items: Array<Record<string, unknown>> };
    const item = listed.items.find((i) => i.commandId === original.headers.ce_id);
    expect(item).toMatchObject({
      partition,
      offset,
      reason: 'expired',
      agencyId: 'nsa',
      type: 'gov.preflight.assessment.accept.v1',
      key: subject,
      originalTopic: TOPICS.agencyCommands,
    });
    expect(JSON.stringify(item)).not.toContain(original.value.toString('base64'));
    expect(await run('list')).toContain(`p${partition}@${offset}  expired`);

    const replayed = JSON.parse(await run('replay', '--partition', String(partition), '--offset', offset, '--json')) as {
      topic: string;
      partition: number;
      offset: string;
    };
    expect(replayed.topic).toBe(TOPICS.agencyCommands);
    const again = await messageAt(kafka, TOPICS.agencyCommands, replayed.partition, replayed.offset);
    expect(again.key).toBe(subject);
    expect(again.value!.equals(original.value)).toBe(true);
    expect(again.headers['preflight-signature']).toBe(original.headers['preflight-signature']);
    expect(Object.keys(again.headers).some((h) => h.startsWith('preflight-dlq-'))).toBe(false);
    // The replay is in the audit trail: the operator (the OS user), the letter, where it went.
    expect(await audited()).toContainEqual(
      expect.objectContaining({
        actor: { kind: 'ops', id: expect.stringMatching(/^os:/) as string },
        action: 'CLI dead-letters replay',
        target: `dead-letter/${partition}@${offset}`,
        outcome: 'ok',
        details: { replayedTo: `${replayed.topic}/${replayed.partition}@${replayed.offset}` },
      }),
    );
  });

  it('refuses to replay a letter sealed with a key this deployment does not hold', async () => {
    const letter = deadLetterMessage(
      { key: 'k', value: Buffer.from('{}'), headers: {} },
      { reason: 'expired', message: 'x', topic: TOPICS.agencyCommands, partition: 0, offset: '1', time: new Date().toISOString() },
      { id: 'retired-key', key: crypto.randomBytes(32) },
    );
    const [sent] = await producer.send({ topic: TOPICS.deadLetter, acks: -1, messages: [letter] });
    const refused = run('replay', '--partition', String(sent!.partition), '--offset', sent!.baseOffset!);
    await expect(refused).rejects.toThrow('unknown key id "retired-key"');
  });

  it('refuses an unknown offset and a letter from a topic it does not replay to', async () => {
    await expect(run('replay', '--partition', '0', '--offset', '99999999')).rejects.toMatchObject({ name: 'CliError', exitCode: 3 });
    const letter = deadLetterMessage(
      { key: 'k', value: Buffer.from('{}'), headers: {} },
      { reason: 'oversized', message: 'x', topic: TOPICS.submissionEvents, partition: 0, offset: '1', time: new Date().toISOString() },
    );
    const [sent] = await producer.send({ topic: TOPICS.deadLetter, acks: -1, messages: [letter] });
    const refused = run('replay', '--partition', String(sent!.partition), '--offset', sent!.baseOffset!);
    await expect(refused).rejects.toBeInstanceOf(CliError);
    await expect(refused).rejects.toThrow('are not replayed');
    const records = await audited();
    expect(records).toContainEqual(
      expect.objectContaining({ action: 'CLI dead-letters replay', target: 'dead-letter/0@99999999', outcome: 'rejected', reason: 'not-found' }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({ target: `dead-letter/${sent!.partition}@${sent!.baseOffset!}`, outcome: 'rejected', reason: 'not-replayable' }),
    );
  });
});
