import crypto from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { LocalAccessBroker, type AccessGrantRequest } from '../../clients/access-broker';
import { createLifecycleActivities } from '../../activities/lifecycle';
import { createPublisherActivities } from '../../activities/publisher';
import { InMemoryEventPublisher } from '../../events/publisher';
import type { StatusEvent } from '../../workflows/shared/outbox';
import { createLogger } from '../../infra/logger';
import type { AccessGrantRef } from '../../wire/submission';

const masterKey = crypto.randomBytes(32);
const NOW = Date.parse('2026-12-01T00:00:00.000Z');
const request: AccessGrantRequest = {
  grantId: 'sub-1.nsa.g1',
  submissionId: 'sub-1',
  agencyId: 'nsa',
  expiresAt: '2026-12-11T00:00:00.000Z',
};

describe('LocalAccessBroker', () => {
  it('verifies its own token with scope, agency and expiry', async () => {
    const broker = new LocalAccessBroker({ masterKey, now: () => NOW });
    await broker.grant(request);
    await expect(broker.verify(broker.tokenFor(request))).resolves.toEqual({
      valid: true,
      grantId: 'sub-1.nsa.g1',
      submissionId: 'sub-1',
      agencyId: 'nsa',
      scope: 'model:evaluate',
      expiresAt: '2026-12-11T00:00:00.000Z',
    });
  });

  it('grant returns only the id and expiry: the token is not in it', async () => {
    const broker = new LocalAccessBroker({ masterKey, now: () => NOW });
    const grant = await broker.grant(request);
    expect(grant).toEqual({ grantId: request.grantId, expiresAt: request.expiresAt });
    expect(JSON.stringify(grant)).not.toContain(broker.tokenFor(request).split('.')[2]);
  });

  it('refuses a tampered, foreign, expired or malformed token', async () => {
    const broker = new LocalAccessBroker({ masterKey, now: () => NOW });
    const token = broker.tokenFor(request);
    const [p, payload, sig] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), a: 'cisa' })).toString('base64url');
    await expect(broker.verify(`${p}.${forged}.${sig}`)).resolves.toEqual({ valid: false, reason: 'bad-signature' });
    const other = new LocalAccessBroker({ masterKey: crypto.randomBytes(32), now: () => NOW });
    await expect(other.verify(token)).resolves.toEqual({ valid: false, reason: 'bad-signature' });
    const later = new LocalAccessBroker({ masterKey, now: () => Date.parse(request.expiresAt) });
    await expect(later.verify(token)).resolves.toEqual({ valid: false, reason: 'expired' });
    await expect(broker.verify('Bearer nonsense')).resolves.toEqual({ valid: false, reason: 'malformed' });
  });

  it('refuses a revoked grant, locally and through the system of record', async () => {
    const broker = new LocalAccessBroker({ masterKey, now: () => NOW });
    await broker.revoke(request.grantId, request.submissionId);
    await expect(broker.verify(broker.tokenFor(request))).resolves.toEqual({ valid: false, reason: 'revoked' });
    const elsewhere = new LocalAccessBroker({ masterKey, now: () => NOW, isGrantLive: async () => false });
    await expect(elsewhere.verify(elsewhere.tokenFor(request))).resolves.toEqual({ valid: false, reason: 'revoked' });
  });

  it('needs a 32-byte master key', () => {
    expect(() => new LocalAccessBroker({ masterKey: Buffer.alloc(16) })).toThrow(/32-byte/);
  });
});

describe('lifecycle and publisher activities', () => {
  const logger = createLogger({ level: 'silent' });

  it('grantAccess and revokeAccess go through the broker and return ids and times only', async () => {
    const broker = new LocalAccessBroker({ masterKey });
    const acts = createLifecycleActivities({ logger, accessBroker: broker });
    const env = new MockActivityEnvironment();
    const ref: AccessGrantRef = await env.run(() => acts.grantAccess({ ...request, expiresAt: new Date(Date.now() + 60_000).toISOString() }));
    expect(Object.keys(ref).sort()).toEqual(['agencyId', 'expiresAt', 'grantId']);
    const token = broker.tokenFor({ ...request, expiresAt: ref.expiresAt });
    expect((await broker.verify(token)).valid).toBe(true);
    await env.run(() => acts.revokeAccess({ grantId: ref.grantId, submissionId: 'sub-1', agencyId: 'nsa' }));
    expect(await broker.verify(token)).toEqual({ valid: false, reason: 'revoked' });
  });

  it('publishEvent hands the event to the publisher once per id and refuses a bad stream or sequence', async () => {
    const publisher = new InMemoryEventPublisher();
    const { publishEvent } = createPublisherActivities({ publisher });
    const env = new MockActivityEnvironment();
    const event: StatusEvent = {
      id: 'submission/sub-1/1',
      type: 'gov.preflight.submission.status-changed.v1',
      source: '/preflight/submissions',
      subject: 'sub-1',
      sequence: 1,
      time: new Date(NOW).toISOString(),
      data: { submissionId: 'sub-1', status: 'RECEIVED' },
    };
    await env.run(() => publishEvent('submission', event));
    await env.run(() => publishEvent('submission', event));
    expect(publisher.forSubject('sub-1')).toEqual([event]);
    await expect(env.run(() => publishEvent('audit' as never, event))).rejects.toThrow(/unknown event stream/);
    await expect(env.run(() => publishEvent('submission', { ...event, sequence: 0 }))).rejects.toThrow(/sequence/);
  });
});
