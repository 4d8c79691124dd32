import { Kafka as CeKafka, type CloudEvent, type KafkaMessage as CeKafkaMessage } from 'cloudevents';
import { alertInboxEvent } from '../../activities/lifecycle';
import { completeInboxEvent, createPublisherActivities } from '../../activities/publisher';
import { inboxEntries } from '../../events/catalog';
import { decodeEvent } from '../../events/consumer';
import { EventContractError } from '../../events/errors';
import { encodeStatusEvent } from '../../events/producer';
import { InMemoryEventPublisher } from '../../events/publisher';
import type { AgencyAlert } from '../../workflows/assessment/contract';
import { AGENCY_INBOX_EVENT_SOURCE, AGENCY_INBOX_EVENT_TYPES } from '../../workflows/shared/agency-inbox';
import type { StatusEvent } from '../../workflows/shared/outbox';

const reminder: AgencyAlert = { kind: 'REMINDER', submissionId: 'sub-0001', agencyId: 'nsa', deadline: '2026-07-31T12:00:00.000Z', hoursBefore: 72 };
const missed: AgencyAlert = { kind: 'DEADLINE_MISSED', submissionId: 'sub-0001', agencyId: 'nsa', deadline: '2026-07-31T12:00:00.000Z', status: 'IN_PROGRESS' };

function sdkEvent(message: { key: string; value: Buffer; headers: Record<string, string> }): CloudEvent<Record<string, unknown>> {
  const m: CeKafkaMessage<string> = { key: message.key, value: message.value.toString(), body: message.value.toString(), headers: message.headers };
  return CeKafka.toEvent(m) as CloudEvent<Record<string, unknown>>;
}

function inboxEvent(type: string, data: Record<string, unknown>, sequence = 3): StatusEvent {
  return {
    id: `submission/sub-0001/inbox/${sequence}`,
    type,
    source: AGENCY_INBOX_EVENT_SOURCE,
    subject: 'sub-0001',
    sequence,
    time: '2026-07-01T12:00:00.000Z',
    data,
  };
}

describe('agency inbox events', () => {
  it('an alert gives the same event, id and bytes every time it is sent (activity retries, workflow replays)', () => {
    for (const alert of [reminder, missed]) {
      const first = alertInboxEvent(alert);
      const again = alertInboxEvent(structuredClone(alert));
      expect(again).toEqual(first);
      expect(encodeStatusEvent('agency-inbox', again)).toEqual(encodeStatusEvent('agency-inbox', first));
    }
    expect(alertInboxEvent(reminder)).toMatchObject({
      id: 'submission/sub-0001/agency/nsa/reminder/72',
      type: AGENCY_INBOX_EVENT_TYPES.deadlineReminder,
      time: '2026-07-28T12:00:00.000Z',
    });
    expect(alertInboxEvent(missed)).toMatchObject({ id: 'submission/sub-0001/agency/nsa/deadline-missed', time: '2026-07-31T12:00:00.000Z' });
    // Different reminders of one assessment, and the same reminder of two agencies, never share an id.
    const ids = new Set([
      alertInboxEvent(reminder).id,
      alertInboxEvent({ ...reminder, hoursBefore: 24 }).id,
      alertInboxEvent({ ...reminder, agencyId: 'cisa' }).id,
      alertInboxEvent(missed).id,
    ]);
    expect(ids.size).toBe(4);
  });

  it('a republished id is stored once', async () => {
    const publisher = new InMemoryEventPublisher();
    const { publishEvent } = createPublisherActivities({ publisher });
    const event = inboxEvent(AGENCY_INBOX_EVENT_TYPES.accessRevoked, {
      submissionId: 'sub-0001',
      agencyId: 'nsa',
      grantId: 'sub-0001.nsa.g1',
      at: '2026-07-01T12:00:00.000Z',
    });
    await publishEvent('agency-inbox', event);
    await publishEvent('agency-inbox', structuredClone(event));
    expect(publisher.inbox('nsa')).toEqual([event]);
    expect(publisher.forSubject('sub-0001')).toEqual([]);
  });

  it.each(inboxEntries().map((e) => [e.type, e] as const))('%s goes to its agency’s topic and the CloudEvents SDK validates it', (_type, entry) => {
    const event = inboxEvent(entry.type, entry.example);
    const { topic, message } = encodeStatusEvent('agency-inbox', event);
    expect(topic).toBe('preflight.agency-inbox.nsa.v1');
    expect(message.key).toBe('sub-0001');
    // No ce_sequence: the workflow's inbox sequence spans every agency; an inbox keeps its order in one partition.
    expect(message.headers.ce_sequence).toBeUndefined();
    const ce = sdkEvent(message);
    expect(ce.validate()).toBe(true);
    expect({ id: ce.id, type: ce.type, source: ce.source, subject: ce.subject, specversion: ce.specversion }).toEqual({
      id: event.id,
      type: entry.type,
      source: AGENCY_INBOX_EVENT_SOURCE,
      subject: 'sub-0001',
      specversion: '1.0',
    });
    expect(ce.data).toEqual(entry.example);
    expect(decodeEvent(message).data).toEqual(entry.example);
  });

  it('refuses an inbox event on another stream, and one that carries more than ids, times and statuses', () => {
    const ended = inboxEvent(AGENCY_INBOX_EVENT_TYPES.assessmentEnded, {
      submissionId: 'sub-0001',
      agencyId: 'nsa',
      status: 'NO_FINDINGS',
      at: '2026-07-01T12:00:00.000Z',
    });
    expect(() => encodeStatusEvent('submission', ended)).toThrow(EventContractError);
    const answered = inboxEvent(AGENCY_INBOX_EVENT_TYPES.infoRequestAnswered, {
      submissionId: 'sub-0001',
      agencyId: 'nsa',
      infoRequestId: 'nsa-ir-1',
      response: 'the vendor answer',
      at: '2026-07-01T12:00:00.000Z',
    });
    expect(() => encodeStatusEvent('agency-inbox', answered)).toThrow(/Unrecognized key/);
  });

  it('the invitation names the agency’s registered domains', () => {
    const invited = inboxEvent(AGENCY_INBOX_EVENT_TYPES.invited, { agencyId: 'cisa', domains: [] });
    expect(completeInboxEvent(invited, (a) => (a === 'cisa' ? ['critical-infrastructure'] : [])).data.domains).toEqual(['critical-infrastructure']);
    expect(completeInboxEvent(invited, undefined).data.domains).toEqual([]);
    const other = inboxEvent(AGENCY_INBOX_EVENT_TYPES.accessGranted, { agencyId: 'cisa' });
    expect(completeInboxEvent(other, () => ['x'])).toBe(other);
  });
});
