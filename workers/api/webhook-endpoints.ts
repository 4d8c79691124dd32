import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkAddress, isSsrfRefusedError, parseAllowlist, parseWebhookUrl, type RefusalReason } from '../../infra/ssrf-guard';

/** The SSRF guard's refusal reasons in words, for the problem's detail. */
const ADDRESS_REASONS: Record<RefusalReason, string> = {
  'not-an-ip': 'not an IP address',
  'non-canonical-ipv4': 'a non-canonical IPv4 spelling',
  'ipv6-zone': 'an IPv6 address with a zone',
  unspecified: 'the unspecified address',
  loopback: 'a loopback address',
  private: 'a private address',
  'link-local': 'a link-local address',
  metadata: 'a cloud metadata address',
  cgnat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  broadcast: 'the broadcast address',
  documentation: 'a documentation address',
  'ipv4-mapped': 'an IPv4-mapped IPv6 address',
  'ipv4-embedded': 'an IPv6 address embedding an IPv4 one',
};
import { listDeliveries, replayDeliveries, type DeliveryFilter } from '../../clients/deliveries';
import { ensureVendorWorkflow, listEndpoints, newEndpointId } from '../../clients/endpoints';
import { deriveWebhookSecret } from '../../events/webhook-signing';
import {
  CreateWebhookEndpointRequest,
  ReplayWebhookRequest,
  RotateWebhookSecretRequest,
  UpdateWebhookEndpointRequest,
  WebhookEndpointListQuery,
} from '../../events/webhook-schemas';
import type { Logger } from '../../infra/logger';
import { ENDPOINT_ID_PATTERN } from '../../wire/enums';
import {
  deleteEndpointUpdate,
  disableEndpointUpdate,
  enableEndpointUpdate,
  endpointSubscribes,
  registerEndpointUpdate,
  rotateSecretUpdate,
  updateEndpointUpdate,
  vendorWorkflowId,
  type WebhookEndpoint,
} from '../../workflows/webhooks/contract';
import { IdempotencyKeys } from '../../clients/idempotency';
import { authenticate, vendorScope, type Authenticator } from './auth';
import { idempotentRoute } from './idempotency';
import { HttpProblem, parseOr422, problemErrorHandler, problemForFailure, problems } from './problems';

export interface WebhookRoutesContext {
  client: Client;
  /** Task queue the vendor registry workflows run on. */
  taskQueue: string;
  authenticator: Authenticator;
  logger: Logger;
  /** Signing secrets are derived from it on creation/rotation (and shown once); they are never stored. */
  masterKey: Buffer;
  /** The SSRF guard's allowlist; non-empty only in local development and tests, where it also permits http URLs. */
  webhookAllowlist: readonly string[];
}

export const WEBHOOK_BODY_LIMIT = 16 * 1024;

/** The public shape of an endpoint (`id`, not `endpointId`; no vendor id: the caller is the vendor). */
export function endpointBody(e: WebhookEndpoint) {
  return {
    id: e.endpointId,
    url: e.url,
    ...(e.description !== undefined ? { description: e.description } : {}),
    eventTypes: e.eventTypes,
    status: e.status,
    ...(e.disabledReason ? { disabledReason: e.disabledReason, disabledAt: e.disabledAt } : {}),
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    secretVersion: e.secretVersion,
    ...(e.previousSecretExpiresAt && Date.parse(e.previousSecretExpiresAt) > Date.now() ? { previousSecretExpiresAt: e.previousSecretExpiresAt } : {}),
    ...(e.failingSince ? { failingSince: e.failingSince } : {}),
  };
}

function problemFromRegistryFailure(e: unknown): HttpProblem {
  if (!(e instanceof WorkflowUpdateFailedError)) throw e;
  const cause = e.cause as { type?: string; message?: string } | undefined;
  const message = (cause?.message ?? 'refused').slice(0, 500);
  return problemForFailure(cause?.type, message, 'webhook endpoint') ?? problems.conflict(message, 'rejected');
}

/**
 * `GET|POST /v1/webhook-endpoints`, `GET|PATCH|DELETE /v1/webhook-endpoints/{id}`,
 * `POST /v1/webhook-endpoints/{id}/rotate-secret`, plus `GET …/{id}/deliveries` and `POST …/{id}/replay`: a vendor
 * manages only its own endpoints (its registry workflow `vendor/<vendorId>`); each change is a validated update.
 */
export function webhookEndpointRoutes(ctx: WebhookRoutesContext) {
  const allowlist = parseAllowlist(ctx.webhookAllowlist);
  const devMode = ctx.webhookAllowlist.length > 0;

  /**
   * Refuses URLs the delivery could never use: bad shape, http outside development, a refused IP literal. The problem's
   * top-level `detail` says what was refused and why (the SSRF guard's reason), and `errors` points at `url`.
   */
  const refuseUrl = (why: string, reason: string) =>
    new HttpProblem(422, 'webhook-url-refused', 'Webhook URL refused', `The webhook URL was refused: ${why} (${reason}).`, [{ path: 'url', message: why }]);
  const checkUrl = (raw: string): void => {
    try {
      const url = parseWebhookUrl(raw);
      if (url.protocol === 'http:' && !devMode) throw refuseUrl('it must be an https URL', 'http-not-allowed');
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      if (/^[\d.]+$|^0x|:/i.test(host)) {
        const decision = checkAddress(host, allowlist);
        if (!decision.allowed) throw refuseUrl(`the address ${host} is ${ADDRESS_REASONS[decision.reason]}, which webhooks may not reach`, decision.reason);
      }
    } catch (e) {
      if (isSsrfRefusedError(e)) throw refuseUrl(e.message, e.reason);
      throw e;
    }
  };

  const vendorOf = (request: FastifyRequest): string => vendorScope(request)!;
  const endpointIdOf = (request: FastifyRequest<{ Params: { id: string } }>): string => {
    if (!ENDPOINT_ID_PATTERN.test(request.params.id)) throw problems.notFound('webhook endpoint');
    return request.params.id;
  };
  const owned = async (vendorId: string, endpointId: string): Promise<WebhookEndpoint> => {
    const found = (await listEndpoints(ctx.client, vendorId)).find((e) => e.endpointId === endpointId);
    if (!found) throw problems.notFound('webhook endpoint');
    return found;
  };
  const registry = (vendorId: string) => ctx.client.workflow.getHandle(vendorWorkflowId(vendorId));
  const update = async <R>(run: () => Promise<R>): Promise<R> => {
    try {
      return await run();
    } catch (e) {
      throw problemFromRegistryFailure(e);
    }
  };
  const withSecret = (e: WebhookEndpoint) => ({ ...endpointBody(e), secret: deriveWebhookSecret(ctx.masterKey, e.endpointId, e.secretVersion) });

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.setErrorHandler(problemErrorHandler(ctx.logger.child({ component: 'api' })));
    const vendorOnly = authenticate(ctx.authenticator, ['vendor']);
    const cmd = { preHandler: vendorOnly, bodyLimit: WEBHOOK_BODY_LIMIT };
    // POSTs take an Idempotency-Key. The signing secret is never stored with the answer: a replay derives it again
    // from the endpoint id and the secret version the first answer named.
    const idempotent = idempotentRoute(new IdempotencyKeys(ctx.client, ctx.taskQueue), {
      redact: ({ secret: _secret, ...rest }) => rest,
      restore: (body) =>
        typeof body.id === 'string' && typeof body.secretVersion === 'number'
          ? { ...body, secret: deriveWebhookSecret(ctx.masterKey, body.id, body.secretVersion) }
          : body,
    });
    const post = { preHandler: [vendorOnly, idempotent.preHandler], onSend: idempotent.onSend, bodyLimit: WEBHOOK_BODY_LIMIT };
    type ById = { Params: { id: string } };

    app.get('/v1/webhook-endpoints', { preHandler: vendorOnly }, async (request) => {
      const q = parseOr422(WebhookEndpointListQuery, request.query, 'query');
      const all = await listEndpoints(ctx.client, vendorOf(request));
      const items = q.eventType ? all.filter((e) => endpointSubscribes(e, q.eventType!)) : all;
      return { items: items.map(endpointBody) };
    });

    app.post('/v1/webhook-endpoints', post, async (request, reply) => {
      const body = parseOr422(CreateWebhookEndpointRequest, request.body);
      checkUrl(body.url);
      const vendorId = vendorOf(request);
      const handle = await ensureVendorWorkflow(ctx.client, vendorId, ctx.taskQueue);
      const endpoint = await update(() => handle.executeUpdate(registerEndpointUpdate, { args: [{ ...body, endpointId: newEndpointId() }] }));
      return reply.code(201).header('location', `/v1/webhook-endpoints/${endpoint.endpointId}`).send(withSecret(endpoint));
    });

    app.get<ById>('/v1/webhook-endpoints/:id', { preHandler: vendorOnly }, async (request) => {
      return endpointBody(await owned(vendorOf(request), endpointIdOf(request)));
    });

    app.get<ById>('/v1/webhook-endpoints/:id/secret', { preHandler: vendorOnly }, async (request) => {
      const endpoint = await owned(vendorOf(request), endpointIdOf(request));
      return {
        id: endpoint.endpointId,
        secretVersion: endpoint.secretVersion,
        secret: deriveWebhookSecret(ctx.masterKey, endpoint.endpointId, endpoint.secretVersion),
      };
    });

    app.patch<ById>('/v1/webhook-endpoints/:id', cmd, async (request) => {
      const body = parseOr422(UpdateWebhookEndpointRequest, request.body);
      const vendorId = vendorOf(request);
      const endpointId = endpointIdOf(request);
      await owned(vendorId, endpointId);
      if (body.url !== undefined) checkUrl(body.url);
      const handle = registry(vendorId);
      const { disabled, ...fields } = body;
      let endpoint: WebhookEndpoint | undefined;
      if (Object.keys(fields).length > 0) endpoint = await update(() => handle.executeUpdate(updateEndpointUpdate, { args: [{ ...fields, endpointId }] }));
      if (disabled === true) endpoint = await update(() => handle.executeUpdate(disableEndpointUpdate, { args: [{ endpointId }] }));
      if (disabled === false) endpoint = await update(() => handle.executeUpdate(enableEndpointUpdate, { args: [{ endpointId }] }));
      return endpointBody(endpoint ?? (await owned(vendorId, endpointId)));
    });

    app.delete<ById>('/v1/webhook-endpoints/:id', { preHandler: vendorOnly }, async (request, reply) => {
      const vendorId = vendorOf(request);
      const endpointId = endpointIdOf(request);
      await owned(vendorId, endpointId);
      await update(() => registry(vendorId).executeUpdate(deleteEndpointUpdate, { args: [{ endpointId }] }));
      return reply.code(204).send();
    });

    app.post<ById>('/v1/webhook-endpoints/:id/rotate-secret', post, async (request) => {
      const body = parseOr422(RotateWebhookSecretRequest, request.body ?? {});
      const vendorId = vendorOf(request);
      const endpointId = endpointIdOf(request);
      await owned(vendorId, endpointId);
      const input = { endpointId, ...(body.overlapSeconds !== undefined ? { overlapMs: body.overlapSeconds * 1000 } : {}) };
      return withSecret(await update(() => registry(vendorId).executeUpdate(rotateSecretUpdate, { args: [input] })));
    });

    app.get<ById>('/v1/webhook-endpoints/:id/deliveries', { preHandler: vendorOnly }, async (request) => {
      const vendorId = vendorOf(request);
      const endpointId = endpointIdOf(request);
      await owned(vendorId, endpointId);
      return { items: await listDeliveries(ctx.client, { vendorId, endpointId, limit: 100 }) };
    });

    app.post<ById>('/v1/webhook-endpoints/:id/replay', post, async (request) => {
      const body = parseOr422(ReplayWebhookRequest, request.body ?? {});
      const vendorId = vendorOf(request);
      const endpointId = endpointIdOf(request);
      await owned(vendorId, endpointId);
      const filter: DeliveryFilter = { vendorId, endpointId, limit: 1000 };
      if (body.eventId) filter.eventId = body.eventId;
      if (body.since) filter.since = body.since;
      if (body.until) filter.until = body.until;
      if (body.onlyFailed) filter.status = 'FAILED';
      return { items: await replayDeliveries(ctx.client, filter, { taskQueue: ctx.taskQueue }) };
    });
  };
}
