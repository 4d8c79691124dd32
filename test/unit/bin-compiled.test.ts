import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OUT_DIR, SOURCE_DIRS } from '../../scripts/build';

/**
 * bin/preflight.js runs the compiled dist/, rebuilds it first when a source changed, and runs the TypeScript sources
 * through tsx only when it cannot build. Each case works on a copy of the checkout in a temporary folder (sources,
 * bin, scripts; node_modules linked), so the real dist/ and the sources' modification times are left alone.
 */
const ROOT = path.resolve(__dirname, '../..');
const DESCRIPTION = 'Voluntary pre-release evaluation of frontier AI models: orchestration on Temporal and Kafka';

type Run = { status: number | null; stdout: string; stderr: string };

function copyCheckout(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-bin-'));
  for (const entry of [...SOURCE_DIRS, 'bin', 'scripts', 'package.json', 'tsconfig.json']) {
    fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

function node(cwd: string, args: string[]): Run {
  // Generous: a loaded two-core machine may take seconds where an idle one takes a fraction of one.
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_OPTIONS: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const bin = (cwd: string, ...args: string[]) => node(cwd, [path.join('bin', 'preflight.js'), ...args]);
/** The same command run straight from the TypeScript sources. */
const fromSources = (cwd: string, ...args: string[]) =>
  node(cwd, ['-r', 'tsx/cjs', '-e', `require('./workers/cli.ts').main(['node', 'preflight', ...${JSON.stringify(args)}])`]);

function stamp(dir: string): Record<string, number> {
  return (JSON.parse(fs.readFileSync(path.join(dir, OUT_DIR, '.build-stamp.json'), 'utf8')) as { sources: Record<string, number> }).sources;
}

describe('bin/preflight.js', () => {
  const dirs: string[] = [];
  const checkout = () => {
    const dir = copyCheckout();
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  it('builds dist/ when it is missing, then prints the same help as the sources', () => {
    const dir = checkout();
    const help = bin(dir, '--help');
    expect(help.stderr).toBe('');
    expect(help.status).toBe(0);
    expect(fs.existsSync(path.join(dir, OUT_DIR, 'workers', 'cli.js'))).toBe(true);
    expect(fs.existsSync(path.join(dir, OUT_DIR, 'workers', 'cli.js.map'))).toBe(true);
    expect(Object.keys(stamp(dir))).toEqual(expect.arrayContaining(['workers/cli.ts', 'wire/enums.ts', 'scripts/build.js']));
    expect(help.stdout).toContain('Voluntary pre-release evaluation');

    for (const args of [['--help'], ['submissions', 'list', '--help'], ['agency', 'send', '--help'], ['deliveries', 'list', '--help']]) {
      const compiled = bin(dir, ...args);
      const sources = fromSources(dir, ...args);
      expect(sources.status).toBe(0);
      expect(compiled).toEqual(sources);
    }
  });

  it('runs the compiled JavaScript while it is up to date, and rebuilds it first when a source changed', () => {
    const dir = checkout();
    expect(bin(dir, '--help').status).toBe(0);
    const compiledCli = path.join(dir, OUT_DIR, 'workers', 'cli.js');

    // Up to date: what runs is dist/, not the sources (a change made only in dist/ shows).
    fs.writeFileSync(compiledCli, fs.readFileSync(compiledCli, 'utf8').replace(DESCRIPTION, 'from dist'));
    expect(bin(dir, '--help').stdout).toContain('from dist');

    // A changed source: dist/ is rebuilt before the command runs, and the stamp records the new source.
    const before = stamp(dir);
    const source = path.join(dir, 'workers', 'cli.ts');
    fs.writeFileSync(source, fs.readFileSync(source, 'utf8').replace(DESCRIPTION, 'edited source'));
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(source, later, later);
    const help = bin(dir, '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('edited source');
    expect(fs.readFileSync(compiledCli, 'utf8')).toContain('edited source');
    expect(stamp(dir)['workers/cli.ts']).toBeGreaterThan(before['workers/cli.ts']!);

    // A new source is built too; a removed one takes its output along.
    fs.writeFileSync(path.join(dir, 'infra', 'extra.ts'), 'export const extra = 1;\n');
    expect(bin(dir, '--help').status).toBe(0);
    expect(fs.existsSync(path.join(dir, OUT_DIR, 'infra', 'extra.js'))).toBe(true);
    fs.rmSync(path.join(dir, 'infra', 'extra.ts'));
    expect(bin(dir, '--help').status).toBe(0);
    expect(fs.existsSync(path.join(dir, OUT_DIR, 'infra', 'extra.js'))).toBe(false);
    expect(stamp(dir)).not.toHaveProperty(['infra/extra.ts']);
  });

  it('runs the sources through tsx, saying why, when it cannot build dist/', () => {
    const dir = checkout();
    // A file where dist/ should be: nothing can be written under it.
    fs.writeFileSync(path.join(dir, OUT_DIR), '');
    const help = bin(dir, '--help');
    expect(help.status).toBe(0);
    expect(help.stderr).toMatch(/^preflight: cannot build dist\/ \(.+\); running the TypeScript sources\n$/);
    expect(help.stdout).toBe(fromSources(dir, '--help').stdout);
  });

  it('compiles exactly the layers that tsconfig.json lists', () => {
    const tsconfig = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
    expect(SOURCE_DIRS).toEqual(tsconfig.include.filter((dir) => !['test', 'bench', 'scripts'].includes(dir)));
  });
});
