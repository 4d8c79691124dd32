/**
 * Generates the checked-in contract documents from the catalog: one JSON Schema per (type, version) and an AsyncAPI 3
 * document for every topic. `npm run generate:events` writes them; test/contract/generated-docs.test.ts fails when
 * the files on disk differ from what the code generates.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AGENCY_SOURCE_PREFIX, CATALOG, type CatalogEntry } from './catalog';
import { DEAD_LETTER_HEADERS } from './dead-letter';
import { ORIGINAL_RECORD_HEADERS } from './freshness';
import { CE_HEADERS, JSON_CONTENT_TYPE, SPEC_VERSION } from './envelope';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signing';
import { AGENCY_INBOX_CHANNEL, AGENCY_INBOX_RETENTION_MS, TOPIC_RETENTION_MS, TOPICS, type TopicName } from './topics';
import { projectRoot } from '../infra/project-root';

/** In the source tree, also when this runs from dist/. */
export const GENERATED_DIR = path.join(projectRoot(), 'events', 'generated');
const SCHEMA_BASE = 'https://preflight.example.gov/schemas/events/';

type Json = Record<string, unknown>;

/** JSON Schema (draft-07, the dialect AsyncAPI schemas extend) of a zod schema, without its `$schema` line. */
function jsonSchema(schema: z.ZodType): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Json;
  return rest;
}

function headerSchema(entry: CatalogEntry): Json {
  const str = (description: string, extra: Json = {}) => ({ type: 'string', description, ...extra });
  const properties: Json = {
    [CE_HEADERS.specversion]: str('CloudEvents spec version', { const: SPEC_VERSION }),
    [CE_HEADERS.id]: str(
      entry.direction === 'inbound' ? 'Unique command id, at most 128 characters; becomes the Temporal update id' : 'Deterministic event id',
      { maxLength: entry.direction === 'inbound' ? 128 : 256 },
    ),
    [CE_HEADERS.source]: str(
      entry.direction === 'inbound' ? `${AGENCY_SOURCE_PREFIX}<agencyId>` : 'Producer',
      entry.direction === 'inbound' ? {} : { const: entry.source },
    ),
    [CE_HEADERS.type]: str('Event type', { const: entry.type }),
    [CE_HEADERS.time]: str('RFC 3339 time', { format: 'date-time' }),
    [CE_HEADERS.subject]: str(`Aggregate id (${entry.key}); equals the Kafka key`),
    [CE_HEADERS.contentType]: str('Content type of the value (CloudEvents datacontenttype)', { const: JSON_CONTENT_TYPE }),
  };
  const required = Object.keys(properties);
  if (entry.direction === 'inbound') {
    properties[TIMESTAMP_HEADER] = str(
      'Unix seconds when signed; refused when more than 5 minutes from the Kafka record timestamp (the broker append time: the topic is LogAppendTime)',
      { pattern: '^[0-9]{1,12}$' },
    );
    properties[SIGNATURE_HEADER] = str('v1a,<base64 Ed25519 signature of "<ce_id>.<preflight-timestamp>.<ce_type>.<ce_subject>.<body bytes>">', {
      pattern: '^v1a,',
    });
    properties[ORIGINAL_RECORD_HEADERS.time] = str(
      'Set only by an ops dead-letter replay: the original record timestamp (unix ms) the command is judged against instead of the replay record’s; ignored unless sealed by the deployment',
      { pattern: '^[0-9]{1,15}$' },
    );
    properties[ORIGINAL_RECORD_HEADERS.seal] = str(
      'Set only by an ops dead-letter replay: <payload key id>,<base64 HMAC-SHA256> over the command and that time',
    );
    required.push(TIMESTAMP_HEADER, SIGNATURE_HEADER);
  } else if (entry.topic !== TOPICS.agencyReplies && entry.topic !== AGENCY_INBOX_CHANNEL) {
    properties[CE_HEADERS.sequence] = str('CloudEvents sequence extension: per-aggregate, 1-based, strictly increasing integer', {
      pattern: '^[1-9][0-9]*$',
    });
    required.push(CE_HEADERS.sequence);
  }
  return { type: 'object', properties, required };
}

/** The JSON Schema file of one catalog entry's `data`. */
export function dataSchemaDocument(entry: CatalogEntry): Json {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `${SCHEMA_BASE}${entry.type}.json`,
    title: entry.type,
    description: entry.summary,
    ...jsonSchema(entry.schema),
  };
}

const CHANNELS: Record<TopicName, { id: string; description: string }> = {
  [TOPICS.agencyCommands]: {
    id: 'agencyCommands',
    description:
      'Signed agency commands (CloudEvents binary mode). Key: the submission id (or report reference). Created with ' +
      'message.timestamp.type=LogAppendTime: the broker stamps each record, and a command is judged fresh against that stamp.',
  },
  [TOPICS.agencyReplies]: {
    id: 'agencyReplies',
    description:
      "The outcome of each agency command, for Preflight's operators (agencies read theirs in their inbox, preflight.agency-inbox.{agencyId}.v1). Key: the agency id.",
  },
  [TOPICS.submissionEvents]: {
    id: 'submissionEvents',
    description: 'Thin submission, assessment, finding and clearance status changes. Key: the submission id.',
  },
  [TOPICS.clearinghouseEvents]: { id: 'clearinghouseEvents', description: 'Thin clearinghouse case status changes. Key: the case id.' },
  [TOPICS.deadLetter]: { id: 'deadLetter', description: 'Refused inbound messages: the original key and headers, the original bytes sealed, plus the reason.' },
};

function deadLetterMessage(): Json {
  const str = (description: string) => ({ type: 'string', description });
  return {
    name: 'dead-letter',
    title: 'Dead letter',
    summary: 'An inbound message Preflight refused, byte for byte, with why and where it came from.',
    contentType: 'application/octet-stream',
    headers: {
      type: 'object',
      properties: {
        [DEAD_LETTER_HEADERS.reason]: str(
          'Machine code: oversized, unsigned, forged, expired, unknown-agency, wrong-agency, not-invited, unknown-type, malformed-json, forbidden-key, schema-violation, invalid-envelope, ...',
        ),
        [DEAD_LETTER_HEADERS.message]: str('Human-readable reason'),
        [DEAD_LETTER_HEADERS.topic]: str('Topic of the original message'),
        [DEAD_LETTER_HEADERS.partition]: str('Partition of the original message'),
        [DEAD_LETTER_HEADERS.offset]: str('Offset of the original message'),
        [DEAD_LETTER_HEADERS.time]: str('When it was refused (RFC 3339)'),
        [DEAD_LETTER_HEADERS.agency]: str('The agency whose signature verified, if any'),
        [DEAD_LETTER_HEADERS.sealed]: str('Id of the payload key that sealed the value, when it is sealed'),
        [DEAD_LETTER_HEADERS.recordTime]: str(
          'The record timestamp (unix ms) the command was judged against; a replay carries it as preflight-original-record-time',
        ),
        [DEAD_LETTER_HEADERS.recordSeal]: str(
          'The seal of that time (<payload key id>,<base64 HMAC-SHA256>); a replay carries it as preflight-original-record-seal',
        ),
      },
      required: [DEAD_LETTER_HEADERS.reason, DEAD_LETTER_HEADERS.message, DEAD_LETTER_HEADERS.topic, DEAD_LETTER_HEADERS.partition, DEAD_LETTER_HEADERS.offset],
    },
    payload: {
      description:
        'The original message value sealed with AES-256-GCM (iv, ciphertext, tag) under the payload key named in preflight-dlq-sealed; unsealed, the original bytes (which may not be JSON)',
    },
  };
}

function catalogMessage(e: CatalogEntry): Json {
  return {
    name: e.type,
    title: e.type,
    summary: e.summary,
    contentType: JSON_CONTENT_TYPE,
    headers: headerSchema(e),
    payload: jsonSchema(e.schema),
    correlationId: { description: 'The CloudEvents id', location: `$message.header#/${CE_HEADERS.id}` },
    bindings: { kafka: { key: { type: 'string', description: `The ${e.key}` }, bindingVersion: '0.5.0' } },
    examples: [{ name: 'example', payload: e.example }],
  };
}

/** The AsyncAPI 3.0 document of every Preflight topic and message. */
export function asyncApiDocument(): Json {
  const messages: Json = {};
  const channels: Json = {};
  const operations: Json = {};
  for (const topic of Object.values(TOPICS) as TopicName[]) {
    const channel = CHANNELS[topic];
    const entries = CATALOG.filter((e) => e.topic === topic);
    const refs: Json = {};
    for (const e of entries) {
      messages[e.type] = catalogMessage(e);
      refs[e.type] = { $ref: `#/components/messages/${e.type}` };
    }
    if (topic === TOPICS.deadLetter) {
      messages['dead-letter'] = deadLetterMessage();
      refs['dead-letter'] = { $ref: '#/components/messages/dead-letter' };
    }
    channels[channel.id] = {
      address: topic,
      description: channel.description,
      messages: refs,
      bindings: {
        kafka: {
          topic,
          topicConfiguration: { 'retention.ms': TOPIC_RETENTION_MS[topic], 'max.message.bytes': 4 * 1024 * 1024 },
          bindingVersion: '0.5.0',
        },
      },
    };
    const inbound = topic === TOPICS.agencyCommands;
    const opId = `${inbound ? 'receive' : 'send'}${channel.id[0]!.toUpperCase()}${channel.id.slice(1)}`;
    operations[opId] = {
      action: inbound ? 'receive' : 'send',
      channel: { $ref: `#/channels/${channel.id}` },
      summary: inbound ? 'Preflight consumes agency commands' : `Preflight produces to ${topic}`,
      messages: Object.keys(refs).map((id) => ({ $ref: `#/channels/${channel.id}/messages/${id}` })),
    };
  }
  // One inbox per agency: its inbox events, and the replies to its commands (the same messages as on the shared topic).
  const inboxRefs: Json = {};
  for (const e of CATALOG.filter((x) => x.topic === AGENCY_INBOX_CHANNEL || x.topic === TOPICS.agencyReplies)) {
    if (e.topic === AGENCY_INBOX_CHANNEL) messages[e.type] = catalogMessage(e);
    inboxRefs[e.type] = { $ref: `#/components/messages/${e.type}` };
  }
  channels.agencyInbox = {
    address: AGENCY_INBOX_CHANNEL,
    description:
      "One agency's inbox, readable by that agency alone (Kafka principal User:{agencyId}, consumer groups {agencyId}.*): thin events about the submissions it is invited to (in order per submission) and the clearinghouse cases it reported, and the replies to its signed commands. One partition. Key: the submission id or case id (events), the agency id (replies). Replaces preflight.agency-replies.{agencyId}.v1.",
    parameters: { agencyId: { description: 'The agency id, e.g. nsa (the agency registry id and the Kafka principal name)' } },
    messages: inboxRefs,
    bindings: {
      kafka: {
        topicConfiguration: { 'retention.ms': AGENCY_INBOX_RETENTION_MS, 'max.message.bytes': 1024 * 1024 },
        partitions: 1,
        bindingVersion: '0.5.0',
      },
    },
  };
  operations.sendAgencyInbox = {
    action: 'send',
    channel: { $ref: '#/channels/agencyInbox' },
    summary: "Preflight produces to each agency's inbox",
    messages: Object.keys(inboxRefs).map((id) => ({ $ref: `#/channels/agencyInbox/messages/${id}` })),
  };
  return {
    asyncapi: '3.1.0',
    info: {
      title: 'Preflight events',
      version: '1.0.0',
      description:
        'Kafka contract of Preflight: CloudEvents 1.0 in binary content mode (attributes in ce_* headers, the JSON value is the data), key = aggregate id. Generated from events/catalog.ts; do not edit.',
    },
    defaultContentType: JSON_CONTENT_TYPE,
    servers: {
      local: { host: '127.0.0.1:9092', protocol: 'kafka', description: 'The local broker of `preflight start`' },
    },
    channels,
    operations,
    components: { messages },
  };
}

/** Every generated file: path relative to events/generated → content. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
  files.set('asyncapi.json', json(asyncApiDocument()));
  for (const e of CATALOG) files.set(`schemas/${e.type}.json`, json(dataSchemaDocument(e)));
  return files;
}

/** Writes the generated files, removing stale schema files; returns the paths written. */
export function writeGeneratedFiles(dir = GENERATED_DIR): string[] {
  const files = generatedFiles();
  fs.mkdirSync(path.join(dir, 'schemas'), { recursive: true });
  for (const existing of fs.readdirSync(path.join(dir, 'schemas'))) {
    if (!files.has(`schemas/${existing}`)) fs.rmSync(path.join(dir, 'schemas', existing));
  }
  for (const [rel, content] of files) fs.writeFileSync(path.join(dir, rel), content);
  return [...files.keys()];
}

if (require.main === module) {
  const written = writeGeneratedFiles();
  process.stdout.write(`wrote ${written.length} files to ${path.relative(process.cwd(), GENERATED_DIR)}\n`);
}
