import type { Command } from 'commander';
import type * as KafkaModule from '../../events/kafka';
import type * as LocalStack from '../../stack/local-stack';
import type * as LocalProcess from '../../infra/local-process';
import type * as Provision from '../../stack/provision';
import type * as Servers from '../../stack/servers';
import { CliError, configOrExit } from './common';
import fs from 'node:fs';

const say = (line: string) => process.stderr.write(`${line}\n`);

export function registerStackCommands(program: Command): void {
  const stack = program.command('stack').description('the local Temporal dev server and Kafka broker');

  stack
    .command('provision')
    .description('fetch and verify the local servers (Temporal CLI, Kafka broker, Java test server) into the cache')
    .option('--no-test-server', 'skip the Java time-skipping test server used by the workflow tests')
    .action(async (opts: { testServer: boolean }) => {
      const config = configOrExit();
      const { provision } = require('../../stack/provision') as typeof Provision;
      const started = Date.now();
      const result = await provision({
        cacheDir: config.stack.cacheDir,
        temporal: !config.temporal.address,
        kafka: !config.kafka.brokers,
        kafkaVersion: config.stack.kafkaVersion,
        testServer: opts.testServer,
        progress: say,
      });
      if (result.temporal) say(`temporal: ${result.temporal}`);
      if (result.kafka) say(`kafka ${result.kafka.version}: ${result.kafka.libDir}`);
      if (result.testServer) say(`test server: ${result.testServer.libDir}`);
      if (!result.temporal && !result.kafka && !result.testServer) say('Nothing to provision: TEMPORAL_ADDRESS and KAFKA_BROKERS point at external servers.');
      say(`Provisioned in ${((Date.now() - started) / 1000).toFixed(1)} s (cache: ${config.stack.cacheDir})`);
    });

  stack
    .command('up')
    .description('start the local servers in the background, with persistent data; stop them with `stack down`')
    .action(async () => {
      const config = configOrExit();
      const { readStackState, stateFilePath } = require('../../stack/servers') as typeof Servers;
      const { bringUpStack } = require('../../stack/local-stack') as typeof LocalStack;
      if (readStackState(config.stack.dataDir))
        throw new CliError(`A local stack is already running (${stateFilePath(config.stack.dataDir)}); see 'preflight stack status'.`);
      const up = await bringUpStack(config, { persistent: true, detached: true, progress: say });
      if (up.started.length === 0) say('Nothing started: TEMPORAL_ADDRESS and KAFKA_BROKERS point at external servers.');
      say(`Temporal: ${up.temporalAddress}`);
      say(`Kafka:    ${up.kafkaBrokers.join(',')}`);
      if (up.uiUrl) say(`Temporal Web UI: ${up.uiUrl}`);
    });

  stack
    .command('down')
    .description('stop the local servers started by `stack up`')
    .action(async () => {
      const config = configOrExit();
      const { readStackState, splitAddress, stateFilePath } = require('../../stack/servers') as typeof Servers;
      const { stopPid, waitForPortClosed } = require('../../infra/local-process') as typeof LocalProcess;
      const state = readStackState(config.stack.dataDir);
      if (!state) {
        say('No local stack is running.');
        fs.rmSync(stateFilePath(config.stack.dataDir), { force: true });
        return;
      }
      for (const server of [...state.servers].reverse()) {
        const how = await stopPid(server.pid);
        const [host, port] = splitAddress(server.address);
        const closed = await waitForPortClosed(host, port, 10_000);
        say(`${server.name} (pid ${server.pid}): ${how}${closed ? '' : `, but ${server.address} still listens`}`);
      }
      fs.rmSync(stateFilePath(config.stack.dataDir), { force: true });
    });

  stack
    .command('status')
    .description('check that Temporal and Kafka answer; exit code 0 only when both do')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const config = configOrExit();
      const { expectedEndpoints, temporalHealthy } = require('../../stack/servers') as typeof Servers;
      const { kafkaHealthy } = require('../../events/kafka') as typeof KafkaModule;
      const endpoints = expectedEndpoints(config);
      const temporal = await temporalHealthy(endpoints.temporal).catch(() => false);
      const kafka = await kafkaHealthy(endpoints.kafka);
      const report = {
        temporal: { address: endpoints.temporal, healthy: temporal, external: Boolean(config.temporal.address) },
        kafka: { brokers: endpoints.kafka, healthy: kafka, external: Boolean(config.kafka.brokers) },
      };
      if (opts.json) process.stdout.write(JSON.stringify(report) + '\n');
      else {
        process.stdout.write(`temporal  ${report.temporal.address}  ${temporal ? 'healthy' : 'NOT ANSWERING'}\n`);
        process.stdout.write(`kafka     ${report.kafka.brokers.join(',')}  ${kafka ? 'healthy' : 'NOT ANSWERING'}\n`);
      }
      if (!temporal || !kafka) process.exitCode = 1;
    });
}
