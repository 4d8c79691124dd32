/** Wire shapes of vendor webhooks: the payload every webhook carries, and the data of the endpoint-disabled event. */
import { z } from 'zod';
import { EventTime, EventType } from './common';
import { DELIVERY_DISABLE_REASONS, ENDPOINT_ID_PATTERN, VENDOR_ID_PATTERN } from './enums';

/** The body of every webhook: thin, never finding details. */
export const WebhookPayload = z
  .strictObject({
    type: EventType,
    timestamp: EventTime,
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'WebhookPayload' });

/** Data of `gov.preflight.webhook-endpoint.disabled.v1` (no schema id: the catalog inlines event schemas). */
export const EndpointDisabledEventData = z.strictObject({
  vendorId: z.string().regex(VENDOR_ID_PATTERN),
  endpointId: z.string().regex(ENDPOINT_ID_PATTERN),
  reason: z.enum(DELIVERY_DISABLE_REASONS),
  /** The delivery whose outcome disabled it. */
  eventId: z.string().regex(/^[\x21-\x7e]{1,128}$/),
  at: EventTime,
});

export type EndpointDisabledData = z.infer<typeof EndpointDisabledEventData>;
