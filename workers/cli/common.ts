import { Option, type Command } from 'commander';
import type * as ConfigModule from '../../infra/config';

/** A failure the person at the terminal can act on: printed as one line, no stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Loads the configuration once per command; a bad value ends the command with the variable's name. The schema (and
 * zod) loads here, when a command runs, not for `--help`.
 */
export function configOrExit(): ConfigModule.Config {
  const { ConfigError, loadConfig } = require('../../infra/config') as typeof ConfigModule;
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

/** Prints JSON for scripts (`--json`) or the human rendering. */
export function output(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human());
}

/** Rows under a header as aligned columns, or `empty` when there are none. */
export function renderTable(header: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `${empty}\n`;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/**
 * `--page-size <n>`: the API's `pageSize`, one name everywhere. `--limit`, its old name, still works (hidden from help).
 */
export function withPageSize(cmd: Command, description: string, fallback = 100): Command {
  return cmd.option('--page-size <n>', `${description} (default ${fallback})`).addOption(new Option('--limit <n>', 'the old name of --page-size').hideHelp());
}

/** The page size asked for with `--page-size` (or `--limit`), checked against the route's bounds. */
export function pageSizeOf(opts: { pageSize?: string; limit?: string }, max: number, fallback = 100): number {
  if (opts.pageSize !== undefined && opts.limit !== undefined && opts.pageSize !== opts.limit) {
    throw new CliError('give --page-size or --limit (its old name), not both', 2);
  }
  const n = Number(opts.pageSize ?? opts.limit ?? String(fallback));
  if (!Number.isInteger(n) || n < 1 || n > max) throw new CliError(`--page-size must be a whole number from 1 to ${max}`, 2);
  return n;
}
