import path from 'node:path';
import { kafkaHealthy } from '../events/kafka';
import { type Config, usesLocalKafka, usesLocalTemporal } from '../infra/config';
import { provision } from './provision';
import { readStackState, startStack, temporalHealthy } from './servers';

export interface StackEndpoints {
  temporalAddress: string;
  kafkaBrokers: string[];
  /** The Temporal Web UI, when a local dev server with UI runs. */
  uiUrl?: string;
  /** What was brought up by this call (nothing for external or reused servers). */
  started: string[];
  /** Set when Kafka is the local broker (started here or by `stack up`): its agency listener and its jars. */
  localKafka?: { saslBrokers: string[]; libDir: string; markerFile: string };
  stop(): Promise<void>;
}

export interface BringUpOptions {
  persistent: boolean;
  detached?: boolean;
  headless?: boolean;
  /** Passed to a dev server started here (see StartStackOptions); a reused or external server keeps its own. */
  uiCodecEndpoint?: string;
  progress?: (line: string) => void;
  onUnexpectedExit?: (server: string, code: number | null) => void;
}

/**
 * Resolves where Temporal and Kafka are: external servers from the configuration are used as they are; a stack
 * left running by `preflight stack up` is reused; anything else is provisioned and started here.
 */
export async function bringUpStack(config: Config, options: BringUpOptions): Promise<StackEndpoints> {
  const say = options.progress ?? (() => undefined);
  let temporalAddress = config.temporal.address;
  let kafkaBrokers = config.kafka.brokers;
  let uiUrl: string | undefined;
  let reusedKafka: { saslAddress: string; dataPath: string } | undefined;

  const existing = readStackState(config.stack.dataDir);
  if (existing && !options.detached) {
    const t = existing.servers.find((s) => s.name === 'temporal');
    const k = existing.servers.find((s) => s.name === 'kafka');
    if (!temporalAddress && t && (await temporalHealthy(t.address).catch(() => false))) {
      temporalAddress = t.address;
      uiUrl = t.uiUrl;
      say(`Using the Temporal dev server started by 'preflight stack up' at ${t.address}`);
    }
    if (!kafkaBrokers && k && (await kafkaHealthy([k.address]))) {
      kafkaBrokers = [k.address];
      if (k.saslAddress && k.dataPath) reusedKafka = { saslAddress: k.saslAddress, dataPath: k.dataPath };
      say(`Using the Kafka broker started by 'preflight stack up' at ${k.address}`);
    }
  }

  const needTemporal = !temporalAddress && usesLocalTemporal(config);
  const needKafka = !kafkaBrokers && usesLocalKafka(config);
  const markerFile = (kafkaDataPath: string) => path.join(kafkaDataPath, 'principals.json');
  if (!needTemporal && !needKafka) {
    const localKafka = reusedKafka
      ? {
          saslBrokers: [reusedKafka.saslAddress],
          libDir: (await provision({ cacheDir: config.stack.cacheDir, kafka: true, kafkaVersion: config.stack.kafkaVersion })).kafka!.libDir,
          markerFile: markerFile(reusedKafka.dataPath),
        }
      : undefined;
    return { temporalAddress: temporalAddress!, kafkaBrokers: kafkaBrokers!, uiUrl, started: [], localKafka, stop: async () => undefined };
  }
  const provisioned = await provision({
    cacheDir: config.stack.cacheDir,
    temporal: needTemporal,
    kafka: needKafka || Boolean(reusedKafka),
    kafkaVersion: config.stack.kafkaVersion,
    progress: say,
  });
  const stack = await startStack({
    stack: config.stack,
    namespace: config.temporal.namespace,
    provisioned,
    startTemporal: needTemporal,
    startKafka: needKafka,
    persistent: options.persistent,
    detached: options.detached,
    headless: options.headless,
    ...(options.uiCodecEndpoint ? { uiCodecEndpoint: options.uiCodecEndpoint } : {}),
    log: say,
    onUnexpectedExit: (server, code) => options.onUnexpectedExit?.(server.name, code),
  });
  return {
    temporalAddress: temporalAddress ?? stack.temporalAddress!,
    kafkaBrokers: kafkaBrokers ?? stack.kafkaBrokers!,
    uiUrl: uiUrl ?? stack.uiUrl,
    started: stack.state.servers.map((s) => s.name),
    localKafka: needKafka
      ? (() => {
          const kafka = stack.state.servers.find((s) => s.name === 'kafka')!;
          return { saslBrokers: [kafka.saslAddress!], libDir: provisioned.kafka!.libDir, markerFile: markerFile(kafka.dataPath!) };
        })()
      : reusedKafka
        ? { saslBrokers: [reusedKafka.saslAddress], libDir: provisioned.kafka!.libDir, markerFile: markerFile(reusedKafka.dataPath) }
        : undefined,
    stop: stack.stop,
  };
}
