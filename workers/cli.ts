import { Command, Option } from 'commander';
import { ConfigError } from '../infra/config';
import { ProvisionError } from '../stack/provision';
import { CliError, configOrExit } from './cli/common';
import { registerAgencyCommands } from './cli/agency';
import { registerCaseCommands } from './cli/cases';
import { registerDeadLetterCommands } from './cli/dead-letters';
import { registerDeliveryCommands } from './cli/deliveries';
import { registerStackCommands } from './cli/stack';
import { registerSubmissionCommands } from './cli/submissions';
import { runStart } from './start';
import { runUntilSignal } from './processes';
import { runWorkerProcess } from './worker';
import { startApiServer } from './api/server';
import { registerDemoCommand } from './demo';
import { runDispatcher } from './dispatcher';
import { runIngress } from './ingress/index';

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
      const config = configOrExit();
      await runStart(config, { persistent: !opts.ephemeral });
      // Everything is stopped; a library's leftover retry timer must not keep the process alive.
      process.exit(0);
    });

  program
    .command('worker')
    .description('run a worker: every workflow and activity, on the configured task queue')
    .action(async () => {
      const config = configOrExit();
      await runWorkerProcess(config);
    });

  program
    .command('ingress')
    .description('consume signed agency commands from Kafka and apply them to Temporal')
    .action(async () => {
      const config = configOrExit();
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
      const config = configOrExit();
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
  registerCaseCommands(program);
  registerAgencyCommands(program);
  registerDemoCommand(program);

  program
    .command('api')
    .description('serve the vendor API, the ops API and console, /openapi.json, /healthz, /readyz and /metrics')
    .action(async () => {
      const config = configOrExit();
      await runUntilSignal(config, (endpoints, logger) => startApiServer(config, logger, endpoints));
    });
  return program;
}

export { CliError, configOrExit };

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CliError || err instanceof ProvisionError || err instanceof ConfigError) {
      process.stderr.write(`preflight: ${err.message}\n`);
      process.exit(err instanceof CliError ? err.exitCode : err instanceof ConfigError ? 2 : 1);
    }
    throw err;
  }
}
