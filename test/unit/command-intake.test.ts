import { buildAgencyCommand } from '../../events/agency-client';
import { buildAgencyRegistry } from '../../events/agency-registry';
import { inspectCommand, type IntakeResult } from '../../events/command-intake';
import type { WireMessage } from '../../events/envelope';
import { generateAgencyKeyPair, importPrivateKey, signCommand } from '../../events/signing';

const nsa = generateAgencyKeyPair();
const cisa = generateAgencyKeyPair();
const outsider = generateAgencyKeyPair();
const nsaKey = importPrivateKey(nsa.privateKeyPem);
const cisaKey = importPrivateKey(cisa.privateKeyPem);
const registry = buildAgencyRegistry({
  version: 1,
  agencies: [
    { id: 'nsa', name: 'NSA', domains: ['offensive-cyber'], publicKeys: [nsa.publicKey] },
    { id: 'cisa', name: 'CISA', domains: ['critical-infrastructure'], publicKeys: [cisa.publicKey] },
    { id: 'dhs', name: 'DHS', domains: ['homeland-security'] },
  ],
});
const now = 1_800_000_000;

function command(over: Partial<Parameters<typeof buildAgencyCommand>[0]> = {}, key = nsaKey): WireMessage {
  return buildAgencyCommand(
    {
      agencyId: 'nsa',
      type: 'gov.preflight.assessment.request-info.v1',
      subject: 'sub-1',
      data: { question: 'Which tools?' },
      id: 'cmd-1',
      timestamp: now,
      ...over,
    },
    key,
    { validate: false },
  );
}
const inspect = (m: { key: string | null; value: Buffer | null; headers: Record<string, string> }, maxBytes?: number): IntakeResult =>
  inspectCommand(m, { registry, nowSeconds: now, maxBytes });
/** Re-signs a message whose body was changed after building (as a careless but authentic sender would). */
function resign(m: WireMessage, body: string, key = nsaKey): WireMessage {
  const value = Buffer.from(body);
  return {
    ...m,
    value,
    headers: {
      ...m.headers,
      'preflight-signature': signCommand({
        id: m.headers.ce_id!,
        timestamp: now,
        context: { type: m.headers.ce_type!, subject: m.headers.ce_subject! },
        body: value,
        privateKey: key,
      }),
    },
  };
}

describe('inspectCommand', () => {
  it('accepts a signed, valid command and stamps the verified signer into the input', () => {
    const result = inspect(command());
    expect(result).toMatchObject({ ok: true, agencyId: 'nsa', data: { question: 'Which tools?', agencyId: 'nsa' } });
    if (result.ok) {
      expect(result.envelope.id).toBe('cmd-1');
      expect(result.entry.command).toEqual({ kind: 'assessment-update', updateName: 'requestInfo' });
    }
  });

  it('refuses an oversized message before looking at it', () => {
    const m = command({ data: { question: 'x'.repeat(2 * 1024 * 1024) } });
    expect(inspect(m)).toMatchObject({ ok: false, code: 'oversized' });
    expect(inspect({ ...command(), headers: {} }, 10)).toMatchObject({ ok: false, code: 'oversized' });
  });

  it('refuses unsigned commands without naming a sender', () => {
    const m = command();
    const { 'preflight-signature': _s, ...unsigned } = m.headers;
    const result = inspect({ ...m, headers: unsigned });
    expect(result).toMatchObject({ ok: false, code: 'unsigned' });
    expect(result.ok || result.agencyId).toBeUndefined();
  });

  it('refuses forged commands (body changed after signing) without naming a sender', () => {
    const m = command();
    const result = inspect({ ...m, value: Buffer.from('{"question":"Something else"}') });
    expect(result).toMatchObject({ ok: false, code: 'forged', commandId: 'cmd-1' });
    expect(result.ok || result.agencyId).toBeUndefined();
    expect(inspect(command({}, importPrivateKey(outsider.privateKeyPem)))).toMatchObject({ ok: false, code: 'forged' });
    // Retargeting a captured command at another submission breaks the signature.
    expect(inspect({ ...m, key: 'sub-2', headers: { ...m.headers, ce_subject: 'sub-2' } })).toMatchObject({ ok: false, code: 'forged' });
    expect(inspect({ ...m, headers: { ...m.headers, ce_type: 'gov.preflight.assessment.decline.v1' } })).toMatchObject({ ok: false, code: 'forged' });
  });

  it('refuses expired commands and names the (authentic) sender', () => {
    expect(inspect(command({ timestamp: now - 600 }))).toMatchObject({ ok: false, code: 'expired', agencyId: 'nsa', commandId: 'cmd-1' });
  });

  it('refuses a command signed by one agency that claims to be another, and names the real signer', () => {
    expect(inspect(command({ agencyId: 'nsa' }, cisaKey))).toMatchObject({ ok: false, code: 'wrong-agency', agencyId: 'cisa' });
    const m = resign(command({ data: { question: 'q', agencyId: 'cisa' } }), '{"question":"q","agencyId":"cisa"}');
    expect(inspect(m)).toMatchObject({ ok: false, code: 'wrong-agency', agencyId: 'nsa' });
    expect(inspect(resign(m, '{"question":"q","agencyId":"nsa"}'))).toMatchObject({ ok: true });
  });

  it('refuses unknown agencies and agencies without pinned keys', () => {
    expect(inspect(command({ agencyId: 'fbi' }))).toMatchObject({ ok: false, code: 'unknown-agency' });
    expect(inspect(command({ agencyId: 'dhs' }))).toMatchObject({ ok: false, code: 'unknown-agency' });
  });

  it('refuses bad envelopes', () => {
    const m = command();
    expect(inspect({ ...m, headers: { ...m.headers, ce_specversion: '0.3' } })).toMatchObject({ ok: false, code: 'invalid-envelope' });
    expect(inspect({ ...m, headers: { ...m.headers, ce_source: 'nsa' } })).toMatchObject({ ok: false, code: 'invalid-envelope' });
    expect(inspect({ ...m, key: 'sub-2' })).toMatchObject({ ok: false, code: 'invalid-envelope', agencyId: 'nsa' });
    expect(inspect({ ...m, value: null })).toMatchObject({ ok: false, code: 'invalid-envelope' });
    expect(inspect(command({ id: 'x'.repeat(129) }))).toMatchObject({ ok: false, code: 'invalid-envelope' });
  });

  it('refuses unknown types, including outbound event types', () => {
    expect(inspect(command({ type: 'gov.preflight.assessment.approve.v1' }))).toMatchObject({ ok: false, code: 'unknown-type', agencyId: 'nsa' });
    expect(inspect(command({ type: 'gov.preflight.finding.submitted.v1' }))).toMatchObject({ ok: false, code: 'unknown-type' });
  });

  it('refuses malformed JSON, prototype-pollution keys and schema violations, naming the authentic sender', () => {
    const m = command();
    expect(inspect(resign(m, '{"question":'))).toMatchObject({ ok: false, code: 'malformed-json', agencyId: 'nsa' });
    expect(inspect(resign(m, '{"question":"q","__proto__":{"isAdmin":true}}'))).toMatchObject({ ok: false, code: 'forbidden-key', agencyId: 'nsa' });
    expect(inspect(resign(m, '{"question":"q","extra":1}'))).toMatchObject({ ok: false, code: 'schema-violation' });
    expect(inspect(resign(m, '{"question":""}'))).toMatchObject({ ok: false, code: 'schema-violation' });
    expect(inspect(resign(m, '[]'))).toMatchObject({ ok: false, code: 'schema-violation' });
    expect(inspect({ ...m, key: 'a b', headers: { ...m.headers, ce_subject: 'a b' } })).toMatchObject({ ok: false, code: 'invalid-envelope' });
    expect(inspect(command({ subject: 'sub/1' }))).toMatchObject({ ok: false, code: 'schema-violation', agencyId: 'nsa' });
  });

  it('checks finding bodies strictly', () => {
    const finding = {
      severity: 'HIGH',
      domain: 'offensive-cyber',
      title: 't',
      detail: 'd',
      modelVersionTested: '1',
      recommendedMitigation: 'm',
      thirdPartyVulnerability: false,
    };
    expect(inspect(command({ type: 'gov.preflight.finding.submit.v1', data: { finding } }))).toMatchObject({ ok: true });
    expect(inspect(command({ type: 'gov.preflight.finding.submit.v1', data: { finding: { ...finding, severity: 'SEVERE' } } }))).toMatchObject({
      ok: false,
      code: 'schema-violation',
    });
  });
});
