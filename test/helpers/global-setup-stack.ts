import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../infra/config';
import { prepareKafka } from '../../stack/kafka-setup';
import { bringUpStack } from '../../stack/local-stack';
import { freeStackPorts } from '../../infra/local-process';
import { createLogger } from '../../infra/logger';
import { connectClient, ensureSearchAttributes } from '../../infra/temporal';
import { SA } from '../../workflows/shared/search-attributes';
import { provisionChromium, systemBrowserHost } from './browser';

declare global {
  var __preflightStackStop: (() => Promise<void>) | undefined;
}

/**
 * One real Temporal dev server and one real Kafka broker for the whole integration run, on free loopback ports
 * with throwaway data, and the Chromium the browser tests drive (found, or installed with apt where the user may).
 * External servers (TEMPORAL_ADDRESS / KAFKA_BROKERS) are used instead when set; an external Temporal server's
 * namespace gets Preflight's search attributes.
 */
export default async function globalSetup(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-test-stack-'));
  const env = {
    ...process.env,
    PREFLIGHT_DATA_DIR: dataDir,
    ...(await freeStackPorts()),
    PREFLIGHT_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
  };
  // The browser first: a machine that cannot have one stops here, with one line, before any server starts.
  let chromium: string;
  try {
    chromium = provisionChromium(systemBrowserHost());
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
  process.env.PREFLIGHT_CHROMIUM = chromium;
  process.stderr.write(`Chromium for the browser tests: ${chromium}\n`);
  const config = loadConfig(env);
  const started = Date.now();
  const stack = await bringUpStack(config, { persistent: false, headless: true, progress: (line) => process.stderr.write(`${line}\n`) });
  const logger = createLogger({ level: 'warn' });
  await prepareKafka(config, stack, logger);
  if (config.temporal.address) {
    // An external Temporal server gets Preflight's search attributes as `preflight start` gives them to one.
    const client = await connectClient(config.temporal, stack.temporalAddress);
    try {
      const added = await ensureSearchAttributes(client, config.temporal.namespace, Object.values(SA));
      if (added.length > 0) process.stderr.write(`Registered search attributes on ${stack.temporalAddress}: ${added.join(', ')}\n`);
    } finally {
      await client.connection.close();
    }
  }
  process.stderr.write(`Test stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.env.PREFLIGHT_TEST_TEMPORAL_ADDRESS = stack.temporalAddress;
  // The frontend's HTTP API: the local dev server's (started with PREFLIGHT_TEMPORAL_HTTP_PORT), or an external one's if given.
  const httpAddress = config.temporal.address ? config.temporal.httpAddress : `http://${config.stack.host}:${config.stack.temporalHttpPort}`;
  if (httpAddress) process.env.PREFLIGHT_TEST_TEMPORAL_HTTP_ADDRESS = httpAddress;
  process.env.PREFLIGHT_TEST_KAFKA_BROKERS = stack.kafkaBrokers.join(',');
  process.env.PREFLIGHT_TEST_DATA_DIR = dataDir;
  process.env.PREFLIGHT_TEST_MASTER_KEY = env.PREFLIGHT_MASTER_KEY;
  if (stack.localKafka) process.env.PREFLIGHT_TEST_KAFKA_SASL_BROKERS = stack.localKafka.saslBrokers.join(',');
  globalThis.__preflightStackStop = async () => {
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
