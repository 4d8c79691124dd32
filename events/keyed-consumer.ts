import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from '../infra/logger';

/**
 * Runs a kafkajs consumer whose messages are handled per key: messages with the same Kafka key one after another in
 * offset order, different keys side by side, up to `concurrency` at once across every partition. A batch is only
 * queued, never waited for, so the next fetch is not held by the slowest message of the last one: one key that cannot
 * be handled holds its own later messages, nothing else. Each partition's offset is committed up to its first message
 * not yet handled; a partition with `maxPendingPerPartition` messages waiting is paused until half of them are done.
 *
 * After a rebalance a partition that comes back is fetched again from its committed offset: messages already handled
 * or still running are recognised by their offset and not handled twice by this process.
 */
export interface KeyedConsumerOptions {
  /** Messages handled at once, all partitions together. */
  concurrency: number;
  /** Messages fetched and not yet handled per partition before it is paused. */
  maxPendingPerPartition?: number;
  /**
   * Handles one message to its end: true when done, false to leave it (and its key's later messages) uncommitted for
   * the next owner of the partition (the process is stopping). A thrown error is logged and the message retried
   * after a back-off, holding only its key.
   */
  handle: (topic: string, partition: number, message: KafkaMessage) => Promise<boolean>;
  log: Logger;
  /** Back-off after a thrown error, doubled up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

type EntryState = 'pending' | 'running' | 'done' | 'left';

interface Entry {
  message: KafkaMessage;
  state: EntryState;
}

/** One assigned partition: its fetched messages in offset order and the lanes (keys) they are queued in. */
class PartitionTrack {
  readonly entries: Entry[] = [];
  readonly byOffset = new Map<string, Entry>();
  readonly lanes = new Map<string, Entry[]>();
  /** Lanes with a message running (one at a time per key). */
  readonly busy = new Set<string>();
  revoked = false;
  paused = false;
  /** Offsets below this are done and committed (or being committed): a fetch that brings them again skips them. */
  floor: bigint | undefined;
  commitChain: Promise<void> = Promise.resolve();

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get waiting(): number {
    let n = 0;
    for (const e of this.entries) if (e.state === 'pending' || e.state === 'running') n += 1;
    return n;
  }

  /** The offset to commit: the first message not done (or one past the last), once it moved. */
  watermark(): string | undefined {
    let done = 0;
    while (done < this.entries.length && this.entries[done]!.state === 'done') done += 1;
    if (done === 0) return undefined;
    const next = done < this.entries.length ? this.entries[done]!.message.offset : (BigInt(this.entries[done - 1]!.message.offset) + 1n).toString();
    // Done entries below the watermark are no longer needed.
    for (const e of this.entries.splice(0, done)) this.byOffset.delete(e.message.offset);
    this.floor = BigInt(next);
    return next;
  }
}

export function messageKey(message: KafkaMessage): string {
  return message.key ? message.key.toString('base64') : '';
}

export interface KeyedConsumer {
  /** Starts nothing new, waits (bounded) for running messages and commits what they finished. */
  drain(timeoutMs?: number): Promise<void>;
  /** Messages queued or running, all partitions together. */
  readonly inFlight: number;
}

/** Subscribes must be done by the caller; this runs the consumer with `eachBatch` and manual commits. */
export async function runKeyedConsumer(consumer: Consumer, options: KeyedConsumerOptions): Promise<KeyedConsumer> {
  const maxPending = options.maxPendingPerPartition ?? 1000;
  const retryMs = options.retryMs ?? 500;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  const tracks = new Map<string, PartitionTrack>();
  /** Messages running anywhere in this process, by topic/partition/offset: a partition handed back waits for them. */
  const running = new Map<string, Promise<boolean>>();
  let active = 0;
  let draining = false;
  const ready: Array<{ track: PartitionTrack; key: string }> = [];
  const idOf = (t: PartitionTrack, offset: string) => `${t.topic}/${t.partition}/${offset}`;

  const commit = (track: PartitionTrack) => {
    const offset = track.watermark();
    if (offset === undefined || track.revoked) return;
    track.commitChain = track.commitChain
      .then(() => consumer.commitOffsets([{ topic: track.topic, partition: track.partition, offset }]))
      .catch((err: unknown) => {
        // A rebalance in progress or a broker away: the next message done commits again, further on.
        options.log.debug({ topic: track.topic, partition: track.partition, offset, err }, 'offset commit failed; retried with the next one');
      });
    if (track.paused && track.waiting < maxPending / 2) {
      track.paused = false;
      consumer.resume([{ topic: track.topic, partitions: [track.partition] }]);
    }
  };

  const handleOne = async (track: PartitionTrack, entry: Entry): Promise<boolean> => {
    const id = idOf(track, entry.message.offset);
    const earlier = running.get(id);
    if (earlier) return earlier;
    let delay = retryMs;
    const run = (async () => {
      for (;;) {
        try {
          return await options.handle(track.topic, track.partition, entry.message);
        } catch (err) {
          options.log.warn({ topic: track.topic, partition: track.partition, offset: entry.message.offset, err }, 'message not handled; retrying it');
          if (draining || track.revoked) return false;
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(maxRetryMs, delay * 2);
        }
      }
    })();
    running.set(id, run);
    try {
      return await run;
    } finally {
      running.delete(id);
    }
  };

  const pump = () => {
    while (active < options.concurrency && ready.length > 0 && !draining) {
      const { track, key } = ready.shift()!;
      const lane = track.lanes.get(key);
      const entry = lane?.[0];
      if (!lane || !entry || track.revoked) continue;
      track.busy.add(key);
      entry.state = 'running';
      active += 1;
      void handleOne(track, entry).then(
        (done) => finish(track, key, entry, done),
        () => finish(track, key, entry, false),
      );
    }
  };

  const finish = (track: PartitionTrack, key: string, entry: Entry, done: boolean) => {
    active -= 1;
    track.busy.delete(key);
    const lane = track.lanes.get(key);
    if (done) {
      entry.state = 'done';
      lane?.shift();
      if (lane && lane.length > 0 && !track.revoked) ready.push({ track, key });
      else track.lanes.delete(key);
      commit(track);
    } else {
      // Left for the partition's next owner, with everything after it on this key.
      entry.state = 'left';
    }
    pump();
  };

  const enqueue = (track: PartitionTrack, message: KafkaMessage) => {
    if (track.byOffset.has(message.offset)) return;
    if (track.floor !== undefined && BigInt(message.offset) < track.floor) return;
    const entry: Entry = { message, state: 'pending' };
    track.entries.push(entry);
    track.byOffset.set(message.offset, entry);
    const key = messageKey(message);
    const lane = track.lanes.get(key);
    if (lane) lane.push(entry);
    else {
      track.lanes.set(key, [entry]);
      ready.push({ track, key });
    }
  };

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const assigned = payload.memberAssignment as Record<string, number[]>;
    for (const [id, track] of tracks) {
      if (assigned[track.topic]?.includes(track.partition)) continue;
      // Revoked: nothing more starts or commits here; messages running finish (and a later owner of this partition in
      // this process waits for them).
      track.revoked = true;
      tracks.delete(id);
    }
  });

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      if (!isRunning() || isStale() || draining) return;
      const id = `${batch.topic}/${batch.partition}`;
      let track = tracks.get(id);
      if (!track) {
        track = new PartitionTrack(batch.topic, batch.partition);
        tracks.set(id, track);
      }
      for (const message of batch.messages) {
        enqueue(track, message);
        resolveOffset(message.offset);
      }
      if (!track.paused && track.waiting >= maxPending) {
        track.paused = true;
        consumer.pause([{ topic: track.topic, partitions: [track.partition] }]);
      }
      pump();
      await heartbeat();
    },
  });

  return {
    get inFlight() {
      let n = 0;
      for (const t of tracks.values()) n += t.waiting;
      return n;
    },
    async drain(timeoutMs = 30_000) {
      draining = true;
      const deadline = Date.now() + timeoutMs;
      while (active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await Promise.all([...tracks.values()].map((t) => t.commitChain));
    },
  };
}
