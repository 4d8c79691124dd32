import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Kafka } from 'kafkajs';
import { Webhook } from 'standardwebhooks';
import { buildAgencyCommand, produceAgencyMessage, sendAgencyCommand } from '../../events/agency-client';
import { importPrivateKey } from '../../events/signing';
import { TOPICS } from '../../events/topics';
import { EncryptionCodec, payloadKeys } from '../../infra/codec';
import { ensureDevCredentials, readDevSecrets } from '../../stack/dev-credentials';
import { freePort } from '../../infra/local-process';
import { resolveMasterKey } from '../../infra/master-key';
import { DEFAULT_DISPATCHER_GROUP } from '../../workers/dispatcher';
import { DEFAULT_INGRESS_GROUP } from '../../workers/ingress/index';
import type { SubmissionView } from '../../wire/submission';
import { eventually, startGroupAtEnd } from '../helpers/agency-events';
import { canary, findNeedles, historyHaystacks, historyPayloads, needles, type Hit, type Needle } from '../helpers/canary';
import { testClient, testConfig, testKafka, testStack, unique } from '../helpers/stack-env';
import { Receiver } from '../helpers/webhook-receiver';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'preflight.js');
const PROCESSES = { worker: 'worker started', ingress: 'ingress started', dispatcher: 'dispatcher started', api: 'api listening' } as const;
type ProcessName = keyof typeof PROCESSES;

interface Running {
  name: ProcessName;
  child: ChildProcess;
  logFile: string;
}

/** One Preflight process as a child, its stdout and stderr going to one file so every line it writes is swept. */
async function startProcess(name: ProcessName, env: NodeJS.ProcessEnv, dir: string, running: Running[]): Promise<void> {
  const logFile = path.join(dir, `${name}.log`);
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [BIN, name], { env, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  running.push({ name, child, logFile });
  await eventually(
    `${name} to start`,
    () => {
      if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
      return fs.readFileSync(logFile, 'utf8').includes(`"msg":"${PROCESSES[name]}"`) ? true : undefined;
    },
    150_000,
  );
}

/** The sum of a metric's samples in a Prometheus text exposition whose labels include `labels`. */
function sample(exposition: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const has = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => has[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

async function stopProcess(p: Running): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** Reads every record of every topic from the beginning up to the end offsets seen now, keys and headers included. */
async function readAllTopics(
  kafka: Kafka,
): Promise<{ topics: string[]; records: Array<{ topic: string; key: Buffer | null; value: Buffer | null; headers: Array<[string, Buffer]> }> }> {
  const admin = kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__'));
  const remaining = new Map<string, bigint>();
  for (const topic of topics) {
    for (const o of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(o.high) > BigInt(o.low)) remaining.set(`${topic}/${o.partition}`, BigInt(o.high) - 1n);
    }
  }
  await admin.disconnect();
  const records: Array<{ topic: string; key: Buffer | null; value: Buffer | null; headers: Array<[string, Buffer]> }> = [];
  if (remaining.size === 0) return { topics, records };
  const consumer = kafka.consumer({ groupId: unique('canary-sweep'), sessionTimeout: 10_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers: Array<[string, Buffer]> = [];
        for (const [name, v] of Object.entries(message.headers ?? {})) {
          for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) headers.push([name, Buffer.from(one)]);
        }
        records.push({ topic, key: message.key, value: message.value, headers });
        const id = `${topic}/${partition}`;
        const last = remaining.get(id);
        if (last !== undefined && BigInt(message.offset) >= last) remaining.delete(id);
      },
    });
    await eventually('every topic read to its end', () => (remaining.size === 0 ? true : undefined), 120_000);
  } finally {
    await consumer.disconnect();
  }
  return { topics, records };
}

/**
 * Plants random canaries everywhere user content and secrets enter Preflight (finding text, information requests and
 * answers, contacts, endpoint descriptions and URLs, webhook secrets, a receiver's failure body, a dead-lettered
 * command), runs a whole evaluation through the real processes, then looks for every canary in every form where none
 * may be: raw Temporal histories and visibility, Kafka keys, headers and values, and every process's log.
 */
describe('canary sweep', () => {
  const running: Running[] = [];
  const receivers: Receiver[] = [];
  let client: Client | undefined;
  afterAll(async () => {
    await Promise.all(running.map(stopProcess));
    for (const r of receivers) await r.close();
    await client?.connection.close();
  });

  it('finds no planted canary outside the encrypted payloads and the inbound command bytes', async () => {
    const stack = testStack();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-sweep-'));
    const creds = ensureDevCredentials(dir);
    const secrets = readDevSecrets(dir);
    // A vendor of this run only: the endpoint registry workflow is then this run's, on this run's task queue.
    const vendorId = unique('canary-vendor');
    const vendorKey = `pfv_${crypto.randomBytes(32).toString('base64url')}`;
    fs.writeFileSync(
      creds.vendorKeyFile,
      JSON.stringify({ version: 1, keys: [{ vendorId, keyId: `${vendorId}-1`, sha256: crypto.createHash('sha256').update(vendorKey).digest('hex') }] }),
    );

    const planted = {
      findingDetail: canary('detail'),
      findingTitle: canary('title'),
      findingMitigation: canary('mitigation'),
      question: canary('question'),
      answer: canary('answer'),
      responseNote: canary('note'),
      contactName: canary('contact'),
      endpointDescription: canary('description'),
      endpointHost: canary('host'),
      receiverBody: canary('receiver'),
      deadLetterField: canary('deadletter'),
      deadLetterKey: canary('deadletterkey'),
      affectedProduct: canary('product'),
      weakness: canary('weakness'),
    };
    const good = new Receiver([{ status: 204 }]);
    const failing = new Receiver([{ status: 500, body: `receiver failed: ${planted.receiverBody}` }]);
    receivers.push(good, failing);
    await good.listen('127.0.0.1');
    await failing.listen('127.0.0.1');

    const apiPort = await freePort();
    const overrides = {
      PREFLIGHT_DATA_DIR: dir,
      PREFLIGHT_TASK_QUEUE: unique('canary'),
      PREFLIGHT_HOST: '127.0.0.1',
      PREFLIGHT_API_PORT: String(apiPort),
      PREFLIGHT_AGENCY_REGISTRY: creds.agencyRegistryFile,
      PREFLIGHT_WEBHOOK_ALLOWLIST: '127.0.0.1/32',
      PREFLIGHT_LOG_LEVEL: 'debug',
    };
    const config = testConfig(overrides);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      PREFLIGHT_MASTER_KEY: process.env.PREFLIGHT_TEST_MASTER_KEY,
      ...overrides,
    };
    // The processes use their default consumer groups; earlier tests' records must not reach them.
    const kafka = testKafka();
    await startGroupAtEnd(kafka, DEFAULT_INGRESS_GROUP, TOPICS.agencyCommands);
    await startGroupAtEnd(kafka, DEFAULT_DISPATCHER_GROUP, TOPICS.submissionEvents);
    // Each process serves its own /metrics (the api on its port, the others on PREFLIGHT_METRICS_PORT).
    const metricsUrls: Record<ProcessName, string> = {
      worker: `http://127.0.0.1:${await freePort()}/metrics`,
      ingress: `http://127.0.0.1:${await freePort()}/metrics`,
      dispatcher: `http://127.0.0.1:${await freePort()}/metrics`,
      api: `http://127.0.0.1:${apiPort}/metrics`,
    };
    // The worker also serves the Temporal core's own metrics.
    const coreMetricsUrl = `http://127.0.0.1:${await freePort()}/metrics`;
    const processEnv = (name: ProcessName): NodeJS.ProcessEnv =>
      name === 'api'
        ? env
        : {
            ...env,
            PREFLIGHT_METRICS_PORT: new URL(metricsUrls[name]).port,
            ...(name === 'worker' ? { PREFLIGHT_TEMPORAL_METRICS_PORT: new URL(coreMetricsUrl).port } : {}),
          };
    await Promise.all((Object.keys(PROCESSES) as ProcessName[]).map((name) => startProcess(name, processEnv(name), dir, running)));

    const api = `http://127.0.0.1:${apiPort}`;
    const call = async (method: string, route: string, token: string, body?: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(api + route, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (!res.ok) throw new Error(`${method} ${route} → ${res.status}: ${JSON.stringify(json)}`);
      return json;
    };
    const vendor = (method: string, route: string, body?: unknown) => call(method, route, vendorKey, body);

    const goodEndpoint = await vendor('POST', '/v1/webhook-endpoints', {
      url: `http://127.0.0.1:${good.port}/hooks`,
      description: planted.endpointDescription,
    });
    const failingEndpoint = await vendor('POST', '/v1/webhook-endpoints', { url: `http://127.0.0.1:${failing.port}/hooks` });
    await vendor('POST', '/v1/webhook-endpoints', { url: `http://${planted.endpointHost}.invalid/hooks` });
    // The secrets shown once at registration are canaries too.
    const secretsShown = { goodSecret: String(goodEndpoint.secret), failingSecret: String(failingEndpoint.secret) };
    expect(secretsShown.goodSecret).toMatch(/^whsec_/);

    const created = await vendor('POST', '/v1/submissions', {
      model: { name: 'canary-model', version: '1.0.0', versionHash: `sha256:${'ab'.repeat(32)}` },
      plannedReleaseAt: new Date(Date.now() + 21 * 86_400_000).toISOString(),
      accessMethod: 'API',
      contacts: [{ name: planted.contactName, email: 'safety@canary.example', role: 'release lead' }],
      requestedAgencies: ['nsa', 'cisa'],
    });
    const submissionId = String(created.submissionId);
    const view = async () => (await vendor('GET', `/v1/submissions/${submissionId}`)) as unknown as SubmissionView;
    const agencyIs = (agencyId: string, status: string) =>
      eventually(
        `${agencyId} ${status}`,
        async () => ((await view()).agencies.find((a) => a.agencyId === agencyId)?.status === status ? true : undefined),
        90_000,
      );
    await eventually('assessment to start', async () => ((await view()).status === 'UNDER_ASSESSMENT' ? true : undefined), 90_000);

    const producer = kafka.producer();
    await producer.connect();
    const keys = { nsa: importPrivateKey(secrets.agencyKeys.nsa!), cisa: importPrivateKey(secrets.agencyKeys.cisa!) };
    const agency = (agencyId: 'nsa' | 'cisa', type: string, data: Record<string, unknown> = {}) =>
      sendAgencyCommand(producer, { agencyId, type, subject: submissionId, data }, keys[agencyId]);
    const finding = (severity: string) => ({
      severity,
      domain: 'offensive-cyber',
      title: `Uplift ${planted.findingTitle}`,
      detail: `The model completes exploit chains: ${planted.findingDetail}`,
      modelVersionTested: '1.0.0',
      recommendedMitigation: `Refusal training ${planted.findingMitigation}`,
      thirdPartyVulnerability: false,
    });
    try {
      for (const a of ['nsa', 'cisa'] as const) await agency(a, 'gov.preflight.assessment.accept.v1');
      await agencyIs('nsa', 'ACCEPTED');
      await agencyIs('cisa', 'ACCEPTED');
      for (const a of ['nsa', 'cisa'] as const) await agency(a, 'gov.preflight.assessment.start.v1');
      await agencyIs('nsa', 'IN_PROGRESS');
      await agencyIs('cisa', 'IN_PROGRESS');

      await agency('nsa', 'gov.preflight.assessment.request-info.v1', { question: `Which classifiers? ${planted.question}` });
      const requestId = await eventually('the information request', async () => (await view()).openInfoRequests[0]?.requestId, 90_000);
      await vendor('POST', `/v1/submissions/${submissionId}/info-requests/${requestId}/response`, { response: `Classifier v3 ${planted.answer}` });
      await agencyIs('nsa', 'IN_PROGRESS');

      // A signed command whose data breaks the schema, with the canary in the bad field: dead-lettered.
      await produceAgencyMessage(
        producer,
        buildAgencyCommand(
          {
            agencyId: 'cisa',
            type: 'gov.preflight.finding.submit.v1',
            subject: submissionId,
            data: { finding: { ...finding('MEDIUM'), severity: planted.deadLetterField } },
          },
          keys.cisa,
          { validate: false },
        ),
      );
      // And one whose unknown field is named by a canary: the refusal must not quote it.
      await produceAgencyMessage(
        producer,
        buildAgencyCommand(
          {
            agencyId: 'nsa',
            type: 'gov.preflight.finding.submit.v1',
            subject: submissionId,
            data: { finding: { ...finding('LOW'), [planted.deadLetterKey]: true } },
          },
          keys.nsa,
          { validate: false },
        ),
      );
      await agency('nsa', 'gov.preflight.finding.submit.v1', { finding: finding('HIGH') });
      // A third-party vulnerability: it opens a clearinghouse case, whose events and workflow are swept too.
      await agency('cisa', 'gov.preflight.finding.submit.v1', {
        finding: {
          ...finding('MEDIUM'),
          thirdPartyVulnerability: true,
          affectedProduct: `Gateway ${planted.affectedProduct}`,
          weakness: `injection ${planted.weakness}`,
          cweId: 'CWE-1427',
        },
      });
      await eventually('both findings', async () => ((await view()).agencies.every((a) => a.findingsCount > 0) ? true : undefined), 90_000);
      for (const a of ['nsa', 'cisa'] as const) await agency(a, 'gov.preflight.assessment.complete.v1');
      await eventually('the clearance notice', async () => ((await view()).status === 'CLEARANCE_ISSUED' ? true : undefined), 90_000);
    } finally {
      await producer.disconnect();
    }

    const summary = (await call('GET', `/ops/submissions/${submissionId}`, secrets.opsToken)) as { findings: { findings: Array<{ findingId: string }> } };
    for (const { findingId } of summary.findings.findings) {
      await vendor('POST', `/v1/submissions/${submissionId}/findings/${findingId}/response`, {
        response: 'ACKNOWLEDGED',
        note: `Tracked ${planted.responseNote}`,
      });
    }
    const deadLetters = (await call('GET', '/ops/dead-letters?limit=500', secrets.opsToken)) as {
      items: Array<{ agencyId?: string; subject?: string; reason?: string }>;
    };
    expect(JSON.stringify(deadLetters.items)).toContain(submissionId);

    // Webhooks: the good receiver verifies every delivery with the secret it was shown; the failing one was tried.
    await eventually(
      'the clearance webhook',
      () => (good.requests.some((r) => r.body.includes('gov.preflight.clearance.issued.v1')) ? true : undefined),
      90_000,
    );
    await eventually('a failed delivery', () => (failing.requests.length > 0 ? true : undefined), 90_000);
    const verifier = new Webhook(secretsShown.goodSecret);
    for (const r of good.requests) expect(() => verifier.verify(r.body, r.headers as Record<string, string>)).not.toThrow();

    const scraped = {} as Record<ProcessName, string>;
    for (const name of Object.keys(metricsUrls) as ProcessName[]) {
      const res = await fetch(metricsUrls[name]);
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      scraped[name] = await res.text();
    }
    const coreMetrics = await (await fetch(coreMetricsUrl)).text();
    await Promise.all(running.map(stopProcess));

    const list: Needle[] = needles({ ...planted, ...secretsShown, goodSecretKey: Buffer.from(secretsShown.goodSecret.slice('whsec_'.length), 'base64') });
    const hits: Hit[] = [];
    const figures = { histories: 0, events: 0, payloads: 0, visibilityRows: 0, topicsListed: 0, topics: new Set<string>(), records: 0, logLines: 0 };

    // (a) and (b): every workflow in the namespace, through a client without the codec, as stored.
    client = await testClient();
    const masterKey = resolveMasterKey(config.masterKey, config.stack.dataDir);
    const codec = new EncryptionCodec(payloadKeys(config.payloadKeys, masterKey));
    const decodedHits = new Set<string>();
    for await (const wf of client.workflow.list()) {
      figures.visibilityRows += 1;
      hits.push(...findNeedles(JSON.stringify(temporalJson(wf.raw)), list, `visibility ${wf.workflowId}`));
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      figures.histories += 1;
      figures.events += history.events?.length ?? 0;
      const { json, binary } = historyHaystacks(history);
      hits.push(...findNeedles(json, list, `history ${wf.workflowId} (json)`), ...findNeedles(binary, list, `history ${wf.workflowId} (binary)`));
      // The control: decrypted with the deployment's keys, the planted text is there.
      const payloads = historyPayloads(history);
      figures.payloads += payloads.length;
      if ([submissionId, vendorId, 'case/'].some((part) => wf.workflowId.includes(part))) {
        for (const p of await codec.decode(payloads).catch(() => [])) {
          for (const h of findNeedles(Buffer.from(p.data ?? new Uint8Array()), list, wf.workflowId)) decodedHits.add(h.needle);
        }
      }
    }

    // (c) every topic from its beginning: keys and headers never; values only on the command topic, whose records are
    // the agencies' own signed bytes. Dead letters keep those bytes sealed, so they must hold no canary either.
    const inboundValues = new Set<string>([TOPICS.agencyCommands]);
    const inboundHits = new Set<string>();
    const everything = await readAllTopics(kafka);
    figures.topicsListed = everything.topics.length;
    for (const r of everything.records) {
      figures.records += 1;
      figures.topics.add(r.topic);
      hits.push(...findNeedles(r.key, list, `kafka ${r.topic} key`));
      for (const [name, value] of r.headers) hits.push(...findNeedles(`${name}=${value.toString('latin1')}`, list, `kafka ${r.topic} header ${name}`));
      const valueHits = findNeedles(r.value, list, `kafka ${r.topic} value`);
      if (inboundValues.has(r.topic)) valueHits.forEach((h) => inboundHits.add(h.needle));
      else hits.push(...valueHits);
    }

    // (d) every line every process wrote.
    for (const p of running) {
      const lines = fs.readFileSync(p.logFile, 'utf8').split('\n');
      figures.logLines += lines.filter(Boolean).length;
      lines.forEach((line, i) => hits.push(...findNeedles(line, list, `${p.name}.log:${i + 1}`)));
    }

    // (e) what each process's /metrics showed.
    for (const name of Object.keys(scraped) as ProcessName[]) hits.push(...findNeedles(scraped[name], list, `${name} /metrics`));
    hits.push(...findNeedles(coreMetrics, list, 'worker Temporal core /metrics'));

    fs.mkdirSync('test-results', { recursive: true });
    const report = { ...figures, topics: [...figures.topics].sort(), hits, decodedHits: [...decodedHits].sort(), inboundHits: [...inboundHits].sort() };
    fs.writeFileSync('test-results/canary-sweep.json', JSON.stringify(report, null, 2));

    expect(hits).toEqual([]);
    // The sweep saw what it looked for: decrypted histories hold the planted content, the inbound topic its commands.
    expect([...decodedHits]).toEqual(
      expect.arrayContaining([
        'findingDetail',
        'findingTitle',
        'findingMitigation',
        'question',
        'answer',
        'responseNote',
        'contactName',
        'endpointDescription',
        'endpointHost',
        'receiverBody',
        'affectedProduct',
        'weakness',
      ]),
    );
    expect([...inboundHits]).toEqual(expect.arrayContaining(['findingDetail', 'question', 'deadLetterField', 'deadLetterKey']));
    expect(figures.histories).toBeGreaterThan(5);
    // The logs swept are the real ones: they name what happened by id.
    for (const name of ['worker', 'dispatcher'] as const) expect(fs.readFileSync(path.join(dir, `${name}.log`), 'utf8')).toContain(submissionId);
    const ingressLog = fs.readFileSync(path.join(dir, 'ingress.log'), 'utf8');
    expect(ingressLog.match(/"msg":"command applied"/g)?.length).toBeGreaterThanOrEqual(8);
    expect(ingressLog.match(/"code":"schema-violation","deadLettered":true/g)).toHaveLength(2);
    expect(figures.logLines).toBeGreaterThan(20);
    expect([...figures.topics]).toEqual(
      expect.arrayContaining([TOPICS.agencyCommands, TOPICS.submissionEvents, TOPICS.deadLetter, TOPICS.clearinghouseEvents]),
    );
    // The metrics the processes served count what this run did.
    expect(sample(scraped.worker, 'preflight_lifecycle_transitions_total', { to: 'RECEIVED' })).toBeGreaterThanOrEqual(1);
    // Webhook attempts: the dispatcher makes each first attempt, the worker's delivery activities the retries.
    const attempts = (name: string, labels: Record<string, string>) => sample(scraped.worker, name, labels) + sample(scraped.dispatcher, name, labels);
    expect(attempts('preflight_webhook_delivery_attempts_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
    expect(attempts('preflight_webhook_delivery_attempts_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(attempts('preflight_webhook_delivery_latency_seconds_count', {})).toBeGreaterThanOrEqual(2);
    expect(sample(scraped.ingress, 'preflight_ingress_commands_total', { outcome: 'accepted' })).toBe(ingressLog.match(/"msg":"command applied"/g)!.length);
    expect(sample(scraped.ingress, 'preflight_ingress_commands_total', { outcome: 'schema-violation' })).toBe(2);
    expect(sample(scraped.dispatcher, 'preflight_dispatcher_events_total', { outcome: 'dispatched' })).toBeGreaterThanOrEqual(1);
    expect(sample(scraped.dispatcher, 'preflight_dispatcher_deliveries_total', { result: 'started' })).toBeGreaterThanOrEqual(2);
    expect(sample(scraped.api, 'preflight_http_requests_total', {})).toBeGreaterThanOrEqual(1);
    expect(sample(coreMetrics, 'temporal_worker_start_total', { task_queue: overrides.PREFLIGHT_TASK_QUEUE })).toBe(1);
    expect(sample(coreMetrics, 'temporal_workflow_completed_total', {})).toBeGreaterThanOrEqual(1);
  });
});

/** A visibility row as stored (memo and search attributes still encoded), bytes in base64. */
function temporalJson(raw: temporal.api.workflow.v1.IWorkflowExecutionInfo): unknown {
  const message = temporal.api.workflow.v1.WorkflowExecutionInfo.fromObject(raw);
  return temporal.api.workflow.v1.WorkflowExecutionInfo.toObject(message, { bytes: String, longs: String, enums: String });
}
