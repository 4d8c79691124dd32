import crypto from 'node:crypto';
import { DEAD_LETTER_HEADERS, DeadLetterSealError, deadLetterMessage, originalValue, readDeadLetter } from '../../events/dead-letter';

const info = {
  reason: 'schema-violation',
  message: 'finding.severity: invalid',
  topic: 'preflight.agency-commands.v1',
  partition: 1,
  offset: '42',
  time: '2026-11-27T00:00:00.000Z',
  agencyId: 'nsa',
};
const key = (id: string) => ({ id, key: crypto.randomBytes(32) });

describe('sealed dead letters', () => {
  const original = {
    key: 'sub-1',
    value: Buffer.from('{"finding":{"detail":"canary-3f9a"}}'),
    headers: { ce_id: 'c1', ce_type: 'gov.preflight.finding.submit.v1' },
  };

  it('seals the value with the current key, keeps key and headers readable, and unseals to the original bytes', () => {
    const current = key('k2');
    const letter = deadLetterMessage(original, info, current);
    expect(letter.value!.includes('canary-3f9a')).toBe(false);
    expect(letter.key).toBe('sub-1');
    expect(letter.headers.ce_id).toBe('c1');
    expect(letter.headers[DEAD_LETTER_HEADERS.sealed]).toBe('k2');
    expect(readDeadLetter(letter.headers)).toMatchObject({ reason: 'schema-violation', agencyId: 'nsa', offset: '42' });
    expect(originalValue(letter, [key('k3'), current])!.equals(original.value)).toBe(true);
  });

  it('keeps an unsealed value as it came (letters written without a key)', () => {
    const letter = deadLetterMessage(original, info);
    expect(letter.headers[DEAD_LETTER_HEADERS.sealed]).toBeUndefined();
    expect(originalValue(letter, [key('k1')])!.equals(original.value)).toBe(true);
  });

  it('refuses an unknown key id, a tampered value and a truncated one', () => {
    const current = key('k1');
    const letter = deadLetterMessage(original, info, current);
    expect(() => originalValue(letter, [key('other')])).toThrow(new DeadLetterSealError('dead letter sealed with unknown key id "k1"'));
    const tampered = Buffer.from(letter.value!);
    tampered[20] = tampered[20]! ^ 1;
    expect(() => originalValue({ ...letter, value: tampered }, [current])).toThrow('failed authentication');
    expect(() => originalValue({ ...letter, value: letter.value!.subarray(0, 10) }, [current])).toThrow('truncated');
    expect(() => originalValue(letter, [{ id: 'k1', key: crypto.randomBytes(32) }])).toThrow('failed authentication');
  });
});
