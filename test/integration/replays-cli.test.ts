/**
 * `preflight replays`: the operator at the terminal starts a bulk replay of dead letters by filter through the ops
 * API (with the ops token only), waits for it, and finds its start and end in the audit trail.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Producer } from 'kafkajs';
import { buildAgencyCommand } from '../../events/agency-client';
import type { AuditRecord } from '../../events/audit';
import { deadLetterMessage } from '../../events/dead-letter';
import { generateAgencyKeyPair, importPrivateKey } from '../../events/signing';
import { TOPICS } from '../../events/topics';
import { createLogger } from '../../infra/logger';
import { deploymentPayloadKeys } from '../../infra/temporal';
import { preflightCli } from '../helpers/cli';
import { startTestApi, type TestApi } from '../helpers/interfaces-api';
import { testConfig, testKafka, unique } from '../helpers/stack-env';

jest.setTimeout(240_000);

const logger = createLogger({ level: 'warn' });
const OPS_TOKEN = 'pfo_' + 'r'.repeat(43);
const config = testConfig({ PREFLIGHT_AUDIT_TOPIC: unique('preflight.audit.replays-it'), PREFLIGHT_TASK_QUEUE: unique('replays') });
const agencyId = unique('replay-agency');
let api: TestApi;
let producer: Producer;
let tokenFile: string;

beforeAll(async () => {
  api = await startTestApi(config, logger, { vendorKeys: {}, opsTokens: { [OPS_TOKEN]: 'replay-ops' } });
  producer = testKafka(logger).producer();
  await producer.connect();
  tokenFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'replays-token-')), 'ops.token');
  fs.writeFileSync(tokenFile, OPS_TOKEN + '\n', { mode: 0o600 });
});

afterAll(async () => {
  await producer?.disconnect();
  await api?.stop();
});

/** A dead letter as the ingress writes one: the original command sealed with the deployment's payload key. */
async function seedDeadLetter(reason: string): Promise<string> {
  const key = importPrivateKey(generateAgencyKeyPair().privateKeyPem);
  const original = buildAgencyCommand({ agencyId, type: 'gov.preflight.assessment.accept.v1', subject: unique('sub'), data: {} }, key);
  const letter = deadLetterMessage(
    { key: original.key, value: original.value, headers: original.headers },
    { reason, message: 'seeded', topic: TOPICS.agencyCommands, partition: 0, offset: '1', time: new Date().toISOString(), agencyId },
    deploymentPayloadKeys(config)[0],
  );
  await producer.send({ topic: TOPICS.deadLetter, acks: -1, messages: [letter] });
  return original.headers.ce_id!;
}

const cli = (...args: string[]) => preflightCli(['replays', ...args, '--api', api.url, '--token-file', tokenFile]);

it('replays the dead letters matching a filter as one job, waits for it, and the audit trail has its start and end', async () => {
  const since = new Date(Date.now() - 1000).toISOString();
  await seedDeadLetter('expired');
  await seedDeadLetter('expired');
  await seedDeadLetter('forged');

  const run = await cli('start', 'dead-letters', '--agency', agencyId, '--reason', 'expired', '--since', since, '--wait', '--json');
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  const job = JSON.parse(run.stdout) as { id: string; state: string; total: number; replayed: number; failed: number; operator: string; name: string };
  expect(job).toMatchObject({ state: 'done', total: 2, replayed: 2, failed: 0, operator: 'ops:replay-ops' });
  expect(job.name).toContain('reason=expired');

  const shown = await cli('show', job.id);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toMatch(new RegExp(`^${job.id}  DONE  `));
  expect(shown.stdout).toContain('2 replayed, 0 skipped, 0 failed (of 2)');
  expect((await cli('list')).stdout).toContain(job.id);

  // Refused in one line each, nothing started: an option the target does not filter on, a bad time, a bad token.
  const foreign = await cli('start', 'deliveries', '--reason', 'expired');
  expect({ code: foreign.code, stderr: foreign.stderr.trim() }).toEqual({ code: 2, stderr: 'preflight: deliveries are not filtered by --reason' });
  const badTime = await cli('start', 'dead-letters', '--since', 'yesterday');
  expect(badTime.code).toBe(2);
  expect(badTime.stderr).toMatch(/^preflight: 422 /);
  fs.writeFileSync(tokenFile, 'pfo_' + 'x'.repeat(43));
  const refused = await cli('list');
  fs.writeFileSync(tokenFile, OPS_TOKEN);
  expect(refused.code).toBe(4);
  const unknown = await cli('show', 'bulk-20261207-00000000');
  expect(unknown.code).toBe(3);

  const audit = await fetch(`${api.url}/ops/audit?pageSize=200`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
  const records = ((await audit.json()) as { items: AuditRecord[] }).items;
  expect(records).toContainEqual(
    expect.objectContaining({
      actor: { kind: 'ops', id: 'replay-ops' },
      action: 'POST /ops/bulk-replays',
      outcome: 'ok',
      details: expect.objectContaining({ bulkReplay: job.id }) as object,
    }),
  );
  expect(records).toContainEqual(
    expect.objectContaining({
      action: 'bulk replay of dead-letters ended',
      outcome: 'ok',
      details: expect.objectContaining({ bulkReplay: job.id, replayed: 2, failed: 0, total: 2 }) as object,
    }),
  );
});
