import { canonicalJson, requestFingerprint } from '../../clients/idempotency';
import { idempotencyWorkflowId } from '../../workflows/idempotency/contract';

describe('Idempotency-Key fingerprints', () => {
  it('the same request with its keys in another order has the same fingerprint', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}');
    expect(requestFingerprint('post', '/v1/webhook-endpoints', { url: 'https://x', description: 'a' })).toBe(
      requestFingerprint('POST', '/v1/webhook-endpoints', { description: 'a', url: 'https://x' }),
    );
  });

  it('another body, path or method has another fingerprint', () => {
    const base = requestFingerprint('POST', '/v1/webhook-endpoints', { url: 'https://x' });
    expect(requestFingerprint('POST', '/v1/webhook-endpoints', { url: 'https://y' })).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/webhook-endpoints/ep_1/rotate-secret', { url: 'https://x' })).not.toBe(base);
    expect(requestFingerprint('PATCH', '/v1/webhook-endpoints', { url: 'https://x' })).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/submissions/s/acknowledge', undefined)).not.toBe(requestFingerprint('POST', '/v1/submissions/s/acknowledge', {}));
  });

  it('keys are scoped per vendor', () => {
    expect(idempotencyWorkflowId('acme', 'ab12')).toBe('idempotency/acme/ab12');
    expect(idempotencyWorkflowId('globex', 'ab12')).not.toBe(idempotencyWorkflowId('acme', 'ab12'));
  });
});
