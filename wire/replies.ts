/** Wire shapes of the replies to agency commands (`preflight.agency-replies.v1`, key = the agency id). */
import { z } from 'zod';
import { AgencyId, CommandId, EventType, text } from './common';
import { REJECTION_CODES } from './enums';

export const RejectionCode = z.enum(REJECTION_CODES);
export type RejectionCode = z.infer<typeof RejectionCode>;

export const CommandAccepted = z.strictObject({
  commandId: CommandId,
  commandType: EventType,
  agencyId: AgencyId,
  subject: z.string().min(1).max(256),
  /** What the workflow answered: ids and statuses only (e.g. an assigned finding or info-request id). */
  result: z.record(z.string(), z.union([z.string().max(256), z.number(), z.boolean(), z.null()])).optional(),
});
export const CommandRejected = z.strictObject({
  commandId: CommandId,
  commandType: z.string().max(200).optional(),
  agencyId: AgencyId,
  subject: z.string().max(256).optional(),
  code: RejectionCode,
  reason: text(1000),
});
