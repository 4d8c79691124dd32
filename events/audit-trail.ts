import crypto from 'node:crypto';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import type { Logger } from '../infra/logger';
import { AuditRecord, chainRecord, GENESIS_HASH, matchesAuditFilter, type AuditFilter, type AuditInput } from './audit';

/** Where the api appends audit records, and where `GET /ops/audit` reads them. */
export interface AuditTrail {
  /** Appends one record; resolves once it is stored (on the topic, acknowledged by all in-sync replicas). */
  append(input: AuditInput): Promise<AuditRecord>;
  /** Newest first; `cursor` continues a previous page. */
  query(filter: AuditFilter, page: { pageSize: number; cursor?: string }): Promise<{ items: AuditRecord[]; nextCursor?: string }>;
}

interface Stored {
  offset: bigint;
  record: AuditRecord;
}

function encodeCursor(offset: bigint): string {
  return Buffer.from(`o:${offset}`, 'utf8').toString('base64url');
}

/** The offset a cursor points below, or undefined when the cursor is not one this api wrote. */
export function decodeAuditCursor(cursor: string): bigint | undefined {
  const m = /^o:(\d{1,20})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? BigInt(m[1]!) : undefined;
}

function page(records: Stored[], filter: AuditFilter, p: { pageSize: number; cursor?: string }): { items: AuditRecord[]; nextCursor?: string } {
  const below = p.cursor !== undefined ? decodeAuditCursor(p.cursor) : undefined;
  const items: Stored[] = [];
  let more = false;
  for (let i = records.length - 1; i >= 0; i--) {
    const s = records[i]!;
    if (below !== undefined && s.offset >= below) continue;
    if (!matchesAuditFilter(s.record, filter)) continue;
    if (items.length === p.pageSize) {
      more = true;
      break;
    }
    items.push(s);
  }
  const last = items[items.length - 1];
  return { items: items.map((s) => s.record), ...(more && last ? { nextCursor: encodeCursor(last.offset) } : {}) };
}

/** An in-memory trail with the same chain: for processes without Kafka (unit tests). Lost when the process ends. */
export class MemoryAuditTrail implements AuditTrail {
  readonly records: Stored[] = [];
  constructor(readonly writer = 'api-memory') {}
  async append(input: AuditInput): Promise<AuditRecord> {
    const last = this.records[this.records.length - 1]?.record;
    const record = chainRecord(input, { writer: this.writer, seq: (last?.seq ?? 0) + 1, prevHash: last?.hash ?? GENESIS_HASH });
    this.records.push({ offset: BigInt(this.records.length), record });
    return record;
  }
  async query(filter: AuditFilter, p: { pageSize: number; cursor?: string }) {
    return page(this.records, filter, p);
  }
}

/** Creates the audit topic when missing: one partition (one total order), never compacted, retention as configured. */
export async function ensureAuditTopic(kafka: Kafka, options: { topic: string; retentionMs: number; replication: number }): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(options.topic)) return false;
    const created = await admin.createTopics({
      waitForLeaders: false,
      topics: [
        {
          topic: options.topic,
          numPartitions: 1,
          replicationFactor: options.replication,
          configEntries: [
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'retention.ms', value: String(options.retentionMs) },
            { name: 'retention.bytes', value: '-1' },
            ...(options.replication > 1 ? [{ name: 'min.insync.replicas', value: String(Math.min(2, options.replication)) }] : []),
          ],
        },
      ],
    });
    // A topic just created may answer "unknown topic-partition" for a moment before its leader is known.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: [options.topic] });
        if (metadata.topics[0]?.partitions.every((p) => p.leader >= 0)) break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      if (Date.now() > deadline) throw new Error(`topic ${options.topic} has no leader after 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return created;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads a whole topic (one partition) from its earliest offset to the high watermark seen at the start, with a
 * throwaway consumer group it deletes afterwards. Returns each message's offset and parsed JSON value (or the raw
 * text when it is not JSON), and the low watermark (above 0 when retention deleted the head).
 */
export async function readAuditTopic(
  kafka: Kafka,
  topic: string,
  timeoutMs = 60_000,
): Promise<{ low: bigint; entries: Array<{ offset: bigint; value: unknown }> }> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `preflight-audit-read-${crypto.randomBytes(6).toString('hex')}`;
  let consumer: Consumer | undefined;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const p0 = offsets.find((o) => o.partition === 0);
    if (!p0) throw new Error(`topic ${topic} has no partition 0`);
    const low = BigInt(p0.low);
    const high = BigInt(p0.high);
    const entries: Array<{ offset: bigint; value: unknown }> = [];
    if (high <= low) return { low, entries };
    consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out after ${timeoutMs} ms`)), timeoutMs);
      consumer!
        .run({
          autoCommit: false,
          eachMessage: async ({ message }) => {
            const offset = BigInt(message.offset);
            if (offset < high) entries.push({ offset, value: parseValue(message.value) });
            if (offset >= high - 1n) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    return { low, entries };
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

function parseValue(value: Buffer | null): unknown {
  const text = value?.toString('utf8') ?? '';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The api's audit trail on Kafka. Appends are group-committed: records waiting while a produce is in flight go in the
 * next produce, chained in order, and each `append` resolves only when its produce is acknowledged (acks=all,
 * idempotent producer), so an answered request's record is stored. Reads come from an in-memory copy of the topic
 * that a consumer keeps current; a query first waits until the copy reaches the topic's high watermark, so every
 * replica answers the same. At start the writer reads the topic and resumes its chain after its own newest record.
 */
export class KafkaAuditTrail implements AuditTrail {
  private readonly records: Stored[] = [];
  private position = 0n;
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private readonly groupId = `preflight-audit-mirror-${crypto.randomBytes(6).toString('hex')}`;
  private writer: string | undefined;
  private chain: { seq: number; prevHash: string } | undefined;
  private pending: Array<{ input: AuditInput; resolve(r: AuditRecord): void; reject(e: unknown): void }> = [];
  private flushing = false;
  private resync = false;
  private ready: Promise<void>;
  private markReady!: () => void;
  private failStart!: (e: unknown) => void;
  private readonly log: Logger;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: {
      topic: string;
      retentionMs: number;
      replication: number;
      /**
       * `all` (default) keeps a copy of the whole trail for `query`; `own` keeps only this writer's newest record,
       * which is all a process that only appends (the ingress) needs to resume its chain.
       */
      copy?: 'all' | 'own';
    },
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'audit' });
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.failStart = reject;
    });
    this.ready.catch(() => undefined);
  }

  get writerId(): string | undefined {
    return this.writer;
  }

  /** Creates the topic if missing, starts the copy, resumes `writer`'s chain. Appends wait for this. */
  async start(writer: string): Promise<void> {
    try {
      this.writer = writer;
      await ensureAuditTopic(this.kafka, this.options).catch((err: unknown) => this.log.warn({ err, topic: this.options.topic }, 'audit topic not created'));
      this.admin = this.kafka.admin();
      await this.admin.connect();
      this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await this.producer.connect();
      this.consumer = this.kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
      await this.consumer.connect();
      await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
      await this.consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          const offset = BigInt(message.offset);
          this.position = offset + 1n;
          const parsed = AuditRecord.safeParse(parseValue(message.value));
          if (parsed.success) this.keep({ offset, record: parsed.data });
          else this.log.warn({ offset: message.offset }, 'audit topic holds a record that is not an audit record');
        },
      });
      await this.resume();
      this.log.info({ writer, topic: this.options.topic, seq: this.chain?.seq }, 'audit trail ready');
      this.markReady();
    } catch (e) {
      this.failStart(e);
      throw e;
    }
  }

  private keep(stored: Stored): void {
    if (this.options.copy !== 'own') {
      this.records.push(stored);
      return;
    }
    if (stored.record.writer !== this.writer) return;
    const current = this.records[0];
    if (!current || stored.record.seq > current.record.seq) this.records[0] = stored;
  }

  /**
   * Starts a chain that cannot have records yet (a writer id made for this process alone, e.g. one CLI run): no read
   * of the topic, seq 1 follows the genesis hash. Appends wait for this.
   */
  async startNewChain(writer: string): Promise<void> {
    try {
      this.writer = writer;
      await ensureAuditTopic(this.kafka, this.options).catch((err: unknown) => this.log.warn({ err, topic: this.options.topic }, 'audit topic not created'));
      this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await this.producer.connect();
      this.chain = { seq: 1, prevHash: GENESIS_HASH };
      this.markReady();
    } catch (e) {
      this.failStart(e);
      throw e;
    }
  }

  /** Waits until the copy holds everything the topic held when called. */
  async catchUp(timeoutMs = 15_000): Promise<void> {
    const offsets = await this.admin!.fetchTopicOffsets(this.options.topic);
    const high = BigInt(offsets.find((o) => o.partition === 0)?.high ?? '0');
    const deadline = Date.now() + timeoutMs;
    while (this.position < high) {
      if (Date.now() > deadline) throw new Error(`the audit copy did not reach offset ${high} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private async resume(): Promise<void> {
    await this.catchUp(60_000);
    const mine = this.records.filter((s) => s.record.writer === this.writer);
    const last = mine.reduce<AuditRecord | undefined>((a, s) => (!a || s.record.seq > a.seq ? s.record : a), undefined);
    this.chain = { seq: (last?.seq ?? 0) + 1, prevHash: last?.hash ?? GENESIS_HASH };
  }

  async append(input: AuditInput): Promise<AuditRecord> {
    await this.ready;
    return new Promise<AuditRecord>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, 500);
        try {
          if (this.resync) {
            // A chain started without reading the topic has no copy to resume from: it ends at its first failure.
            if (!this.consumer) throw new Error(`audit writer ${this.writer} cannot tell whether its last records were stored`);
            await this.resume();
            this.resync = false;
          }
          const chain = this.chain!;
          const records: AuditRecord[] = [];
          let { seq, prevHash } = chain;
          for (const { input } of batch) {
            const record = chainRecord(input, { writer: this.writer!, seq, prevHash });
            records.push(record);
            seq += 1;
            prevHash = record.hash;
          }
          await this.producer!.send({
            topic: this.options.topic,
            acks: -1,
            messages: records.map((r) => ({ key: r.writer, value: JSON.stringify(r) })),
          });
          this.chain = { seq, prevHash };
          batch.forEach((b, i) => b.resolve(records[i]!));
        } catch (e) {
          // Whether the broker kept the batch is unknown: the next append re-reads the chain's tail from the topic.
          this.resync = true;
          this.log.error({ err: e, records: batch.length }, 'audit records not stored');
          batch.forEach((b) => b.reject(e));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  async query(filter: AuditFilter, p: { pageSize: number; cursor?: string }) {
    if (this.options.copy === 'own') throw new Error('this audit trail keeps only its own chain tail and cannot be queried');
    await this.ready;
    await this.catchUp();
    return page(this.records, filter, p);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.deleteGroups([this.groupId]).catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
