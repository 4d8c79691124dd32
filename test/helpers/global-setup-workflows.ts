import { loadConfig } from '../../infra/config';
import { provision } from '../../stack/provision';

/** Fetches the Java time-skipping test server once per run, so test files only start it. */
export default async function globalSetup(): Promise<void> {
  const config = loadConfig();
  const { testServer } = await provision({
    cacheDir: config.stack.cacheDir,
    testServer: true,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  process.env.PREFLIGHT_TEST_SERVER_LIB = testServer!.libDir;
}
