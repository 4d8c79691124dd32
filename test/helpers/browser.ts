import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Binaries playwright-core can drive, in the order they are looked for on PATH. */
export const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

/** The one line printed when Chromium is missing and this user may not install it. */
export const INSTALL_HINT =
  'The browser tests need Chromium: run `sudo apt-get install -y chromium` (Debian/Ubuntu), or set PREFLIGHT_CHROMIUM to a Chromium or Chrome binary.';

export interface BrowserHost {
  env: NodeJS.ProcessEnv;
  /** The absolute path of an executable on PATH, or undefined. */
  which(name: string): string | undefined;
  isExecutable(file: string): boolean;
  /** Root, or passwordless sudo: may install Debian packages. */
  installer(): 'root' | 'sudo' | undefined;
  hasApt(): boolean;
  /** Runs a command to completion; throws with its output when it fails. */
  run(command: string, args: string[], env?: NodeJS.ProcessEnv): void;
  log(line: string): void;
}

/**
 * Finds the Chromium the browser tests drive, as the integration set-up provisions Temporal and Kafka: the binary
 * PREFLIGHT_CHROMIUM names, else one on PATH; when there is none and the user may install packages (root, or
 * passwordless `sudo -n`) on a machine with apt, installs Debian's `chromium` non-interactively; else throws one line
 * saying what to install.
 */
export function provisionChromium(host: BrowserHost): string {
  const named = host.env.PREFLIGHT_CHROMIUM;
  if (named) {
    if (!host.isExecutable(named)) throw new Error(`PREFLIGHT_CHROMIUM=${named} is not an executable file. ${INSTALL_HINT}`);
    return named;
  }
  const found = () => CHROMIUM_NAMES.map((n) => host.which(n)).find((p): p is string => p !== undefined);
  const existing = found();
  if (existing) return existing;
  const installer = host.installer();
  if (!installer || !host.hasApt()) throw new Error(INSTALL_HINT);
  host.log(`Chromium not found: installing Debian's chromium with apt-get (${installer === 'root' ? 'as root' : 'through sudo -n'}) ...`);
  const apt = (args: string[]) =>
    installer === 'root'
      ? host.run('apt-get', args, { DEBIAN_FRONTEND: 'noninteractive' })
      : host.run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args]);
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', 'chromium']);
  const installed = found();
  if (!installed) throw new Error(`apt-get installed chromium but no ${CHROMIUM_NAMES.join('/')} is on PATH. ${INSTALL_HINT}`);
  return installed;
}

/** This machine. */
export function systemBrowserHost(): BrowserHost {
  const isExecutable = (file: string) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  };
  return {
    env: process.env,
    which: (name) =>
      (process.env.PATH ?? '')
        .split(path.delimiter)
        .map((dir) => path.join(dir, name))
        .find(isExecutable),
    isExecutable,
    installer: () => {
      if (process.getuid?.() === 0) return 'root';
      return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? 'sudo' : undefined;
    },
    hasApt: () => spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0,
    run: (command, args, env) => {
      execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, timeout: 15 * 60_000 });
    },
    log: (line) => process.stderr.write(`${line}\n`),
  };
}
