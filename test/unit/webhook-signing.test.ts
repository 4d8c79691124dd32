import { Webhook } from 'standardwebhooks';
import { deriveWebhookSecret, verifyWebhook, webhookHeaders } from '../../events/webhook-signing';
import { activeSecretVersions, type WebhookEndpoint } from '../../workflows/webhooks/contract';

const masterKey = Buffer.alloc(32, 7);
const body = JSON.stringify({
  type: 'gov.preflight.submission.status-changed.v1',
  timestamp: '2026-11-27T05:00:00.000Z',
  data: { submissionId: 's1', status: 'SCREENING' },
});
const now = () => Math.floor(Date.now() / 1000);

describe('webhook signing', () => {
  it('derives whsec_ secrets per endpoint and version, deterministically', () => {
    const a1 = deriveWebhookSecret(masterKey, 'ep_aaaaaaaa', 1);
    expect(a1).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(deriveWebhookSecret(masterKey, 'ep_aaaaaaaa', 1)).toBe(a1);
    expect(deriveWebhookSecret(masterKey, 'ep_aaaaaaaa', 2)).not.toBe(a1);
    expect(deriveWebhookSecret(masterKey, 'ep_bbbbbbbb', 1)).not.toBe(a1);
    expect(deriveWebhookSecret(Buffer.alloc(32, 8), 'ep_aaaaaaaa', 1)).not.toBe(a1);
    expect(() => deriveWebhookSecret(masterKey, 'ep_aaaaaaaa', 0)).toThrow(/positive integer/);
    expect(() => deriveWebhookSecret(Buffer.alloc(8), 'ep_aaaaaaaa', 1)).toThrow(/32 bytes/);
  });

  it('produces headers the standardwebhooks library verifies', () => {
    const secret = deriveWebhookSecret(masterKey, 'ep_aaaaaaaa', 1);
    const headers = webhookHeaders({ id: 'submission/s1/3', timestampSeconds: now(), body, secrets: [secret] });
    expect(headers['webhook-id']).toBe('submission/s1/3');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(verifyWebhook(secret, headers, body)).toBe(true);
  });

  it('a tampered body, id or timestamp fails verification', () => {
    const secret = deriveWebhookSecret(masterKey, 'ep_aaaaaaaa', 1);
    const signedAt = now();
    const headers = webhookHeaders({ id: 'submission/s1/3', timestampSeconds: signedAt, body, secrets: [secret] });
    const tampered = body.replace('SCREENING', 'CLEARANCE_ISSUED');
    expect(() => new Webhook(secret).verify(tampered, headers)).toThrow(/No matching signature/);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'submission/s1/4' })).toThrow(/No matching signature/);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-timestamp': String(signedAt - 1) })).toThrow(/No matching signature/);
    expect(() => new Webhook(deriveWebhookSecret(masterKey, 'ep_aaaaaaaa', 2)).verify(body, headers)).toThrow(/No matching signature/);
    expect(verifyWebhook(secret, headers, tampered)).toBe(false);
  });

  it('signs with both secrets during a rotation overlap, and only the new one after it', () => {
    const t0 = Date.parse('2026-11-27T05:00:00Z');
    const endpoint: WebhookEndpoint = {
      endpointId: 'ep_aaaaaaaa',
      vendorId: 'acme',
      url: 'https://hooks.example.com/x',
      eventTypes: [],
      status: 'ENABLED',
      createdAt: '2026-11-01T00:00:00Z',
      updatedAt: '2026-11-27T05:00:00Z',
      secretVersion: 2,
      previousSecretVersion: 1,
      previousSecretExpiresAt: new Date(t0 + 3600_000).toISOString(),
    };
    const oldSecret = deriveWebhookSecret(masterKey, endpoint.endpointId, 1);
    const newSecret = deriveWebhookSecret(masterKey, endpoint.endpointId, 2);

    const during = activeSecretVersions(endpoint, t0);
    expect(during).toEqual([2, 1]);
    const h1 = webhookHeaders({ id: 'e1', timestampSeconds: now(), body, secrets: during.map((v) => deriveWebhookSecret(masterKey, endpoint.endpointId, v)) });
    expect(h1['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(body, h1)).toBeTruthy();
    expect(new Webhook(newSecret).verify(body, h1)).toBeTruthy();

    const after = activeSecretVersions(endpoint, t0 + 3600_000);
    expect(after).toEqual([2]);
    const h2 = webhookHeaders({ id: 'e2', timestampSeconds: now(), body, secrets: after.map((v) => deriveWebhookSecret(masterKey, endpoint.endpointId, v)) });
    expect(new Webhook(newSecret).verify(body, h2)).toBeTruthy();
    expect(() => new Webhook(oldSecret).verify(body, h2)).toThrow(/No matching signature/);
  });

  it('refuses to sign without a secret', () => {
    expect(() => webhookHeaders({ id: 'e', timestampSeconds: now(), body, secrets: [] })).toThrow(/at least one/);
  });
});
