import http from 'node:http';
import { metrics, serveMetrics } from '../../infra/metrics';

async function get(url: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the metrics server of a process without an HTTP API', () => {
  let server: Awaited<ReturnType<typeof serveMetrics>>;
  beforeAll(async () => {
    server = await serveMetrics('127.0.0.1', 0);
  });
  afterAll(() => server.stop());

  it('serves the registry as Prometheus text, with what the process counted', async () => {
    metrics.deliveryAttempts.inc({ outcome: 'gone' }, 3);
    const res = await get(server.url);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^preflight_webhook_delivery_attempts_total\{outcome="gone",service="preflight"\} 3$/m);
    expect(res.body).toMatch(/^preflight_process_cpu_seconds_total\{service="preflight"\} /m);
  });

  it('answers /healthz, 404 elsewhere and 405 to anything but GET and HEAD', async () => {
    const base = server.url.replace(/\/metrics$/, '');
    expect((await get(`${base}/healthz`)).status).toBe(200);
    expect((await get(`${base}/`)).status).toBe(404);
    expect((await get(`${base}/metrics/x`)).status).toBe(404);
    expect((await get(server.url, 'POST')).status).toBe(405);
    const head = await get(server.url, 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
  });

  it('refuses a port already taken, so start-up fails instead of running unobserved', async () => {
    const port = Number(new URL(server.url).port);
    await expect(serveMetrics('127.0.0.1', port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
