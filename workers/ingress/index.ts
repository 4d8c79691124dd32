import type { Client } from '@temporalio/client';
import { Partitioners, type Consumer, type EachBatchPayload, type IHeaders, type KafkaMessage, type Producer } from 'kafkajs';
import { deriveFingerprintKey } from '../../clients/case-fingerprint';
import { applyAgencyCaseCommand, openOrJoinCase } from '../../clients/cases';
import { failureOfType } from '../../workflows/shared/failures';
import { agencyWorkflowId } from '../../workflows/submission/contract';
import { loadAgencyRegistry, type AgencyRegistry } from '../../events/agency-registry';
import { agencyReplyTopic } from '../../events/kafka-acls';
import { catalogEntry, INGRESS_SOURCE, REPLY_TYPES } from '../../events/catalog';
import { withHeartbeat } from '../../events/consumer';
import { DEFAULT_MAX_COMMAND_BYTES, inspectCommand, type AcceptedCommand, type RefusedCommand } from '../../events/command-intake';
import { deadLetterMessage } from '../../events/dead-letter';
import { encodeEvent, JSON_CONTENT_TYPE, SPEC_VERSION } from '../../events/envelope';
import { createKafka } from '../../events/kafka';
import { CommandAccepted, CommandRejected, RejectionCode } from '../../events/schemas';
import { TOPICS } from '../../events/topics';
import type { Config } from '../../infra/config';
import type { Logger } from '../../infra/logger';
import { resolveMasterKey } from '../../infra/master-key';
import { metrics } from '../../infra/metrics';
import type { PayloadKey } from '../../infra/codec';
import { connectClient, deploymentDataConverter, deploymentPayloadKeys } from '../../infra/temporal';

/** Opens or joins a clearinghouse case for a verified `gov.preflight.case.open.v1` command; returns ids/statuses. */
export type CaseOpener = (client: Client, command: AcceptedCommand) => Promise<Record<string, string | number | boolean | null>>;

export interface IngressOptions {
  /** Overrides config.temporal.address (e.g. the local stack's). */
  temporalAddress?: string;
  /** Overrides config.kafka.brokers. */
  kafkaBrokers?: string[];
  /** Consumer group; every ingress replica uses the same one. */
  groupId?: string;
  /** Defaults to the registry file at config.agencyRegistryPath (or the built-in one, which has no keys). */
  registry?: AgencyRegistry;
  maxCommandBytes?: number;
  toleranceSeconds?: number;
  /** Where `gov.preflight.case.open.v1` goes; defaults to the clearinghouse's `openOrJoinCase` on config.taskQueue. */
  openCase?: CaseOpener;
  /** Partitions processed at once. */
  concurrency?: number;
  /**
   * Commands applied at once within one partition's batch, each for a different Kafka key (submission or case id);
   * commands with the same key are applied in order.
   */
  keysInFlight?: number;
  /** Where a consumer group without committed offsets starts; default true, so no command sent before the first start is lost. */
  fromBeginning?: boolean;
}

export const DEFAULT_INGRESS_GROUP = 'preflight-ingress';
/** Partitions processed at once, and commands (with different keys) at once within each. */
export const DEFAULT_PARTITIONS_IN_FLIGHT = 3;
export const DEFAULT_KEYS_IN_FLIGHT = 8;

/** A batch's messages split by Kafka key, each list in offset order; keyless messages share one list. */
export function lanesByKey(messages: KafkaMessage[]): KafkaMessage[][] {
  const lanes = new Map<string, KafkaMessage[]>();
  for (const message of messages) {
    const key = message.key ? message.key.toString('base64') : '';
    const lane = lanes.get(key);
    if (lane) lane.push(message);
    else lanes.set(key, [message]);
  }
  return [...lanes.values()];
}

/** Runs `task` over `items` with at most `limit` at once; every task settles. */
async function mapWithLimit<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<PromiseSettledResult<void>[]> {
  const results: PromiseSettledResult<void>[] = new Array(items.length);
  let cursor = 0;
  const run = async () => {
    while (cursor < items.length) {
      const i = cursor++;
      try {
        await task(items[i]!);
        results[i] = { status: 'fulfilled', value: undefined };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return results;
}

/** What happened to one command. `deadLetter` marks refusals ops should see (anything not a business outcome). */
export type CommandOutcome =
  | { kind: 'accepted'; result?: Record<string, string | number | boolean | null> }
  | { kind: 'rejected'; code: RejectionCode; reason: string; deadLetter: boolean };

/** Temporal could not answer now (unavailable, timed out): the command is retried, its offset not committed. */
class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** The reply code of a workflow's refusal: its catalog code where that is a reply code, `rejected` otherwise. */
function refusalCode(type: string | undefined): RejectionCode {
  const code = RejectionCode.safeParse(failureOfType(type)?.code);
  return code.success ? code.data : 'rejected';
}

/** Refusals that mean "not yours to act on": ops see them in the dead-letter topic too. */
const UNAUTHORIZED_CODES: ReadonlySet<RejectionCode> = new Set(['wrong-agency', 'forbidden', 'not-invited', 'not-found']);

/**
 * The default case opener: the clearinghouse's update-with-start on `case/<fingerprint>`, with the report id = the
 * command id, so a redelivered command joins nothing twice.
 */
export function clearinghouseCaseOpener(options: { taskQueue: string; fingerprintKey: Buffer }): CaseOpener {
  return async (client, command) => {
    const { agencyId: _stated, ...body } = command.data;
    const result = await openOrJoinCase(
      client,
      { ...(body as Omit<Parameters<typeof openOrJoinCase>[1], 'reportId' | 'agencyId' | 'source'>), reportId: command.envelope.id, agencyId: command.agencyId, source: 'AGENCY_COMMAND' },
      options,
    );
    return {
      caseId: result.caseId,
      outcome: result.outcome,
      state: result.state,
      reporterCount: result.reporterCount,
      ...(result.primaryCaseId ? { primaryCaseId: result.primaryCaseId } : {}),
    };
  };
}

/** gRPC status codes worth retrying: CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE. */
const TRANSIENT_GRPC = new Set<number>([1, 2, 4, 8, 10, 13, 14]);

function errorName(e: unknown): string {
  return typeof e === 'object' && e !== null ? String((e as { name?: unknown }).name ?? '') : '';
}

function grpcCode(e: unknown): number | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && typeof cur === 'object' && cur !== null; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function thinResult(value: unknown): Record<string, string | number | boolean | null> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 256)) out[k] = v;
  }
  return out;
}

/**
 * Applies a verified command in Temporal: an update on `submission/<id>/agency/<agencyId>` whose update id is the
 * command id, so a redelivered or replayed command returns the first outcome instead of acting twice. Throws
 * TransientError when Temporal could not answer, so the caller retries without committing the offset.
 */
export async function applyCommand(client: Client, command: AcceptedCommand, openCase?: CaseOpener): Promise<CommandOutcome> {
  const target = command.entry.command!;
  try {
    if (target.kind === 'case-open') {
      if (!openCase) return { kind: 'rejected', code: 'unknown-type', reason: 'Case commands are not enabled on this ingress', deadLetter: true };
      return { kind: 'accepted', result: await openCase(client, command) };
    }
    if (target.kind === 'case-command') {
      const { agencyId: _stated, ...body } = command.data;
      const result = await applyAgencyCaseCommand(client, {
        type: command.envelope.type,
        caseId: command.envelope.subject,
        agencyId: command.agencyId,
        commandId: command.envelope.id,
        body,
      });
      return { kind: 'accepted', result: { caseId: result.caseId, state: result.state } };
    }
    const workflowId = agencyWorkflowId(command.envelope.subject, command.agencyId);
    const result: unknown = await client.workflow
      .getHandle(workflowId)
      .executeUpdate(target.updateName, { args: [command.data], updateId: command.envelope.id });
    return { kind: 'accepted', result: thinResult(result) };
  } catch (e) {
    return classifyTemporalError(client, command, e);
  }
}

async function classifyTemporalError(client: Client, command: AcceptedCommand, e: unknown): Promise<CommandOutcome> {
  const name = errorName(e);
  if (name === 'WorkflowUpdateFailedError' || name === 'ApplicationFailure') {
    const failure = (name === 'ApplicationFailure' ? e : (e as { cause?: unknown }).cause) as { type?: string; message?: string } | undefined;
    const code = refusalCode(failure?.type);
    const reason = (failure?.message || 'The command was refused').slice(0, 1000);
    return { kind: 'rejected', code, reason, deadLetter: UNAUTHORIZED_CODES.has(code) };
  }
  if (name === 'CaseNotFoundError') {
    return { kind: 'rejected', code: 'not-found', reason: 'No such case, or not one this agency may act on', deadLetter: true };
  }
  if (name === 'WorkflowNotFoundError') {
    // No such assessment: the agency was not invited. An assessment that has ended is a different answer.
    const workflowId = agencyWorkflowId(command.envelope.subject, command.agencyId);
    try {
      const description = await client.workflow.getHandle(workflowId).describe();
      if (description.status.name !== 'RUNNING') {
        return { kind: 'rejected', code: 'ended', reason: 'The assessment has ended and takes no more commands', deadLetter: false };
      }
      throw new TransientError('The assessment exists but did not take the update; retrying');
    } catch (d) {
      if (d instanceof TransientError) throw d;
      if (errorName(d) === 'WorkflowNotFoundError') {
        return { kind: 'rejected', code: 'not-invited', reason: 'The agency is not invited to assess this submission', deadLetter: true };
      }
      throw new TransientError(`Temporal did not answer: ${(d as Error).message}`);
    }
  }
  if (name === 'WorkflowUpdateRPCTimeoutOrCancelledError') throw new TransientError('The update call timed out');
  const code = grpcCode(e);
  if (code === undefined || TRANSIENT_GRPC.has(code)) throw new TransientError(`Temporal did not answer: ${(e as Error).message}`);
  return { kind: 'rejected', code: 'internal-error', reason: 'Temporal refused the command', deadLetter: true };
}

/** The reply message for an outcome, keyed by agency id, with a deterministic id per (agency, command). */
export function replyMessage(
  about: { agencyId: string; commandId: string; commandType?: string; subject?: string },
  outcome: CommandOutcome,
  now: Date = new Date(),
) {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Pipeline {
  client: Client;
  /** Seals dead-lettered values: a refused command may carry finding details. */
  sealKey: PayloadKey;
  producer: Producer;
  registry: AgencyRegistry;
  options: IngressOptions;
  logger: Logger;
  stopping: () => boolean;
}

/**
 * Handles one message to a definite end: applied (reply), refused by the workflow (reply), or refused at intake
 * (dead letter, plus a reply when the sender is known). Retries while Temporal or Kafka cannot answer; returns false
 * only when the process is stopping before that end, so the offset stays uncommitted and the command is redelivered.
 */
async function handleMessage(p: Pipeline, topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<boolean> {
  const log = p.logger;
  let intake: ReturnType<typeof inspectCommand>;
  try {
    intake = inspectCommand(message, { registry: p.registry, maxBytes: p.options.maxCommandBytes, toleranceSeconds: p.options.toleranceSeconds });
  } catch (e) {
    // Never let one message loop forever: an unexpected intake failure dead-letters it.
    log.error({ partition, offset: message.offset, err: e }, 'unexpected error inspecting a command');
    intake = { ok: false, code: 'internal-error', reason: 'The command could not be inspected' };
  }
  let outcome: CommandOutcome;
  let refused: RefusedCommand | undefined;
  if (intake.ok) {
    let delay = 200;
    for (;;) {
      try {
        outcome = await withHeartbeat(heartbeat, () => applyCommand(p.client, intake, p.options.openCase));
        break;
      } catch (e) {
        if (!(e instanceof TransientError)) {
          log.error({ commandId: intake.envelope.id, partition, offset: message.offset, err: e }, 'unexpected error applying a command');
          outcome = { kind: 'rejected', code: 'internal-error', reason: 'The command could not be applied', deadLetter: true };
          break;
        }
        if (p.stopping()) return false;
        log.warn({ commandId: intake.envelope.id, partition, offset: message.offset, err: e }, 'Temporal unavailable; retrying command');
        await sleep(delay);
        delay = Math.min(delay * 2, 10_000);
        await heartbeat().catch(() => undefined);
      }
    }
  } else {
    refused = intake;
    outcome = { kind: 'rejected', code: intake.code, reason: intake.reason, deadLetter: true };
  }

  const messages: { topic: string; messages: { key: Buffer | string | null; value: Buffer | null; headers?: IHeaders }[] }[] = [];
  if (outcome.kind === 'rejected' && outcome.deadLetter) {
    messages.push({
      topic: TOPICS.deadLetter,
      messages: [
        deadLetterMessage(message, {
          reason: outcome.code,
          message: outcome.reason,
          topic,
          partition,
          offset: message.offset,
          time: new Date().toISOString(),
          agencyId: intake.ok ? intake.agencyId : refused?.agencyId,
        }, p.sealKey),
      ],
    });
  }
  const about = intake.ok
    ? { agencyId: intake.agencyId, commandId: intake.envelope.id, commandType: intake.envelope.type, subject: intake.envelope.subject }
    : refused?.agencyId && refused.commandId
      ? { agencyId: refused.agencyId, commandId: refused.commandId, commandType: refused.commandType, subject: refused.subject }
      : undefined;
  if (about) {
    try {
      const reply = replyMessage(about, outcome);
      messages.push({ topic: TOPICS.agencyReplies, messages: [reply] });
      // The agency's own copy: an ACL lets each agency read its own reply topic and nobody else's.
      if (p.registry.get(about.agencyId)) messages.push({ topic: agencyReplyTopic(about.agencyId), messages: [reply] });
    } catch (e) {
      // A reply that cannot be built must not hold the partition: the outcome stands, the dead letter (if any) goes out.
      log.error({ partition, offset: message.offset, commandId: about.commandId, err: e }, 'cannot build the reply');
    }
  }

  let delay = 200;
  for (;;) {
    try {
      if (messages.length > 0) await p.producer.sendBatch({ topicMessages: messages, acks: -1 });
      break;
    } catch (e) {
      if (p.stopping()) return false;
      log.warn({ partition, offset: message.offset, err: e }, 'cannot produce reply or dead letter; retrying');
      await sleep(delay);
      delay = Math.min(delay * 2, 10_000);
      await heartbeat().catch(() => undefined);
    }
  }
  const knownType = intake.ok ? intake.envelope.type : refused?.commandType && catalogEntry(refused.commandType)?.direction === 'inbound' ? refused.commandType : 'unknown';
  metrics.ingressCommands.inc({ type: knownType, outcome: outcome.kind === 'accepted' ? 'accepted' : outcome.code });
  const producedAt = Number(message.timestamp);
  if (Number.isFinite(producedAt) && producedAt > 0) metrics.ingressLagSeconds.observe(Math.max(0, (Date.now() - producedAt) / 1000));
  // The type is logged only when it is one of ours: a refused message's ce_type is whatever its sender wrote.
  const fields = { partition, offset: message.offset, commandId: about?.commandId, agencyId: about?.agencyId, type: knownType };
  if (outcome.kind === 'accepted') log.info(fields, 'command applied');
  else log.warn({ ...fields, code: outcome.code, deadLettered: outcome.deadLetter }, 'command refused');
  return true;
}

/**
 * The ingress process: consumes `preflight.agency-commands.v1`, verifies and applies each command, replies on
 * `preflight.agency-replies.v1`, dead-letters refusals on `preflight.dead-letter.v1`, and commits each offset only
 * after Temporal answered and the reply / dead letter is on Kafka. Commands with the same key (submission or case)
 * are applied in order; different keys in one partition's batch run side by side.
 */
export async function runIngress(config: Config, logger: Logger, options: IngressOptions = {}): Promise<{ stop(): Promise<void> }> {
  const log = logger.child({ component: 'ingress' });
  const registry = options.registry ?? loadAgencyRegistry(config.agencyRegistryPath);
  const openCase =
    options.openCase ??
    clearinghouseCaseOpener({ taskQueue: config.taskQueue, fingerprintKey: deriveFingerprintKey(resolveMasterKey(config.masterKey, config.stack.dataDir)) });
  const kafka = createKafka(config.kafka, logger, options.kafkaBrokers ?? config.kafka.brokers, 'ingress');
  // The deployment's encrypting converter: command bodies (finding details) are sensitive in Temporal payloads.
  const client = await connectClient(config.temporal, options.temporalAddress, deploymentDataConverter(config));
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const maxBytes = options.maxCommandBytes ?? DEFAULT_MAX_COMMAND_BYTES;
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId ?? DEFAULT_INGRESS_GROUP,
    allowAutoTopicCreation: false,
    // Oversized commands must still be fetched (to be dead-lettered), never stall the partition.
    maxBytesPerPartition: 5 * 1024 * 1024,
    // A replica that dies hands its partitions over after 10 s; heartbeats go out every 3 s, also during long calls.
    sessionTimeout: 10_000,
    heartbeatInterval: 3000,
  });
  let stopping = false;
  const pipeline: Pipeline = {
    client,
    sealKey: deploymentPayloadKeys(config)[0]!,
    producer,
    registry,
    options: { ...options, maxCommandBytes: maxBytes, openCase },
    logger: log,
    stopping: () => stopping,
  };

  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: TOPICS.agencyCommands, fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: options.concurrency ?? DEFAULT_PARTITIONS_IN_FLIGHT,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload) => {
        const messages = batch.messages;
        const applied = new Set<string>();
        let next = 0;
        let commits = Promise.resolve();
        // Offsets are committed up to the first command not yet applied, whatever order the keys finish in.
        const advance = () => {
          const before = next;
          while (next < messages.length && applied.has(messages[next]!.offset)) resolveOffset(messages[next++]!.offset);
          if (next === before) return commits;
          const offset = (BigInt(messages[next - 1]!.offset) + 1n).toString();
          commits = commits.then(() => commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset }] }] }));
          return commits;
        };
        const lane = async (queue: KafkaMessage[]) => {
          for (const message of queue) {
            if (!isRunning() || isStale() || stopping) return;
            let done: boolean;
            try {
              done = await handleMessage(pipeline, batch.topic, batch.partition, message, heartbeat);
            } catch (e) {
              // A bug, not a bad message: stop this key without committing past it; kafkajs restarts from the last commit.
              log.error({ partition: batch.partition, offset: message.offset, err: e }, 'unexpected ingress error');
              throw e;
            }
            if (!done) return;
            applied.add(message.offset);
            await advance();
          }
        };
        const results = await mapWithLimit(lanesByKey(messages), options.keysInFlight ?? DEFAULT_KEYS_IN_FLIGHT, lane);
        await commits;
        await heartbeat();
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      },
    });
  } catch (e) {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), client.connection.close()]);
    throw e;
  }
  log.info({ groupId: options.groupId ?? DEFAULT_INGRESS_GROUP, topic: TOPICS.agencyCommands }, 'ingress started');

  return {
    async stop() {
      stopping = true;
      await consumer.disconnect().catch((e: unknown) => log.warn({ err: e }, 'consumer disconnect failed'));
      await producer.disconnect().catch(() => undefined);
      await client.connection.close().catch(() => undefined);
      log.info('ingress stopped');
    },
  };
}
