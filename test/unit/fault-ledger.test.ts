import { Ledger, withoutTimes } from '../faults/ledger';

const expected = { agenciesOf: () => [], webhookTypes: [] };
const statusChanged = (at: string, status = 'UNDER_ASSESSMENT') =>
  JSON.stringify({ submissionId: 'sub-1', vendorId: 'v-1', status, previousStatus: 'SCREENING', at });
const consumed = (value: string, id = 'submission/sub-1/3') => ({
  id,
  subject: 'sub-1',
  sequence: 3,
  type: 'gov.preflight.submission.status-changed.v1',
  value,
  producedAt: Date.now(),
});

describe('fault-suite ledger: the same event id published again', () => {
  it('with the same value is a duplicate delivery, not a duplicate effect', () => {
    const ledger = new Ledger();
    ledger.eventConsumed(consumed(statusChanged('2026-12-07T14:00:00.000Z')));
    ledger.eventConsumed(consumed(statusChanged('2026-12-07T14:00:00.000Z')));
    const figures = ledger.figures(expected);
    expect(figures.duplicateEffects).toBe(0);
    expect(figures.duplicateDeliveries.kafkaEventRecords).toBe(1);
  });

  it('from a re-run workflow task (only its times differ) is a duplicate delivery, not a duplicate effect', () => {
    const ledger = new Ledger();
    ledger.eventConsumed(consumed(statusChanged('2026-12-07T14:00:00.000Z')));
    ledger.eventConsumed(consumed(statusChanged('2026-12-07T14:00:11.250Z')));
    const figures = ledger.figures(expected);
    expect(figures.duplicateEffectKeys).toEqual([]);
    expect(figures.duplicateDeliveries.kafkaEventRecords).toBe(1);
    expect(ledger.events.get('submission/sub-1/3')!.data.at).toBe('2026-12-07T14:00:00.000Z');
  });

  it('with different contents is a duplicate effect, under the same id or another id with the same sequence', () => {
    const sameId = new Ledger();
    sameId.eventConsumed(consumed(statusChanged('2026-12-07T14:00:00.000Z')));
    sameId.eventConsumed(consumed(statusChanged('2026-12-07T14:00:00.000Z', 'WITHDRAWN')));
    expect(sameId.figures(expected).duplicateEffectKeys).toEqual([
      'event submission/sub-1/3 carried two payloads',
      'sequence sub-1#3 carried 2 different events',
    ]);
    const otherId = new Ledger();
    otherId.eventConsumed(consumed(statusChanged('2026-12-07T14:00:00.000Z')));
    otherId.eventConsumed(consumed(statusChanged('2026-12-07T14:00:00.000Z', 'WITHDRAWN'), 'submission/sub-1/3b'));
    expect(otherId.figures(expected).duplicateEffectKeys).toEqual(['sequence sub-1#3 carried 2 different events']);
  });

  it('leaves out only ISO-8601 times', () => {
    expect(withoutTimes('{"at":"2026-12-07T14:00:00Z","b":"2026-12-07","n":3,"o":{"t":"2026-12-07T14:00:00.5+01:00"}}')).toBe(
      '{"at":"<time>","b":"2026-12-07","n":3,"o":{"t":"<time>"}}',
    );
    expect(withoutTimes('not json')).toBe('not json');
  });
});
