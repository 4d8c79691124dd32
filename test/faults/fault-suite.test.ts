/**
 * The fault suite (`npm run test:faults`): 100 submissions, started in batches around the faults so work is in flight
 * during each, six agencies each sending signed commands through Kafka, a vendor webhook receiver verifying every
 * signature, while the worker, the Temporal dev server, the Kafka broker, the ingress and the dispatcher are killed with
 * SIGKILL and restarted, and the receiver fails for a stretch.
 * A ledger keyed by each side effect's idempotency key proves that every submission completed, nothing was lost and
 * no effect happened twice; redeliveries are allowed and counted. Loopback only; every loop bounded.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { KeyObject } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { ensureVendorWorkflow } from '../../clients/endpoints';
import { buildAgencyCommand, produceAgencyMessage } from '../../events/agency-client';
import { REPLY_TYPES } from '../../events/catalog';
import { headersToStrings } from '../../events/envelope';
import { createKafka } from '../../events/kafka';
import { TOPICS } from '../../events/topics';
import { deriveWebhookSecret } from '../../events/webhook-signing';
import { loadConfig, type Config } from '../../infra/config';
import { prepareKafka } from '../../stack/kafka-setup';
import { freePort, sleep } from '../../infra/local-process';
import { createLogger } from '../../infra/logger';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import { DAY_MS } from '../../workflows/shared/time';
import { agencyWorkflowId, declareReleasedUpdate, submissionWorkflowId, type SubmissionOutcome } from '../../workflows/submission/contract';
import { registerEndpointUpdate } from '../../workflows/webhooks/contract';
import { agencyKeys } from '../helpers/agency-events';
import { finding, SIX_AGENCIES, submissionInput } from '../helpers/lifecycle';
import { Receiver } from '../helpers/webhook-receiver';
import { Ledger, type FaultRecord, type Figures, type ProgressKind } from './ledger';
import { buildSchedule, describeSchedule, type FaultKind, type PlannedFault } from './schedule';
import { faultServers, PreflightProcess, survivors, type Killable, type ServerProcess } from './stack';

const SEED = Number(process.env.PREFLIGHT_FAULTS_SEED ?? 20261127);
const SUBMISSIONS = Number(process.env.PREFLIGHT_FAULTS_SUBMISSIONS ?? 100);
/** Agencies per submission, taken in turn from the six in the registry; fewer make a lighter run on a busy machine. */
const AGENCIES_PER_SUBMISSION = Number(process.env.PREFLIGHT_FAULTS_AGENCIES ?? 6);
const agenciesOf = new Map<string, string[]>();
const VENDOR = 'vendor-acme';
const ENDPOINT = 'ep_faultsuitereceiver01';
const WEBHOOK_TYPES = ['gov.preflight.submission.status-changed.v1', 'gov.preflight.clearance.issued.v1'] as const;
/** The whole run, from the first submission to the last check: about 7 min on two idle cores, more when they are shared. */
const RUN_DEADLINE_MS = 20 * 60_000;
/**
 * An agency resends a command (same ce_id) when no reply came within a minute, then every two: the ingress dedupes by
 * ce_id, but each resend still costs it a round trip to Temporal, so eager resends would slow everyone down.
 */
const RESEND_AFTER_MS = [60_000, 120_000];
const MAX_SENDS = 12;
const RECOVERY_LIMIT_MS = 180_000;
/** Submissions of one batch start at this pace. */
const START_EVERY_MS = 500;
/** Short webhook retries, so a receiver failing for 20 s is retried within the run (the default waits minutes). */
const DELIVERY_POLICY = { delaysMs: [0, 1000, 2000, 4000, 8000, 15_000, 30_000, 30_000, 60_000, 60_000, 60_000, 60_000], requestTimeoutMs: 5000 };

// The suite's own Kafka clients log connection errors on every kill; the figures say what matters.
const logger = createLogger({ level: 'silent' });
const root = path.resolve(__dirname, '..', '..');
const say = (line: string) => process.stderr.write(`[faults] ${line}\n`);

interface Harness {
  dataDir: string;
  config: Config;
  temporal: ServerProcess;
  kafka: ServerProcess;
  worker: PreflightProcess;
  ingress: PreflightProcess;
  dispatcher: PreflightProcess;
  receiver: Receiver;
  receiverPort: number;
  client: Client;
  kafkaClient: Kafka;
  producer: Producer;
  consumers: Consumer[];
  keys: Record<string, KeyObject>;
}

let h: Harness | undefined;
/** Everything started, registered before the harness is complete so a failed set-up still stops it all. */
const processes: Killable[] = [];
let cleanupDir: string | undefined;
const ledger = new Ledger();
let stopping = false;
const timers: NodeJS.Timeout[] = [];

/** Calls `fn` until it succeeds, `isFinal` says to stop, or the attempts or the run deadline run out. */
async function retry<T>(
  what: string,
  fn: () => Promise<T>,
  options: { attempts?: number; delayMs?: number; deadline: number; isFinal?: (e: unknown) => boolean },
): Promise<T> {
  const attempts = options.attempts ?? 120;
  let last: unknown;
  for (let i = 0; i < attempts && Date.now() < options.deadline && !stopping; i++) {
    try {
      return await fn();
    } catch (e) {
      if (options.isFinal?.(e)) throw e;
      last = e;
      await sleep(options.delayMs ?? 1000);
    }
  }
  throw new Error(`${what} did not succeed: ${(last as Error | undefined)?.message ?? 'deadline'}`);
}

/** Replies by command id, with waiters woken when one arrives. */
const replyWaiters = new Map<string, Array<() => void>>();
function waitForReply(commandId: string, timeoutMs: number): Promise<boolean> {
  const answered = () => {
    const c = ledger.commands.get(commandId);
    return Boolean(c && (c.accepted > 0 || c.rejected.length > 0));
  };
  if (answered()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(answered()), timeoutMs);
    replyWaiters.set(commandId, [
      ...(replyWaiters.get(commandId) ?? []),
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    ]);
  });
}

const agencySteps = (submissionId: string, agencyId: string): Array<{ type: string; data: Record<string, unknown> }> => [
  { type: 'gov.preflight.assessment.accept.v1', data: {} },
  { type: 'gov.preflight.assessment.start.v1', data: {} },
  { type: 'gov.preflight.finding.submit.v1', data: { finding: finding('MEDIUM', `${submissionId}/${agencyId}`) } },
  { type: 'gov.preflight.assessment.complete.v1', data: {} },
];

/** A fake agency: each command in order, resent with the same ce_id until a reply arrives (bounded). */
async function runAgency(submissionId: string, agencyId: string, deadline: number): Promise<void> {
  const { producer, keys } = h!;
  const steps = agencySteps(submissionId, agencyId);
  for (const [index, step] of steps.entries()) {
    const id = `${submissionId}.${agencyId}.${index + 1}`;
    let answered = false;
    for (let send = 0; send < MAX_SENDS && !answered && Date.now() < deadline && !stopping; send++) {
      // A fresh timestamp and signature on each resend; the ce_id stays, so the ingress applies it at most once.
      const message = buildAgencyCommand({ agencyId, type: step.type, subject: submissionId, data: step.data, id }, keys[agencyId]!);
      ledger.commandSent(id, { submissionId, agencyId, type: step.type });
      try {
        await produceAgencyMessage(producer, message);
      } catch {
        await sleep(2000);
        continue;
      }
      answered = await waitForReply(id, RESEND_AFTER_MS[Math.min(send, RESEND_AFTER_MS.length - 1)]!);
      // `not-applied` asks the agency to resend later (the ingress parked it while its workflow did not take it).
      const got = ledger.commands.get(id);
      if (answered && got && got.accepted === 0 && got.rejected.every((r) => r.code === 'not-applied')) {
        answered = false;
        await sleep(5000);
      }
    }
    const c = ledger.commands.get(id)!;
    if (c.accepted === 0) {
      // `ended` after a resend of the last command means the first one was applied; anything else stops this agency.
      if (index === steps.length - 1 && c.rejected.some((r) => r.code === 'ended')) return;
      say(`agency ${agencyId} on ${submissionId}: ${step.type} not accepted (${c.rejected.map((r) => r.code).join(',') || 'no reply'})`);
      return;
    }
  }
}

async function startSubmission(index: number, deadline: number): Promise<string> {
  const submissionId = `fs-${String(index).padStart(3, '0')}-${crypto.randomBytes(3).toString('hex')}`;
  const agencies = Array.from({ length: AGENCIES_PER_SUBMISSION }, (_, k) => SIX_AGENCIES[(index * AGENCIES_PER_SUBMISSION + k) % SIX_AGENCIES.length]!);
  agenciesOf.set(submissionId, agencies);
  const input = submissionInput(Date.now(), 21, {
    submissionId,
    vendorId: VENDOR,
    requestedAgencies: agencies,
    // Closes a few seconds after the declared release, so each lifecycle ends within the run.
    settings: { closeAfterReleaseDays: 3000 / DAY_MS },
  });
  await retry(
    `start ${submissionId}`,
    async () => {
      try {
        await h!.client.workflow.start('submissionWorkflow', {
          workflowId: submissionWorkflowId(submissionId),
          taskQueue: h!.config.taskQueue,
          args: [input],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
      } catch (e) {
        // A retry after a start whose answer was lost finds it started: that is the one start.
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      }
    },
    { deadline },
  );
  ledger.started.add(submissionId);
  return submissionId;
}

async function declareRelease(submissionId: string, deadline: number): Promise<void> {
  await retry(
    `declare the release of ${submissionId}`,
    () =>
      h!.client.workflow
        .getHandle(submissionWorkflowId(submissionId))
        .executeUpdate(declareReleasedUpdate, { args: [{}], updateId: `release-${submissionId}` }),
    { deadline, delayMs: 2000, isFinal: (e) => e instanceof WorkflowUpdateFailedError },
  ).catch((e: unknown) => say(`release of ${submissionId}: ${(e as Error).message}`));
}

/** The submission's outcome once it has ended; undefined while it runs (`result()` would wait for it unbounded). */
async function endedOutcome(submissionId: string): Promise<SubmissionOutcome | undefined> {
  const handle = h!.client.workflow.getHandle(submissionWorkflowId(submissionId));
  const { status } = await handle.describe();
  if (status.name === 'RUNNING') return undefined;
  return (await handle.result()) as SubmissionOutcome;
}

async function collectOutcome(submissionId: string, deadline: number): Promise<void> {
  const outcome = await retry(`outcome of ${submissionId}`, async () => (await endedOutcome(submissionId)) ?? Promise.reject(new Error('still running')), {
    deadline,
    delayMs: 2000,
  }).catch(() => undefined);
  if (outcome) ledger.completed.set(submissionId, outcome.status);
}

/** Reacts to status events the way agencies and the vendor would: invitations start agencies, a notice leads to release. */
function onStatusEvent(type: string, data: Record<string, unknown>, deadline: number): void {
  const submissionId = String(data.submissionId);
  if (!ledger.started.has(submissionId)) return;
  if (type === 'gov.preflight.assessment.status-changed.v1' && data.status === 'INVITED') {
    void runAgency(submissionId, String(data.agencyId), deadline);
  } else if (type === 'gov.preflight.submission.status-changed.v1' && data.status === 'CLEARANCE_ISSUED') {
    void declareRelease(submissionId, deadline);
  } else if (type === 'gov.preflight.submission.status-changed.v1' && data.status === 'CLOSED') {
    void collectOutcome(submissionId, deadline);
  }
}

/** A committed consumer group of the suite's own, from the beginning of the topic (the broker is the suite's). */
async function consume(
  kafka: Kafka,
  topic: string,
  onMessage: (headers: Record<string, string>, value: string, producedAt: number) => void,
): Promise<Consumer> {
  // The same session timeout as the ingress and dispatcher: after a broker restart a consumer that rejoins as a new
  // member waits for its old self to expire, and the ledger must not see progress later than the processes make it.
  const consumer = kafka.consumer({
    groupId: `faults-ledger-${topic}`,
    allowAutoTopicCreation: false,
    sessionTimeout: 10_000,
    heartbeatInterval: 3000,
    retry: { initialRetryTime: 300, retries: 10, restartOnFailure: async () => !stopping },
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      let headers: Record<string, string>;
      try {
        headers = headersToStrings(message.headers);
      } catch {
        return;
      }
      onMessage(headers, message.value?.toString('utf8') ?? '', Number(message.timestamp));
    },
  });
  return consumer;
}

const PROGRESS_OF: Record<FaultKind, ProgressKind[]> = {
  worker: ['event'],
  temporal: ['reply', 'event'],
  kafka: ['event'],
  ingress: ['reply'],
  dispatcher: ['webhook'],
  receiver: ['webhook'],
};

async function runFault(fault: PlannedFault, deadline: number): Promise<void> {
  const target: Record<Exclude<FaultKind, 'receiver'>, Killable> = {
    worker: h!.worker,
    temporal: h!.temporal,
    kafka: h!.kafka,
    ingress: h!.ingress,
    dispatcher: h!.dispatcher,
  };
  const killedAt = Date.now();
  let restartedAt: number;
  if (fault.kind === 'receiver') {
    // A third of the stretch 500, a third 503, a third connection refused; then it answers 204 again.
    const third = Math.round(fault.downMs / 3);
    h!.receiver.script = [{ status: 500 }];
    await sleep(third);
    h!.receiver.script = [{ status: 503 }];
    await sleep(third);
    await h!.receiver.close();
    await sleep(fault.downMs - 2 * third);
    await h!.receiver.listen('127.0.0.1', h!.receiverPort);
    h!.receiver.script = [{ status: 204 }];
    restartedAt = Date.now();
  } else {
    const victim = target[fault.kind];
    await victim.kill9();
    await sleep(fault.downMs);
    restartedAt = Date.now();
    await retry(`restart ${fault.kind}`, () => victim.start(), { attempts: 5, deadline, delayMs: 2000 });
  }
  const record: FaultRecord = { kind: fault.kind, killedAt, restartedAt };
  ledger.faults.push(record);
  const limit = Math.min(deadline, restartedAt + RECOVERY_LIMIT_MS);
  // Progress that needs the restarted part: the worker publishes events, the ingress answers commands, the
  // dispatcher turns events into webhooks, the receiver applies them; Temporal and Kafka carry all of it.
  const signal = PROGRESS_OF[fault.kind];
  while (Date.now() < limit && !stopping) {
    const at = ledger.progressSince(
      restartedAt,
      signal,
      fault.kind === 'dispatcher' ? killedAt : fault.kind === 'kafka' || fault.kind === 'temporal' ? restartedAt : undefined,
    );
    if (at !== undefined) {
      record.recoveredAt = at;
      record.recoveryMs = at - restartedAt;
      break;
    }
    await sleep(250);
  }
  say(
    `${fault.kind}: killed ${new Date(killedAt).toISOString()}, down ${((restartedAt - killedAt) / 1000).toFixed(1)} s, recovered in ${record.recoveryMs === undefined ? 'NEVER' : `${(record.recoveryMs / 1000).toFixed(1)} s`}`,
  );
}

/** Counts the updates each command id applied in the assessment histories, and the grants in each submission's. */
async function readHistories(deadline: number): Promise<void> {
  const submissions = [...ledger.started];
  const work: Array<() => Promise<void>> = [];
  for (const submissionId of submissions) {
    work.push(async () => {
      const history = await retry(`history of ${submissionId}`, () => h!.client.workflow.getHandle(submissionWorkflowId(submissionId)).fetchHistory(), {
        deadline,
        attempts: 10,
      });
      const issued = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'grantAccess').length;
      const outcome = await endedOutcome(submissionId).catch(() => undefined);
      ledger.recordGrants(submissionId, issued, outcome?.revokedGrantIds ?? []);
    });
    for (const agencyId of agenciesOf.get(submissionId) ?? []) {
      work.push(async () => {
        const history = await retry(
          `history of ${agencyWorkflowId(submissionId, agencyId)}`,
          () => h!.client.workflow.getHandle(agencyWorkflowId(submissionId, agencyId)).fetchHistory(),
          {
            deadline,
            attempts: 10,
          },
        );
        const counts = new Map<string, number>();
        for (const e of history.events ?? []) {
          const updateId = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId;
          if (updateId) counts.set(updateId, (counts.get(updateId) ?? 0) + 1);
        }
        for (let i = 1; i <= agencySteps(submissionId, agencyId).length; i++) {
          const id = `${submissionId}.${agencyId}.${i}`;
          ledger.recordApplied(id, counts.get(id) ?? 0);
        }
      });
    }
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < work.length) await work[next++]!().catch((e: unknown) => say(`history: ${(e as Error).message}`));
    }),
  );
}

function figuresTable(f: Figures, runMs: number): string {
  const rows: Array<[string, string]> = [
    ['completed / started', `${f.completed} / ${f.started}`],
    ['lost', String(f.lost)],
    ['duplicate effects', String(f.duplicateEffects)],
    [
      'duplicate deliveries (counted)',
      `${f.duplicateDeliveries.total} (command resends ${f.duplicateDeliveries.commandResends}, Kafka event redeliveries ${f.duplicateDeliveries.kafkaEventRecords}, webhook redeliveries ${f.duplicateDeliveries.webhookAttempts})`,
    ],
    ['longest recovery', f.longestRecoveryMs === null ? 'n/a' : `${(f.longestRecoveryMs / 1000).toFixed(1)} s (${f.longestRecoveryFault})`],
    ...f.faults.map((x, i): [string, string] => [
      `fault ${i + 1}: ${x.kind}`,
      `recovered in ${x.recoveryMs === null ? 'never' : `${(x.recoveryMs / 1000).toFixed(1)} s`}`,
    ]),
    ['commands / applied', `${f.counts.commands} / ${f.counts.commandsApplied}`],
    ['status events (distinct)', String(f.counts.events)],
    ['webhook effects / attempts', `${f.counts.webhookEffects} / ${f.counts.webhookAttempts}`],
    ['grants issued / revoked', `${f.counts.grantsIssued} / ${f.counts.grantsRevoked}`],
    ['run time', `${(runMs / 1000).toFixed(0)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-faults-'));
  const agencies = agencyKeys(SIX_AGENCIES);
  const env: NodeJS.ProcessEnv = {
    PREFLIGHT_DATA_DIR: dataDir,
    PREFLIGHT_HOST: '127.0.0.1',
    PREFLIGHT_TEMPORAL_PORT: String(await freePort()),
    PREFLIGHT_KAFKA_PORT: String(await freePort()),
    PREFLIGHT_KAFKA_CONTROLLER_PORT: String(await freePort()),
    PREFLIGHT_KAFKA_SASL_PORT: String(await freePort()),
    PREFLIGHT_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
    PREFLIGHT_AGENCY_REGISTRY: agencies.writeFile(),
    PREFLIGHT_WEBHOOK_ALLOWLIST: '127.0.0.1/32',
    PREFLIGHT_TASK_QUEUE: 'faults',
    PREFLIGHT_LOG_LEVEL: 'warn',
    PREFLIGHT_STACK_START_TIMEOUT_MS: '120000',
  };
  const base = loadConfig(env);
  const { temporal, kafka } = await faultServers(base);
  processes.push(temporal, kafka);
  cleanupDir = dataDir;
  say(`data in ${dataDir}; starting the Temporal dev server and Kafka broker (persistent, unsupervised)`);
  await temporal.start();
  await kafka.start();
  const endpoints = { TEMPORAL_ADDRESS: temporal.address, KAFKA_BROKERS: kafka.address };
  const config = loadConfig({ ...env, ...endpoints });
  const setupDeadline = Date.now() + 180_000;
  // A broker that has just started can still answer "not the leader" for the topics it creates.
  await retry('the Kafka topics', () => prepareKafka(config, { kafkaBrokers: [kafka.address] }, logger), {
    deadline: setupDeadline,
    attempts: 20,
    delayMs: 2000,
  });

  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env, ...endpoints };
  const logs = path.join(dataDir, 'logs');
  const cli = path.join(root, 'bin', 'preflight.js');
  const worker = new PreflightProcess('worker', [cli, 'worker'], childEnv, path.join(logs, 'worker.log'));
  const ingress = new PreflightProcess('ingress', [cli, 'ingress'], childEnv, path.join(logs, 'ingress.log'));
  // The dispatcher's own code (runDispatcher) with the short retry schedule above; `preflight dispatcher` has no flag for it.
  const dispatcher = new PreflightProcess(
    'dispatcher',
    ['--import', 'tsx', path.join(root, 'test', 'helpers', 'webhook-process.ts'), 'dispatcher'],
    {
      ...childEnv,
      PF_WH_TEMPORAL: temporal.address,
      PF_WH_KAFKA: kafka.address,
      PF_WH_TASK_QUEUE: config.taskQueue,
      PF_WH_GROUP: 'preflight-dispatcher',
      PF_WH_POLICY: JSON.stringify(DELIVERY_POLICY),
    },
    path.join(logs, 'dispatcher.log'),
  );
  processes.unshift(dispatcher, ingress, worker);
  await Promise.all([worker.start(), ingress.start(), dispatcher.start()]);

  const client = await connectClient(config.temporal, temporal.address, deploymentDataConverter(config));
  const receiver = new Receiver([{ status: 204 }]);
  const receiverPort = await receiver.listen('127.0.0.1');
  const deadline = setupDeadline;
  // Registered as the api does (same registry workflow and update); the secret is derived the same way.
  const registry = await retry('the vendor registry', () => ensureVendorWorkflow(client, VENDOR, config.taskQueue), { deadline });
  await retry(
    'the webhook endpoint',
    () =>
      registry.executeUpdate(registerEndpointUpdate, {
        args: [{ endpointId: ENDPOINT, url: `http://127.0.0.1:${receiverPort}/hooks`, eventTypes: [...WEBHOOK_TYPES] }],
        updateId: `register-${ENDPOINT}`,
      }),
    { deadline, delayMs: 2000 },
  );
  const masterKey = Buffer.from(env.PREFLIGHT_MASTER_KEY!, 'base64');
  ledger.webhookSecret = deriveWebhookSecret(masterKey, ENDPOINT, 1);

  const kafkaClient = createKafka(config.kafka, logger, [kafka.address], 'faults');
  const producer = kafkaClient.producer();
  await retry("the agencies' producer", () => producer.connect(), { deadline, attempts: 20, delayMs: 2000 });
  h = {
    dataDir,
    config,
    temporal,
    kafka,
    worker,
    ingress,
    dispatcher,
    receiver,
    receiverPort,
    client,
    kafkaClient,
    producer,
    consumers: [],
    keys: agencies.keys,
  };
  say('stack, worker, ingress, dispatcher and receiver are up');
}, 300_000);

afterAll(async () => {
  stopping = true;
  for (const t of timers) clearInterval(t);
  if (h) {
    for (const c of h.consumers) await c.disconnect().catch(() => undefined);
    await h.producer.disconnect().catch(() => undefined);
    await h.client.connection.close().catch(() => undefined);
    await h.receiver.close().catch(() => undefined);
  }
  for (const p of processes) await p.stop().catch((e: unknown) => say(`stopping ${p.name}: ${(e as Error).message}`));
  const pids = processes.flatMap((p) => p.pids);
  const left = survivors(pids);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  expect(left).toEqual([]);
  if (cleanupDir && process.env.PREFLIGHT_FAULTS_KEEP_DATA !== 'true') fs.rmSync(cleanupDir, { recursive: true, force: true });
}, 120_000);

it(
  'completes every submission through kills and restarts: nothing lost, no effect twice',
  async () => {
    const runStarted = Date.now();
    const deadline = runStarted + RUN_DEADLINE_MS;
    const { kafkaClient } = h!;

    h!.consumers.push(
      await consume(kafkaClient, TOPICS.submissionEvents, (headers, value, producedAt) => {
        const sequence = Number(headers.ce_sequence);
        if (!headers.ce_id || !headers.ce_subject || !Number.isInteger(sequence)) return;
        if (!ledger.started.has(headers.ce_subject)) return;
        const known = ledger.events.has(headers.ce_id);
        ledger.eventConsumed({ id: headers.ce_id, subject: headers.ce_subject, sequence, type: headers.ce_type ?? '?', value, producedAt });
        if (!known) onStatusEvent(headers.ce_type ?? '', ledger.events.get(headers.ce_id)!.data, deadline);
      }),
      await consume(kafkaClient, TOPICS.agencyReplies, (headers, value) => {
        let data: { commandId?: string; code?: string };
        try {
          data = JSON.parse(value) as typeof data;
        } catch {
          return;
        }
        if (!data.commandId) return;
        ledger.replyReceived(data.commandId, headers.ce_type === REPLY_TYPES.accepted ? 'accepted' : 'rejected', data.code);
        for (const wake of replyWaiters.get(data.commandId) ?? []) wake();
        replyWaiters.delete(data.commandId);
      }),
    );
    timers.push(setInterval(() => ledger.ingestWebhooks(h!.receiver.requests), 250));

    const schedule = buildSchedule(SEED, { receiverFailMs: 20_000, gapMs: [3000, 8000], downMs: [1000, 3000] });
    say(describeSchedule(SEED, schedule));

    // Submissions start in batches, one before each fault and the last after it, so work is in flight during every
    // fault and its recovery whatever the machine's speed; within a batch they start at a steady pace.
    let nextSubmission = 0;
    const starts: Array<Promise<void>> = [];
    const startBatch = (count: number) =>
      starts.push(
        (async () => {
          const end = Math.min(SUBMISSIONS, nextSubmission + count);
          while (nextSubmission < end && Date.now() < deadline) {
            const t = Date.now();
            await startSubmission(nextSubmission++, deadline).catch((e: unknown) => say((e as Error).message));
            await sleep(Math.max(0, START_EVERY_MS - (Date.now() - t)));
          }
        })(),
      );
    const perBatch = Math.ceil(SUBMISSIONS / (schedule.length + 1));
    startBatch(perBatch);
    await retry(
      'first progress',
      async () => {
        if (ledger.progressSince(runStarted) === undefined) throw new Error('no progress yet');
      },
      { deadline, attempts: 600, delayMs: 500 },
    );
    for (const fault of schedule) {
      if (Date.now() > deadline) break;
      await sleep(fault.gapMs);
      startBatch(perBatch);
      await runFault(fault, deadline);
    }
    startBatch(SUBMISSIONS);
    await Promise.all(starts);
    say(`fault schedule done after ${((Date.now() - runStarted) / 1000).toFixed(0)} s; waiting for every submission to close`);

    while (Date.now() < deadline && [...ledger.started].some((id) => ledger.completed.get(id) === undefined)) await sleep(1000);
    // A CLOSED event consumed before a restart could have left its outcome unread: ask once more for every submission.
    await Promise.all([...ledger.started].filter((id) => !ledger.completed.has(id)).map((id) => collectOutcome(id, Math.min(deadline, Date.now() + 20_000))));
    // Webhooks still retrying (the receiver's failing stretch) get a bounded wait.
    const webhookDeadline = Math.min(deadline + 60_000, Date.now() + 120_000);
    const subscribed = () => [...ledger.events.entries()].filter(([, e]) => (WEBHOOK_TYPES as readonly string[]).includes(e.type));
    while (Date.now() < webhookDeadline && subscribed().some(([id]) => !ledger.webhooks.get(id)?.applied)) await sleep(1000);
    ledger.ingestWebhooks(h!.receiver.requests);
    await readHistories(Date.now() + 120_000);

    const runMs = Date.now() - runStarted;
    const figures = ledger.figures({ agenciesOf: (id) => agenciesOf.get(id) ?? [], webhookTypes: WEBHOOK_TYPES });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jest-preflight-faults-'));
    const file = path.join(dir, 'figures.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ seed: SEED, submissions: SUBMISSIONS, agenciesPerSubmission: AGENCIES_PER_SUBMISSION, schedule, runMs, ...figures }, null, 2),
    );
    say(`figures (also in ${file}):\n${figuresTable(figures, runMs)}`);
    if (figures.lostKeys.length > 0) say(`lost:\n  ${figures.lostKeys.join('\n  ')}`);
    if (figures.duplicateEffectKeys.length > 0) say(`duplicate effects:\n  ${figures.duplicateEffectKeys.join('\n  ')}`);

    expect(ledger.faults.filter((f) => f.kind === 'worker').length).toBeGreaterThanOrEqual(10);
    expect(ledger.faults.filter((f) => f.kind === 'temporal').length).toBe(3);
    expect(ledger.faults.filter((f) => f.kind === 'kafka').length).toBe(3);
    expect(figures.started).toBe(SUBMISSIONS);
    expect(figures.completed).toBe(SUBMISSIONS);
    expect(figures.lostKeys).toEqual([]);
    expect(figures.duplicateEffectKeys).toEqual([]);
    expect(figures.counts.commandsApplied).toBe(SUBMISSIONS * AGENCIES_PER_SUBMISSION * 4);
    expect(figures.faults.every((f) => f.recoveryMs !== null)).toBe(true);
  },
  28 * 60_000,
);
