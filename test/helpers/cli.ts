import { execFile } from 'node:child_process';
import path from 'node:path';
import { testStack } from './stack-env';

const BIN = path.join(__dirname, '..', '..', 'bin', 'preflight.js');

/**
 * Runs the real `preflight` CLI against the test stack, with the test deployment's master key and data directory,
 * and resolves with its exit code and output (it never rejects on a non-zero exit).
 */
export function preflightCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          TEMPORAL_ADDRESS: testStack().temporalAddress,
          PREFLIGHT_MASTER_KEY: process.env.PREFLIGHT_TEST_MASTER_KEY,
          PREFLIGHT_DATA_DIR: process.env.PREFLIGHT_TEST_DATA_DIR,
          ...env,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
