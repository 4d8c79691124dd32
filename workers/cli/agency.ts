import fs from 'node:fs';
import path from 'node:path';
import { Help, Option, type Command } from 'commander';
import type * as Kafkajs from 'kafkajs';
import type * as AgencyClient from '../../events/agency-client';
import type * as AgencyRegistry from '../../events/agency-registry';
import type * as Catalog from '../../events/catalog';
import type * as Consumer from '../../events/consumer';
import type * as Envelope from '../../events/envelope';
import type * as EventErrors from '../../events/errors';
import type * as KafkaModule from '../../events/kafka';
import type * as Signing from '../../events/signing';
import type * as HttpSignatures from '../../infra/http-signatures';
import type * as LocalProcess from '../../infra/local-process';
import type * as Topics from '../../events/topics';
import type * as LoggerModule from '../../infra/logger';
import { CliError, configOrExit, output, renderTable } from './common';
import type * as Servers from '../../stack/servers';

const MAX_DATA_FILE_BYTES = 256 * 1024;

function agencyId(value: string): string {
  const { AgencyIdSchema } = require('../../events/agency-registry') as typeof AgencyRegistry;
  if (!AgencyIdSchema.safeParse(value).success) throw new CliError(`--agency: "${value}" is not an agency id (a lowercase slug such as "nsa")`, 2);
  return value;
}

function readData(opts: { data?: string; dataFile?: string }): Record<string, unknown> {
  if (opts.data !== undefined && opts.dataFile !== undefined) throw new CliError('give --data or --data-file, not both', 2);
  let bytes: Buffer;
  if (opts.dataFile !== undefined) {
    const size = fs.statSync(opts.dataFile, { throwIfNoEntry: false })?.size;
    if (size === undefined) throw new CliError(`--data-file: ${opts.dataFile} does not exist`, 2);
    if (size > MAX_DATA_FILE_BYTES) throw new CliError(`--data-file: ${opts.dataFile} is larger than ${MAX_DATA_FILE_BYTES} bytes`, 2);
    bytes = fs.readFileSync(opts.dataFile);
  } else {
    bytes = Buffer.from(opts.data ?? '{}');
  }
  const { parseJsonStrict } = require('../../events/envelope') as typeof Envelope;
  let value: unknown;
  try {
    value = parseJsonStrict(bytes);
  } catch (e) {
    throw new CliError(`command data: ${(e as Error).message}`, 2);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CliError('command data must be a JSON object', 2);
  return value as Record<string, unknown>;
}

/**
 * The help of `send`, whose `--type` lists the command types of the event catalog: the catalog loads when that help is
 * shown, not with every command.
 */
function listingCommandTypes(typeOption: Option): Partial<Help> {
  return {
    optionDescription(option) {
      if (option === typeOption && option.description === '') {
        const { CATALOG } = require('../../events/catalog') as typeof Catalog;
        option.description = `command type: ${CATALOG.filter((e) => e.direction === 'inbound')
          .map((e) => e.type)
          .join(', ')}`;
      }
      return Help.prototype.optionDescription.call(this, option);
    },
  };
}

/** The agency's private key: `--key`, or on the local default `<data dir>/dev/agency-keys/<agency>.key.pem`. */
function agencyKeyFile(id: string, key: string | undefined, dataDir: string): string {
  return key ?? path.join(dataDir, 'dev', 'agency-keys', `${id}.key.pem`);
}

/**
 * One GET on the agency API, signed (RFC 9421) with the agency's own private key and nothing else. Answers the parsed
 * JSON; a refusal becomes a CliError with the problem's code and detail.
 */
async function signedGet(opts: { agency: string; key?: string; api?: string }, pathAndQuery: string): Promise<Record<string, unknown>> {
  const config = configOrExit();
  const { importPrivateKey } = require('../../events/signing') as typeof Signing;
  const { signRequest } = require('../../infra/http-signatures') as typeof HttpSignatures;
  const { hostPort } = require('../../infra/local-process') as typeof LocalProcess;
  const id = agencyId(opts.agency);
  const keyFile = agencyKeyFile(id, opts.key, config.stack.dataDir);
  let privateKey;
  try {
    privateKey = importPrivateKey(fs.readFileSync(keyFile, 'utf8'));
  } catch (e) {
    throw new CliError(`--key: ${keyFile}: ${(e as Error).message}`, 2);
  }
  const base = opts.api ?? `http://${hostPort(config.stack.host, config.apiPort)}`;
  let url: string;
  try {
    url = new URL(pathAndQuery, base).toString();
  } catch {
    throw new CliError(`--api: "${base}" is not a URL`, 2);
  }
  const headers = await signRequest({ method: 'GET', url, keyId: id, privateKey });
  let res: Response;
  try {
    res = await fetch(url, { method: 'GET', headers: { ...headers, accept: 'application/json' } });
  } catch (e) {
    throw new CliError(`cannot reach the api at ${base}: ${(e as Error).message} (is preflight start running?)`);
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: reported below
  }
  if (!res.ok)
    throw new CliError(
      `${res.status} ${String(body.code ?? res.statusText)}: ${String(body.detail ?? body.title ?? text.slice(0, 200))}`,
      res.status === 401 ? 4 : 1,
    );
  return body;
}

/** `preflight agency keygen|send|assessments|token`: what an agency needs to take part, usable by a real agency as well as the demo. */
export function registerAgencyCommands(program: Command): void {
  const agency = program.command('agency').description('agency side: key pairs, signed commands on the Kafka command topic, signed reads of the agency API');

  agency
    .command('keygen')
    .description('generate an Ed25519 key pair; prints the public key and the registry entry that pins it')
    .requiredOption('--agency <id>', 'agency id, e.g. nsa')
    .option('--out <dir>', 'directory for <agency>.key.pem (private, mode 0600) and <agency>.pub', '.')
    .option('--force', 'overwrite existing key files')
    .option('--json', 'print JSON')
    .action((opts: { agency: string; out: string; force?: boolean; json?: boolean }) => {
      const { registrySnippet } = require('../../events/agency-registry') as typeof AgencyRegistry;
      const { generateAgencyKeyPair } = require('../../events/signing') as typeof Signing;
      const id = agencyId(opts.agency);
      fs.mkdirSync(opts.out, { recursive: true });
      const privatePath = path.resolve(opts.out, `${id}.key.pem`);
      const publicPath = path.resolve(opts.out, `${id}.pub`);
      if (!opts.force && (fs.existsSync(privatePath) || fs.existsSync(publicPath))) {
        throw new CliError(`${privatePath} or ${publicPath} exists; pass --force to replace the key pair`);
      }
      const pair = generateAgencyKeyPair();
      fs.writeFileSync(privatePath, pair.privateKeyPem, { mode: 0o600 });
      fs.chmodSync(privatePath, 0o600);
      fs.writeFileSync(publicPath, pair.publicKey + '\n');
      const snippet = registrySnippet(id, pair.publicKey);
      output(
        opts.json,
        { agencyId: id, publicKey: pair.publicKey, privateKeyPath: privatePath, publicKeyPath: publicPath, registryEntry: JSON.parse(snippet) },
        () =>
          [
            `Private key  ${privatePath} (keep it secret; it signs commands as ${id})`,
            `Public key   ${pair.publicKey}`,
            '',
            'Registry entry (add to the "agencies" array of the file PREFLIGHT_AGENCY_REGISTRY names):',
            snippet,
            '',
          ].join('\n'),
      );
    });

  const typeOption = new Option('--type <type>').makeOptionMandatory();
  agency
    .command('send')
    .description('build, sign and produce one command on preflight.agency-commands.v1')
    .requiredOption('--agency <id>', 'the sending agency')
    .requiredOption('--key <file>', "the agency's private key (PEM)")
    .addOption(typeOption)
    .configureHelp(listingCommandTypes(typeOption))
    .requiredOption('--subject <id>', 'submission id (or report reference for case.open); also the Kafka key')
    .option('--data <json>', 'the command body as JSON', undefined)
    .option('--data-file <file>', 'read the command body from a file')
    .option('--id <id>', 'command id (default: a random UUID); becomes the Temporal update id')
    .option('--wait', 'wait for the reply on preflight.agency-replies.v1')
    .option('--timeout <seconds>', 'how long --wait waits', '30')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        agency: string;
        key: string;
        type: string;
        subject: string;
        data?: string;
        dataFile?: string;
        id?: string;
        wait?: boolean;
        timeout: string;
        json?: boolean;
      }) => {
        const config = configOrExit();
        const { Partitioners } = require('kafkajs') as typeof Kafkajs;
        const { buildAgencyCommand, produceAgencyMessage } = require('../../events/agency-client') as typeof AgencyClient;
        const { REPLY_TYPES } = require('../../events/catalog') as typeof Catalog;
        const { decodeEvent, tailTopic } = require('../../events/consumer') as typeof Consumer;
        const { isEventError } = require('../../events/errors') as typeof EventErrors;
        const { createKafka } = require('../../events/kafka') as typeof KafkaModule;
        const { importPrivateKey } = require('../../events/signing') as typeof Signing;
        const { TOPICS } = require('../../events/topics') as typeof Topics;
        const { createLogger } = require('../../infra/logger') as typeof LoggerModule;
        const { expectedEndpoints } = require('../../stack/servers') as typeof Servers;
        const id = agencyId(opts.agency);
        let privateKey;
        try {
          privateKey = importPrivateKey(fs.readFileSync(opts.key, 'utf8'));
        } catch (e) {
          throw new CliError(`--key: ${(e as Error).message}`, 2);
        }
        let message;
        try {
          message = buildAgencyCommand(
            { agencyId: id, type: opts.type, subject: opts.subject, data: readData(opts), ...(opts.id ? { id: opts.id } : {}) },
            privateKey,
          );
        } catch (e) {
          if (isEventError(e)) throw new CliError(e.message, 2);
          throw e;
        }
        const commandId = message.headers['ce_id']!;
        const timeoutMs = Math.max(1, Number(opts.timeout) || 30) * 1000;
        const logger = createLogger({ level: 'warn' });
        const kafka = createKafka(config.kafka, logger, expectedEndpoints(config).kafka, 'agency-cli');
        let reply: { type: string; data: unknown } | undefined;
        let onReply: () => void = () => undefined;
        const replied = new Promise<void>((resolve) => (onReply = resolve));
        let tail: { stop(): Promise<void> } | undefined;
        const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
        try {
          // Listen before sending, so a fast reply is not missed.
          if (opts.wait) {
            tail = await tailTopic(
              kafka,
              TOPICS.agencyReplies,
              (m) => {
                try {
                  const event = decodeEvent(m);
                  if (event.envelope.id !== `${id}/${commandId}/reply`) return;
                  reply = { type: event.envelope.type, data: event.data };
                  onReply();
                } catch {
                  // Not a reply this command waits for.
                }
              },
              { groupPrefix: 'preflight-agency-cli' },
            );
          }
          await producer.connect();
          await produceAgencyMessage(producer, message);
          if (opts.wait) await Promise.race([replied, new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]);
        } catch (e) {
          throw new CliError(`cannot send the command: ${(e as Error).message}`);
        } finally {
          await producer.disconnect().catch(() => undefined);
          await tail?.stop().catch(() => undefined);
        }
        if (opts.wait && !reply) throw new CliError(`sent command ${commandId}, but no reply within ${opts.timeout} s (is the ingress running?)`);
        output(opts.json, { commandId, type: opts.type, subject: opts.subject, reply }, () =>
          [
            `Sent ${opts.type} ${commandId} for ${opts.subject}`,
            ...(reply ? [`Reply ${reply.type === REPLY_TYPES.accepted ? 'accepted' : 'rejected'}: ${JSON.stringify(reply.data)}`] : []),
            '',
          ].join('\n'),
        );
        if (reply && reply.type === REPLY_TYPES.rejected) process.exitCode = 3;
      },
    );
  agency
    .command('assessments')
    .description("list the agency's assessments through the agency API, signed with the agency's own key (RFC 9421)")
    .requiredOption('--agency <id>', 'the agency')
    .option('--key <file>', "the agency's private key (PEM); default: <data dir>/dev/agency-keys/<agency>.key.pem")
    .option('--api <url>', 'the api base URL; default: http://PREFLIGHT_HOST:PREFLIGHT_API_PORT')
    .option('--submission <id>', "show one assessment in full (status, clock, deadline, the submission's facts)")
    .option('--json', 'print JSON')
    .action(async (opts: { agency: string; key?: string; api?: string; submission?: string; json?: boolean }) => {
      if (opts.submission !== undefined) {
        const one = await signedGet(opts, `/v1/agency/assessments/${encodeURIComponent(opts.submission)}`);
        output(opts.json, one, () => JSON.stringify(one, null, 2) + '\n');
        return;
      }
      const list = await signedGet(opts, '/v1/agency/assessments');
      const items = (list.items ?? []) as Array<{ submissionId: string; status: string; running: boolean; invitedAt: string; endedAt?: string }>;
      output(opts.json, list, () =>
        renderTable(
          ['SUBMISSION', 'STATUS', 'RUNNING', 'INVITED', 'ENDED'],
          items.map((i) => [i.submissionId, i.status, i.running ? 'yes' : 'no', i.invitedAt, i.endedAt ?? '']),
          `No assessments for ${opts.agency}.`,
        ),
      );
    });

  agency
    .command('token')
    .description("fetch the agency's access token for one submission through the agency API, signed with the agency's own key")
    .requiredOption('--agency <id>', 'the agency')
    .requiredOption('--submission <id>', 'the submission assessed')
    .option('--key <file>', "the agency's private key (PEM); default: <data dir>/dev/agency-keys/<agency>.key.pem")
    .option('--api <url>', 'the api base URL; default: http://PREFLIGHT_HOST:PREFLIGHT_API_PORT')
    .option('--json', 'print JSON')
    .action(async (opts: { agency: string; key?: string; api?: string; submission: string; json?: boolean }) => {
      const token = await signedGet(opts, `/v1/agency/assessments/${encodeURIComponent(opts.submission)}/access-token`);
      output(opts.json, token, () =>
        [`Grant   ${String(token.grantId)} (${String(token.scope)}, expires ${String(token.expiresAt)})`, `Token   ${String(token.token)}`, ''].join('\n'),
      );
    });
}
