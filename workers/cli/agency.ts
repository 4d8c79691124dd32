import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Help, Option, type Command } from 'commander';
import type * as Kafkajs from 'kafkajs';
import type * as AgencyClient from '../../events/agency-client';
import type * as AgencyLogin from '../../events/agency-login';
import type * as AgencyRegistry from '../../events/agency-registry';
import type * as Catalog from '../../events/catalog';
import type * as Consumer from '../../events/consumer';
import type * as Envelope from '../../events/envelope';
import type * as EventErrors from '../../events/errors';
import type * as Signing from '../../events/signing';
import type * as HttpSignatures from '../../infra/http-signatures';
import type * as LocalProcess from '../../infra/local-process';
import type * as Topics from '../../events/topics';
import type * as LoggerModule from '../../infra/logger';
import { CliError, configOrExit, output, renderTable } from './common';
import type * as DevCredentials from '../../stack/dev-credentials';

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
 * The agency's own Kafka login: `--kafka-login <file>`, or on the local default the file `preflight start` wrote to
 * `<dataDir>/dev/agency-<id>.kafka.json`. The agency side connects with nothing else.
 */
function agencyLogin(id: string, file: string | undefined, dataDir: string): AgencyLogin.AgencyKafkaLogin {
  const { readAgencyKafkaLogin } = require('../../events/agency-login') as typeof AgencyLogin;
  const { agencyKafkaLoginFile } = require('../../stack/dev-credentials') as typeof DevCredentials;
  const path = file ?? agencyKafkaLoginFile(dataDir, id);
  if (file === undefined && !fs.existsSync(path)) {
    throw new CliError(
      `no Kafka login for agency ${id}: ${path} does not exist. \`preflight start\` writes it on the local default; elsewhere pass --kafka-login <file> with {"agencyId","username","password","mechanism","brokers"}.`,
      2,
    );
  }
  let login;
  try {
    login = readAgencyKafkaLogin(path);
  } catch (e) {
    throw new CliError(`--kafka-login: ${(e as Error).message}`, 2);
  }
  if (login.agencyId !== id) throw new CliError(`--kafka-login: ${path} is the login of agency ${login.agencyId}, not ${id}`, 2);
  return login;
}

/** One inbox record, decoded (an inbox event or a reply), as `--json` prints it. */
interface InboxRecord {
  id: string;
  type: string;
  time: string;
  subject: string;
  data: Record<string, unknown>;
}

const SHORT_TYPE = /^gov\.preflight\.(?:agency\.)?(.*)\.v[0-9]+$/;

/** One line per record: time, short type, subject, then the data's fields other than the ids the line already shows. */
export function renderInboxRecord(r: InboxRecord): string {
  const fields = Object.entries(r.data)
    .filter(([k]) => k !== 'agencyId' && k !== 'submissionId' && k !== 'at')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const type = SHORT_TYPE.exec(r.type)?.[1] ?? r.type;
  return `${r.time}  ${type.padEnd(24)} ${r.subject}  ${fields.join(' ')}`.trimEnd() + '\n';
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

/**
 * `preflight agency keygen|send|inbox|assessments|token`: what an agency needs to take part, usable by a real agency
 * as well as the demo. `send` and `inbox` connect with the agency's own Kafka login only; `assessments` and `token`
 * sign their requests with the agency's own key only.
 */
export function registerAgencyCommands(program: Command): void {
  const agency = program
    .command('agency')
    .description("agency side: key pairs, signed commands and the agency's inbox with its own Kafka login, signed reads of the agency API");

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
    .option('--wait', "wait for the reply in the agency's inbox (preflight.agency-inbox.<agency>.v1)")
    .option('--timeout <seconds>', 'how long --wait waits', '30')
    .option('--kafka-login <file>', "the agency's Kafka login (default on the local stack: .data/dev/agency-<agency>.kafka.json)")
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
        kafkaLogin?: string;
        json?: boolean;
      }) => {
        const config = configOrExit();
        const { agencyKafka } = require('../../events/agency-login') as typeof AgencyLogin;
        const { Partitioners } = require('kafkajs') as typeof Kafkajs;
        const { buildAgencyCommand, produceAgencyMessage } = require('../../events/agency-client') as typeof AgencyClient;
        const { REPLY_TYPES } = require('../../events/catalog') as typeof Catalog;
        const { decodeEvent, tailTopic } = require('../../events/consumer') as typeof Consumer;
        const { isEventError } = require('../../events/errors') as typeof EventErrors;
        const { importPrivateKey } = require('../../events/signing') as typeof Signing;
        const { agencyInboxTopic } = require('../../events/topics') as typeof Topics;
        const { createLogger } = require('../../infra/logger') as typeof LoggerModule;
        const id = agencyId(opts.agency);
        const login = agencyLogin(id, opts.kafkaLogin, config.stack.dataDir);
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
        const kafka = agencyKafka(login, logger, `preflight-agency-cli-${id}`);
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
              agencyInboxTopic(id),
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
              // The agency's own consumer groups start with `<agency>.`.
              { groupPrefix: `${id}.cli` },
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

  agency
    .command('inbox')
    .description("follow the agency's inbox (its events and the replies to its commands) with the agency's own Kafka login")
    .requiredOption('--agency <id>', 'the agency')
    .option('--kafka-login <file>', "the agency's Kafka login (default on the local stack: .data/dev/agency-<agency>.kafka.json)")
    .option('--group <name>', 'consumer group <agency>.<name>; its committed offset is where the next run resumes', 'inbox')
    .option('--from-beginning', 'read everything the inbox still holds, with a throwaway group (nothing committed)')
    .option('--submission <id>', 'only events about this submission')
    .option('--type <type>', 'only events of this type (e.g. gov.preflight.agency.invited.v1)')
    .option('--count <n>', 'stop after this many events')
    .option('--idle <seconds>', 'stop once nothing arrived for this long (default: follow until Ctrl-C)')
    .option('--json', 'print one JSON object per line')
    .action(
      async (opts: {
        agency: string;
        kafkaLogin?: string;
        group: string;
        fromBeginning?: boolean;
        submission?: string;
        type?: string;
        count?: string;
        idle?: string;
        json?: boolean;
      }) => {
        const config = configOrExit();
        const { agencyKafka } = require('../../events/agency-login') as typeof AgencyLogin;
        const { decodeEvent } = require('../../events/consumer') as typeof Consumer;
        const { agencyInboxTopic } = require('../../events/topics') as typeof Topics;
        const { createLogger } = require('../../infra/logger') as typeof LoggerModule;
        const id = agencyId(opts.agency);
        const login = agencyLogin(id, opts.kafkaLogin, config.stack.dataDir);
        const count = opts.count === undefined ? undefined : Number(opts.count);
        if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new CliError('--count: a positive integer', 2);
        const idleMs = opts.idle === undefined ? undefined : Number(opts.idle) * 1000;
        if (idleMs !== undefined && !(idleMs > 0)) throw new CliError('--idle: a positive number of seconds', 2);
        if (!/^[A-Za-z0-9._-]{1,100}$/.test(opts.group)) throw new CliError('--group: letters, digits, ".", "_" or "-"', 2);
        const topic = agencyInboxTopic(id);
        const groupId = opts.fromBeginning ? `${id}.inbox-cli-${crypto.randomUUID()}` : `${id}.${opts.group}`;
        const kafka = agencyKafka(login, createLogger({ level: 'warn' }), `preflight-agency-inbox-${id}`);
        const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, retry: { retries: 3, restartOnFailure: async () => false } });
        let printed = 0;
        let failure: Error | undefined;
        let done: () => void = () => undefined;
        const finished = new Promise<void>((resolve) => (done = resolve));
        let idleTimer: NodeJS.Timeout | undefined;
        const armIdle = () => {
          if (idleMs === undefined) return;
          clearTimeout(idleTimer);
          idleTimer = setTimeout(done, idleMs);
        };
        const stop = () => done();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          consumer.on(consumer.events.CRASH, (event) => {
            failure = event.payload.error;
            done();
          });
          await consumer.connect();
          // A new group starts at the beginning, so an agency's first run misses nothing the inbox holds.
          await consumer.subscribe({ topic, fromBeginning: true });
          await consumer.run({
            autoCommit: !opts.fromBeginning,
            eachMessage: async ({ message }) => {
              armIdle();
              if (count !== undefined && printed >= count) return;
              let record: InboxRecord;
              try {
                const event = decodeEvent(message);
                record = {
                  id: event.envelope.id,
                  type: event.envelope.type,
                  time: event.envelope.time,
                  subject: event.envelope.subject,
                  data: event.data as Record<string, unknown>,
                };
              } catch (e) {
                process.stderr.write(`skipped a record at offset ${message.offset}: ${(e as Error).message}\n`);
                return;
              }
              const about = typeof record.data.submissionId === 'string' ? record.data.submissionId : record.data.subject;
              if (opts.submission !== undefined && about !== opts.submission) return;
              if (opts.type !== undefined && record.type !== opts.type) return;
              printed += 1;
              process.stdout.write(opts.json ? JSON.stringify(record) + '\n' : renderInboxRecord(record));
              if (count !== undefined && printed >= count) done();
            },
          });
          armIdle();
          await finished;
          if (failure) throw failure;
        } catch (e) {
          throw new CliError(`cannot read the inbox ${topic} as ${id}: ${(e as Error).message}`);
        } finally {
          clearTimeout(idleTimer);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          await consumer.disconnect().catch(() => undefined);
        }
      },
    );
}
