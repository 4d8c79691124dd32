import type { KafkaMessage } from 'kafkajs';

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

export interface LaneOptions {
  /** Lanes (keys) handled at once. */
  keysInFlight: number;
  /** Checked before each message; false ends every lane where it is. */
  running: () => boolean;
  /** Handles one message to its end; false leaves it, and the rest of its lane, for redelivery. */
  handle: (message: KafkaMessage) => Promise<boolean>;
  resolveOffset: (offset: string) => void;
  /** Commits the partition up to (not including) `offset`. */
  commit: (offset: string) => Promise<void>;
}

/**
 * Handles one partition's batch, messages with the same key in order and different keys side by side. Offsets are
 * resolved and committed up to the first message not yet handled, whatever order the keys finish in. Returns once
 * every lane has ended and the commits are done, with the first lane that failed, if any.
 */
export async function handleByKey(messages: KafkaMessage[], options: LaneOptions): Promise<PromiseRejectedResult | undefined> {
  const handled = new Set<string>();
  let next = 0;
  let commits = Promise.resolve();
  const advance = () => {
    const before = next;
    while (next < messages.length && handled.has(messages[next]!.offset)) options.resolveOffset(messages[next++]!.offset);
    if (next === before) return commits;
    const offset = (BigInt(messages[next - 1]!.offset) + 1n).toString();
    commits = commits.then(() => options.commit(offset));
    return commits;
  };
  const lane = async (queue: KafkaMessage[]) => {
    for (const message of queue) {
      if (!options.running()) return;
      if (!(await options.handle(message))) return;
      handled.add(message.offset);
      await advance();
    }
  };
  const results = await mapWithLimit(lanesByKey(messages), options.keysInFlight, lane);
  await commits;
  return results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
}
