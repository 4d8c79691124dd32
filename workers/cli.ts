import { Command, Option } from 'commander';
import type * as ConfigModule from '../infra/config';
import type * as ProvisionModule from '../stack/provision';
import type * as ApiServer from './api/server';
import type * as Demo from './demo';
import type * as Dispatcher from './dispatcher';
import type * as Ingress from './ingress/index';
import type * as Processes from './processes';
import type * as Start from './start';
import type * as WorkerProcess from './worker';
import { CliError, configOrExit } from './cli/common';
import { registerAgencyCommands } from './cli/agency';
import { registerAuditCommands } from './cli/audit';
import { registerCaseCommands } from './cli/cases';
import { registerDeadLetterCommands } from './cli/dead-letters';
import { registerDeliveryCommands } from './cli/deliveries';
import { registerReplayCommands } from './cli/replays';
import { registerStackCommands } from './cli/stack';
import { registerSubmissionCommands } from './cli/submissions';

// Every command is registered up front (names, options, help), and loads what it runs only when it runs: `preflight
// --help` loads commander and nothing else. `require`, not `import()`, so the sources behave the same under tsx and
// jest as the transpiled dist/.

/**
 * The long-running processes log stack traces: from here on, the modules they load map them to the TypeScript
 * sources (dist/ has source maps). The one-shot commands print messages, not stacks, and skip the cost.
 */
function mapStackTraces(): void {
  process.setSourceMapsEnabled(true);
}

export function buildProgram(): Command {
  const program = new Command('preflight')
    .description('Voluntary pre-release evaluation of frontier AI models: orchestration on Temporal and Kafka')
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('start')
    .description('run every Preflight process, and the local Temporal + Kafka stack unless TEMPORAL_ADDRESS / KAFKA_BROKERS are set')
    .addOption(new Option('--ephemeral', 'keep no data: the local servers start empty and forget everything on exit'))
    .action(async (opts: { ephemeral?: boolean }) => {
      mapStackTraces();
      const config = configOrExit();
      const { runStart } = require('./start') as typeof Start;
      await runStart(config, { persistent: !opts.ephemeral });
      // Everything is stopped; a library's leftover retry timer must not keep the process alive.
      process.exit(0);
    });

  program
    .command('worker')
    .description('run a worker: every workflow and activity, on the configured task queue')
    .action(async () => {
      mapStackTraces();
      const config = configOrExit();
      const { runWorkerProcess } = require('./worker') as typeof WorkerProcess;
      await runWorkerProcess(config);
    });

  program
    .command('ingress')
    .description('consume signed agency commands from Kafka and apply them to Temporal')
    .action(async () => {
      mapStackTraces();
      const config = configOrExit();
      const { runUntilSignal } = require('./processes') as typeof Processes;
      const { runIngress } = require('./ingress/index') as typeof Ingress;
      await runUntilSignal(
        config,
        (endpoints, logger) => runIngress(config, logger, { temporalAddress: endpoints.temporalAddress, kafkaBrokers: endpoints.kafkaBrokers }),
        { metrics: true },
      );
    });

  program
    .command('dispatcher')
    .description('consume status events and start one webhook delivery per subscribed vendor endpoint')
    .action(async () => {
      mapStackTraces();
      const config = configOrExit();
      const { runUntilSignal } = require('./processes') as typeof Processes;
      const { runDispatcher } = require('./dispatcher') as typeof Dispatcher;
      await runUntilSignal(
        config,
        (endpoints, logger) => runDispatcher(config, logger, { temporalAddress: endpoints.temporalAddress, kafkaBrokers: endpoints.kafkaBrokers }),
        { metrics: true },
      );
    });

  registerStackCommands(program);
  registerSubmissionCommands(program);
  registerDeadLetterCommands(program);
  registerDeliveryCommands(program);
  registerReplayCommands(program);
  registerCaseCommands(program);
  registerAgencyCommands(program);
  registerAuditCommands(program);

  program
    .command('demo')
    .description('act out one evaluation against a running `preflight start`, ending with its timeline')
    .action(async () => {
      const { loadConfig } = require('../infra/config') as typeof ConfigModule;
      const { runDemo } = require('./demo') as typeof Demo;
      await runDemo(loadConfig(process.env));
    });

  program
    .command('api')
    .description('serve the vendor API, the ops API and console, /openapi.json, /healthz, /readyz and /metrics')
    .action(async () => {
      mapStackTraces();
      const config = configOrExit();
      const { runUntilSignal } = require('./processes') as typeof Processes;
      const { startApiServer } = require('./api/server') as typeof ApiServer;
      await runUntilSignal(config, (endpoints, logger) => startApiServer(config, logger, endpoints));
    });
  return program;
}

export { CliError, configOrExit };

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`preflight: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    // Loaded already when one of them was thrown.
    const { ConfigError } = require('../infra/config') as typeof ConfigModule;
    const { ProvisionError } = require('../stack/provision') as typeof ProvisionModule;
    if (err instanceof ProvisionError || err instanceof ConfigError) {
      process.stderr.write(`preflight: ${err.message}\n`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    }
    throw err;
  }
}
