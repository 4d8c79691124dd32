/**
 * Runs one ingress as its own process (configured by the environment like `preflight ingress`), so a test can kill
 * it with SIGKILL mid-stream. Prints "ready" once the consumer group is joined. The group id is argv[2].
 */
import { loadConfig } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { runIngress } from '../../workers/ingress/index';

const groupId = process.argv[2];
if (!groupId) throw new Error('usage: ingress-process <groupId>');
const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel });
runIngress(config, logger, { groupId }).then(
  (ingress) => {
    process.stdout.write('ready\n');
    process.once('SIGTERM', () => void ingress.stop().then(() => process.exit(0)));
  },
  (err: unknown) => {
    process.stderr.write(`ingress failed to start: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
