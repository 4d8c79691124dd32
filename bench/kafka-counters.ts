// Machine-speed-independent Kafka counters of a comparison: records written to a topic, bytes of one record.
import type { Admin, IHeaders } from 'kafkajs';

/** Records on a topic so far: the sum of its partitions' end offsets. */
export async function topicRecords(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

/** Bytes of one record as produced: key, value, and each header's name and value. */
export function recordBytes(m: { key?: Buffer | string | null; value: Buffer | string | null; headers?: IHeaders | Record<string, string> }): number {
  let headers = 0;
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    headers += Buffer.byteLength(name);
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) headers += Buffer.byteLength(v);
  }
  return (m.key ? Buffer.byteLength(m.key) : 0) + (m.value ? Buffer.byteLength(m.value) : 0) + headers;
}
