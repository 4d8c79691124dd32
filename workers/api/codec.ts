import type { Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { CodecPayloads, type CodecPayload } from './http-schemas';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA, UnknownPayloadKeyError } from '../../infra/codec';
import type { Logger } from '../../infra/logger';
import { metrics } from '../../infra/metrics';
import { addAuditDetails, bearer, markUnknownCredential, principalLabel, type Authenticator } from './auth';
import { OPS_SESSION_COOKIE, readCookie, verifyOpsSession } from './ops-session';
import { HttpProblem, parseOr422, problemErrorHandler, problems, sendProblem } from './problems';

/** Where the codec is mounted; the Temporal UI and CLI append `/decode` and `/encode`. */
export const CODEC_PREFIX = '/codec';
/** A Temporal payload is at most 2 MB; base64 and JSON add a third, and one request may carry a few. */
export const CODEC_BODY_LIMIT = 4 * 1024 * 1024;

type WirePayload = z.infer<typeof CodecPayload>;
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface CodecRouteDeps {
  /** The deployment's payload codecs, applied in order to encode and in reverse to decode. */
  codecs: readonly PayloadCodec[];
  /** The Temporal namespace whose payloads these keys protect. */
  namespace: string;
  authenticator: Authenticator;
  /** Verifies the Temporal UI's session cookie (see ops-session.ts). */
  sessionKey: Buffer;
  /** Browser origins allowed to call the endpoint with credentials (exact match). */
  uiOrigins: readonly string[];
  logger: Logger;
}

function fromWire(p: WirePayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toWire(p: Payload): WirePayload {
  const data = Buffer.from(p.data ?? new Uint8Array());
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
    ...(data.length > 0 ? { data: data.toString('base64') } : {}),
  };
}

function isEncrypted(p: Payload): boolean {
  const encoding = p.metadata?.[METADATA_ENCODING_KEY];
  return encoding !== undefined && encoding !== null && Buffer.from(encoding).toString() === ENCRYPTED_ENCODING;
}

/** The key id an encrypted payload names, made safe to record (it is caller input). */
function keyIdOf(p: Payload): string | undefined {
  if (!isEncrypted(p)) return undefined;
  const raw = p.metadata?.[KEY_ID_METADATA];
  const id = raw ? Buffer.from(raw).toString('utf8') : '';
  return KEY_ID.test(id) ? id : '(invalid)';
}

/** How each codec request authenticated, for its audit entry. */
const credentialOf = new WeakMap<FastifyRequest, 'bearer' | 'session'>();

/**
 * Who calls: an ops bearer token (scripts, `temporal --codec-auth`) or the ops session cookie a browser got from
 * `POST /ops/session` (the Temporal UI with "include cross-origin credentials"). Vendors are refused (403); no or an
 * unknown credential is 401 with `WWW-Authenticate`.
 */
function codecAuthentication(deps: Pick<CodecRouteDeps, 'authenticator' | 'sessionKey' | 'uiOrigins'>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const instance = request.url.split('?')[0];
    const refuse = async (challenge: string, unknown: boolean) => {
      if (unknown) markUnknownCredential(request);
      reply.header('www-authenticate', challenge);
      await sendProblem(
        reply,
        new HttpProblem(401, 'unauthenticated', 'Authentication required', 'Send Authorization: Bearer <ops token>, or sign in with POST /ops/session.'),
        instance,
      );
    };
    const secret = bearer(request);
    if (secret) {
      const principal = deps.authenticator(secret);
      if (!principal) return refuse('Bearer error="invalid_token"', true);
      request.principal = principal;
      credentialOf.set(request, 'bearer');
      if (principal.kind !== 'ops') await sendProblem(reply, problems.forbidden('Only ops may decode or encode payloads.'), instance);
      return;
    }
    const cookie = readCookie(request.headers.cookie, OPS_SESSION_COOKIE);
    if (cookie) {
      const session = verifyOpsSession(deps.sessionKey, cookie);
      if (!session.ok) return refuse('Bearer error="invalid_token", error_description="session cookie ' + session.reason + '"', true);
      request.principal = { kind: 'ops', operator: session.operator };
      credentialOf.set(request, 'session');
      // Browsers send Origin on these requests: the cookie counts only from a configured UI (another page on the same
      // site, which SameSite lets through, cannot spend it even where CORS would not let it read the answer).
      const origin = request.headers.origin;
      if (typeof origin === 'string' && !deps.uiOrigins.includes(origin.toLowerCase())) {
        await sendProblem(reply, problems.forbidden('The session cookie is accepted only from the Temporal UI origins in PREFLIGHT_UI_ORIGINS.'), instance);
      }
      return;
    }
    return refuse('Bearer', false);
  };
}

/** CORS for the configured Temporal UI origins only: exact origin, credentials allowed; other origins get nothing. */
function corsHeaders(request: FastifyRequest, reply: FastifyReply, uiOrigins: readonly string[]): boolean {
  reply.header('vary', 'Origin');
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || !uiOrigins.includes(origin.toLowerCase())) return false;
  reply.header('access-control-allow-origin', origin);
  reply.header('access-control-allow-credentials', 'true');
  return true;
}

/**
 * The Temporal remote codec protocol for ops: `POST /codec/decode` and `POST /codec/encode` take and answer
 * `{ payloads: [{ metadata, data }] }` (base64 fields). Every call is audited by the api's audit trail (actor, namespace,
 * payload count, key ids — never contents) and counted; a payload that does not decrypt is a 422 naming its index.
 */
export function codecRoutes(deps: CodecRouteDeps) {
  const log = deps.logger.child({ component: 'codec' });
  const codecs = [...deps.codecs];
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.setErrorHandler(problemErrorHandler(log));
    app.addHook('onRequest', async (request, reply) => {
      corsHeaders(request, reply, deps.uiOrigins);
    });

    const preflight = async (request: FastifyRequest, reply: FastifyReply) => {
      if (!corsHeaders(request, reply, deps.uiOrigins)) return reply.code(204).send();
      reply.header('access-control-allow-methods', 'POST');
      reply.header('access-control-allow-headers', 'content-type, x-namespace, authorization');
      reply.header('access-control-max-age', '600');
      // A UI served from a public address calling this loopback or private one (Chrome's Private Network Access).
      if (request.headers['access-control-request-private-network'] === 'true') reply.header('access-control-allow-private-network', 'true');
      return reply.code(204).send();
    };
    app.options(`${CODEC_PREFIX}/decode`, preflight);
    app.options(`${CODEC_PREFIX}/encode`, preflight);

    const route = { preHandler: codecAuthentication(deps), bodyLimit: CODEC_BODY_LIMIT };
    // The root audit hook writes the record; this adds what only the codec knows (never payload contents).
    const audit = (
      request: FastifyRequest,
      operation: string,
      fields: { namespace: string; payloads: number; keyIds: string[]; status: number; code: string },
    ) => {
      const credential = credentialOf.get(request);
      addAuditDetails(request, {
        operation,
        namespace: fields.namespace,
        payloads: fields.payloads,
        keyIds: fields.keyIds.slice(0, 100),
        ...(credential ? { credential } : {}),
      });
      metrics.codecRequests.inc({ operation, outcome: fields.code === `codec-${operation}` ? 'ok' : fields.code });
      log.info(
        {
          audit: 'codec',
          principal: principalLabel(request),
          namespace: fields.namespace,
          count: fields.payloads,
          status: fields.status,
          code: fields.code,
          requestId: String(request.id),
        },
        `codec ${operation}`,
      );
    };

    const namespaceOf = (request: FastifyRequest): string => {
      const header = request.headers['x-namespace'];
      if (header === undefined) return deps.namespace;
      if (typeof header !== 'string' || !NAMESPACE.test(header))
        throw problems.invalid([{ path: 'X-Namespace', message: 'not a namespace name' }], 'The X-Namespace header is not valid.');
      if (header !== deps.namespace)
        throw new HttpProblem(403, 'namespace-not-served', 'Forbidden', `This codec endpoint serves namespace ${deps.namespace} only.`);
      return header;
    };

    app.post(`${CODEC_PREFIX}/decode`, route, async (request) => {
      const namespace = namespaceOf(request);
      const body = parseOr422(CodecPayloads, request.body);
      const input = body.payloads.map(fromWire);
      const keyIds = [...new Set(input.map(keyIdOf).filter((k): k is string => k !== undefined))];
      const decoded: WirePayload[] = [];
      for (const [index, payload] of input.entries()) {
        let out = [payload];
        try {
          for (const codec of [...codecs].reverse()) out = await codec.decode(out);
        } catch (e) {
          // Neither the payload nor the crypto error is echoed: the index and the kind of failure are enough.
          const unknownKey = e instanceof UnknownPayloadKeyError;
          audit(request, 'decode', { namespace, payloads: input.length, keyIds, status: 422, code: unknownKey ? 'unknown-key' : 'undecryptable' });
          throw new HttpProblem(
            422,
            unknownKey ? 'unknown-key' : 'undecryptable',
            'Payload cannot be decrypted',
            unknownKey
              ? `Payload ${index} was encrypted with a key id this deployment does not hold.`
              : `Payload ${index} failed authentication: it was altered, truncated or encrypted with another key.`,
          );
        }
        decoded.push(toWire(out[0]!));
      }
      metrics.codecPayloads.inc({ operation: 'decode' }, input.length);
      audit(request, 'decode', { namespace, payloads: input.length, keyIds, status: 200, code: 'codec-decode' });
      return { payloads: decoded };
    });

    // The Temporal UI encodes what an operator types (signal, update or start input), so workers get it encrypted.
    app.post(`${CODEC_PREFIX}/encode`, route, async (request) => {
      const namespace = namespaceOf(request);
      const body = parseOr422(CodecPayloads, request.body);
      let out = body.payloads.map(fromWire);
      for (const codec of codecs) out = await codec.encode(out);
      const keyIds = [...new Set(out.map(keyIdOf).filter((k): k is string => k !== undefined))];
      metrics.codecPayloads.inc({ operation: 'encode' }, out.length);
      audit(request, 'encode', { namespace, payloads: out.length, keyIds, status: 200, code: 'codec-encode' });
      return { payloads: out.map(toWire) };
    });
  };
}
