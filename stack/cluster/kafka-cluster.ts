/**
 * A three-node KRaft Kafka cluster on loopback: each node a combined broker+controller (a three-voter quorum) with
 * the local broker's listeners (PLAINTEXT for Preflight's processes, SASL/SCRAM for agencies, ACLs enforced; see
 * stack/servers.ts), replication factor 3 and `min.insync.replicas=2`. Each node is killable and restartable on the
 * same ports and data. Used by `npm run test:cluster`.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { kafkaHealthy } from '../../events/kafka';
import type { StackConfig } from '../../infra/config';
import { isAlive, portOpen, sleep, spawnServer, waitForPortClosed, waitUntilReady } from '../../infra/local-process';
import type { Provisioned } from '../provision';
import { formatKafkaStorage, kafkaJvmArgs, kafkaProperties, newKafkaClusterId, type KafkaClusterNode } from '../servers';

export interface KafkaNodePorts {
  port: number;
  saslPort: number;
  controllerPort: number;
}

/** One broker+controller of the cluster. */
export class KafkaNode {
  readonly pids: number[] = [];
  private child: ChildProcess | undefined;

  constructor(
    readonly nodeId: number,
    readonly host: string,
    readonly ports: KafkaNodePorts,
    private readonly jvm: string[],
    private readonly propertiesFile: string,
    private readonly logFile: string,
  ) {}

  get name(): string {
    return `kafka-${this.nodeId}`;
  }

  /** The internal (PLAINTEXT) listener. */
  get address(): string {
    return `${this.host}:${this.ports.port}`;
  }

  get saslAddress(): string {
    return `${this.host}:${this.ports.saslPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the node and waits until its broker listener accepts connections (the cluster's readiness is checked apart). */
  async start(): Promise<void> {
    const child = spawnServer({ name: this.name, command: 'java', args: [...this.jvm, 'kafka.Kafka', this.propertiesFile], logFile: this.logFile });
    this.child = child;
    this.pids.push(child.pid!);
    await waitUntilReady(`Kafka node ${this.nodeId}`, () => portOpen(this.host, this.ports.port), { timeoutMs: 120_000, child, logFile: this.logFile });
  }

  async kill9(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    const deadline = Date.now() + 15_000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(50);
    this.child = undefined;
    for (const port of Object.values(this.ports)) {
      if (!(await waitForPortClosed(this.host, port, 15_000))) throw new Error(`${this.name} port ${port} still open after SIGKILL`);
    }
  }

  async stop(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined || !isAlive(pid)) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + 30_000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) await this.kill9();
    this.child = undefined;
  }
}

export interface KafkaCluster {
  nodes: KafkaNode[];
  /** Every node's internal listener: what KAFKA_BROKERS lists. */
  brokers: string[];
  /** Every node's SASL/SCRAM listener, for agency logins. */
  saslBrokers: string[];
  /** Where agency principals are remembered (see stack/kafka-principals.ts). */
  markerFile: string;
  stop(): Promise<void>;
}

/**
 * Writes each node's properties, formats the three nodes' storage with one cluster id (first start only) and starts
 * them together (a KRaft quorum needs a majority of its voters to elect a leader). Nodes are handed to `onNode` as soon
 * as they exist, so a failed start can still be cleaned up.
 */
export async function startKafkaCluster(options: {
  stack: StackConfig;
  kafka: NonNullable<Provisioned['kafka']>;
  dir: string;
  ports: KafkaNodePorts[];
  replication?: number;
  minInsyncReplicas?: number;
  onNode?: (node: KafkaNode) => void;
}): Promise<KafkaCluster> {
  const { stack, ports } = options;
  const host = stack.host;
  const logDir = path.join(options.dir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const voters = ports.map((p, i) => `${i + 1}@${host}:${p.controllerPort}`).join(',');
  const jvm = kafkaJvmArgs(options.kafka, stack.kafkaHeap, logDir);
  let clusterId: string | undefined;
  const nodes = ports.map((p, i) => {
    const nodeId = i + 1;
    const nodeDir = path.join(options.dir, `kafka-${nodeId}`);
    const dataDir = path.join(nodeDir, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    const node: KafkaClusterNode = {
      nodeId,
      ...p,
      voters,
      replication: options.replication ?? ports.length,
      minInsyncReplicas: options.minInsyncReplicas ?? Math.min(2, ports.length),
    };
    const propertiesFile = path.join(nodeDir, 'server.properties');
    fs.writeFileSync(propertiesFile, kafkaProperties(stack, dataDir, node));
    if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) formatKafkaStorage(jvm, propertiesFile, (clusterId ??= newKafkaClusterId(jvm)));
    const kafkaNode = new KafkaNode(nodeId, host, p, jvm, propertiesFile, path.join(logDir, `kafka-${nodeId}.log`));
    options.onNode?.(kafkaNode);
    return kafkaNode;
  });
  const cluster: KafkaCluster = {
    nodes,
    brokers: nodes.map((n) => n.address),
    saslBrokers: nodes.map((n) => n.saslAddress),
    markerFile: path.join(options.dir, 'principals.json'),
    async stop() {
      for (const n of [...nodes].reverse()) await n.stop().catch(() => undefined);
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await waitUntilReady('Kafka cluster', () => kafkaHealthy(cluster.brokers), { timeoutMs: 120_000 });
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
