import type { Command } from 'commander';
import type * as KafkaModule from '../../events/kafka';
import type { Config } from '../../infra/config';
import type * as LoggerModule from '../../infra/logger';
import type * as Temporal from '../../infra/temporal';
import type * as DeadLetters from '../api/dead-letters';
import type * as AuditAction from './audit-action';
import { CliError, configOrExit, pageSizeOf, withPageSize } from './common';
import type { CliIo } from './submissions';
import type * as Servers from '../../stack/servers';

function table(items: DeadLetters.DeadLetterItem[]): string {
  if (items.length === 0) return 'No dead letters.\n';
  return (
    items
      .map((d) => `${d.time}  p${d.partition}@${d.offset}  ${d.reason.padEnd(18)} ${d.agencyId ?? '-'}  ${d.type ?? '-'}  ${d.commandId ?? '-'}  ${d.message}`)
      .join('\n') + '\n'
  );
}

/** `preflight dead-letters list|replay`: straight from Kafka's `preflight.dead-letter.v1`. */
export function registerDeadLetterCommands(program: Command, io: CliIo = {}): void {
  const write = io.out ?? ((text: string) => process.stdout.write(text));
  const config = () => (io.config ?? configOrExit)();
  const kafkaFor = (c: Config) => {
    const { createKafka } = require('../../events/kafka') as typeof KafkaModule;
    const { createLogger } = require('../../infra/logger') as typeof LoggerModule;
    const { expectedEndpoints } = require('../../stack/servers') as typeof Servers;
    return createKafka(c.kafka, createLogger({ level: 'error' }), expectedEndpoints(c).kafka, 'cli');
  };
  const dl = program.command('dead-letters').description('refused inbound messages: list them, replay one onto its original topic');

  withPageSize(dl.command('list'), 'at most this many per partition')
    .description('the newest dead letters, newest first (reason, agency, type and command id; never the bytes)')
    .option('--json', 'print JSON')
    .action(async (opts: { pageSize?: string; limit?: string; json?: boolean }) => {
      const limit = pageSizeOf(opts, 10_000);
      const { listDeadLetters } = require('../api/dead-letters') as typeof DeadLetters;
      const items = await listDeadLetters(kafkaFor(config()), { limit });
      write(opts.json ? JSON.stringify({ items }, null, 2) + '\n' : table(items));
    });

  dl.command('replay')
    .description('re-produce one dead letter (as it was received) onto its original topic; the ingress checks it again')
    .requiredOption('--partition <n>', 'dead-letter partition')
    .requiredOption('--offset <n>', 'dead-letter offset')
    .option('--json', 'print JSON')
    .action(async (opts: { partition: string; offset: string; json?: boolean }) => {
      const partition = Number(opts.partition);
      if (!Number.isInteger(partition) || partition < 0) throw new CliError('--partition must be a whole number', 2);
      if (!/^\d{1,20}$/.test(opts.offset)) throw new CliError('--offset must be a whole number', 2);
      const { DeadLetterReplayError, replayDeadLetter } = require('../api/dead-letters') as typeof DeadLetters;
      const { deploymentPayloadKeys } = require('../../infra/temporal') as typeof Temporal;
      const { auditCliAction } = require('./audit-action') as typeof AuditAction;
      const c = config();
      const kafka = kafkaFor(c);
      const audited = { action: 'CLI dead-letters replay', target: `dead-letter/${partition}@${opts.offset}` };
      try {
        const where = await replayDeadLetter(kafka, { partition, offset: opts.offset }, deploymentPayloadKeys(c));
        await auditCliAction(c, kafka, { ...audited, outcome: 'ok', details: { replayedTo: `${where.topic}/${where.partition}@${where.offset}` } });
        write(
          opts.json
            ? JSON.stringify({ replayed: true, ...where }, null, 2) + '\n'
            : `Replayed onto ${where.topic} partition ${where.partition} offset ${where.offset}.\n`,
        );
      } catch (e) {
        if (e instanceof CliError) throw e;
        const refused = e instanceof DeadLetterReplayError;
        // The refusal is recorded too; should that fail as well, the refusal is still what the operator sees.
        await auditCliAction(c, kafka, { ...audited, outcome: refused ? 'rejected' : 'failed', reason: refused ? e.code : 'error' }).catch((a: unknown) =>
          process.stderr.write(`preflight: ${(a as Error).message}\n`),
        );
        if (refused) throw new CliError(e.message, e.code === 'not-found' ? 3 : 2);
        throw e;
      }
    });
}
