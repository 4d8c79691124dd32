import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import pino from 'pino';
import { runKeyedConsumer } from '../../events/keyed-consumer';

const msg = (offset: number, key: string) => ({ offset: String(offset), key: Buffer.from(key) }) as unknown as KafkaMessage;

/** A stand-in for a kafkajs consumer: batches are handed to `eachBatch` by the test; commits and pauses are recorded. */
function fakeConsumer() {
  let eachBatch!: (payload: EachBatchPayload) => Promise<void>;
  const commits: Array<{ partition: number; offset: string }> = [];
  const resolved: string[] = [];
  const paused: number[] = [];
  const resumed: number[] = [];
  const consumer = {
    events: { GROUP_JOIN: 'consumer.group_join' },
    on: () => undefined,
    run: async (config: { eachBatch: typeof eachBatch }) => {
      eachBatch = config.eachBatch;
    },
    commitOffsets: async (offsets: Array<{ partition: number; offset: string }>) =>
      void commits.push(...offsets.map(({ partition, offset }) => ({ partition, offset }))),
    pause: (tps: Array<{ partitions: number[] }>) => void paused.push(...tps.flatMap((t) => t.partitions)),
    resume: (tps: Array<{ partitions: number[] }>) => void resumed.push(...tps.flatMap((t) => t.partitions)),
  } as unknown as Consumer;
  const deliver = (partition: number, messages: KafkaMessage[]) =>
    eachBatch({
      batch: { topic: 't', partition, messages },
      resolveOffset: (o: string) => void resolved.push(`${partition}:${o}`),
      heartbeat: async () => undefined,
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload);
  return { consumer, deliver, commits, resolved, paused, resumed };
}

const until = async (check: () => boolean) => {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('runKeyedConsumer', () => {
  const log = pino({ level: 'silent' });

  it('never waits for a batch: a key that does not finish holds its own messages only, in this and other partitions', async () => {
    const fake = fakeConsumer();
    const handled: string[] = [];
    let releaseStuck!: () => void;
    const stuck = new Promise<void>((resolve) => (releaseStuck = resolve));
    await runKeyedConsumer(fake.consumer, {
      concurrency: 4,
      log,
      handle: async (_t, partition, m) => {
        if (m.key!.toString() === 'stuck') await stuck;
        handled.push(`${partition}:${m.offset}`);
        return true;
      },
    });
    await fake.deliver(0, [msg(10, 'stuck'), msg(11, 'a'), msg(12, 'stuck'), msg(13, 'b')]);
    // The batch call returned at once (every offset resolved, so the next fetch goes on) while "stuck" is running.
    expect(fake.resolved).toEqual(['0:10', '0:11', '0:12', '0:13']);
    await fake.deliver(0, [msg(14, 'a')]);
    await fake.deliver(1, [msg(3, 'c')]);
    await until(() => handled.length === 4);
    expect(handled.sort()).toEqual(['0:11', '0:13', '0:14', '1:3']);
    // Partition 0 commits nothing past the stuck message; partition 1 commits its own.
    await until(() => fake.commits.some((c) => c.partition === 1 && c.offset === '4'));
    expect(fake.commits.filter((c) => c.partition === 0)).toEqual([]);
    releaseStuck();
    await until(() => handled.length === 6);
    // Same key in offset order.
    expect(handled.slice(4)).toEqual(['0:10', '0:12']);
    await until(() => fake.commits.some((c) => c.partition === 0 && c.offset === '15'));
  });

  it('keeps at most `concurrency` messages running across partitions and never handles an offset twice', async () => {
    const fake = fakeConsumer();
    let running = 0;
    let peak = 0;
    const seen: string[] = [];
    await runKeyedConsumer(fake.consumer, {
      concurrency: 2,
      log,
      handle: async (_t, partition, m) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 10));
        seen.push(`${partition}:${m.offset}`);
        running -= 1;
        return true;
      },
    });
    await fake.deliver(0, [msg(1, 'a'), msg(2, 'b'), msg(3, 'c')]);
    // A fetch that brings the same offsets again (a rebalance that kept the partition) adds nothing.
    await fake.deliver(0, [msg(2, 'b'), msg(3, 'c'), msg(4, 'd')]);
    await fake.deliver(1, [msg(1, 'e')]);
    await until(() => seen.length === 5);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(5);
    expect(peak).toBe(2);
  });

  it('retries a message whose handler throws, holding only its key, and pauses a partition with too many waiting', async () => {
    const fake = fakeConsumer();
    let failures = 0;
    const handled: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await runKeyedConsumer(fake.consumer, {
      concurrency: 8,
      maxPendingPerPartition: 4,
      retryMs: 5,
      log,
      handle: async (_t, _p, m) => {
        if (m.offset === '1' && failures < 2) {
          failures += 1;
          throw new Error('bug');
        }
        if (m.key!.toString() === 'slow') await held;
        handled.push(m.offset);
        return true;
      },
    });
    await fake.deliver(0, [msg(1, 'x'), msg(2, 'slow'), msg(3, 'slow'), msg(4, 'slow'), msg(5, 'slow')]);
    await until(() => handled.includes('1'));
    expect(failures).toBe(2);
    expect(fake.paused).toEqual([0]);
    release();
    await until(() => handled.length === 5);
    await until(() => fake.resumed.includes(0));
    await until(() => fake.commits.some((c) => c.offset === '6'));
  });
});
