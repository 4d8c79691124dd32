import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { hostPort } from './local-process';
import { projectRoot } from './project-root';

/** Raised when the environment holds a bad value; the message names the variable (secret values redacted). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Its message quotes only the operator's own configuration, so logs may show it (see `LogSafeError`). */
  readonly logSafe = true;
  constructor(
    message: string,
    readonly variable: string,
  ) {
    super(message);
  }
}

/** Kafka broker versions the local stack can run (the first is the default); `stack/provision.ts` fetches each. */
export const KAFKA_BROKER_VERSIONS = ['3.9.2', '4.4.0'] as const;
export type KafkaBrokerVersion = (typeof KAFKA_BROKER_VERSIONS)[number];

const port = z.coerce.number().int().min(1).max(65535);
const optionalString = z.string().trim().min(1).optional();
const flag = z.stringbool().default(false);
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'preflight');
}

/** Every environment variable Preflight reads, with its default. The only place `process.env` is interpreted. */
export const EnvSchema = z.object({
  PREFLIGHT_DATA_DIR: z
    .string()
    .min(1)
    .default(() => path.join(projectRoot(), '.data')),
  PREFLIGHT_CACHE_DIR: z.string().min(1).optional(),
  PREFLIGHT_HOST: z.string().min(1).default('127.0.0.1'),
  PREFLIGHT_LOG_LEVEL: logLevel.default('info'),
  PREFLIGHT_TASK_QUEUE: z.string().min(1).max(200).default('preflight'),

  PREFLIGHT_TEMPORAL_PORT: port.default(7233),
  PREFLIGHT_TEMPORAL_UI_PORT: port.default(8233),
  PREFLIGHT_TEMPORAL_HTTP_PORT: port.optional(),
  PREFLIGHT_KAFKA_PORT: port.default(9092),
  PREFLIGHT_KAFKA_VERSION: z.enum(KAFKA_BROKER_VERSIONS).default(KAFKA_BROKER_VERSIONS[0]),
  PREFLIGHT_KAFKA_CONTROLLER_PORT: port.default(9093),
  PREFLIGHT_KAFKA_SASL_PORT: port.default(9094),
  PREFLIGHT_API_PORT: port.default(8080),
  PREFLIGHT_METRICS_PORT: port.optional(),
  PREFLIGHT_TEMPORAL_METRICS_PORT: port.optional(),
  PREFLIGHT_API_TEMPORAL_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).default(20_000),
  PREFLIGHT_STACK_START_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(90_000),
  PREFLIGHT_KAFKA_HEAP: z
    .string()
    .regex(/^\d+[mMgG]$/, 'a JVM heap size such as 512m')
    .default('512m'),
  PREFLIGHT_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(3),
  PREFLIGHT_TOPIC_REPLICATION: z.coerce.number().int().min(1).max(10).default(1),
  PREFLIGHT_AUDIT_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name')
    .default('preflight.audit.v1'),
  PREFLIGHT_AUDIT_RETENTION_MS: z.coerce
    .number()
    .int()
    .refine((n) => n === -1 || n >= 3_600_000, '-1 (keep forever) or at least 3600000 (one hour)')
    .default(-1),
  PREFLIGHT_AUDIT_WRITER_ID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, 'letters, digits and . _ : @ -, at most 128')
    .optional(),

  PREFLIGHT_MASTER_KEY: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=$/, 'a base64-encoded 32-byte key (openssl rand -base64 32)')
    .optional(),
  PREFLIGHT_AGENCY_REGISTRY: optionalString,
  PREFLIGHT_CASE_MAX_REPORTS: z.coerce.number().int().min(1).max(10_000).optional(),
  PREFLIGHT_INGRESS_PARK_AFTER_MS: z.coerce.number().int().min(0).max(86_400_000).optional(),
  PREFLIGHT_DISPATCHER_DIRECT_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).optional(),
  PREFLIGHT_PAYLOAD_KEYS: z.string().optional(),
  PREFLIGHT_WEBHOOK_ALLOWLIST: z.string().optional(),
  PREFLIGHT_UI_ORIGINS: z.string().optional(),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_HTTP_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: flag,
  TEMPORAL_TLS_CERT: optionalString,
  TEMPORAL_TLS_KEY: optionalString,
  TEMPORAL_TLS_CA: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,

  KAFKA_BROKERS: optionalString,
  KAFKA_CLIENT_ID: z.string().min(1).default('preflight'),
  KAFKA_SSL: flag,
  KAFKA_SSL_CA: optionalString,
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: optionalString,
  KAFKA_SASL_PASSWORD: optionalString,
});

export interface TemporalConfig {
  /** host:port; undefined means "run the local dev server". */
  address: string | undefined;
  /**
   * The frontend's HTTP API (`http(s)://host:port`), which quick reads such as `preflight submissions list` use to
   * answer without loading the gRPC client; undefined: the local stack's, if any, else gRPC only.
   */
  httpAddress: string | undefined;
  namespace: string;
  apiKey: string | undefined;
  tls: { enabled: boolean; certPath?: string; keyPath?: string; caPath?: string; serverName?: string };
}

export interface KafkaConfig {
  /** Broker list; undefined means "run the local broker". */
  brokers: string[] | undefined;
  clientId: string;
  ssl: { enabled: boolean; caPath?: string };
  sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined;
  topicPartitions: number;
  topicReplication: number;
}

export interface StackConfig {
  host: string;
  dataDir: string;
  cacheDir: string;
  temporalPort: number;
  temporalUiPort: number;
  /** The dev server's HTTP API (Temporal's convention: the gRPC port + 10 unless set). */
  temporalHttpPort: number;
  kafkaPort: number;
  /** The local broker's version. */
  kafkaVersion: KafkaBrokerVersion;
  kafkaControllerPort: number;
  /** The local broker's SASL/SCRAM listener for agency principals, where ACLs apply. */
  kafkaSaslPort: number;
  kafkaHeap: string;
  startTimeoutMs: number;
}

export interface Config {
  logLevel: z.infer<typeof logLevel>;
  taskQueue: string;
  apiPort: number;
  /** Where `preflight worker`, `ingress` and `dispatcher` serve /metrics on their own; undefined: not served. */
  metricsPort: number | undefined;
  /** Where a worker process serves the Temporal core's own metrics; undefined: not served. */
  temporalMetricsPort: number | undefined;
  /** How long one api request may wait on Temporal in all before it answers 503. */
  apiTemporalTimeoutMs: number;
  masterKey: string | undefined;
  agencyRegistryPath: string | undefined;
  /** The cap on reports a new clearinghouse case records (its policy's `maxReports`); undefined: the default, 200. */
  caseMaxReports: number | undefined;
  /** The ingress parks a command not applied for this long while others are; 0 never parks; undefined: 300 s. */
  ingressParkAfterMs: number | undefined;
  /** The dispatcher's own first webhook attempt times out after this; 0 leaves every attempt to the delivery workflow; undefined: 2 s. */
  dispatcherDirectTimeoutMs: number | undefined;
  /** Payload encryption keys, first one encrypts; empty means one key derived from the master key. */
  payloadKeys: Array<{ id: string; key: string }>;
  /** CIDRs webhook delivery may reach despite the SSRF guard; for local development and tests only. */
  webhookAllowlist: string[];
  /**
   * Origins of the Temporal Web UI(s) allowed to call the codec endpoint from a browser (CORS with credentials).
   * Defaults to the local dev server's UI when Temporal is the local stack; empty means no browser origin.
   */
  uiOrigins: string[];
  temporal: TemporalConfig;
  kafka: KafkaConfig;
  stack: StackConfig;
  audit: AuditConfig;
}

export interface AuditConfig {
  /** The api's audit trail topic (one partition). */
  topic: string;
  /** The topic's `retention.ms` when the api creates it: -1 keeps every record. */
  retentionMs: number;
  /** This api process's chain in the trail; undefined: `api@<hostname>:<port>`. Never shared by two live processes. */
  writerId: string | undefined;
}

/** Parses the environment once; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(EnvSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const parsed = EnvSchema.safeParse(known);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const shown = variable in known ? ` (got ${JSON.stringify(redactIfSecret(variable, String(known[variable])))})` : '';
    throw new ConfigError(`Invalid configuration: ${variable}${shown}: ${issue.message}`, variable);
  }
  const e = parsed.data;
  if (e.KAFKA_SASL_MECHANISM && (!e.KAFKA_SASL_USERNAME || !e.KAFKA_SASL_PASSWORD)) {
    const missing = e.KAFKA_SASL_USERNAME ? 'KAFKA_SASL_PASSWORD' : 'KAFKA_SASL_USERNAME';
    throw new ConfigError(`Invalid configuration: ${missing} is required when KAFKA_SASL_MECHANISM is set`, missing);
  }
  if (e.TEMPORAL_TLS_CERT && !e.TEMPORAL_TLS_KEY) {
    throw new ConfigError('Invalid configuration: TEMPORAL_TLS_KEY is required with TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY');
  }
  const brokers = e.KAFKA_BROKERS?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers) {
    const bad = brokers.find((b) => !/^[^\s:]+:\d{1,5}$/.test(b));
    if (bad !== undefined) throw new ConfigError(`Invalid configuration: KAFKA_BROKERS: "${bad}" is not host:port`, 'KAFKA_BROKERS');
  }
  if (e.PREFLIGHT_TEMPORAL_HTTP_PORT === undefined && e.PREFLIGHT_TEMPORAL_PORT + 10 > 65535) {
    throw new ConfigError(
      `Invalid configuration: PREFLIGHT_TEMPORAL_HTTP_PORT: set it, since PREFLIGHT_TEMPORAL_PORT ${e.PREFLIGHT_TEMPORAL_PORT} + 10 is not a port`,
      'PREFLIGHT_TEMPORAL_HTTP_PORT',
    );
  }
  if (e.TEMPORAL_HTTP_ADDRESS && !/^https?:\/\/[^\s/]+(:\d{1,5})?\/?$/.test(e.TEMPORAL_HTTP_ADDRESS)) {
    throw new ConfigError(
      `Invalid configuration: TEMPORAL_HTTP_ADDRESS: "${e.TEMPORAL_HTTP_ADDRESS}" is not an http(s)://host:port URL`,
      'TEMPORAL_HTTP_ADDRESS',
    );
  }
  if (e.TEMPORAL_ADDRESS && !/^[^\s:]+:\d{1,5}$/.test(e.TEMPORAL_ADDRESS)) {
    throw new ConfigError(`Invalid configuration: TEMPORAL_ADDRESS: "${e.TEMPORAL_ADDRESS}" is not host:port`, 'TEMPORAL_ADDRESS');
  }
  return {
    logLevel: e.PREFLIGHT_LOG_LEVEL,
    taskQueue: e.PREFLIGHT_TASK_QUEUE,
    apiPort: e.PREFLIGHT_API_PORT,
    metricsPort: e.PREFLIGHT_METRICS_PORT,
    temporalMetricsPort: e.PREFLIGHT_TEMPORAL_METRICS_PORT,
    apiTemporalTimeoutMs: e.PREFLIGHT_API_TEMPORAL_TIMEOUT_MS,
    masterKey: e.PREFLIGHT_MASTER_KEY,
    agencyRegistryPath: e.PREFLIGHT_AGENCY_REGISTRY,
    caseMaxReports: e.PREFLIGHT_CASE_MAX_REPORTS,
    ingressParkAfterMs: e.PREFLIGHT_INGRESS_PARK_AFTER_MS,
    dispatcherDirectTimeoutMs: e.PREFLIGHT_DISPATCHER_DIRECT_TIMEOUT_MS,
    webhookAllowlist: webhookAllowlist(e.PREFLIGHT_WEBHOOK_ALLOWLIST),
    payloadKeys: parsePayloadKeys(e.PREFLIGHT_PAYLOAD_KEYS),
    uiOrigins:
      e.PREFLIGHT_UI_ORIGINS !== undefined
        ? uiOrigins(e.PREFLIGHT_UI_ORIGINS)
        : e.TEMPORAL_ADDRESS
          ? []
          : [`http://${hostPort(e.PREFLIGHT_HOST, e.PREFLIGHT_TEMPORAL_UI_PORT)}`],
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      httpAddress: e.TEMPORAL_HTTP_ADDRESS?.replace(/\/+$/, ''),
      namespace: e.TEMPORAL_NAMESPACE,
      apiKey: e.TEMPORAL_API_KEY,
      tls: {
        enabled: e.TEMPORAL_TLS || Boolean(e.TEMPORAL_TLS_CERT || e.TEMPORAL_TLS_CA || e.TEMPORAL_API_KEY),
        certPath: e.TEMPORAL_TLS_CERT,
        keyPath: e.TEMPORAL_TLS_KEY,
        caPath: e.TEMPORAL_TLS_CA,
        serverName: e.TEMPORAL_TLS_SERVER_NAME,
      },
    },
    kafka: {
      brokers,
      clientId: e.KAFKA_CLIENT_ID,
      ssl: { enabled: e.KAFKA_SSL, caPath: e.KAFKA_SSL_CA },
      sasl: e.KAFKA_SASL_MECHANISM ? { mechanism: e.KAFKA_SASL_MECHANISM, username: e.KAFKA_SASL_USERNAME!, password: e.KAFKA_SASL_PASSWORD! } : undefined,
      topicPartitions: e.PREFLIGHT_TOPIC_PARTITIONS,
      topicReplication: e.PREFLIGHT_TOPIC_REPLICATION,
    },
    audit: { topic: e.PREFLIGHT_AUDIT_TOPIC, retentionMs: e.PREFLIGHT_AUDIT_RETENTION_MS, writerId: e.PREFLIGHT_AUDIT_WRITER_ID },
    stack: {
      host: e.PREFLIGHT_HOST,
      dataDir: path.resolve(e.PREFLIGHT_DATA_DIR),
      cacheDir: path.resolve(e.PREFLIGHT_CACHE_DIR ?? defaultCacheDir(env)),
      temporalPort: e.PREFLIGHT_TEMPORAL_PORT,
      temporalUiPort: e.PREFLIGHT_TEMPORAL_UI_PORT,
      temporalHttpPort: e.PREFLIGHT_TEMPORAL_HTTP_PORT ?? e.PREFLIGHT_TEMPORAL_PORT + 10,
      kafkaPort: e.PREFLIGHT_KAFKA_PORT,
      kafkaVersion: e.PREFLIGHT_KAFKA_VERSION,
      kafkaControllerPort: e.PREFLIGHT_KAFKA_CONTROLLER_PORT,
      kafkaSaslPort: e.PREFLIGHT_KAFKA_SASL_PORT,
      kafkaHeap: e.PREFLIGHT_KAFKA_HEAP,
      startTimeoutMs: e.PREFLIGHT_STACK_START_TIMEOUT_MS,
    },
  };
}

const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;
function webhookAllowlist(value: string | undefined): string[] {
  const cidrs = (value ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const bad = cidrs.find((c) => !CIDR.test(c));
  if (bad !== undefined) {
    throw new ConfigError(`Invalid configuration: PREFLIGHT_WEBHOOK_ALLOWLIST: "${bad}" is not a CIDR such as 127.0.0.1/32`, 'PREFLIGHT_WEBHOOK_ALLOWLIST');
  }
  return cidrs;
}

/** `scheme://host[:port]` exactly as a browser sends it in `Origin` (no path, no trailing slash). */
const ORIGIN = /^https?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;
function uiOrigins(value: string): string[] {
  const origins = value
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  const bad = origins.find((o) => !ORIGIN.test(o));
  if (bad !== undefined) {
    throw new ConfigError(
      `Invalid configuration: PREFLIGHT_UI_ORIGINS: "${bad}" is not an origin such as https://temporal.example.gov`,
      'PREFLIGHT_UI_ORIGINS',
    );
  }
  return origins.map((o) => o.toLowerCase());
}

function parsePayloadKeys(value: string | undefined): Array<{ id: string; key: string }> {
  const entries = (value ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  return entries.map((entry) => {
    const match = /^([A-Za-z0-9._-]{1,64})=([A-Za-z0-9+/]{43}=)$/.exec(entry);
    if (!match) {
      throw new ConfigError(
        'Invalid configuration: PREFLIGHT_PAYLOAD_KEYS: each entry must be <key-id>=<base64 32-byte key>, the first one encrypting',
        'PREFLIGHT_PAYLOAD_KEYS',
      );
    }
    return { id: match[1]!, key: match[2]! };
  });
}

const SECRET_VARIABLES = /KEY|PASSWORD|SECRET|TOKEN/;
function redactIfSecret(variable: string, value: string): string {
  return SECRET_VARIABLES.test(variable) ? '<redacted>' : value;
}

/** True when both Temporal and Kafka are external, so nothing local needs provisioning or starting. */
export function usesLocalTemporal(config: Config): boolean {
  return config.temporal.address === undefined;
}
export function usesLocalKafka(config: Config): boolean {
  return config.kafka.brokers === undefined;
}
