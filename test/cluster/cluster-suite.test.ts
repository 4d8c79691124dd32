/**
 * The cluster suite (`npm run test:cluster`): Preflight on servers as operators run them, on loopback — a three-node
 * KRaft Kafka cluster (replication factor 3, min.insync.replicas=2), a Temporal server built from go.temporal.io/server
 * with its history, matching, frontend and worker services as separate processes over PostgreSQL, and two of each
 * Preflight process (worker, ingress, dispatcher, api). While submissions flow, it SIGKILLs the leader broker of the
 * command topic and then of the status topic, one instance of each Preflight process, and each Temporal service in
 * turn, restarting each. The fault suite's ledger proves every submission completed, nothing was lost and no effect
 * happened twice; the suite measures each fault's recovery time and how the two instances of each process shared the
 * work, prints the figures and writes them to a JSON file.
 *
 * Each party through its own interface: agencies send signed commands with their own Kafka (SCRAM) login; the vendor
 * registers its webhook endpoint and declares releases with its vendor key, through both api instances. Submissions
 * are started on Temporal directly, as in the fault suite, so that each can close seconds after its release (the api
 * starts them with the production settings, closing 14 days after release).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { KeyObject } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { buildAgencyCommand, produceAgencyMessage } from '../../events/agency-client';
import { agencyKafka, readAgencyKafkaLogin } from '../../events/agency-login';
import { REPLY_TYPES } from '../../events/catalog';
import { headersToStrings } from '../../events/envelope';
import { createKafka } from '../../events/kafka';
import { TOPICS } from '../../events/topics';
import { loadConfig, type Config } from '../../infra/config';
import { freePort, isAlive, sleep } from '../../infra/local-process';
import { createLogger } from '../../infra/logger';
import { connectClient, deploymentDataConverter, ensureSearchAttributes } from '../../infra/temporal';
import { agencyKafkaLoginFile } from '../../stack/dev-credentials';
import { startKafkaCluster, type KafkaCluster, type KafkaNode } from '../../stack/cluster/kafka-cluster';
import {
  clusterDataDir,
  freeLowPort,
  provisionPostgres,
  provisionTemporalServer,
  startTemporalCluster,
  TEMPORAL_SERVICES,
  type TemporalCluster,
  type TemporalService,
} from '../../stack/cluster/temporal-server';
import { prepareKafka } from '../../stack/kafka-setup';
import { provision } from '../../stack/provision';
import { hashSecret } from '../../workers/api/auth';
import { SA } from '../../workflows/shared/search-attributes';
import { DAY_MS } from '../../workflows/shared/time';
import { agencyWorkflowId, submissionWorkflowId, type SubmissionOutcome } from '../../workflows/submission/contract';
import { agencyKeys } from '../helpers/agency-events';
import { finding, SIX_AGENCIES, submissionInput } from '../helpers/lifecycle';
import { Receiver } from '../helpers/webhook-receiver';
import { Ledger, type FaultRecord, type ProgressKind } from '../faults/ledger';
import { survivors } from '../faults/stack';
import { ClusterProcess, type Role } from './processes';

const SUBMISSIONS = Number(process.env.PREFLIGHT_CLUSTER_SUBMISSIONS ?? 48);
const AGENCIES_PER_SUBMISSION = Number(process.env.PREFLIGHT_CLUSTER_AGENCIES ?? process.env.PREFLIGHT_FAULTS_AGENCIES ?? 6);
const VENDOR = 'vendor-acme';
const WEBHOOK_TYPES = ['gov.preflight.submission.status-changed.v1', 'gov.preflight.clearance.issued.v1'] as const;
/** From the first submission to the last check; the set-up (and a first Go build) comes on top. */
const RUN_DEADLINE_MS = 16 * 60_000;
const RESEND_AFTER_MS = [60_000, 120_000];
const MAX_SENDS = 12;
const RECOVERY_LIMIT_MS = 180_000;
const START_EVERY_MS = 500;
/** A killed broker stays down long enough to show the cluster carrying on without it; other parts come back sooner. */
const DOWN_MS = { kafka: 30_000, preflight: 5000, temporal: 5000 };
const GAP_MS = 5000;

const logger = createLogger({ level: 'silent' });
const root = path.resolve(__dirname, '..', '..');
const say = (line: string) => process.stderr.write(`[cluster] ${line}\n`);

type FaultKind = `kafka-leader:${string}` | Role | `temporal-${TemporalService}`;
interface ClusterFault extends FaultRecord {
  kind: FaultKind;
  /** Which process died (`kafka-2`, `worker-1`, `temporal-history`). */
  victim: string;
  /**
   * Kill → first progress that began after the kill: for a broker, its partitions written again (see
   * `partitionsResumed`); for the others, a reply, status event, webhook or vendor call that needed the killed kind.
   */
  recoveryFromKillMs?: number;
  /** A broker's kill: the partitions it led, and when each topic's were written again. */
  led?: Led;
  commandsResumedMs?: number;
  eventsResumedMs?: number;
}

interface Harness {
  dataDir: string;
  config: Config;
  temporal: TemporalCluster;
  kafka: KafkaCluster;
  processes: ClusterProcess[];
  apiUrls: string[];
  receiver: Receiver;
  client: Client;
  observer: Kafka;
  producers: Record<string, Producer>;
  consumers: Consumer[];
  keys: Record<string, KeyObject>;
  vendorKey: string;
}

let h: Harness | undefined;
const ledger = new Ledger();
const faults: ClusterFault[] = [];
const agenciesOf = new Map<string, string[]>();
/** Cleanup for everything started, registered as it starts so a failed set-up still stops it all. */
const started: { temporal?: TemporalCluster; kafkaNodes: KafkaNode[]; processes: ClusterProcess[]; dataDir?: string } = { kafkaNodes: [], processes: [] };
let stopping = false;
const timers: NodeJS.Timeout[] = [];
/** Vendor calls answered 2xx, and through which api. */
const vendorCalls: Array<{ at: number; api: number }> = [];
/** Agency commands acknowledged by Kafka (acks=all), and status events consumed, by partition. */
const commandWrites: Array<{ at: number; partition: number }> = [];
const eventRecords: Array<{ at: number; partition: number; producedAt: number }> = [];

async function retry<T>(what: string, fn: () => Promise<T>, options: { attempts?: number; delayMs?: number; deadline: number }): Promise<T> {
  let last: unknown;
  for (let i = 0; i < (options.attempts ?? 120) && Date.now() < options.deadline && !stopping; i++) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      await sleep(options.delayMs ?? 1000);
    }
  }
  throw new Error(`${what} did not succeed: ${(last as Error | undefined)?.message ?? 'deadline'}`);
}

/**
 * A vendor call with the vendor key, sent to the two api instances in turn (as a load balancer would), and to the
 * other one when the first does not answer.
 */
let nextApi = 0;
async function vendorCall(method: string, pathname: string, body: unknown, idempotencyKey?: string): Promise<unknown> {
  const first = nextApi++ % h!.apiUrls.length;
  let lastError = '';
  for (const index of [first, (first + 1) % h!.apiUrls.length]) {
    try {
      const response = await fetch(`${h!.apiUrls[index]}${pathname}`, {
        method,
        headers: {
          authorization: `Bearer ${h!.vendorKey}`,
          'content-type': 'application/json',
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      if (response.ok) {
        vendorCalls.push({ at: Date.now(), api: index });
        return text ? JSON.parse(text) : undefined;
      }
      lastError = `${response.status} ${text.slice(0, 300)}`;
      if (response.status < 500) break;
    } catch (e) {
      lastError = (e as Error).message;
    }
  }
  throw new Error(`${method} ${pathname}: ${lastError}`);
}

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

/** An agency: each command signed with its key and sent with its own Kafka login, resent (same ce_id) until answered. */
async function runAgency(submissionId: string, agencyId: string, deadline: number): Promise<void> {
  const steps = agencySteps(submissionId, agencyId);
  for (const [index, step] of steps.entries()) {
    const id = `${submissionId}.${agencyId}.${index + 1}`;
    let answered = false;
    for (let send = 0; send < MAX_SENDS && !answered && Date.now() < deadline && !stopping; send++) {
      const message = buildAgencyCommand({ agencyId, type: step.type, subject: submissionId, data: step.data, id }, h!.keys[agencyId]!);
      ledger.commandSent(id, { submissionId, agencyId, type: step.type });
      try {
        const { partition } = await produceAgencyMessage(h!.producers[agencyId]!, message);
        commandWrites.push({ at: Date.now(), partition });
      } catch {
        await sleep(2000);
        continue;
      }
      answered = await waitForReply(id, RESEND_AFTER_MS[Math.min(send, RESEND_AFTER_MS.length - 1)]!);
    }
    const c = ledger.commands.get(id)!;
    if (c.accepted === 0) {
      if (index === steps.length - 1 && c.rejected.some((r) => r.code === 'ended')) return;
      say(`agency ${agencyId} on ${submissionId}: ${step.type} not accepted (${c.rejected.map((r) => r.code).join(',') || 'no reply'})`);
      return;
    }
  }
}

async function startSubmission(index: number, deadline: number): Promise<void> {
  const submissionId = `cl-${String(index).padStart(3, '0')}-${crypto.randomBytes(3).toString('hex')}`;
  const agencies = Array.from({ length: AGENCIES_PER_SUBMISSION }, (_, k) => SIX_AGENCIES[(index * AGENCIES_PER_SUBMISSION + k) % SIX_AGENCIES.length]!);
  agenciesOf.set(submissionId, agencies);
  const input = submissionInput(Date.now(), 21, {
    submissionId,
    vendorId: VENDOR,
    requestedAgencies: agencies,
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
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      }
    },
    { deadline },
  );
  ledger.started.add(submissionId);
}

const released = new Set<string>();

/**
 * The vendor declares the release through the api, retrying with the same Idempotency-Key until it is answered or the
 * submission is announced RELEASED (an api killed mid-request leaves its key "in use" for up to two minutes, while the
 * command it sent may well have been applied).
 */
async function declareRelease(submissionId: string, deadline: number): Promise<void> {
  await retry(
    `declare the release of ${submissionId}`,
    async () => {
      if (released.has(submissionId)) return;
      await vendorCall('POST', `/v1/submissions/${submissionId}/release`, {}, `release-${submissionId}`);
    },
    { deadline, delayMs: 2000 },
  ).catch((e: unknown) => say(`release of ${submissionId}: ${(e as Error).message}`));
}

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
  // The vendor reads its closed submission through the api, as it would.
  await vendorCall('GET', `/v1/submissions/${submissionId}`, undefined).catch(() => undefined);
}

function onStatusEvent(type: string, data: Record<string, unknown>, deadline: number): void {
  const submissionId = String(data.submissionId);
  if (!ledger.started.has(submissionId)) return;
  if (type === 'gov.preflight.assessment.status-changed.v1' && data.status === 'INVITED') void runAgency(submissionId, String(data.agencyId), deadline);
  else if (type === 'gov.preflight.submission.status-changed.v1' && data.status === 'CLEARANCE_ISSUED') void declareRelease(submissionId, deadline);
  else if (type === 'gov.preflight.submission.status-changed.v1' && data.status === 'RELEASED') released.add(submissionId);
  else if (type === 'gov.preflight.submission.status-changed.v1' && data.status === 'CLOSED') void collectOutcome(submissionId, deadline);
}

/** The suite's own observer group on the internal listener (it watches; it is no party). */
async function consume(
  kafka: Kafka,
  topic: string,
  onMessage: (headers: Record<string, string>, value: string, producedAt: number, partition: number) => void,
): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId: `cluster-ledger-${topic}`,
    allowAutoTopicCreation: false,
    sessionTimeout: 10_000,
    heartbeatInterval: 3000,
    retry: { initialRetryTime: 300, retries: 10, restartOnFailure: async () => !stopping },
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      let headers: Record<string, string>;
      try {
        headers = headersToStrings(message.headers);
      } catch {
        return;
      }
      onMessage(headers, message.value?.toString('utf8') ?? '', Number(message.timestamp), partition);
    },
  });
  return consumer;
}

/** Partitions of the command and status topics a broker leads. */
interface Led {
  commands: number[];
  events: number[];
}

/** The broker leading the most partitions of `topic` (a tie goes to the lowest node id), and what it leads. */
async function leaderOf(topic: string): Promise<{ node: KafkaNode; led: Led }> {
  const admin = h!.observer.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [TOPICS.agencyCommands, TOPICS.submissionEvents] });
    const partitions = (name: string) => topics.find((t) => t.name === name)?.partitions ?? [];
    const counts = new Map<number, number>();
    for (const p of partitions(topic)) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
    const [leader] = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] ?? [];
    const node = h!.kafka.nodes.find((n) => n.nodeId === leader);
    if (!node) throw new Error(`no leader for ${topic}`);
    const ledBy = (name: string) =>
      partitions(name)
        .filter((p) => p.leader === leader)
        .map((p) => p.partitionId);
    return { node, led: { commands: ledBy(TOPICS.agencyCommands), events: ledBy(TOPICS.submissionEvents) } };
  } finally {
    await admin.disconnect();
  }
}

/**
 * After a leader broker's kill: when its partitions were written again (an agency command acknowledged by all in-sync
 * replicas on a partition it led; a status event produced after the kill and consumed from a partition it led).
 */
function partitionsResumed(led: Led, killedAt: number): { commandsMs?: number; eventsMs?: number; bothMs?: number } {
  const commands = led.commands.length === 0 ? killedAt : commandWrites.find((w) => w.at >= killedAt && led.commands.includes(w.partition))?.at;
  const events = led.events.length === 0 ? killedAt : eventRecords.find((e) => e.producedAt >= killedAt && led.events.includes(e.partition))?.at;
  return {
    ...(commands !== undefined && led.commands.length > 0 ? { commandsMs: commands - killedAt } : {}),
    ...(events !== undefined && led.events.length > 0 ? { eventsMs: events - killedAt } : {}),
    ...(commands !== undefined && events !== undefined ? { bothMs: Math.max(commands, events) - killedAt } : {}),
  };
}

/** Waits until every partition of Preflight's topics has all three replicas in sync again (bounded). */
async function waitForFullIsr(deadline: number): Promise<void> {
  await retry(
    'in-sync replicas',
    async () => {
      const admin = h!.observer.admin();
      await admin.connect();
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [TOPICS.agencyCommands, TOPICS.submissionEvents, TOPICS.agencyReplies] });
        const short = topics.flatMap((t) => t.partitions.filter((p) => p.isr.length < h!.kafka.nodes.length).map((p) => `${t.name}/${p.partitionId}`));
        if (short.length > 0) throw new Error(`under-replicated: ${short.join(', ')}`);
      } finally {
        await admin.disconnect();
      }
    },
    { deadline, attempts: 90, delayMs: 2000 },
  );
}

/** Progress begun after `since`: a reply, a status event, a webhook, or a vendor call answered. */
function progressAfter(since: number, kinds: readonly ProgressKind[], vendor: boolean): number | undefined {
  const ledgerAt = ledger.progressSince(since, kinds, since);
  const vendorAt = vendor ? vendorCalls.find((c) => c.at >= since)?.at : undefined;
  const all = [ledgerAt, vendorAt].filter((x): x is number => x !== undefined);
  return all.length > 0 ? Math.min(...all) : undefined;
}

const PROGRESS: Record<string, { kinds: ProgressKind[]; vendor: boolean }> = {
  kafka: { kinds: ['reply', 'event'], vendor: false },
  worker: { kinds: ['event'], vendor: false },
  ingress: { kinds: ['reply'], vendor: false },
  dispatcher: { kinds: ['webhook'], vendor: false },
  api: { kinds: [], vendor: true },
  temporal: { kinds: ['reply', 'event'], vendor: false },
};

type Victim = { name: string; kill9(): Promise<void>; start(): Promise<void> };

async function runFault(kind: FaultKind, target: { victim: Victim; led?: Led }, downMs: number, deadline: number): Promise<void> {
  const { victim, led } = target;
  const killedAt = Date.now();
  await victim.kill9();
  const record: ClusterFault = { kind, victim: victim.name, killedAt, restartedAt: killedAt, ...(led ? { led } : {}) };
  faults.push(record);
  const progress = PROGRESS[kind.startsWith('kafka') ? 'kafka' : kind.startsWith('temporal') ? 'temporal' : kind]!;
  const watch = (async () => {
    while (Date.now() < Math.min(deadline, killedAt + RECOVERY_LIMIT_MS) && !stopping) {
      if (led) {
        const resumed = partitionsResumed(led, killedAt);
        if (resumed.commandsMs !== undefined) record.commandsResumedMs = resumed.commandsMs;
        if (resumed.eventsMs !== undefined) record.eventsResumedMs = resumed.eventsMs;
        if (resumed.bothMs !== undefined) {
          record.recoveryFromKillMs = resumed.bothMs;
          return;
        }
      } else {
        const at = progressAfter(killedAt, progress.kinds, progress.vendor);
        if (at !== undefined) {
          record.recoveryFromKillMs = at - killedAt;
          return;
        }
      }
      await sleep(200);
    }
  })();
  await sleep(downMs);
  record.restartedAt = Date.now();
  await retry(`restart ${victim.name}`, () => victim.start(), { attempts: 5, deadline, delayMs: 2000 });
  await watch;
  if (record.recoveryFromKillMs !== undefined) {
    record.recoveredAt = killedAt + record.recoveryFromKillMs;
    record.recoveryMs = Math.max(0, record.recoveredAt - record.restartedAt);
  }
  say(
    `${kind} (${victim.name}): down ${((record.restartedAt - killedAt) / 1000).toFixed(1)} s, progress resumed ${
      record.recoveryFromKillMs === undefined ? 'NEVER' : `${(record.recoveryFromKillMs / 1000).toFixed(1)} s after the kill`
    }`,
  );
}

beforeAll(async () => {
  const dataDir = clusterDataDir();
  started.dataDir = dataDir;
  const host = '127.0.0.1';
  const agencies = agencyKeys(SIX_AGENCIES);
  const vendorKey = `pfv_${crypto.randomBytes(32).toString('base64url')}`;
  fs.writeFileSync(
    path.join(dataDir, 'vendor-keys.json'),
    JSON.stringify({ version: 1, keys: [{ vendorId: VENDOR, keyId: 'cluster-suite', sha256: hashSecret(vendorKey) }] }),
  );
  const env: NodeJS.ProcessEnv = {
    PREFLIGHT_DATA_DIR: dataDir,
    PREFLIGHT_HOST: host,
    PREFLIGHT_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
    PREFLIGHT_AGENCY_REGISTRY: agencies.writeFile(),
    PREFLIGHT_WEBHOOK_ALLOWLIST: '127.0.0.1/32',
    PREFLIGHT_TASK_QUEUE: 'cluster',
    PREFLIGHT_LOG_LEVEL: 'warn',
    PREFLIGHT_TOPIC_REPLICATION: '3',
    // The broker version the operator asked for (README: 3.9.2 by default, or 4.4.0).
    PREFLIGHT_KAFKA_VERSION: process.env.PREFLIGHT_KAFKA_VERSION,
  };
  const base = loadConfig(env);
  const setupStarted = Date.now();
  const binaries = await provisionTemporalServer(base.stack.cacheDir, say);
  const postgresBin = provisionPostgres(say);
  const provisioned = await provision({ cacheDir: base.stack.cacheDir, kafka: true, kafkaVersion: base.stack.kafkaVersion, progress: say });

  const membership = { history: await freeLowPort(), matching: await freeLowPort(), frontend: await freeLowPort(), worker: await freeLowPort() };
  const temporalPorts = {
    postgres: await freeLowPort(),
    frontend: await freeLowPort(),
    frontendHttp: await freeLowPort(),
    history: await freeLowPort(),
    matching: await freeLowPort(),
    worker: await freeLowPort(),
    membership,
  };
  say(`data in ${dataDir}; starting PostgreSQL and the Temporal server's four services`);
  const temporal = await startTemporalCluster({
    binaries,
    postgresBin,
    dir: dataDir,
    host,
    ports: temporalPorts,
    namespace: base.temporal.namespace,
    say,
    onStarted: (cluster) => (started.temporal = cluster),
    prepareNamespace: async (address) => {
      const client = await connectClient(base.temporal, address);
      try {
        await ensureSearchAttributes(client, base.temporal.namespace, Object.values(SA));
      } finally {
        await client.connection.close();
      }
    },
  });
  const kafkaPorts = [];
  for (let i = 0; i < 3; i++) kafkaPorts.push({ port: await freePort(), saslPort: await freePort(), controllerPort: await freePort() });
  let t = Date.now();
  const kafka = await startKafkaCluster({
    stack: base.stack,
    kafka: provisioned.kafka!,
    dir: dataDir,
    ports: kafkaPorts,
    onNode: (n) => started.kafkaNodes.push(n),
  });
  say(`Kafka ${provisioned.kafka!.version} cluster ready in ${((Date.now() - t) / 1000).toFixed(1)} s: ${kafka.brokers.join(', ')}`);

  const endpoints = { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_HTTP_ADDRESS: temporal.httpUrl, KAFKA_BROKERS: kafka.brokers.join(',') };
  const config = loadConfig({ ...env, ...endpoints });
  const setupDeadline = Date.now() + 300_000;
  await retry(
    'the Kafka topics, agency principals and ACLs',
    () =>
      prepareKafka(
        config,
        { kafkaBrokers: kafka.brokers, localKafka: { saslBrokers: kafka.saslBrokers, libDir: provisioned.kafka!.libDir, markerFile: kafka.markerFile } },
        logger,
      ),
    { deadline: setupDeadline, attempts: 20, delayMs: 2000 },
  );

  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env, ...endpoints };
  const logs = path.join(dataDir, 'logs');
  const cli = path.join(root, 'bin', 'preflight.js');
  const processes: ClusterProcess[] = [];
  const apiUrls: string[] = [];
  for (const role of ['worker', 'ingress', 'dispatcher', 'api'] as const) {
    for (const instance of [1, 2]) {
      const metricsPort = await freePort();
      const own: NodeJS.ProcessEnv = {};
      const urls: { metrics: string; temporalMetrics?: string } = { metrics: `http://${host}:${metricsPort}/metrics` };
      if (role === 'api') {
        own.PREFLIGHT_API_PORT = String(metricsPort);
        apiUrls.push(`http://${host}:${metricsPort}`);
      } else own.PREFLIGHT_METRICS_PORT = String(metricsPort);
      if (role === 'worker') {
        const temporalMetricsPort = await freePort();
        own.PREFLIGHT_TEMPORAL_METRICS_PORT = String(temporalMetricsPort);
        urls.temporalMetrics = `http://${host}:${temporalMetricsPort}/metrics`;
      }
      const p = new ClusterProcess(role, instance, [cli, role], { ...childEnv, ...own }, path.join(logs, `${role}-${instance}.log`), urls);
      processes.push(p);
      started.processes.push(p);
    }
  }
  t = Date.now();
  await Promise.all(processes.map((p) => p.start()));
  // Each api answers /readyz once it reaches Temporal and Kafka.
  for (const url of apiUrls) {
    await retry(
      `${url}/readyz`,
      async () => {
        const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3000) });
        if (!r.ok) throw new Error(String(r.status));
      },
      { deadline: setupDeadline, attempts: 150, delayMs: 1000 },
    );
  }
  say(`two of each Preflight process up in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  const client = await connectClient(config.temporal, temporal.address, deploymentDataConverter(config));
  const receiver = new Receiver([{ status: 204 }]);
  const receiverPort = await receiver.listen(host);
  const observer = createKafka(config.kafka, logger, kafka.brokers, 'cluster-observer');
  const producers: Record<string, Producer> = {};
  for (const agencyId of SIX_AGENCIES) {
    const login = readAgencyKafkaLogin(agencyKafkaLoginFile(dataDir, agencyId));
    const producer = agencyKafka(login, logger).producer({ allowAutoTopicCreation: false });
    await retry(`${agencyId}'s producer`, () => producer.connect(), { deadline: setupDeadline, attempts: 20, delayMs: 2000 });
    producers[agencyId] = producer;
  }
  h = { dataDir, config, temporal, kafka, processes, apiUrls, receiver, client, observer, producers, consumers: [], keys: agencies.keys, vendorKey };
  // The vendor registers its endpoint with its key and keeps the signing secret the api hands back once.
  const endpoint = (await retry(
    'the webhook endpoint',
    () => vendorCall('POST', '/v1/webhook-endpoints', { url: `http://${host}:${receiverPort}/hooks`, eventTypes: [...WEBHOOK_TYPES] }, 'cluster-endpoint'),
    { deadline: setupDeadline, delayMs: 2000, attempts: 30 },
  )) as { secret: string };
  ledger.webhookSecret = endpoint.secret;
  say(`cluster up in ${((Date.now() - setupStarted) / 1000).toFixed(0)} s (including provisioning)`);
}, 900_000);

afterAll(async () => {
  stopping = true;
  for (const timer of timers) clearInterval(timer);
  if (h) {
    for (const c of h.consumers) await c.disconnect().catch(() => undefined);
    for (const p of Object.values(h.producers)) await p.disconnect().catch(() => undefined);
    await h.client.connection.close().catch(() => undefined);
    await h.receiver.close().catch(() => undefined);
  }
  for (const p of started.processes) await p.stop().catch((e: unknown) => say(`stopping ${p.name}: ${(e as Error).message}`));
  for (const n of [...started.kafkaNodes].reverse()) await n.stop().catch((e: unknown) => say(`stopping ${n.name}: ${(e as Error).message}`));
  await started.temporal?.stop().catch((e: unknown) => say(`stopping Temporal: ${(e as Error).message}`));
  const pids = [
    ...started.processes.flatMap((p) => p.pids),
    ...started.kafkaNodes.flatMap((n) => n.pids),
    ...(started.temporal ? TEMPORAL_SERVICES.flatMap((s) => started.temporal!.services[s].pids) : []),
  ];
  const left = survivors(pids);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  // pg_ctl stop removed the pid file; one still there names a postmaster that did not stop.
  const postmaster = started.temporal?.postgres.pid();
  if (postmaster !== undefined && isAlive(postmaster)) {
    left.push(postmaster);
    process.kill(postmaster, 'SIGKILL');
  }
  if (started.dataDir && process.env.PREFLIGHT_CLUSTER_KEEP_DATA !== 'true') fs.rmSync(started.dataDir, { recursive: true, force: true });
  expect(left).toEqual([]);
}, 300_000);

it(
  'completes every submission on a three-broker Kafka and a four-service Temporal server through kills of each part',
  async () => {
    const runStarted = Date.now();
    const deadline = runStarted + RUN_DEADLINE_MS;
    h!.consumers.push(
      await consume(h!.observer, TOPICS.submissionEvents, (headers, value, producedAt, partition) => {
        eventRecords.push({ at: Date.now(), partition, producedAt });
        const sequence = Number(headers.ce_sequence);
        if (!headers.ce_id || !headers.ce_subject || !Number.isInteger(sequence)) return;
        if (!ledger.started.has(headers.ce_subject)) return;
        const known = ledger.events.has(headers.ce_id);
        ledger.eventConsumed({ id: headers.ce_id, subject: headers.ce_subject, sequence, type: headers.ce_type ?? '?', value, producedAt });
        if (!known) onStatusEvent(headers.ce_type ?? '', ledger.events.get(headers.ce_id)!.data, deadline);
      }),
      await consume(h!.observer, TOPICS.agencyReplies, (headers, value) => {
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
    timers.push(setInterval(() => void Promise.all(h!.processes.map((p) => p.scrape())), 3000));
    // The vendor looks at one of its submissions every second, through the two apis in turn.
    let polled = 0;
    timers.push(
      setInterval(() => {
        const ids = [...ledger.started];
        if (ids.length > 0) void vendorCall('GET', `/v1/submissions/${ids[polled++ % ids.length]}`, undefined).catch(() => undefined);
      }, 1000),
    );

    const instance = (role: Role, n: number) => h!.processes.find((p) => p.role === role && p.instance === n)!;
    const broker = async (topic: string) => {
      const { node, led } = await leaderOf(topic);
      return { victim: node, led };
    };
    const plan: Array<{ kind: FaultKind; downMs: number; target: () => Promise<{ victim: Victim; led?: Led }> }> = [
      { kind: 'kafka-leader:commands', downMs: DOWN_MS.kafka, target: () => broker(TOPICS.agencyCommands) },
      { kind: 'worker', downMs: DOWN_MS.preflight, target: async () => ({ victim: instance('worker', 1) }) },
      { kind: 'temporal-history', downMs: DOWN_MS.temporal, target: async () => ({ victim: h!.temporal.services.history }) },
      { kind: 'ingress', downMs: DOWN_MS.preflight, target: async () => ({ victim: instance('ingress', 2) }) },
      { kind: 'kafka-leader:events', downMs: DOWN_MS.kafka, target: () => broker(TOPICS.submissionEvents) },
      { kind: 'temporal-matching', downMs: DOWN_MS.temporal, target: async () => ({ victim: h!.temporal.services.matching }) },
      { kind: 'dispatcher', downMs: DOWN_MS.preflight, target: async () => ({ victim: instance('dispatcher', 1) }) },
      { kind: 'temporal-frontend', downMs: DOWN_MS.temporal, target: async () => ({ victim: h!.temporal.services.frontend }) },
      { kind: 'api', downMs: DOWN_MS.preflight, target: async () => ({ victim: instance('api', 2) }) },
      { kind: 'temporal-worker', downMs: DOWN_MS.temporal, target: async () => ({ victim: h!.temporal.services.worker }) },
    ];
    say(`${SUBMISSIONS} submissions, ${AGENCIES_PER_SUBMISSION} agencies each; faults in order: ${plan.map((f) => f.kind).join(', ')}`);

    let nextSubmission = 0;
    const starts: Array<Promise<void>> = [];
    const startBatch = (count: number) =>
      starts.push(
        (async () => {
          const end = Math.min(SUBMISSIONS, nextSubmission + count);
          while (nextSubmission < end && Date.now() < deadline) {
            const t0 = Date.now();
            await startSubmission(nextSubmission++, deadline).catch((e: unknown) => say((e as Error).message));
            await sleep(Math.max(0, START_EVERY_MS - (Date.now() - t0)));
          }
        })(),
      );
    const perBatch = Math.ceil(SUBMISSIONS / (plan.length + 1));
    startBatch(perBatch);
    await retry(
      'first progress',
      async () => {
        if (ledger.progressSince(runStarted, ['reply']) === undefined) throw new Error('no reply yet');
      },
      { deadline, attempts: 600, delayMs: 500 },
    );
    for (const fault of plan) {
      if (Date.now() > deadline) break;
      await sleep(GAP_MS);
      startBatch(perBatch);
      // Agencies are mid-way through their commands when the fault hits.
      await retry('work in flight', async () => (ledger.progressSince(Date.now() - 3000) === undefined ? Promise.reject(new Error('idle')) : undefined), {
        deadline,
        attempts: 120,
        delayMs: 500,
      }).catch(() => undefined);
      await runFault(fault.kind, await retry(`find the ${fault.kind} victim`, fault.target, { deadline, attempts: 30, delayMs: 2000 }), fault.downMs, deadline);
      if (fault.kind.startsWith('kafka')) await waitForFullIsr(deadline).catch((e: unknown) => say((e as Error).message));
    }
    startBatch(SUBMISSIONS);
    await Promise.all(starts);
    say(`faults done after ${((Date.now() - runStarted) / 1000).toFixed(0)} s; waiting for every submission to close`);

    while (Date.now() < deadline && [...ledger.started].some((id) => ledger.completed.get(id) === undefined)) await sleep(1000);
    await Promise.all([...ledger.started].filter((id) => !ledger.completed.has(id)).map((id) => collectOutcome(id, Math.min(deadline, Date.now() + 20_000))));
    const webhookDeadline = Date.now() + 120_000;
    const subscribed = () => [...ledger.events.entries()].filter(([, e]) => (WEBHOOK_TYPES as readonly string[]).includes(e.type));
    while (Date.now() < webhookDeadline && subscribed().some(([id]) => !ledger.webhooks.get(id)?.applied)) await sleep(1000);
    ledger.ingestWebhooks(h!.receiver.requests);
    await readHistories(Date.now() + 120_000);
    await Promise.all(h!.processes.map((p) => p.scrape()));

    const runMs = Date.now() - runStarted;
    const figures = ledger.figures({ agenciesOf: (id) => agenciesOf.get(id) ?? [], webhookTypes: WEBHOOK_TYPES });
    const workShared: Record<string, Record<string, Record<string, number>>> = {};
    for (const p of h!.processes) (workShared[p.role] ??= {})[p.name] = p.work();
    const vendorCallsPerApi = h!.apiUrls.map((_, i) => vendorCalls.filter((c) => c.api === i).length);
    const faultFigures = faults.map((f) => ({
      kind: f.kind,
      victim: f.victim,
      downMs: f.restartedAt - f.killedAt,
      progressAfterKillMs: f.recoveryFromKillMs ?? null,
      progressAfterRestartMs: f.recoveryMs ?? null,
      ...(f.led ? { ledPartitions: f.led, commandWritesResumedMs: f.commandsResumedMs ?? null, statusEventsResumedMs: f.eventsResumedMs ?? null } : {}),
    }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jest-preflight-cluster-'));
    const file = path.join(dir, 'figures.json');
    const kafkaVersion = h!.config.stack.kafkaVersion;
    fs.writeFileSync(
      file,
      JSON.stringify(
        {
          submissions: SUBMISSIONS,
          agenciesPerSubmission: AGENCIES_PER_SUBMISSION,
          kafkaVersion,
          temporalServer: 'go.temporal.io/server v1.32.0 (history, matching, frontend, worker) over PostgreSQL',
          runMs,
          completed: figures.completed,
          started: figures.started,
          lost: figures.lost,
          duplicateEffects: figures.duplicateEffects,
          duplicateDeliveries: figures.duplicateDeliveries,
          counts: figures.counts,
          faults: faultFigures,
          workShared,
          vendorCallsPerApi,
          lostKeys: figures.lostKeys,
          duplicateEffectKeys: figures.duplicateEffectKeys,
        },
        null,
        2,
      ),
    );
    const rows: Array<[string, string]> = [
      ['completed / started', `${figures.completed} / ${figures.started}`],
      ['lost', String(figures.lost)],
      ['duplicate effects', String(figures.duplicateEffects)],
      [
        'duplicate deliveries (counted)',
        `${figures.duplicateDeliveries.total} (command resends ${figures.duplicateDeliveries.commandResends}, Kafka event redeliveries ${figures.duplicateDeliveries.kafkaEventRecords}, webhook redeliveries ${figures.duplicateDeliveries.webhookAttempts})`,
      ],
      ...faultFigures.map((f): [string, string] => [
        `${f.kind} (${f.victim}${f.ledPartitions ? `, leader of commands ${f.ledPartitions.commands.join(',') || '-'} events ${f.ledPartitions.events.join(',') || '-'}` : ''})`,
        `down ${(f.downMs / 1000).toFixed(1)} s; progress ${
          f.progressAfterKillMs === null
            ? 'never resumed'
            : `${(f.progressAfterKillMs / 1000).toFixed(1)} s after the kill${f.progressAfterKillMs > f.downMs ? ` (${(f.progressAfterRestartMs! / 1000).toFixed(1)} s after the restart)` : ' (while it was down)'}`
        }`,
      ]),
      ...Object.entries(workShared).map(([role, byInstance]): [string, string] => [
        `work shared: ${role}`,
        Object.entries(byInstance)
          .map(
            ([name, w]) =>
              `${name} ${Object.entries(w)
                .map(([k, v]) => `${k}=${Math.round(v)}`)
                .join(' ')}`,
          )
          .join(' | '),
      ]),
      ['vendor calls per api', vendorCallsPerApi.join(' / ')],
      ['commands / applied', `${figures.counts.commands} / ${figures.counts.commandsApplied}`],
      ['status events (distinct)', String(figures.counts.events)],
      ['webhook effects / attempts', `${figures.counts.webhookEffects} / ${figures.counts.webhookAttempts}`],
      ['Kafka version', kafkaVersion],
      ['run time (after set-up)', `${(runMs / 1000).toFixed(0)} s`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    say(`figures (also in ${file}):\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}`);
    if (figures.lostKeys.length > 0) say(`lost:\n  ${figures.lostKeys.join('\n  ')}`);
    if (figures.duplicateEffectKeys.length > 0) say(`duplicate effects:\n  ${figures.duplicateEffectKeys.join('\n  ')}`);

    expect(faults.map((f) => f.kind)).toEqual(plan.map((f) => f.kind));
    expect(figures.started).toBe(SUBMISSIONS);
    expect(figures.completed).toBe(SUBMISSIONS);
    expect(figures.lostKeys).toEqual([]);
    expect(figures.duplicateEffectKeys).toEqual([]);
    expect(figures.counts.commandsApplied).toBe(SUBMISSIONS * AGENCIES_PER_SUBMISSION * 4);
    expect(faults.every((f) => f.recoveryFromKillMs !== undefined)).toBe(true);
    // A broker's kill is no outage: the partitions it led are written again while it is still down.
    for (const f of faults.filter((x) => x.led))
      expect({ fault: f.kind, resumedWhileDown: f.recoveryFromKillMs! < f.restartedAt - f.killedAt }).toEqual({ fault: f.kind, resumedWhileDown: true });
    // Both instances of each process did some of the work.
    for (const [role, byInstance] of Object.entries(workShared)) {
      for (const [name, w] of Object.entries(byInstance)) {
        expect({ role, name, work: Object.values(w).reduce((a, b) => a + b, 0) > 0 }).toEqual({ role, name, work: true });
      }
    }
    expect(vendorCallsPerApi.every((n) => n > 0)).toBe(true);
  },
  28 * 60_000,
);

/** Counts the updates each command id applied in the assessment histories, and the grants in each submission's. */
async function readHistories(deadline: number): Promise<void> {
  const work: Array<() => Promise<void>> = [];
  for (const submissionId of ledger.started) {
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
          { deadline, attempts: 10 },
        );
        const counts = new Map<string, number>();
        for (const e of history.events ?? []) {
          const updateId = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId;
          if (updateId) counts.set(updateId, (counts.get(updateId) ?? 0) + 1);
        }
        for (let i = 1; i <= agencySteps(submissionId, agencyId).length; i++)
          ledger.recordApplied(`${submissionId}.${agencyId}.${i}`, counts.get(`${submissionId}.${agencyId}.${i}`) ?? 0);
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
