import crypto from 'node:crypto';
import { buildAgencyCommand } from '../../events/agency-client';
import { buildAgencyRegistry } from '../../events/agency-registry';
import { inspectCommand } from '../../events/command-intake';
import { deadLetterMessage, originalHeaders, readDeadLetter } from '../../events/dead-letter';
import { ORIGINAL_RECORD_HEADERS, openRecordTime, sealRecordTime } from '../../events/freshness';
import { generateAgencyKeyPair, importPrivateKey } from '../../events/signing';
import { TOPICS } from '../../events/topics';
import type { PayloadKey } from '../../infra/codec';

const nsa = generateAgencyKeyPair();
const nsaKey = importPrivateKey(nsa.privateKeyPem);
const registry = buildAgencyRegistry({ version: 1, agencies: [{ id: 'nsa', name: 'NSA', domains: ['offensive-cyber'], publicKeys: [nsa.publicKey] }] });
const payloadKey: PayloadKey = { id: 'master-v1', key: crypto.randomBytes(32) };
const otherKey: PayloadKey = { id: 'master-v1', key: crypto.randomBytes(32) };
const T = 1_800_000_000; // unix seconds: when the agency signed and the broker appended
const MIN = 60;

function signedAt(seconds: number, id = 'cmd-1') {
  return buildAgencyCommand({ agencyId: 'nsa', type: 'gov.preflight.assessment.accept.v1', subject: 'sub-1', data: {}, id, timestamp: seconds }, nsaKey, {
    validate: false,
  });
}
const received = (m: ReturnType<typeof signedAt>, recordSeconds: number | undefined, extra: Record<string, string> = {}) => ({
  ...m,
  headers: { ...m.headers, ...extra },
  ...(recordSeconds !== undefined ? { timestamp: String(recordSeconds * 1000) } : {}),
});
const inspectAt = (nowSeconds: number, m: Parameters<typeof inspectCommand>[0]) => inspectCommand(m, { registry, nowSeconds, recordTimeKeys: [payloadKey] });
const sealed = (m: ReturnType<typeof signedAt>, recordMs: number, key = payloadKey) =>
  sealRecordTime(
    key,
    { id: m.headers.ce_id!, timestampHeader: m.headers['preflight-timestamp']!, signatureHeader: m.headers['preflight-signature']! },
    recordMs,
  );

describe('command freshness is judged against the Kafka record timestamp', () => {
  it('applies a command signed and appended at T when the ingress reads it 10 minutes (or 3 days) later', () => {
    const m = received(signedAt(T), T);
    expect(inspectAt(T + 10 * MIN, m)).toMatchObject({ ok: true, agencyId: 'nsa', reference: { source: 'record', referenceMs: T * 1000 } });
    expect(inspectAt(T + 3 * 24 * 60 * MIN, m)).toMatchObject({ ok: true });
    // Before: the ingress clock was the reference, and the same command was refused.
    expect(inspectCommand({ ...m, timestamp: undefined }, { registry, nowSeconds: T + 10 * MIN })).toMatchObject({ ok: false, code: 'expired' });
  });

  it('refuses, as expired, a command whose signed timestamp is far from its record timestamp, whatever the ingress clock says', () => {
    const old = received(signedAt(T - 10 * MIN), T);
    const result = inspectAt(T, old);
    expect(result).toMatchObject({ ok: false, code: 'expired', agencyId: 'nsa' });
    expect(!result.ok && result.reason).toMatch(/600 s older than its Kafka record; the window is ±300 s/);
    expect(inspectAt(T, received(signedAt(T + 6 * MIN), T))).toMatchObject({ ok: false, code: 'expired' });
    expect(inspectAt(T, received(signedAt(T - 4 * MIN), T))).toMatchObject({ ok: true });
  });

  it('bounds record timestamps ahead of the ingress clock (60 s by default)', () => {
    const ahead = received(signedAt(T + 5 * MIN), T + 5 * MIN);
    const result = inspectAt(T, ahead);
    expect(result).toMatchObject({ ok: false, code: 'expired', agencyId: 'nsa' });
    expect(!result.ok && result.reason).toMatch(/300 s ahead of the ingress clock; at most 60 s/);
    expect(inspectAt(T, received(signedAt(T + 50), T + 50))).toMatchObject({ ok: true });
    expect(inspectCommand(ahead, { registry, nowSeconds: T, maxRecordFutureSeconds: 600 })).toMatchObject({ ok: true });
  });

  it('judges a replayed dead letter against its sealed original record time, not the replay’s', () => {
    const m = signedAt(T);
    // Replayed 2 hours later: the new record is stamped T + 2 h.
    const replayed = received(m, T + 120 * MIN, {
      [ORIGINAL_RECORD_HEADERS.time]: String(T * 1000),
      [ORIGINAL_RECORD_HEADERS.seal]: sealed(m, T * 1000),
    });
    expect(inspectAt(T + 120 * MIN, replayed)).toMatchObject({ ok: true, reference: { source: 'original-record', referenceMs: T * 1000 } });
    // The same replay without the seal is judged against its own record, and refused.
    const unsealed = received(m, T + 120 * MIN);
    expect(inspectAt(T + 120 * MIN, unsealed)).toMatchObject({ ok: false, code: 'expired' });
  });

  it('an agency cannot make an old command fresh: a forged, foreign or transplanted seal is ignored and said so', () => {
    const old = signedAt(T - 60 * MIN, 'cmd-old');
    const claim = (seal: string, time = (T - 60 * MIN) * 1000) =>
      inspectAt(T, received(old, T, { [ORIGINAL_RECORD_HEADERS.time]: String(time), [ORIGINAL_RECORD_HEADERS.seal]: seal }));
    const forged = claim(`master-v1,${crypto.randomBytes(32).toString('base64')}`);
    expect(forged).toMatchObject({ ok: false, code: 'expired', reference: { source: 'record', unverifiedClaim: true } });
    expect(!forged.ok && forged.reason).toMatch(/preflight-original-record-time header is not sealed by this deployment and was ignored/);
    // Sealed with another deployment's key, with an unknown key id, or for another command: ignored too.
    expect(claim(sealed(old, (T - 60 * MIN) * 1000, otherKey))).toMatchObject({ ok: false, code: 'expired' });
    expect(claim(sealed(old, (T - 60 * MIN) * 1000).replace('master-v1', 'master-v9'))).toMatchObject({ ok: false, code: 'expired' });
    const fresh = signedAt(T - 60 * MIN, 'cmd-other');
    expect(claim(sealed(fresh, (T - 60 * MIN) * 1000))).toMatchObject({ ok: false, code: 'expired' });
    // A genuine seal of the old command's true record time does not help either: it was appended late.
    expect(claim(sealed(old, T * 1000), T * 1000)).toMatchObject({ ok: false, code: 'expired', reference: { source: 'original-record' } });
  });

  it('the seal opens only for the exact command and time it was made for', () => {
    const m = signedAt(T);
    const cmd = { id: 'cmd-1', timestampHeader: m.headers['preflight-timestamp']!, signatureHeader: m.headers['preflight-signature']! };
    const seal = sealRecordTime(payloadKey, cmd, T * 1000);
    expect(openRecordTime([payloadKey], cmd, String(T * 1000), seal)).toBe(T * 1000);
    expect(openRecordTime([payloadKey], cmd, String(T * 1000 + 1), seal)).toBeUndefined();
    expect(openRecordTime([payloadKey], { ...cmd, id: 'cmd-2' }, String(T * 1000), seal)).toBeUndefined();
    expect(openRecordTime([otherKey], cmd, String(T * 1000), seal)).toBeUndefined();
    expect(openRecordTime([payloadKey], cmd, 'soon', seal)).toBeUndefined();
  });

  it('a dead letter keeps the record time, and its replay carries it as preflight-original-record-*', () => {
    const m = signedAt(T);
    const seal = sealed(m, T * 1000);
    const dl = deadLetterMessage(
      { key: m.key, value: m.value, headers: { ...m.headers, [ORIGINAL_RECORD_HEADERS.time]: '1', [ORIGINAL_RECORD_HEADERS.seal]: 'stale' } },
      {
        reason: 'unknown-agency',
        message: 'no key',
        topic: TOPICS.agencyCommands,
        partition: 0,
        offset: '7',
        time: new Date().toISOString(),
        recordTime: { ms: T * 1000, seal },
      },
    );
    expect(readDeadLetter(dl.headers)?.recordTime).toEqual({ ms: T * 1000, seal });
    const replay = originalHeaders(dl.headers);
    expect(replay[ORIGINAL_RECORD_HEADERS.time]).toBe(String(T * 1000));
    expect(replay[ORIGINAL_RECORD_HEADERS.seal]).toBe(seal);
    expect(Object.keys(replay).some((h) => h.startsWith('preflight-dlq-'))).toBe(false);
    expect(inspectAt(T + 120 * MIN, { key: m.key, value: m.value, headers: replay, timestamp: String((T + 120 * MIN) * 1000) })).toMatchObject({ ok: true });
  });
});
