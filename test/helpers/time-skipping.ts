import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { freePort, spawnServer, stopPid, waitUntilReady, portOpen } from '../../infra/local-process';
import { provision } from '../../stack/provision';
import { loadConfig } from '../../infra/config';
import os from 'node:os';
import fs from 'node:fs';

export interface TimeSkippingEnv {
  env: TestWorkflowEnvironment;
  teardown(): Promise<void>;
}

type Create = (opts: { server: { type: 'existing' }; address: string; namespace: string; supportsTimeSkipping: boolean }) => Promise<TestWorkflowEnvironment>;

/**
 * A time-skipping environment on its own Java test server. The SDK's launcher waits a fixed 5 s and SIGKILLs on
 * teardown; starting the server here gives a real readiness wait and a clean stop. The environment is then built
 * through the SDK's own factory in "existing server" mode with time skipping on (SDK 1.24 keeps that factory
 * private; the version is pinned in package.json).
 */
export async function createTimeSkippingEnv(): Promise<TimeSkippingEnv> {
  const libDir = process.env.PREFLIGHT_TEST_SERVER_LIB ?? (await provision({ cacheDir: loadConfig().stack.cacheDir, testServer: true })).testServer!.libDir;
  const port = await freePort();
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-ts-'));
  const logFile = path.join(logDir, 'test-server.log');
  const child: ChildProcess = spawnServer({
    name: 'temporal-test-server',
    command: 'java',
    args: [
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-Xss1m',
      '-Xmx512m',
      '-cp',
      `${libDir}${path.sep}*`,
      'io.temporal.testserver.TestServer',
      String(port),
    ],
    logFile,
  });
  await waitUntilReady('Temporal test server', () => portOpen('127.0.0.1', port), { timeoutMs: 60_000, child, logFile });
  const create = (TestWorkflowEnvironment as unknown as { create: Create }).create.bind(TestWorkflowEnvironment);
  const env = await create({ server: { type: 'existing' }, address: `127.0.0.1:${port}`, namespace: 'default', supportsTimeSkipping: true });
  return {
    env,
    async teardown() {
      await env.teardown();
      await stopPid(child.pid!, 5000);
      fs.rmSync(logDir, { recursive: true, force: true });
    },
  };
}
