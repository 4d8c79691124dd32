import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { buildAgencyRegistry, DEFAULT_AGENCY_REGISTRY, type AgencyRegistry, type AgencyRegistryFile } from '../../events/agency-registry';
import { tailTopic } from '../../events/consumer';
import { headersToStrings } from '../../events/envelope';
import { generateAgencyKeyPair, importPrivateKey } from '../../events/signing';
import { TOPICS } from '../../events/topics';

/** Fresh key pairs for some agencies, the registry document pinning them, and the registry built from it. */
export function agencyKeys(ids: string[]): { keys: Record<string, KeyObject>; document: AgencyRegistryFile; registry: AgencyRegistry; writeFile(): string } {
  const keys: Record<string, KeyObject> = {};
  const publicKeys: Record<string, string> = {};
  for (const id of ids) {
    const pair = generateAgencyKeyPair();
    keys[id] = importPrivateKey(pair.privateKeyPem);
    publicKeys[id] = pair.publicKey;
  }
  const document: AgencyRegistryFile = {
    version: 1,
    agencies: DEFAULT_AGENCY_REGISTRY.agencies.map((a) => (publicKeys[a.id] ? { ...a, publicKeys: [publicKeys[a.id]!] } : a)),
  };
  return {
    keys,
    document,
    registry: buildAgencyRegistry(document),
    writeFile() {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'agency-registry-')), 'agencies.json');
      fs.writeFileSync(file, JSON.stringify(document));
      return file;
    },
  };
}

export interface Received {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
  raw: KafkaMessage;
}

/** Collects every message arriving on a topic from now on. */
export async function collect(kafka: Kafka, topic: string): Promise<{ messages: Received[]; stop(): Promise<void> }> {
  const messages: Received[] = [];
  const tail = await tailTopic(
    kafka,
    topic,
    (m, partition) => {
      let headers: Record<string, string>;
      try {
        headers = headersToStrings(m.headers);
      } catch {
        headers = {};
      }
      messages.push({ key: m.key?.toString() ?? null, value: m.value, headers, partition, offset: m.offset, raw: m });
    },
    { groupPrefix: 'test-collect' },
  );
  return { messages, stop: () => tail.stop() };
}

/** Sets a new consumer group's committed offsets to the topic end, so it reads only what is sent from now on. */
export async function startGroupAtEnd(kafka: Kafka, groupId: string, topic: string = TOPICS.agencyCommands): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
  } finally {
    await admin.disconnect();
  }
}

/** Polls until `probe` returns a value (not undefined). */
export async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
