import fs from 'node:fs';
import path from 'node:path';
import { type Config, usesLocalKafka, usesLocalTemporal } from '../infra/config';
import { type DevCredentialPaths, ensureDevCredentials } from '../stack/dev-credentials';
import { prepareKafka } from '../stack/kafka-setup';
import { hostPort } from '../infra/local-process';
import { bringUpStack } from '../stack/local-stack';
import { createLogger } from '../infra/logger';
import { connectClient, ensureSearchAttributes } from '../infra/temporal';
import { SA } from '../workflows/shared/search-attributes';
import { startApiServer } from './api/server';
import { runDispatcher } from './dispatcher';
import { runIngress } from './ingress/index';
import { untilSignal, type RunningProcess } from './processes';
import { startWorker } from './worker';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** The api's remote codec as the browser reaches it (the Web UI appends `/decode`). */
export function codecEndpointUrl(config: Config): string {
  return `http://${hostPort(config.stack.host, config.apiPort)}/codec`;
}

/**
 * `preflight start`: the local stack (unless external servers are configured), topics and search attributes,
 * then every Preflight process in this process tree. Ctrl-C stops them in reverse order, then the stack.
 */
export async function runStart(config: Config, options: { persistent: boolean }): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  const embedded = usesLocalTemporal(config) && usesLocalKafka(config);
  let dev: DevCredentialPaths | undefined;
  if (embedded) {
    // The embedded default is a development setup: it gets local vendor, ops and agency credentials (never
    // overwritten), and webhooks may reach receivers on this machine.
    dev = ensureDevCredentials(config.stack.dataDir);
    config = {
      ...config,
      agencyRegistryPath: config.agencyRegistryPath ?? dev.agencyRegistryFile,
      webhookAllowlist: config.webhookAllowlist.length > 0 ? config.webhookAllowlist : ['127.0.0.1/32'],
    };
  }
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const serverDied = new Promise<void>((resolve) => (wake = resolve));

  const stack = await bringUpStack(config, {
    persistent: options.persistent,
    // The api below serves the codec, so the Web UI of a dev server started here decrypts through it.
    uiCodecEndpoint: codecEndpointUrl(config),
    progress: say,
    onUnexpectedExit: (server, code) => {
      failed = new Error(`The local ${server} server exited unexpectedly (code ${code}); see ${config.stack.dataDir}/logs/${server}.log`);
      wake?.();
    },
  });
  const processes: RunningProcess[] = [];
  try {
    const { createdTopics, newPrincipals } = await prepareKafka(config, stack, logger);
    if (createdTopics.length > 0) say(`Created Kafka topics: ${createdTopics.join(', ')}`);
    if (newPrincipals.length > 0) say(`Created Kafka principals for agencies: ${newPrincipals.join(', ')}`);
    const client = await connectClient(config.temporal, stack.temporalAddress);
    try {
      const added = await ensureSearchAttributes(client, config.temporal.namespace, Object.values(SA));
      if (added.length > 0) say(`Registered search attributes: ${added.join(', ')}`);
    } catch (err) {
      say(`Could not register search attributes (${(err as Error).message}); create them in the namespace settings.`);
    } finally {
      await client.connection.close();
    }

    const endpoints = { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers };
    processes.push(await startWorker(config, logger, endpoints));
    processes.push(await runIngress(config, logger, endpoints));
    processes.push(await runDispatcher(config, logger, endpoints));
    const api = await startApiServer(config, logger, endpoints);
    processes.push(api);

    say('');
    say('Preflight is running.');
    say(`  Temporal:        ${stack.temporalAddress} (namespace ${config.temporal.namespace})`);
    if (stack.uiUrl) say(`  Temporal Web UI: ${stack.uiUrl}`);
    say(`  API:             ${api.url} (OpenAPI at ${api.url}/openapi.json)`);
    say(`  Payload codec:   ${api.url}/codec (ops token or the console's Temporal UI sign-in)`);
    say(`  Ops console:     ${api.url}/console/${dev && fs.existsSync(dev.opsTokenFile) ? `#token=${fs.readFileSync(dev.opsTokenFile, 'utf8').trim()}` : ''}`);
    say(`  Kafka:           ${stack.kafkaBrokers.join(',')}`);
    if (stack.localKafka) say(`  Kafka (agencies, SASL/SCRAM): ${stack.localKafka.saslBrokers.join(',')}`);
    if (stack.localKafka)
      say(`  Agency Kafka logins: ${path.join(config.stack.dataDir, 'dev')}/agency-<agency>.kafka.json (preflight agency inbox --agency <agency>)`);
    if (options.persistent && stack.started.length > 0) say(`  Data:            ${config.stack.dataDir}`);
    if (dev) say(`  Local credentials (vendors acme and globex, ops, six agencies): ${path.dirname(dev.opsTokenFile)}`);
    if (embedded) say(`  Webhook allowlist: ${config.webhookAllowlist.join(', ')} (local development)`);
    say('Press Ctrl-C to stop.');

    await Promise.race([untilSignal(), serverDied]);
  } catch (err) {
    failed = err as Error;
  } finally {
    say('Stopping…');
    for (const p of processes.reverse()) {
      // A process that cannot stop in time (a client stuck retrying a broker, say) must not keep the servers up.
      const stopped = await Promise.race([
        p.stop().then(
          () => true,
          (err: unknown) => (logger.error({ err }, 'stop failed'), true),
        ),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 15_000).unref()),
      ]);
      if (!stopped) logger.warn('a process did not stop within 15 s; going on');
    }
    await stack.stop();
    logger.flush();
    say('Stopped.');
  }
  if (failed) throw failed;
}
