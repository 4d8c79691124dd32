import { type CloudEvent, Kafka as CeKafka, type KafkaMessage as CeKafkaMessage } from 'cloudevents';
import { z } from 'zod';
import { decodeEnvelope, encodeEvent, headersToStrings, parseJsonStrict, summarizeIssues, type Envelope } from '../../events/envelope';
import { isEventContractError } from '../../events/errors';
import { encodeStatusEvent } from '../../events/producer';

const envelope: Envelope = {
  specversion: '1.0',
  id: 'submission/sub-1/3',
  source: '/preflight/submissions',
  type: 'gov.preflight.submission.status-changed.v1',
  time: '2026-07-01T12:00:00.000Z',
  subject: 'sub-1',
  datacontenttype: 'application/json',
  sequence: 3,
};

function contractCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isEventContractError(e) ? e.code : `not a contract error: ${String(e)}`;
  }
  return undefined;
}

describe('envelope', () => {
  it('encodes binary mode: ce_* headers, content-type, key = subject, value = JSON data', () => {
    const m = encodeEvent(envelope, { a: 1 });
    expect(m.key).toBe('sub-1');
    expect(m.value.toString()).toBe('{"a":1}');
    expect(m.headers).toEqual({
      ce_specversion: '1.0',
      ce_id: 'submission/sub-1/3',
      ce_source: '/preflight/submissions',
      ce_type: 'gov.preflight.submission.status-changed.v1',
      ce_time: '2026-07-01T12:00:00.000Z',
      ce_subject: 'sub-1',
      'content-type': 'application/json',
      ce_sequence: '3',
    });
  });

  it('round-trips through decodeEnvelope, including Buffer headers as kafkajs delivers them', () => {
    const m = encodeEvent(envelope, {});
    const asBuffers = Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, Buffer.from(v)]));
    expect(decodeEnvelope(headersToStrings(asBuffers))).toEqual(envelope);
  });

  it('is parsed by the official CloudEvents SDK Kafka binding', () => {
    const m = encodeEvent(envelope, { status: 'SCREENING' });
    const received: CeKafkaMessage<string> = { key: m.key, value: m.value.toString(), body: m.value.toString(), headers: m.headers };
    const ce = CeKafka.toEvent(received) as CloudEvent<unknown>;
    expect(ce.id).toBe(envelope.id);
    expect(ce.type).toBe(envelope.type);
    expect(ce.source).toBe(envelope.source);
    expect(ce.subject).toBe('sub-1');
    expect(ce.datacontenttype).toBe('application/json');
    expect(ce['sequence']).toBe('3');
    expect(ce.data).toEqual({ status: 'SCREENING' });
    expect(() => ce.validate()).not.toThrow();
  });

  it('refuses missing or wrong attributes with invalid-envelope', () => {
    const h = encodeEvent(envelope, {}).headers;
    const without = (name: string) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== name));
    expect(contractCode(() => decodeEnvelope(without('ce_id')))).toBe('invalid-envelope');
    expect(contractCode(() => decodeEnvelope({ ...h, ce_specversion: '0.3' }))).toBe('invalid-envelope');
    expect(contractCode(() => decodeEnvelope({ ...h, 'content-type': 'text/plain' }))).toBe('invalid-envelope');
    expect(contractCode(() => decodeEnvelope({ ...h, ce_time: 'yesterday' }))).toBe('invalid-envelope');
    expect(contractCode(() => decodeEnvelope({ ...h, ce_type: 'Gov.Preflight.Thing' }))).toBe('invalid-envelope');
    expect(contractCode(() => decodeEnvelope({ ...h, ce_sequence: '0' }))).toBe('invalid-envelope');
    expect(contractCode(() => decodeEnvelope({ ...h, ce_sequence: '1e3' }))).toBe('invalid-envelope');
    expect(decodeEnvelope({ ...h, 'content-type': 'application/json; charset=utf-8' }).datacontenttype).toBe('application/json');
  });

  it('refuses a header repeated with different values', () => {
    expect(contractCode(() => headersToStrings({ ce_id: [Buffer.from('a'), Buffer.from('b')] }))).toBe('ambiguous-header');
    expect(headersToStrings({ ce_id: [Buffer.from('a'), Buffer.from('a')] })).toEqual({ ce_id: 'a' });
  });

  it('parses JSON strictly, refusing prototype-pollution keys at any depth', () => {
    expect(parseJsonStrict(Buffer.from('{"a":{"b":[1,2]}}'))).toEqual({ a: { b: [1, 2] } });
    expect(contractCode(() => parseJsonStrict(Buffer.from('{"a":')))).toBe('malformed-json');
    expect(contractCode(() => parseJsonStrict(Buffer.from('{"__proto__":{"admin":true}}')))).toBe('forbidden-key');
    expect(contractCode(() => parseJsonStrict(Buffer.from('{"a":[{"constructor":{"prototype":{}}}]}')))).toBe('forbidden-key');
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe('status event encoding', () => {
  const event = {
    id: 'submission/sub-1/1',
    type: 'gov.preflight.submission.status-changed.v1',
    source: '/preflight/submissions',
    subject: 'sub-1',
    sequence: 1,
    time: '2026-07-01T12:00:00.000Z',
    data: { submissionId: 'sub-1', vendorId: 'v-1', status: 'RECEIVED', previousStatus: null, at: '2026-07-01T12:00:00.000Z' },
  };

  it('routes by stream and stamps ce_sequence', () => {
    const { topic, message } = encodeStatusEvent('submission', event);
    expect(topic).toBe('preflight.submission-events.v1');
    expect(message.headers.ce_sequence).toBe('1');
    expect(message.key).toBe('sub-1');
  });

  it('refuses unknown types, the wrong stream and data that is not thin', () => {
    expect(contractCode(() => encodeStatusEvent('submission', { ...event, type: 'gov.preflight.unknown.v1' }))).toBe('unknown-type');
    expect(contractCode(() => encodeStatusEvent('clearinghouse', event))).toBe('wrong-topic');
    expect(contractCode(() => encodeStatusEvent('submission', { ...event, data: { ...event.data, detail: 'secret finding text' } }))).toBe('invalid-data');
    expect(contractCode(() => encodeStatusEvent('submission', { ...event, sequence: 0 }))).toBe('invalid-envelope');
  });
});

describe('schema issue summaries', () => {
  it('names paths and problems but never the sender text, unknown key names included', () => {
    const schema = z.strictObject({ finding: z.strictObject({ severity: z.enum(['HIGH', 'LOW']), detail: z.string() }) });
    const parsed = schema.safeParse({ finding: { severity: 'secret-severity', detail: 'd', 'secret-key': 1, other: 2 } });
    const summary = summarizeIssues(parsed.error!);
    expect(summary).toContain('finding.severity: Invalid option');
    expect(summary).toContain('finding: Unrecognized keys (2) not in the schema');
    expect(summary).not.toMatch(/secret|other/);
  });
});
