import { Command, Option } from 'commander';
import { createLogger } from '../infra/logger';
import { ProvisionError } from '../infra/provision';
import { CliError, configOrExit } from './cli/common';
import { registerStackCommands } from './cli/stack';
import { runStart } from './start';
import { runWorkerProcess } from './processes';

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
    });

  program
    .command('worker')
    .description('run a worker: every workflow and activity, on the configured task queue')
    .action(async () => {
      const config = configOrExit();
      await runWorkerProcess(config, createLogger({ level: config.logLevel }));
    });

  registerStackCommands(program);
  return program;
}

export { CliError, configOrExit };

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CliError || err instanceof ProvisionError) {
      process.stderr.write(`preflight: ${err.message}\n`);
      process.exit(err instanceof CliError ? err.exitCode : 1);
    }
    throw err;
  }
}
