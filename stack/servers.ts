import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type * as TemporalClient from '@temporalio/client';
import type * as KafkaModule from '../events/kafka';
import { SA, SEARCH_ATTRIBUTE_CLI_TYPES } from '../workflows/shared/search-attributes';
import type { Config, StackConfig } from '../infra/config';
import { hostPort, isAlive, portOpen, spawnServer, stopPid, waitForPortClosed, waitUntilReady } from '../infra/local-process';
import type { Provisioned } from './provision';

export interface StackServer {
  name: 'temporal' | 'kafka';
  pid: number;
  /** Address clients use: host:port. */
  address: string;
  logFile: string;
  /** Temporal only: the Web UI. */
  uiUrl?: string;
  /** Temporal only: the frontend's HTTP API (`http://host:port`). */
  httpUrl?: string;
  /** Kafka only: the SASL/SCRAM listener for agency principals. */
  saslAddress?: string;
  /** Where the server keeps its data (Kafka: properties and log dirs). */
  dataPath?: string;
}

export interface StackState {
  dataDir: string;
  startedAt: string;
  servers: StackServer[];
}

export interface StartStackOptions {
  stack: StackConfig;
  namespace: string;
  provisioned: Provisioned;
  startTemporal: boolean;
  startKafka: boolean;
  /** Keep Temporal's SQLite file and Kafka's log dirs under the data dir; otherwise data lives only in memory / a temp dir. */
  persistent: boolean;
  /** Children outlive this process (for `stack up`). */
  detached?: boolean;
  /** Temporal dev server without the Web UI (tests). */
  headless?: boolean;
  /** The remote codec the Web UI decodes payloads with (`--ui-codec-endpoint`), e.g. the api's `/codec`. */
  uiCodecEndpoint?: string;
  /** Called when an attached server exits while the stack is meant to be running. */
  onUnexpectedExit?: (server: StackServer, code: number | null) => void;
  log?: (line: string) => void;
}

export interface RunningStack {
  state: StackState;
  temporalAddress?: string;
  kafkaBrokers?: string[];
  uiUrl?: string;
  /** Stops every server this call started, Kafka first, and waits until their ports are closed. */
  stop(): Promise<void>;
}

const STATE_FILE = 'stack.json';

export function stateFilePath(dataDir: string): string {
  return path.join(dataDir, STATE_FILE);
}

/** Reads what `stack up` left running, dropping servers whose process is gone. */
export function readStackState(dataDir: string): StackState | undefined {
  try {
    const state = JSON.parse(fs.readFileSync(stateFilePath(dataDir), 'utf8')) as StackState;
    state.servers = state.servers.filter((s) => isAlive(s.pid));
    return state.servers.length > 0 ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the requested local servers, waits until each answers, and returns their addresses. */
export async function startStack(options: StartStackOptions): Promise<RunningStack> {
  const { stack } = options;
  const log = options.log ?? (() => undefined);
  const logDir = path.join(stack.dataDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const state: StackState = { dataDir: stack.dataDir, startedAt: new Date().toISOString(), servers: [] };
  let stopping = false;

  const stop = async () => {
    stopping = true;
    for (const server of [...state.servers].reverse()) {
      await stopPid(server.pid);
      const [host, port] = splitAddress(server.address);
      await waitForPortClosed(host, port, 10_000);
    }
    if (options.detached) fs.rmSync(stateFilePath(stack.dataDir), { force: true });
  };

  const restarts = new Map<string, number[]>();
  const track = (server: StackServer, child: ChildProcess, restart: () => Promise<{ server: StackServer; child: ChildProcess }>) => {
    const index = state.servers.findIndex((s) => s.name === server.name);
    if (index >= 0) state.servers[index] = server;
    else state.servers.push(server);
    child.once('exit', (code) => {
      if (stopping || options.detached) return;
      // Supervision: a server that dies is restarted on the same ports and data, at most 3 times a minute.
      const recent = (restarts.get(server.name) ?? []).filter((t) => Date.now() - t < 60_000);
      if (recent.length >= 3) {
        options.onUnexpectedExit?.(server, code);
        return;
      }
      restarts.set(server.name, [...recent, Date.now()]);
      log(`${server.name} exited unexpectedly (code ${code}); restarting it`);
      restart().then(
        (next) => {
          if (stopping) return void stopPid(next.server.pid);
          track(next.server, next.child, restart);
          log(`${server.name} is back at ${next.server.address}`);
        },
        () => options.onUnexpectedExit?.(server, code),
      );
    });
  };

  try {
    if (options.startTemporal) {
      const started = Date.now();
      const restart = () => startTemporal(options, logDir);
      const { server, child } = await restart();
      track(server, child, restart);
      log(`Temporal dev server ready at ${server.address} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    if (options.startKafka) {
      const started = Date.now();
      const restart = () => startKafka(options, logDir);
      const { server, child } = await restart();
      track(server, child, restart);
      log(`Kafka broker ready at ${server.address} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  if (options.detached) fs.writeFileSync(stateFilePath(stack.dataDir), JSON.stringify(state, null, 2));
  const temporal = state.servers.find((s) => s.name === 'temporal');
  const kafka = state.servers.find((s) => s.name === 'kafka');
  return {
    state,
    temporalAddress: temporal?.address,
    kafkaBrokers: kafka ? [kafka.address] : undefined,
    uiUrl: temporal?.uiUrl,
    stop,
  };
}

async function ensurePortFree(host: string, port: number, variable: string): Promise<void> {
  if (await portOpen(host, port)) {
    throw new Error(
      `Port ${host}:${port} is already in use. Is a stack already running (preflight stack status)? ` +
        `Stop it (preflight stack down) or choose another port with ${variable}.`,
    );
  }
}

async function startTemporal(options: StartStackOptions, logDir: string): Promise<{ server: StackServer; child: ChildProcess }> {
  const { stack } = options;
  const binary = options.provisioned.temporal;
  if (!binary) throw new Error('The Temporal CLI was not provisioned');
  await ensurePortFree(stack.host, stack.temporalPort, 'PREFLIGHT_TEMPORAL_PORT');
  await ensurePortFree(stack.host, stack.temporalHttpPort, 'PREFLIGHT_TEMPORAL_HTTP_PORT');
  const httpPort = stack.temporalHttpPort;
  if (!options.headless) await ensurePortFree(stack.host, stack.temporalUiPort, 'PREFLIGHT_TEMPORAL_UI_PORT');
  const args = [
    'server',
    'start-dev',
    '--ip',
    stack.host,
    '--port',
    String(stack.temporalPort),
    '--http-port',
    String(httpPort),
    '--namespace',
    options.namespace,
    '--log-format',
    'json',
    '--log-level',
    'warn',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    // An activity scheduled by a workflow task goes straight back to the worker that completed the task.
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
  ];
  for (const key of Object.values(SA)) {
    args.push('--search-attribute', `${key.name}=${SEARCH_ATTRIBUTE_CLI_TYPES[key.type]}`);
  }
  if (options.persistent) {
    fs.mkdirSync(path.join(stack.dataDir, 'temporal'), { recursive: true });
    args.push(
      '--db-filename',
      path.join(stack.dataDir, 'temporal', 'temporal.sqlite'),
      '--sqlite-pragma',
      'journal_mode=WAL',
      '--sqlite-pragma',
      'synchronous=NORMAL',
    );
  }
  if (options.headless) args.push('--headless');
  else {
    args.push('--ui-port', String(stack.temporalUiPort), '--ui-ip', stack.host);
    if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  }
  const logFile = path.join(logDir, 'temporal.log');
  const child = spawnServer({ name: 'temporal', command: binary, args, logFile, detached: options.detached });
  const address = `${stack.host}:${stack.temporalPort}`;
  await waitUntilReady('Temporal dev server', () => temporalHealthy(address), { timeoutMs: stack.startTimeoutMs, child, logFile });
  const server: StackServer = { name: 'temporal', pid: child.pid!, address, httpUrl: `http://${hostPort(stack.host, httpPort)}`, logFile };
  if (!options.headless) server.uiUrl = `http://${stack.host}:${stack.temporalUiPort}`;
  return { server, child };
}

async function startKafka(options: StartStackOptions, logDir: string): Promise<{ server: StackServer; child: ChildProcess }> {
  const { stack } = options;
  const kafka = options.provisioned.kafka;
  if (!kafka) throw new Error('The Kafka broker was not provisioned');
  await ensurePortFree(stack.host, stack.kafkaPort, 'PREFLIGHT_KAFKA_PORT');
  await ensurePortFree(stack.host, stack.kafkaControllerPort, 'PREFLIGHT_KAFKA_CONTROLLER_PORT');
  await ensurePortFree(stack.host, stack.kafkaSaslPort, 'PREFLIGHT_KAFKA_SASL_PORT');
  const kafkaDir = options.persistent ? path.join(stack.dataDir, 'kafka') : fs.mkdtempSync(path.join(stack.dataDir, 'kafka-tmp-'));
  const dataDir = path.join(kafkaDir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const propertiesFile = path.join(kafkaDir, 'server.properties');
  fs.writeFileSync(propertiesFile, kafkaProperties(stack, dataDir));
  const jvm = kafkaJvmArgs(kafka, stack.kafkaHeap, logDir);
  if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) formatKafkaStorage(jvm, propertiesFile, newKafkaClusterId(jvm));
  const logFile = path.join(logDir, 'kafka.log');
  const child = spawnServer({ name: 'kafka', command: 'java', args: [...jvm, 'kafka.Kafka', propertiesFile], logFile, detached: options.detached });
  const address = `${stack.host}:${stack.kafkaPort}`;
  // kafkajs loads here, not for every command that only reads where the servers are (expectedEndpoints).
  const { kafkaHealthy } = require('../events/kafka') as typeof KafkaModule;
  await waitUntilReady('Kafka broker', () => kafkaHealthy([address]), { timeoutMs: stack.startTimeoutMs, child, logFile });
  if (!options.persistent) {
    // Throwaway data goes with the broker.
    child.once('exit', () => fs.rmSync(kafkaDir, { recursive: true, force: true }));
  }
  return {
    server: { name: 'kafka', pid: child.pid!, address, logFile, saslAddress: `${stack.host}:${stack.kafkaSaslPort}`, dataPath: kafkaDir },
    child,
  };
}

/** The JVM options and classpath a broker (or one of its tools) runs with. */
export function kafkaJvmArgs(kafka: NonNullable<Provisioned['kafka']>, heap: string, logDir: string): string[] {
  return [
    '-Xms128m',
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    kafka.log4j === 1 ? `-Dlog4j.configuration=file:${kafka.log4jConfig}` : `-Dlog4j2.configurationFile=${kafka.log4jConfig}`,
    `-Dkafka.logs.dir=${logDir}`,
    '-cp',
    `${kafka.libDir}${path.sep}*`,
  ];
}

/** A new KRaft cluster id from Kafka's own StorageTool. */
export function newKafkaClusterId(jvm: string[]): string {
  const uuid = spawnSync('java', [...jvm, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' });
  const clusterId = uuid.stdout.trim().split('\n').pop() ?? '';
  if (uuid.status !== 0 || !/^[A-Za-z0-9_-]{22}$/.test(clusterId)) throw new Error(`Kafka StorageTool random-uuid failed: ${uuid.stderr || uuid.stdout}`);
  return clusterId;
}

/** Formats a KRaft node's log dirs for `clusterId` (a no-op on a node already formatted). */
export function formatKafkaStorage(jvm: string[], propertiesFile: string, clusterId: string): void {
  const format = spawnSync('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesFile, '--ignore-formatted'], {
    encoding: 'utf8',
  });
  if (format.status !== 0) throw new Error(`Kafka StorageTool format failed: ${format.stderr || format.stdout}`);
}

/** One node of a multi-node KRaft cluster: its id and ports, every controller's, and the replication to enforce. */
export interface KafkaClusterNode {
  nodeId: number;
  port: number;
  saslPort: number;
  controllerPort: number;
  /** `id@host:port` of every controller (the KRaft quorum's voters). */
  voters: string;
  /** Replication factor of Kafka's internal topics and the default of new topics. */
  replication: number;
  /** `min.insync.replicas` default of every topic. */
  minInsyncReplicas: number;
}

/**
 * A combined broker+controller's properties: the single local broker (node 1, its own one-voter quorum) unless `node`
 * describes one node of a cluster.
 */
export function kafkaProperties(stack: StackConfig, dataDir: string, node?: KafkaClusterNode): string {
  const host = stack.host;
  const kafkaPort = node?.port ?? stack.kafkaPort;
  const kafkaControllerPort = node?.controllerPort ?? stack.kafkaControllerPort;
  const kafkaSaslPort = node?.saslPort ?? stack.kafkaSaslPort;
  const replication = node?.replication ?? 1;
  return [
    'process.roles=broker,controller',
    `node.id=${node?.nodeId ?? 1}`,
    `controller.quorum.voters=${node?.voters ?? `1@${host}:${kafkaControllerPort}`}`,
    // PLAINTEXT is the internal listener of Preflight's own processes (loopback; a super user). Agencies and partners
    // connect through SASL_PLAINTEXT with SCRAM credentials, where the ACLs apply.
    `listeners=PLAINTEXT://${host}:${kafkaPort},SASL_PLAINTEXT://${host}:${kafkaSaslPort},CONTROLLER://${host}:${kafkaControllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${kafkaPort},SASL_PLAINTEXT://${host}:${kafkaSaslPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    'sasl.enabled.mechanisms=SCRAM-SHA-512',
    'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users=User:ANONYMOUS',
    'allow.everyone.if.no.acl.found=false',
    `log.dirs=${dataDir}`,
    'num.partitions=3',
    `offsets.topic.replication.factor=${replication}`,
    'offsets.topic.num.partitions=1',
    `transaction.state.log.replication.factor=${replication}`,
    `transaction.state.log.min.isr=${Math.min(2, replication)}`,
    ...(node
      ? [
          `default.replication.factor=${replication}`,
          `min.insync.replicas=${node.minInsyncReplicas}`,
          // A dead broker is fenced, and its partitions get new leaders, after 4 s without a heartbeat (default 9 s).
          'broker.session.timeout.ms=4000',
          'broker.heartbeat.interval.ms=1000',
        ]
      : []),
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'message.max.bytes=4194304',
    'log.segment.bytes=67108864',
    'log.retention.check.interval.ms=300000',
    '',
  ].join('\n');
}

export function splitAddress(address: string): [string, number] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index), Number(address.slice(index + 1))];
}

/** True when the Temporal frontend answers GetSystemInfo. */
export async function temporalHealthy(address: string, timeoutMs = 3000): Promise<boolean> {
  const [host, port] = splitAddress(address);
  if (!(await portOpen(host, port))) return false;
  // Loaded here: commands that only read the stack's state (the CLI's quick reads) do not pay for the gRPC client.
  const { Connection } = require('@temporalio/client') as typeof TemporalClient;
  const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
  try {
    await connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.getSystemInfo({}));
    return true;
  } finally {
    await connection.close();
  }
}

/** Where Temporal and Kafka are expected: configured servers, else the local stack's addresses. */
export function expectedEndpoints(config: Config): { temporal: string; temporalHttp: string | undefined; kafka: string[] } {
  const state = readStackState(config.stack.dataDir);
  const local = state?.servers.find((s) => s.name === 'temporal');
  return {
    temporal: config.temporal.address ?? local?.address ?? `${config.stack.host}:${config.stack.temporalPort}`,
    temporalHttp:
      config.temporal.httpAddress ??
      (config.temporal.address === undefined ? (local?.httpUrl ?? `http://${hostPort(config.stack.host, config.stack.temporalHttpPort)}`) : undefined),
    kafka: config.kafka.brokers ?? [state?.servers.find((s) => s.name === 'kafka')?.address ?? `${config.stack.host}:${config.stack.kafkaPort}`],
  };
}
