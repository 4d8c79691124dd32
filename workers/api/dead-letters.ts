import crypto from 'node:crypto';
import type { Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { originalHeaders, originalValue, readDeadLetter } from '../../events/dead-letter';
import type { PayloadKey } from '../../infra/codec';
import { TOPICS } from '../../events/topics';
import { metrics } from '../../infra/metrics';

export interface DeadLetterItem {
  partition: number;
  offset: string;
  reason: string;
  message: string;
  originalTopic: string;
  originalPartition: number;
  originalOffset: string;
  time: string;
  agencyId?: string;
  /** The record time the command was judged against (RFC 3339), which a replay keeps. */
  recordTime?: string;
  key: string | null;
  type?: string;
  commandId?: string;
  sizeBytes: number;
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined) return undefined;
  const s = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  return s.length <= 256 ? s : undefined;
}

function toItem(partition: number, message: KafkaMessage): DeadLetterItem {
  const info = readDeadLetter(message.headers);
  const key = message.key ? message.key.toString('utf8').slice(0, 256) : null;
  const type = header(message.headers, 'ce_type');
  const commandId = header(message.headers, 'ce_id');
  return {
    partition,
    offset: message.offset,
    reason: info?.reason ?? 'unknown',
    message: info?.message ?? '',
    originalTopic: info?.topic ?? 'unknown',
    originalPartition: info?.partition ?? -1,
    originalOffset: info?.offset ?? '',
    time: info?.time ?? new Date(Number(message.timestamp)).toISOString(),
    ...(info?.agencyId ? { agencyId: info.agencyId } : {}),
    ...(info?.recordTime ? { recordTime: new Date(info.recordTime.ms).toISOString() } : {}),
    key,
    ...(type ? { type } : {}),
    ...(commandId ? { commandId } : {}),
    sizeBytes: message.value?.length ?? 0,
  };
}

/**
 * Reads messages of the dead-letter topic without joining the ingress's group: a throwaway consumer group seeks each
 * partition to `from(low, high)` and reads up to the high watermark seen at the start, then leaves and is deleted.
 */
async function readRange(
  kafka: Kafka,
  from: (p: { partition: number; low: bigint; high: bigint }) => bigint,
  options: { timeoutMs?: number; partitions?: number[] } = {},
): Promise<Array<{ partition: number; message: KafkaMessage }>> {
  const topic = TOPICS.deadLetter;
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `preflight-ops-dlq-${crypto.randomBytes(6).toString('hex')}`;
  let consumer: Consumer | undefined;
  try {
    const offsets = (await admin.fetchTopicOffsets(topic))
      .map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }))
      .filter((o) => (options.partitions ? options.partitions.includes(o.partition) : true))
      .map((o) => ({ ...o, start: from(o) }))
      .filter((o) => o.start < o.high);
    if (offsets.length === 0) return [];
    const out: Array<{ partition: number; message: KafkaMessage }> = [];
    const remaining = new Set(offsets.map((o) => o.partition));
    consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const c = consumer;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), options.timeoutMs ?? 20_000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      c.on(c.events.GROUP_JOIN, () => {
        for (const o of offsets) c.seek({ topic, partition: o.partition, offset: o.start.toString() });
      });
      c.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const o = offsets.find((x) => x.partition === partition);
          if (!o) return;
          const offset = BigInt(message.offset);
          if (offset >= o.start && offset < o.high) out.push({ partition, message });
          if (offset >= o.high - 1n) {
            remaining.delete(partition);
            if (remaining.size === 0) done();
          }
        },
      }).catch(reject);
    });
    return out;
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/** The newest dead letters, up to `limit` per partition, newest first. Bytes are not returned, only their size. */
export async function listDeadLetters(kafka: Kafka, options: { limit?: number } = {}): Promise<DeadLetterItem[]> {
  const limit = BigInt(options.limit ?? 100);
  const read = await readRange(kafka, ({ low, high }) => (high - limit > low ? high - limit : low));
  return read.map(({ partition, message }) => toItem(partition, message)).sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
}

/** A dead letter could not be replayed; `code` says why (unknown offset, or an original topic we do not replay to). */
export class DeadLetterReplayError extends Error {
  override readonly name = 'DeadLetterReplayError';
  constructor(
    readonly code: 'not-found' | 'not-replayable',
    message: string,
  ) {
    super(message);
  }
}

/** Topics a dead letter may be re-produced to: only the inbound command topic, whose consumer re-checks everything. */
const REPLAYABLE: ReadonlySet<string> = new Set([TOPICS.agencyCommands]);

/**
 * Re-produces one dead letter's original key, value and headers onto its original topic, with the sealed time of its
 * original record (`preflight-original-record-*`). The ingress checks it again from scratch (signature, timestamp
 * window against that original record time, schema), and the command id is the Temporal update id, so a command that
 * already took effect has no second effect.
 */
export async function replayDeadLetter(
  kafka: Kafka,
  ref: { partition: number; offset: string },
  keys: PayloadKey[],
): Promise<{ topic: string; partition: number; offset: string }> {
  const target = BigInt(ref.offset);
  const read = await readRange(kafka, ({ low }) => (target >= low ? target : low), { partitions: [ref.partition], timeoutMs: 15_000 }).catch(() => []);
  const found = read.find((r) => r.partition === ref.partition && BigInt(r.message.offset) === target);
  if (!found) throw new DeadLetterReplayError('not-found', `No dead letter at partition ${ref.partition} offset ${ref.offset}.`);
  const info = readDeadLetter(found.message.headers);
  if (!info || !REPLAYABLE.has(info.topic)) {
    throw new DeadLetterReplayError('not-replayable', `Dead letters from ${info?.topic ?? 'an unknown topic'} are not replayed.`);
  }
  let value: Buffer | null;
  try {
    value = originalValue(found.message, keys);
  } catch (e) {
    throw new DeadLetterReplayError('not-replayable', `The dead letter cannot be unsealed with this deployment's payload keys (${(e as Error).message}).`);
  }
  const producer = kafka.producer();
  await producer.connect();
  try {
    const [meta] = await producer.send({
      topic: info.topic,
      acks: -1,
      messages: [{ key: found.message.key, value, headers: originalHeaders(found.message.headers) }],
    });
    metrics.deadLettersReplayed.inc();
    return { topic: info.topic, partition: meta?.partition ?? -1, offset: meta?.baseOffset ?? '' };
  } finally {
    await producer.disconnect();
  }
}

/** Which dead letters a bulk replay takes: by reason, agency and dead-letter time (all optional, all must match). */
export interface DeadLetterSelection {
  reason?: string;
  agencyId?: string;
  /** ISO-8601, inclusive. */
  since?: string;
  /** ISO-8601, exclusive. */
  until?: string;
}

export function matchesDeadLetter(item: DeadLetterItem, s: DeadLetterSelection): boolean {
  if (s.reason !== undefined && item.reason !== s.reason) return false;
  if (s.agencyId !== undefined && item.agencyId !== s.agencyId) return false;
  const at = Date.parse(item.time);
  if (s.since !== undefined && !(at >= Date.parse(s.since))) return false;
  if (s.until !== undefined && !(at < Date.parse(s.until))) return false;
  return true;
}

export type BulkDeadLetterOutcome = { ref: string; result: 'replayed' | 'skipped' | 'failed'; detail?: string };

/**
 * Replays every dead letter matching `selection` among the newest `scan` of each partition, oldest first: one read of
 * the topic and one producer for the lot, each re-produced exactly as {@link replayDeadLetter} does. `onMatched` gets
 * the number matched before the first is sent; `onEach` gets each outcome as it happens (for a progress display).
 */
export async function replayDeadLetters(
  kafka: Kafka,
  selection: DeadLetterSelection,
  keys: PayloadKey[],
  options: { scan?: number; limit?: number; onMatched?(total: number): void; onEach?(outcome: BulkDeadLetterOutcome): void } = {},
): Promise<BulkDeadLetterOutcome[]> {
  const scan = BigInt(options.scan ?? 5000);
  const read = await readRange(kafka, ({ low, high }) => (high - scan > low ? high - scan : low), { timeoutMs: 60_000 });
  const matched = read
    .map((r) => ({ ...r, item: toItem(r.partition, r.message) }))
    .filter((r) => matchesDeadLetter(r.item, selection))
    .sort((a, b) => (a.item.time < b.item.time ? -1 : a.item.time > b.item.time ? 1 : 0))
    .slice(0, options.limit ?? 5000);
  options.onMatched?.(matched.length);
  const outcomes: BulkDeadLetterOutcome[] = [];
  const note = (o: BulkDeadLetterOutcome) => {
    outcomes.push(o);
    options.onEach?.(o);
  };
  if (matched.length === 0) return outcomes;
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (const { partition, message, item } of matched) {
      const ref = `${partition}:${message.offset}`;
      const info = readDeadLetter(message.headers);
      if (!info || !REPLAYABLE.has(info.topic)) {
        note({ ref, result: 'skipped', detail: `from ${item.originalTopic}, which is not replayed` });
        continue;
      }
      let value: Buffer | null;
      try {
        value = originalValue(message, keys);
      } catch (e) {
        note({ ref, result: 'skipped', detail: `cannot be unsealed (${(e as Error).message})` });
        continue;
      }
      try {
        await producer.send({ topic: info.topic, acks: -1, messages: [{ key: message.key, value, headers: originalHeaders(message.headers) }] });
        metrics.deadLettersReplayed.inc();
        note({ ref, result: 'replayed' });
      } catch (e) {
        note({ ref, result: 'failed', detail: (e as Error).message.slice(0, 200) });
      }
    }
  } finally {
    await producer.disconnect();
  }
  return outcomes;
}
