import http from 'node:http';
import https from 'node:https';
import type { CheckedTarget } from './ssrf-guard';

export interface WebhookResponse {
  status: number;
  latencyMs: number;
  /** First bytes of the body, printable ASCII only, at most EXCERPT_CHARS characters. */
  excerpt: string;
  /** Milliseconds from a `Retry-After` header (delta-seconds or HTTP date), when present and valid. */
  retryAfterMs?: number;
  /** The body was larger than the cap; reading stopped there. */
  truncated: boolean;
}

/** A transport failure: `code` is `timeout`, `response-too-large` or the socket error code (`ECONNRESET`, …). */
export class WebhookTransportError extends Error {
  override readonly name = 'WebhookTransportError';
  constructor(
    readonly code: string,
    message: string,
    readonly latencyMs: number,
  ) {
    super(message);
  }
}

export const EXCERPT_CHARS = 256;

/** Parses Retry-After as delta-seconds or an HTTP date, relative to `nowMs`. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function excerptOf(bytes: Buffer): string {
  return bytes
    .subarray(0, EXCERPT_CHARS * 4)
    .toString('utf8')
    .replace(/[^\x20-\x7e]/g, ' ')
    .slice(0, EXCERPT_CHARS);
}

/**
 * POSTs `body` to the checked target. The socket goes to `target.address` (no second DNS resolution, so a rebinding
 * answer cannot redirect it); the Host header and the TLS server name carry the original host name. Redirects are not
 * followed; the caller treats 3xx as a failure. One deadline covers connect, request and response.
 */
export function postWebhook(
  target: CheckedTarget,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; maxResponseBytes: number },
): Promise<WebhookResponse> {
  const started = Date.now();
  const isHttps = target.url.protocol === 'https:';
  const payload = Buffer.from(body, 'utf8');
  return new Promise<WebhookResponse>((resolve, reject) => {
    let settled = false;
    const fail = (code: string, message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(new WebhookTransportError(code, message, Date.now() - started));
    };
    const requestOptions: https.RequestOptions = {
      method: 'POST',
      host: target.address,
      family: target.family,
      port: target.port,
      path: `${target.url.pathname}${target.url.search}`,
      headers: {
        ...headers,
        host: target.url.host,
        'content-type': 'application/json',
        'content-length': String(payload.length),
        'user-agent': 'Preflight-Webhooks/1',
      },
      agent: false,
      // Belt and braces: should anything still ask for a resolution, it gets the checked address.
      lookup: (_hostname, opts, cb) => {
        if ((opts as { all?: boolean }).all)
          (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: target.address, family: target.family }]);
        else cb(null, target.address, target.family);
      },
    };
    if (isHttps && !/^[\d.]+$|:/.test(target.hostname)) requestOptions.servername = target.hostname;
    const req = (isHttps ? https : http).request(requestOptions, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const done = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const retryAfter = parseRetryAfter(res.headers['retry-after'], Date.now());
        const response: WebhookResponse = {
          status: res.statusCode ?? 0,
          latencyMs: Date.now() - started,
          excerpt: excerptOf(Buffer.concat(chunks)),
          truncated,
        };
        if (retryAfter !== undefined) response.retryAfterMs = retryAfter;
        resolve(response);
      };
      res.on('data', (chunk: Buffer) => {
        if (truncated) return;
        size += chunk.length;
        if (size > options.maxResponseBytes) {
          truncated = true;
          chunks.push(chunk.subarray(0, Math.max(0, chunk.length - (size - options.maxResponseBytes))));
          done();
          res.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', done);
      res.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'response-error', err.message));
      res.on('aborted', () => fail('ECONNRESET', 'response aborted'));
    });
    const timer = setTimeout(() => fail('timeout', `no complete response within ${options.timeoutMs} ms`), options.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'request-error', err.message));
    req.end(payload);
  });
}
