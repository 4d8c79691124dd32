import crypto from 'node:crypto';
import { loadConfig } from '../../infra/config';
import { OPS_SESSION_TTL_SECONDS, opsSessionKey, readCookie, signOpsSession, verifyOpsSession } from '../../workers/api/ops-session';

const key = opsSessionKey(crypto.randomBytes(32));
const NOW = Date.parse('2026-11-27T08:00:00Z');

describe('ops session cookie', () => {
  it('verifies for its operator until it expires, then not', () => {
    const { value, expiresAt } = signOpsSession(key, 'alice@ops', NOW);
    expect(expiresAt.getTime()).toBe(NOW + OPS_SESSION_TTL_SECONDS * 1000);
    expect(verifyOpsSession(key, value, NOW)).toEqual({ ok: true, operator: 'alice@ops', expiresAt });
    expect(verifyOpsSession(key, value, expiresAt.getTime() - 1000)).toMatchObject({ ok: true, operator: 'alice@ops' });
    expect(verifyOpsSession(key, value, expiresAt.getTime())).toEqual({ ok: false, reason: 'expired' });
    expect(verifyOpsSession(key, value, expiresAt.getTime() + 86_400_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a session signed with another key (another deployment, or a rotated master key)', () => {
    const { value } = signOpsSession(opsSessionKey(crypto.randomBytes(32)), 'alice', NOW);
    expect(verifyOpsSession(key, value, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses any tampering: a longer expiry, another operator, a changed signature', () => {
    const { value } = signOpsSession(key, 'alice', NOW);
    const [version, operator, expires, mac] = value.split('.') as [string, string, string, string];
    const later = `${version}.${operator}.${Number(expires) + 86_400}.${mac}`;
    const mallory = `${version}.${Buffer.from('mallory').toString('base64url')}.${expires}.${mac}`;
    const flipped = `${version}.${operator}.${expires}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    for (const forged of [later, mallory, flipped]) expect(verifyOpsSession(key, forged, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses malformed values without throwing', () => {
    for (const bad of ['', 'v1', 'v2.YWxpY2U.1.' + 'a'.repeat(43), 'v1.YWxpY2U.abc.' + 'a'.repeat(43), 'v1..1.' + 'a'.repeat(43), 'x'.repeat(5000)]) {
      expect(verifyOpsSession(key, bad, NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('reads one cookie out of a Cookie header', () => {
    expect(readCookie('a=1; preflight_ops_session=v1.x.y.z; b=2', 'preflight_ops_session')).toBe('v1.x.y.z');
    expect(readCookie('xpreflight_ops_session=1', 'preflight_ops_session')).toBeUndefined();
    expect(readCookie(undefined, 'preflight_ops_session')).toBeUndefined();
  });
});

describe('PREFLIGHT_UI_ORIGINS', () => {
  it('defaults to the local Web UI on the local stack and to nothing with an external Temporal', () => {
    expect(loadConfig({ PREFLIGHT_TEMPORAL_UI_PORT: '18233' }).uiOrigins).toEqual(['http://127.0.0.1:18233']);
    expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal.internal:7233' }).uiOrigins).toEqual([]);
  });

  it('takes exact origins and refuses anything else, naming the variable', () => {
    expect(loadConfig({ PREFLIGHT_UI_ORIGINS: 'https://Temporal.example.gov, http://127.0.0.1:8233' }).uiOrigins).toEqual([
      'https://temporal.example.gov',
      'http://127.0.0.1:8233',
    ]);
    for (const bad of ['*', 'https://temporal.example.gov/', 'temporal.example.gov', 'https://x.gov/path']) {
      expect(() => loadConfig({ PREFLIGHT_UI_ORIGINS: bad })).toThrow(/PREFLIGHT_UI_ORIGINS/);
    }
  });
});
