import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createKafka } from '../../events/kafka';
import { TOPICS } from '../../events/topics';
import { agencyKafkaLoginFile, ensureDevCredentials } from '../../stack/dev-credentials';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import { createLogger } from '../../infra/logger';
import { startApiServer } from '../../workers/api/server';
import { runDemo } from '../../workers/demo';
import { dispatchMessage } from '../../workers/dispatcher';
import { tailTopic } from '../../events/consumer';
import { runIngress } from '../../workers/ingress/index';
import { startWorker } from '../../workers/worker';
import { startGroupAtEnd } from '../helpers/agency-events';
import { testConfig, testStack, unique } from '../helpers/stack-env';

const logger = createLogger({ level: 'error' });

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * `npm run demo` against what `preflight start` runs (worker, ingress, event dispatch to webhooks, the api), with the
 * local-default credentials generated into a fresh data directory.
 */
describe('the demo', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it('acts out a whole evaluation and ends with the timeline', async () => {
    const stack = testStack();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-e2e-'));
    const creds = ensureDevCredentials(dataDir);
    const again = ensureDevCredentials(dataDir);
    expect(fs.readFileSync(again.opsTokenFile, 'utf8')).toBe(fs.readFileSync(creds.opsTokenFile, 'utf8'));
    expect(fs.statSync(creds.opsTokenFile).mode & 0o077).toBe(0);
    expect(fs.readFileSync(creds.vendorKeyFile, 'utf8')).not.toContain(fs.readFileSync(creds.vendorKeyFiles.acme!, 'utf8').trim());
    // The agencies' Kafka logins on this broker, as `preflight start` writes them for its local broker.
    for (const agencyId of ['nsa', 'cisa']) {
      fs.copyFileSync(agencyKafkaLoginFile(process.env.PREFLIGHT_TEST_DATA_DIR!, agencyId), agencyKafkaLoginFile(dataDir, agencyId));
    }

    const config = testConfig({
      PREFLIGHT_DATA_DIR: dataDir,
      PREFLIGHT_TASK_QUEUE: unique('demo'),
      PREFLIGHT_HOST: '127.0.0.1',
      PREFLIGHT_API_PORT: String(await freePort()),
      PREFLIGHT_AGENCY_REGISTRY: creds.agencyRegistryFile,
      PREFLIGHT_WEBHOOK_ALLOWLIST: '127.0.0.1/32',
    });
    const endpoints = { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers };
    const kafka = createKafka(config.kafka, logger, stack.kafkaBrokers, 'demo-test');

    const worker = await startWorker(config, logger, endpoints);
    stops.push(() => worker.stop());

    const ingressGroup = unique('demo-ingress');
    await startGroupAtEnd(kafka, ingressGroup, TOPICS.agencyCommands);
    const ingress = await runIngress(config, logger, { groupId: ingressGroup, ...endpoints });
    stops.push(() => ingress.stop());
    // The dispatcher's work (each status event → one delivery workflow per subscribed endpoint), through the
    // deployment's encrypting client: endpoint registries answer in encrypted payloads.
    const dispatchClient = await connectClient(config.temporal, stack.temporalAddress, deploymentDataConverter(config));
    const dispatcher = await tailTopic(kafka, TOPICS.submissionEvents, async (message) => {
      await dispatchMessage(dispatchClient, message, { taskQueue: config.taskQueue });
    });
    stops.push(async () => {
      await dispatcher.stop();
      await dispatchClient.connection.close();
    });

    // The api exactly as `preflight start` runs it: key files from the data directory.
    const api = await startApiServer(config, logger, endpoints);
    stops.push(() => api.stop());
    expect(api.url).toBe(`http://127.0.0.1:${config.apiPort}`);

    let printed = '';
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed += chunk.toString();
      return true;
    });
    try {
      await runDemo(config);
    } finally {
      write.mockRestore();
    }
    fs.mkdirSync('test-results', { recursive: true });
    fs.writeFileSync('test-results/demo-output.txt', printed);

    expect(printed).toContain('Vendor acme registers a webhook endpoint');
    expect(printed).toMatch(/advisory clearance notice: CONCERNS_NOTED/);
    // Each agency through its own interfaces: its inbox, its signed API, its commands with its own login.
    expect(printed).toMatch(/\[nsa inbox\] invited/);
    expect(printed).toMatch(/\[cisa inbox\] access-granted grantId=\S+ expiresAt=/);
    expect(printed).toMatch(/NSA token for grant \S+: gateway check → valid=true/);
    expect(printed).toMatch(/NSA reads the answer: "Classifier stack v3/);
    expect(printed).toMatch(/CISA finished: its token now checks valid=false/);
    expect(printed).toMatch(/NSA reads nsa-f1: response MITIGATED, note "Tracked in the release safety plan\."/);
    expect(printed).toMatch(/notice now CLEAR/);
    expect(printed).toMatch(/\[webhook receiver\] gov\.preflight\.clearance\.issued\.v1 .*signature ok/);
    expect(printed).not.toContain('BAD SIGNATURE');
    // The timeline at the end: who did what, and the state it led to.
    expect(printed).toMatch(/agency:nsa\s+nsa: requested information/);
    expect(printed).toMatch(/vendor:acme\s+answered information request nsa-ir-1/);
    expect(printed).toMatch(/agency:cisa\s+cisa submitted finding cisa-f1 \(MEDIUM\)/);
    expect(printed).toMatch(/webhook gov\.preflight\.clearance\.issued\.v1 to ep_\w+: attempt 1 DELIVERED/);
    expect(printed).toContain('/console/#token=');
  });
});
