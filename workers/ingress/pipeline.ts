import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { KafkaMessage, Producer } from 'kafkajs';
import type { AgencyRegistry } from '../../events/agency-registry';
import { catalogEntry } from '../../events/catalog';
import { inspectCommand, type IntakeResult } from '../../events/command-intake';
import { withHeartbeat } from '../../events/consumer';
import type { PayloadKey } from '../../infra/codec';
import type { Logger } from '../../infra/logger';
import { metrics } from '../../infra/metrics';
import { retry } from '../../infra/retry';
import { commandAuditRecord, type CommandAudit } from './audit';
import { isTransientError, type CommandOutcome } from './outcomes';
import { outcomeMessages, replyAbout } from './replies';
import { applyCommand, type CaseOpener } from './routing';

export interface Pipeline {
  client: Client;
  /** Seals dead-lettered values: a refused command may carry finding details. */
  sealKey: PayloadKey;
  producer: Producer;
  registry: AgencyRegistry;
  openCase: CaseOpener;
  maxCommandBytes: number;
  toleranceSeconds?: number;
  maxRecordFutureSeconds?: number;
  /** The deployment's payload keys: they verify the sealed original record time of a replayed dead letter. */
  recordTimeKeys: readonly PayloadKey[];
  /** The ingress's clock, unix ms. */
  now: () => number;
  logger: Logger;
  stopping: () => boolean;
  /** The audit trail every handled command is recorded in (before its offset is committed). */
  audit?: CommandAudit;
  /**
   * A command Temporal keeps refusing as unavailable for this long while it applies other commands is parked: dead-
   * lettered with code `not-applied` (replayable) and answered, so its key moves on. Unset: retried until it applies.
   */
  parkAfterMs?: number;
  /** When this process last applied a command (unix ms), shared by every message it handles. */
  applied?: { lastAt: number };
}

class ParkedError extends Error {
  override readonly name = 'ParkedError';
}

/**
 * The call's outcome, or ParkedError once `parked()` holds: an update its workflow never takes keeps the client
 * waiting (it polls until the update completes), so parking cannot wait for the call to fail. The call is cancelled
 * then, and when the process stops.
 */
async function unlessParked<T>(client: Client, call: () => Promise<T>, parked: () => boolean, stopping: () => boolean): Promise<T> {
  const cancel = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const watch = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (parked()) reject(new ParkedError('parked'));
      else if (stopping()) cancel.abort();
    }, 500);
  });
  const running = client.withAbortSignal(cancel.signal, call);
  try {
    return await Promise.race([running, watch]);
  } finally {
    clearInterval(timer);
    cancel.abort();
    running.catch(() => undefined);
  }
}

/** Backoff while Temporal or Kafka cannot answer; the consumer heartbeats after each wait. */
const UNAVAILABLE_BACKOFF = { initialMs: 200, maxMs: 10_000 };

/**
 * Handles one message to a definite end: applied (reply), refused by the workflow (reply), or refused at intake
 * (dead letter, plus a reply when the sender is known). Retries while Temporal or Kafka cannot answer; returns false
 * only when the process is stopping before that end, so the offset stays uncommitted and the command is redelivered.
 */
export async function handleMessage(p: Pipeline, topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<boolean> {
  const log = p.logger;
  const retrying = {
    backoff: UNAVAILABLE_BACKOFF,
    wait: async (ms: number) => {
      await sleep(ms);
      await heartbeat().catch(() => undefined);
    },
  };
  let intake: IntakeResult;
  try {
    intake = inspectCommand(message, {
      registry: p.registry,
      maxBytes: p.maxCommandBytes,
      toleranceSeconds: p.toleranceSeconds,
      maxRecordFutureSeconds: p.maxRecordFutureSeconds,
      recordTimeKeys: p.recordTimeKeys,
      nowSeconds: p.now() / 1000,
    });
  } catch (e) {
    // Never let one message loop forever: an unexpected intake failure dead-letters it.
    log.error({ partition, offset: message.offset, err: e }, 'unexpected error inspecting a command');
    intake = { ok: false, code: 'internal-error', reason: 'The command could not be inspected' };
  }
  let outcome: CommandOutcome;
  if (intake.ok) {
    const command = intake;
    const failingSince = p.now();
    // Parked only when Temporal answers other commands meanwhile: an outage holds every command, and parks none.
    const parked = () => p.parkAfterMs !== undefined && p.applied !== undefined && p.now() - failingSince >= p.parkAfterMs && p.applied.lastAt > failingSince;
    try {
      outcome = await retry(
        () => withHeartbeat(heartbeat, () => unlessParked(p.client, () => applyCommand(p.client, command, p.openCase), parked, p.stopping)),
        {
          ...retrying,
          // Until the process stops: then the command is left for redelivery.
          isRetriable: (e) => isTransientError(e) && !p.stopping() && !parked(),
          onRetry: (e) => log.warn({ commandId: command.envelope.id, partition, offset: message.offset, err: e }, 'Temporal unavailable; retrying command'),
        },
      );
      if (p.applied && outcome.kind === 'accepted') p.applied.lastAt = Math.max(p.applied.lastAt, p.now());
    } catch (e) {
      if ((isTransientError(e) || e instanceof ParkedError) && parked()) {
        const seconds = Math.round((p.now() - failingSince) / 1000);
        log.warn(
          { commandId: command.envelope.id, partition, offset: message.offset, seconds, err: e },
          'command parked: its workflow has not taken it while others were applied',
        );
        outcome = {
          kind: 'rejected',
          code: 'not-applied',
          reason: `The command was not applied for ${seconds} s while other commands were; its workflow may still take it once it recovers. It is kept as a dead letter for replay (a replay acts at most once); resend it later or ask the program office.`,
          deadLetter: true,
        };
      } else if (isTransientError(e)) return false;
      else {
        log.error({ commandId: command.envelope.id, partition, offset: message.offset, err: e }, 'unexpected error applying a command');
        outcome = { kind: 'rejected', code: 'internal-error', reason: 'The command could not be applied', deadLetter: true };
      }
    }
  } else {
    outcome = { kind: 'rejected', code: intake.code, reason: intake.reason, deadLetter: true };
  }

  const source = { topic, partition, message };
  const messages = outcomeMessages(source, intake, outcome, p);
  // The reply (and dead letter) and the audit record go out side by side; the offset is committed only after both.
  const audit = p.audit;
  const stored = await Promise.allSettled([
    messages.length === 0
      ? Promise.resolve()
      : retry(() => p.producer.sendBatch({ topicMessages: messages, acks: -1 }), {
          ...retrying,
          isRetriable: () => !p.stopping(),
          onRetry: (e) => log.warn({ partition, offset: message.offset, err: e }, 'cannot produce reply or dead letter; retrying'),
        }),
    audit === undefined
      ? Promise.resolve()
      : retry(() => audit.append(commandAuditRecord(source, intake, outcome)), {
          ...retrying,
          isRetriable: () => !p.stopping(),
          onRetry: (e) => log.warn({ partition, offset: message.offset, err: e }, 'cannot append the audit record; retrying'),
        }),
  ]);
  if (stored.some((r) => r.status === 'rejected')) return false;
  const about = replyAbout(intake);
  const knownType = intake.ok
    ? intake.envelope.type
    : intake.commandType && catalogEntry(intake.commandType)?.direction === 'inbound'
      ? intake.commandType
      : 'unknown';
  metrics.ingressCommands.inc({ type: knownType, outcome: outcome.kind === 'accepted' ? 'accepted' : outcome.code });
  const producedAt = Number(message.timestamp);
  if (Number.isFinite(producedAt) && producedAt > 0) metrics.ingressLagSeconds.observe(Math.max(0, (p.now() - producedAt) / 1000));
  // The type is logged only when it is one of ours: a refused message's ce_type is whatever its sender wrote.
  const fields = { partition, offset: message.offset, commandId: about?.commandId, agencyId: about?.agencyId, type: knownType };
  if (outcome.kind === 'accepted') log.info(fields, 'command applied');
  else log.warn({ ...fields, code: outcome.code, deadLettered: outcome.deadLetter }, 'command refused');
  return true;
}
