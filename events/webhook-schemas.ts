/**
 * HTTP bodies of webhook-endpoint management, JSON-safe so OpenAPI can be generated from them. The webhook payload and
 * the endpoint-disabled event data are declared in `wire/webhooks.ts` and named here too.
 */
import { z } from 'zod';
import {
  EVENT_TYPE_FILTER_PATTERN,
  MAX_DESCRIPTION_LENGTH,
  MAX_EVENT_TYPE_FILTERS,
  MAX_ROTATION_OVERLAP_MS,
  MAX_URL_LENGTH,
} from '../workflows/webhooks/contract';
import { EventTime, EventType } from '../wire/common';
import { ENDPOINT_DISABLE_REASONS, ENDPOINT_STATUSES } from '../wire/enums';

export { EndpointDisabledEventData, WebhookPayload } from '../wire/webhooks';

const EventTypeFilter = z
  .string()
  .max(200)
  .regex(EVENT_TYPE_FILTER_PATTERN, 'a versioned event type such as gov.preflight.clearance.issued.v1, or a prefix ending in .*');
const Url = z.string().min(1).max(MAX_URL_LENGTH);

export const CreateWebhookEndpointRequest = z
  .strictObject({
    url: Url,
    eventTypes: z.array(EventTypeFilter).max(MAX_EVENT_TYPE_FILTERS).optional(),
    description: z.string().max(MAX_DESCRIPTION_LENGTH).optional(),
  })
  .meta({ id: 'CreateWebhookEndpointRequest', description: 'An endpoint that receives signed status webhooks; no eventTypes means every event' });

export const UpdateWebhookEndpointRequest = z
  .strictObject({
    url: Url.optional(),
    eventTypes: z.array(EventTypeFilter).max(MAX_EVENT_TYPE_FILTERS).optional(),
    description: z.string().max(MAX_DESCRIPTION_LENGTH).optional(),
    /** true disables, false enables (and clears the failing clock). */
    disabled: z.boolean().optional(),
  })
  .meta({ id: 'UpdateWebhookEndpointRequest' });

export const RotateWebhookSecretRequest = z
  .strictObject({
    /** How long the previous secret keeps signing; default 86400 (24 h), at most 7 days, 0 ends it now. */
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_ROTATION_OVERLAP_MS / 1000)
      .optional(),
  })
  .meta({ id: 'RotateWebhookSecretRequest' });

export const WebhookEndpointListQuery = z.strictObject({ eventType: EventType.optional() });

export const ReplayWebhookRequest = z
  .strictObject({
    eventId: z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/)
      .optional(),
    since: EventTime.optional(),
    until: EventTime.optional(),
    onlyFailed: z.boolean().optional(),
  })
  .meta({ id: 'ReplayWebhookRequest', description: 'Deliver again by event or by time range, to this endpoint' });

export const WebhookEndpointBody = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().optional(),
    eventTypes: z.array(z.string()),
    status: z.enum(ENDPOINT_STATUSES),
    disabledReason: z.enum(ENDPOINT_DISABLE_REASONS).optional(),
    disabledAt: EventTime.optional(),
    createdAt: EventTime,
    updatedAt: EventTime,
    secretVersion: z.number().int().positive(),
    /** While a rotation overlap lasts, the previous secret signs too (until this time). */
    previousSecretExpiresAt: EventTime.optional(),
    failingSince: EventTime.optional(),
  })
  .meta({ id: 'WebhookEndpoint' });

export const WebhookEndpointWithSecret = WebhookEndpointBody.extend({
  /** `whsec_…`: verify deliveries with it (Standard Webhooks). Returned on creation and rotation only. */
  secret: z.string().regex(/^whsec_[A-Za-z0-9+/]+=*$/),
}).meta({ id: 'WebhookEndpointWithSecret' });
