import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { AgencyRegistry } from '../../events/agency-registry';
import { INGRESS_SOURCE, REPLY_TYPES } from '../../events/catalog';
import type { IntakeResult } from '../../events/command-intake';
import { deadLetterMessage, type DeadLetterInfo } from '../../events/dead-letter';
import { sealRecordTime } from '../../events/freshness';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../events/signing';
import { encodeEvent, headersToStrings, JSON_CONTENT_TYPE, SPEC_VERSION } from '../../events/envelope';
import { CommandAccepted, CommandRejected } from '../../events/schemas';
import { agencyInboxTopic, TOPICS } from '../../events/topics';
import type { PayloadKey } from '../../infra/codec';
import type { Logger } from '../../infra/logger';
import type { CommandOutcome } from './outcomes';

/** The sender a reply goes to and the command it answers. */
export interface ReplyAbout {
  agencyId: string;
  commandId: string;
  commandType?: string;
  subject?: string;
}

/** The reply message for an outcome, keyed by agency id, with a deterministic id per (agency, command). */
export function replyMessage(about: ReplyAbout, outcome: CommandOutcome, now: Date = new Date()) {
  const accepted = outcome.kind === 'accepted';
  const data = accepted
    ? CommandAccepted.parse({
        commandId: about.commandId,
        commandType: about.commandType,
        agencyId: about.agencyId,
        subject: about.subject,
        ...(outcome.result ? { result: outcome.result } : {}),
      })
    : CommandRejected.parse({
        commandId: about.commandId,
        ...(about.commandType ? { commandType: about.commandType.slice(0, 200) } : {}),
        agencyId: about.agencyId,
        ...(about.subject ? { subject: about.subject } : {}),
        code: outcome.code,
        reason: outcome.reason.slice(0, 1000),
      });
  return encodeEvent(
    {
      specversion: SPEC_VERSION,
      id: `${about.agencyId}/${about.commandId}/reply`,
      source: INGRESS_SOURCE,
      type: accepted ? REPLY_TYPES.accepted : REPLY_TYPES.rejected,
      time: now.toISOString(),
      subject: about.agencyId,
      datacontenttype: JSON_CONTENT_TYPE,
    },
    data,
  );
}

/** Who gets the reply: the verified signer, or the agency a refused command names (none when it names none). */
export function replyAbout(intake: IntakeResult): ReplyAbout | undefined {
  if (intake.ok) return { agencyId: intake.agencyId, commandId: intake.envelope.id, commandType: intake.envelope.type, subject: intake.envelope.subject };
  return intake.agencyId && intake.commandId
    ? { agencyId: intake.agencyId, commandId: intake.commandId, commandType: intake.commandType, subject: intake.subject }
    : undefined;
}

export type TopicMessages = { topic: string; messages: { key: Buffer | string | null; value: Buffer | null; headers?: IHeaders }[] };

/**
 * What goes to Kafka for one handled message: its dead letter (sealed) when the outcome asks for one, and the reply,
 * on the shared reply topic and in the agency's inbox.
 */
export function outcomeMessages(
  source: { topic: string; partition: number; message: KafkaMessage },
  intake: IntakeResult,
  outcome: CommandOutcome,
  deps: { registry: AgencyRegistry; sealKey: PayloadKey; logger: Logger },
): TopicMessages[] {
  const { topic, partition, message } = source;
  const messages: TopicMessages[] = [];
  if (outcome.kind === 'rejected' && outcome.deadLetter) {
    messages.push({
      topic: TOPICS.deadLetter,
      messages: [
        deadLetterMessage(
          message,
          {
            reason: outcome.code,
            message: outcome.reason,
            topic,
            partition,
            offset: message.offset,
            time: new Date().toISOString(),
            agencyId: intake.agencyId,
            ...recordTimeOf(message, intake, deps.sealKey),
          },
          deps.sealKey,
        ),
      ],
    });
  }
  const about = replyAbout(intake);
  if (about) {
    try {
      const reply = replyMessage(about, outcome);
      messages.push({ topic: TOPICS.agencyReplies, messages: [reply] });
      // The agency's own copy, in its inbox beside its inbox events: an ACL lets each agency read its own inbox and
      // nobody else's.
      if (deps.registry.get(about.agencyId)) messages.push({ topic: agencyInboxTopic(about.agencyId), messages: [reply] });
    } catch (e) {
      // A reply that cannot be built must not hold the partition: the outcome stands, the dead letter (if any) goes out.
      deps.logger.error({ partition, offset: message.offset, commandId: about.commandId, err: e }, 'cannot build the reply');
    }
  }
  return messages;
}

/**
 * The sealed time a dead-lettered command was judged against (its first record's), so that a replay is judged against
 * it again; none when the command was never judged against a record (no envelope, or no record timestamp).
 */
function recordTimeOf(message: KafkaMessage, intake: IntakeResult, sealKey: PayloadKey): Pick<DeadLetterInfo, 'recordTime'> {
  const reference = intake.reference;
  const id = intake.ok ? intake.envelope.id : intake.commandId;
  let headers: Record<string, string>;
  try {
    headers = headersToStrings(message.headers);
  } catch {
    return {};
  }
  const timestampHeader = headers[TIMESTAMP_HEADER];
  const signatureHeader = headers[SIGNATURE_HEADER];
  if (!reference || reference.source === 'processing' || !id || !timestampHeader || !signatureHeader) return {};
  const ms = reference.referenceMs;
  return { recordTime: { ms, seal: sealRecordTime(sealKey, { id, timestampHeader, signatureHeader }, ms) } };
}
