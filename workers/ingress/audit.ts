import type { KafkaMessage } from 'kafkajs';
import type { AuditInput, AuditRecord } from '../../events/audit';
import { catalogEntry } from '../../events/catalog';
import type { IntakeResult } from '../../events/command-intake';
import type { RejectionCode } from '../../events/schemas';
import type { CommandOutcome } from './outcomes';

/** Where the ingress appends its records: the shared audit trail (`KafkaAuditTrail` with its own chain). */
export interface CommandAudit {
  append(input: AuditInput): Promise<AuditRecord>;
}

/** Codes that mean the sender may not do this (as 401/403/404 on HTTP); the rest are bad input or a state refusal. */
const REFUSED_CODES: ReadonlySet<RejectionCode> = new Set<RejectionCode>([
  'unsigned',
  'malformed-signature',
  'forged',
  'expired',
  'unknown-agency',
  'wrong-agency',
  'not-invited',
  'not-found',
  'forbidden',
]);

/**
 * The audit record of one handled command: the verified agency (or `unknown-credential` when no signature verified),
 * the command type as the action, the subject as the target, and how it ended. Never the command's body.
 */
export function commandAuditRecord(
  source: { topic: string; partition: number; message: KafkaMessage },
  intake: IntakeResult,
  outcome: CommandOutcome,
): AuditInput {
  const verifiedAgency = intake.agencyId;
  const type = intake.ok
    ? intake.envelope.type
    : intake.commandType && catalogEntry(intake.commandType)?.direction === 'inbound'
      ? intake.commandType
      : undefined;
  const subject = intake.ok ? intake.envelope.subject : intake.subject;
  const commandId = intake.ok ? intake.envelope.id : intake.agencyId ? intake.commandId : undefined;
  // A message whose signature did not verify names a command id nobody vouches for: kept apart, to find its dead letter.
  const claimed = commandId ? undefined : ((intake.ok ? undefined : intake.commandId?.slice(0, 200)) ?? headerText(source.message, 'ce_id'));
  const result: Pick<AuditInput, 'outcome' | 'reason'> =
    outcome.kind === 'accepted'
      ? { outcome: 'ok' }
      : {
          outcome: outcome.code === 'internal-error' || outcome.code === 'not-applied' ? 'failed' : REFUSED_CODES.has(outcome.code) ? 'refused' : 'rejected',
          reason: outcome.code,
        };
  return {
    actor: verifiedAgency ? { kind: 'agency', id: verifiedAgency } : { kind: 'unknown-credential', id: '-' },
    action: `COMMAND ${type ?? 'unknown'}`,
    ...(subject ? { target: subject.slice(0, 500) } : {}),
    ...result,
    details: {
      ...(commandId ? { commandId: commandId.slice(0, 200) } : claimed ? { claimedCommandId: claimed } : {}),
      record: `${source.topic}/${source.partition}@${source.message.offset}`,
      ...(outcome.kind === 'rejected' ? { deadLettered: outcome.deadLetter } : {}),
    },
  };
}

function headerText(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null) return undefined;
  const text = (Buffer.isBuffer(first) ? first.toString('utf8') : String(first)).slice(0, 200);
  return text.length > 0 ? text : undefined;
}
