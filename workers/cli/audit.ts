import fs from 'node:fs';
import type { Command } from 'commander';
import type * as AuditModule from '../../events/audit';
import type * as AuditTrailModule from '../../events/audit-trail';
import type * as KafkaModule from '../../events/kafka';
import type { Config } from '../../infra/config';
import type * as LoggerModule from '../../infra/logger';
import type * as Servers from '../../stack/servers';
import { CliError, configOrExit } from './common';
import type { CliIo } from './submissions';

function isoOrExit(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || !Number.isFinite(ms)) throw new CliError(`${name} must be an ISO 8601 time such as 2026-01-31T00:00:00Z`, 2);
  return new Date(ms).toISOString();
}

/** `preflight audit verify|export`: straight from the audit topic (or a JSON-lines copy of it). */
export function registerAuditCommands(program: Command, io: CliIo = {}): void {
  const write = io.out ?? ((text: string) => process.stdout.write(text));
  const config = () => (io.config ?? configOrExit)();
  const kafkaFor = (c: Config) => {
    const { createKafka } = require('../../events/kafka') as typeof KafkaModule;
    const { createLogger } = require('../../infra/logger') as typeof LoggerModule;
    const { expectedEndpoints } = require('../../stack/servers') as typeof Servers;
    return createKafka(c.kafka, createLogger({ level: 'error' }), expectedEndpoints(c).kafka, 'cli');
  };
  const audit = program.command('audit').description('the api’s hash-chained audit trail: verify it, export it');

  audit
    .command('verify')
    .description('checks every writer’s hash chain; names each changed, removed or reordered record and exits 1 if there is one')
    .option('--topic <topic>', 'the audit topic (default: PREFLIGHT_AUDIT_TOPIC, preflight.audit.v1)')
    .option('--from-file <file>', 'a JSON-lines copy (as `audit export` writes) instead of the topic')
    .option('--json', 'print JSON')
    .action(async (opts: { topic?: string; fromFile?: string; json?: boolean }) => {
      const { verifyAuditTrail } = require('../../events/audit') as typeof AuditModule;
      let entries: Array<{ position: string; value: unknown }>;
      let headMayBeExpired = false;
      let source: string;
      if (opts.fromFile) {
        if (opts.topic) throw new CliError('give --topic or --from-file, not both', 2);
        let text: string;
        try {
          text = fs.readFileSync(opts.fromFile, 'utf8');
        } catch (e) {
          throw new CliError(`cannot read ${opts.fromFile}: ${(e as Error).message}`, 2);
        }
        source = opts.fromFile;
        entries = text
          .split('\n')
          .map((line, i) => ({ line, position: `line ${i + 1}` }))
          .filter(({ line }) => line.trim() !== '')
          .map(({ line, position }) => {
            try {
              return { position, value: JSON.parse(line) as unknown };
            } catch {
              return { position, value: line };
            }
          });
      } else {
        const c = config();
        const topic = opts.topic ?? c.audit.topic;
        const { readAuditTopic } = require('../../events/audit-trail') as typeof AuditTrailModule;
        const read = await readAuditTopic(kafkaFor(c), topic);
        source = topic;
        headMayBeExpired = read.low > 0n;
        entries = read.entries.map((e) => ({ position: `offset ${e.offset}`, value: e.value }));
      }
      const verdict = verifyAuditTrail(entries, { headMayBeExpired });
      if (opts.json) write(JSON.stringify({ source, ...verdict }, null, 2) + '\n');
      else {
        const writers = Object.entries(verdict.writers)
          .map(([w, s]) => `  ${w}: ${s.records} records, last seq ${s.lastSeq}, last hash ${s.lastHash}`)
          .join('\n');
        write(
          verdict.ok
            ? `OK: ${verdict.records} records in ${source}, every chain intact\n${writers}\n`
            : `FAILED: ${verdict.problems.length} problem(s) in ${source} (${verdict.records} records)\n${verdict.problems.map((p) => `  ${p.kind}: ${p.message}`).join('\n')}\n`,
        );
      }
      if (!verdict.ok) throw new CliError(`audit trail ${source} does not verify`, 1);
    });

  audit
    .command('export')
    .description('writes the records written between --from and --to as JSON lines, in topic order')
    .requiredOption('--from <iso>', 'first time (inclusive)')
    .requiredOption('--to <iso>', 'last time (inclusive)')
    .option('--topic <topic>', 'the audit topic (default: PREFLIGHT_AUDIT_TOPIC)')
    .option('--out <file>', 'write here instead of standard output')
    .action(async (opts: { from: string; to: string; topic?: string; out?: string }) => {
      const from = isoOrExit('--from', opts.from)!;
      const to = isoOrExit('--to', opts.to)!;
      if (from > to) throw new CliError('--from must not be after --to', 2);
      const c = config();
      const { readAuditTopic } = require('../../events/audit-trail') as typeof AuditTrailModule;
      const { AuditRecord, matchesAuditFilter } = require('../../events/audit') as typeof AuditModule;
      const read = await readAuditTopic(kafkaFor(c), opts.topic ?? c.audit.topic);
      const lines: string[] = [];
      for (const { value } of read.entries) {
        const parsed = AuditRecord.safeParse(value);
        if (parsed.success && matchesAuditFilter(parsed.data, { from, to })) lines.push(JSON.stringify(parsed.data));
      }
      const text = lines.length > 0 ? lines.join('\n') + '\n' : '';
      if (opts.out) {
        fs.writeFileSync(opts.out, text, { mode: 0o600 });
        process.stderr.write(`${lines.length} records written to ${opts.out}\n`);
      } else write(text);
    });
}
