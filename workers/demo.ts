import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { KeyObject } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { sendAgencyCommand } from '../events/agency-client';
import { agencyKafka, readAgencyKafkaLogin } from '../events/agency-login';
import { decodeEvent, tailTopic } from '../events/consumer';
import { headersToStrings } from '../events/envelope';
import { importPrivateKey } from '../events/signing';
import { agencyInboxTopic } from '../events/topics';
import { signRequest } from '../infra/http-signatures';
import { loadConfig, type Config } from '../infra/config';
import { agencyKafkaLoginFile, devCredentialPaths, readDevSecrets } from '../stack/dev-credentials';
import { createLogger } from '../infra/logger';
import type { SubmissionView } from '../wire/submission';
import { DAY_MS } from '../workflows/shared/time';
import { formatTimeline, type Timeline } from '../clients/timeline';

const say = (line = '') => process.stdout.write(`${line}\n`);
const step = (line: string) => say(`\n== ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class DemoError extends Error {
  override readonly name = 'DemoError';
}

/** A local webhook receiver on 127.0.0.1 that prints what it receives and checks each signature. */
async function startReceiver(): Promise<{ url: string; setSecret(s: string): void; received: string[]; close(): Promise<void> }> {
  let verifier: Webhook | undefined;
  const received: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified: string;
      try {
        verifier?.verify(body, req.headers as Record<string, string>);
        verified = verifier ? 'signature ok' : 'no secret yet';
      } catch {
        verified = 'BAD SIGNATURE';
      }
      let type = '?';
      let data: Record<string, unknown> = {};
      try {
        const parsed = JSON.parse(body) as { type?: string; data?: Record<string, unknown> };
        type = parsed.type ?? '?';
        data = parsed.data ?? {};
      } catch {
        // printed as is below
      }
      received.push(type);
      const detail = ['status', 'agencyId', 'findingId', 'severity', 'notice', 'response']
        .filter((k) => data[k] !== undefined)
        .map((k) => `${k}=${String(data[k])}`);
      say(`   [webhook receiver] ${type} ${detail.join(' ')} (webhook-id ${String(req.headers['webhook-id'])}, ${verified})`);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/preflight-webhooks`,
    setSecret: (s) => (verifier = new Webhook(s)),
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new DemoError(`Gave up waiting for ${what} after ${timeoutMs / 1000} s.`);
    await sleep(300);
  }
}

type DemoAgencyId = 'nsa' | 'cisa';

/**
 * One agency as it really works: its Kafka login (its inbox, and the command topic on the SASL listener) and its
 * signing key (signed commands, and RFC 9421-signed reads of the agency API). Nothing of the vendor's or of ops.
 */
interface DemoAgency {
  id: DemoAgencyId;
  /** Its inbox as read so far: type, subject and thin data of each event. */
  inbox: Array<{ type: string; subject: string; data: Record<string, unknown> }>;
  send(type: string, subject: string, data?: Record<string, unknown>): Promise<string>;
  get(route: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

async function startAgency(id: DemoAgencyId, dataDir: string, api: string, key: KeyObject, logger: ReturnType<typeof createLogger>): Promise<DemoAgency> {
  const login = readAgencyKafkaLogin(agencyKafkaLoginFile(dataDir, id));
  const kafka = agencyKafka(login, logger, `preflight-demo-${id}`);
  const inbox: DemoAgency['inbox'] = [];
  const tail = await tailTopic(
    kafka,
    agencyInboxTopic(id),
    (message) => {
      const headers = headersToStrings(message.headers);
      const event = { type: headers.ce_type ?? '?', subject: headers.ce_subject ?? '', data: decodeEvent(message).data as Record<string, unknown> };
      inbox.push(event);
      if (!event.type.startsWith('gov.preflight.agency.')) return;
      const detail = ['status', 'findingId', 'grantId', 'expiresAt', 'hoursBefore']
        .filter((k) => event.data[k] !== undefined)
        .map((k) => `${k}=${String(event.data[k])}`);
      say(`   [${id} inbox] ${event.type.replace('gov.preflight.agency.', '').replace(/\.v\d+$/, '')} ${detail.join(' ')}`);
    },
    { groupPrefix: `${id}.demo` },
  );
  const producer: Producer = kafka.producer({ idempotent: true });
  await producer.connect();
  return {
    id,
    inbox,
    send: async (type, subject, data = {}) => (await sendAgencyCommand(producer, { agencyId: id, type, subject, data }, key)).id,
    get: async (route) => {
      const url = api + route;
      const res = await fetch(url, { headers: { ...(await signRequest({ method: 'GET', url, keyId: id, privateKey: key })), accept: 'application/json' } });
      const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (!res.ok) throw new DemoError(`${id}: GET ${route} → ${res.status} ${String(json.title ?? '')}: ${String(json.detail ?? '')}`);
      return json;
    },
    close: async () => {
      await tail.stop().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    },
  };
}

/**
 * `npm run demo`: against a running `npm start`, the parties act out one evaluation, each only through its own
 * interfaces — the vendor with its vendor key; NSA and CISA with their signing keys and Kafka logins (inbox, signed
 * commands, the signed agency API); ops with the ops token, for the timeline at the end. The vendor registers a
 * webhook endpoint and submits a model; the agencies learn of it from their inboxes, fetch their access tokens, accept
 * and assess; NSA asks and reads the vendor's answer; both submit findings and finish (their tokens stop working);
 * the vendor lists the findings and responds; NSA confirms the claimed mitigation; the timeline is printed.
 */
export async function runDemo(config: Config): Promise<void> {
  const logger = createLogger({ level: 'error' });
  const dataDir = config.stack.dataDir;
  let secrets: ReturnType<typeof readDevSecrets>;
  try {
    secrets = readDevSecrets(dataDir);
  } catch {
    throw new DemoError(`No local credentials in ${devCredentialPaths(dataDir).secretsDir}: start Preflight first with "npm start" (same PREFLIGHT_DATA_DIR).`);
  }
  const api = `http://${config.stack.host}:${config.apiPort}`;
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(api + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new DemoError(`${method} ${path} → ${res.status} ${String(json.title ?? '')}: ${String(json.detail ?? '')}`);
    return json;
  };
  const vendorKey = secrets.vendorKeys.acme!;
  const vendor = (method: string, path: string, body?: unknown) => call(method, path, vendorKey, body);

  step(`Preflight at ${api}`);
  await until('the api to be ready (is "npm start" running?)', async () => ((await fetch(`${api}/readyz`)).ok ? true : undefined), 60_000).catch(() => {
    throw new DemoError(`The api at ${api} is not ready: start Preflight with "npm start" in another terminal first.`);
  });
  say('api ready: Temporal and Kafka reachable');

  const receiver = await startReceiver();
  const agencies: Partial<Record<DemoAgencyId, DemoAgency>> = {};
  try {
    for (const agencyId of ['nsa', 'cisa'] as const) {
      agencies[agencyId] = await startAgency(agencyId, dataDir, api, importPrivateKey(secrets.agencyKeys[agencyId]!), logger).catch((e: unknown) => {
        throw new DemoError(`${agencyId} cannot log in to Kafka with its own login (${(e as Error).message}); is "npm start" running on the same data dir?`);
      });
    }
    const nsa = agencies.nsa!;
    const cisa = agencies.cisa!;

    step('Vendor acme registers a webhook endpoint (a local receiver)');
    const endpoint = await vendor('POST', '/v1/webhook-endpoints', { url: receiver.url, description: 'demo receiver' }).catch((e: unknown) => {
      throw new DemoError(
        `${(e as Error).message}\nThe demo's receiver listens on 127.0.0.1, which the SSRF guard refuses unless allowed: start Preflight with PREFLIGHT_WEBHOOK_ALLOWLIST=127.0.0.1/32 npm start`,
      );
    });
    receiver.setSecret(String(endpoint.secret));
    say(`endpoint ${String(endpoint.id)} → ${receiver.url} (secret shown once, kept by the receiver to verify signatures)`);

    step('Vendor acme submits frontier-7 for evaluation by NSA and CISA');
    const created = await vendor('POST', '/v1/submissions', {
      model: { name: 'frontier-7', version: '7.0.1', versionHash: `sha256:${'3f'.repeat(32)}` },
      plannedReleaseAt: new Date(Date.now() + 21 * DAY_MS).toISOString(),
      accessMethod: 'API',
      contacts: [{ name: 'Pat Lee', email: 'safety@acme.example', role: 'release safety lead' }],
      requestedAgencies: ['nsa', 'cisa'],
    });
    const id = String(created.submissionId);
    say(`submission ${id} (${String(created.status)})`);
    const state = async () => (await vendor('GET', `/v1/submissions/${id}`)) as unknown as SubmissionView;
    const inboxHas = (a: DemoAgency, type: string) =>
      until(`${type} in the ${a.id} inbox`, async () => a.inbox.find((e) => e.subject === id && e.type === type));
    // Each agency follows its own assessment through its own signed API.
    const waitAgency = (a: DemoAgency, status: string) =>
      until(`${a.id} ${status}`, async () => ((await a.get(`/v1/agency/assessments/${id}`)).status === status ? true : undefined));
    const agency = async (a: DemoAgency, type: string, data: Record<string, unknown> = {}) => {
      const commandId = await a.send(type, id, data);
      say(`${a.id.toUpperCase()} sends ${type} (signed, ce_id ${commandId}, with its own Kafka login)`);
    };

    step('Each agency learns of the invitation and of its access grant from its own inbox');
    for (const a of [nsa, cisa]) {
      await inboxHas(a, 'gov.preflight.agency.invited.v1');
      await inboxHas(a, 'gov.preflight.agency.access-granted.v1');
    }

    step("Each agency fetches its access token (signed request); the vendor's model gateway verifies it");
    const tokens: Partial<Record<DemoAgencyId, string>> = {};
    for (const a of [nsa, cisa]) {
      const token = await a.get(`/v1/agency/assessments/${id}/access-token`);
      tokens[a.id] = String(token.token);
      const verified = await vendor('POST', '/v1/access/verify', { token: tokens[a.id] });
      say(`${a.id.toUpperCase()} token for grant ${String(token.grantId)}: gateway check → valid=${String(verified.valid)} (${String(verified.scope ?? '')})`);
    }

    step('Agencies accept and start, through signed commands on preflight.agency-commands.v1');
    await agency(nsa, 'gov.preflight.assessment.accept.v1');
    await agency(cisa, 'gov.preflight.assessment.accept.v1');
    await waitAgency(nsa, 'ACCEPTED');
    await waitAgency(cisa, 'ACCEPTED');
    await agency(nsa, 'gov.preflight.assessment.start.v1');
    await agency(cisa, 'gov.preflight.assessment.start.v1');
    await waitAgency(nsa, 'IN_PROGRESS');
    await waitAgency(cisa, 'IN_PROGRESS');

    step('NSA requests information; its review clock pauses');
    await agency(nsa, 'gov.preflight.assessment.request-info.v1', { question: 'Which abuse classifiers run in front of the API, and at which thresholds?' });
    const requestId = await until('the information request', async () => {
      const list = (await vendor('GET', `/v1/submissions/${id}/info-requests`)) as { items?: Array<{ requestId: string }> };
      return list.items?.[0]?.requestId;
    });
    const question = await vendor('GET', `/v1/submissions/${id}/info-requests/${requestId}`);
    say(`the vendor reads request ${requestId}: "${String(question.question)}"`);

    step('Vendor answers the information request; NSA is told in its inbox and reads the answer');
    await vendor('POST', `/v1/submissions/${id}/info-requests/${requestId}/response`, {
      response: 'Classifier stack v3 (cyber, CBRN) runs on every request; thresholds are in the attached model card.',
    });
    await inboxHas(nsa, 'gov.preflight.agency.info-request-answered.v1');
    const answered = await nsa.get(`/v1/agency/assessments/${id}/info-requests/${requestId}`);
    say(`NSA reads the answer: "${String(answered.response ?? JSON.stringify(answered))}"`);
    await waitAgency(nsa, 'IN_PROGRESS');
    say('NSA review clock resumes');

    step('Agencies submit findings and complete');
    await agency(nsa, 'gov.preflight.finding.submit.v1', {
      finding: {
        severity: 'HIGH',
        domain: 'offensive-cyber',
        title: 'Meaningful uplift in exploit development',
        detail: 'With light prompting the model completes working exploit chains for a known memory-safety bug class.',
        modelVersionTested: '7.0.1',
        recommendedMitigation: 'Extend refusal training to exploit-chain completion; add a classifier for exploit scaffolding.',
        thirdPartyVulnerability: false,
      },
    });
    await agency(cisa, 'gov.preflight.finding.submit.v1', {
      finding: {
        severity: 'MEDIUM',
        domain: 'critical-infrastructure',
        title: 'ICS protocol misuse guidance',
        detail: 'The model explains how to send unauthenticated Modbus write commands to a PLC.',
        modelVersionTested: '7.0.1',
        recommendedMitigation: 'Add ICS misuse examples to the safety evaluation set.',
        thirdPartyVulnerability: false,
      },
    });
    for (const a of [nsa, cisa]) {
      await until(`the ${a.id} finding`, async () =>
        ((await a.get(`/v1/agency/assessments/${id}/findings`)).items as unknown[] | undefined)?.length ? true : undefined,
      );
    }
    await agency(nsa, 'gov.preflight.assessment.complete.v1');
    await agency(cisa, 'gov.preflight.assessment.complete.v1');
    for (const a of [nsa, cisa]) await inboxHas(a, 'gov.preflight.agency.access-revoked.v1');
    for (const a of [nsa, cisa]) {
      const verified = await vendor('POST', '/v1/access/verify', { token: tokens[a.id] });
      say(`${a.id.toUpperCase()} finished: its token now checks valid=${String(verified.valid)} (${String(verified.reason ?? '')})`);
    }
    const issued = await until('the clearance notice', async () => {
      const s = await state();
      return s.status === 'CLEARANCE_ISSUED' ? s : undefined;
    });
    say(`advisory clearance notice: ${issued.notice} (advisory only: Preflight never approves, blocks or delays a release)`);

    step('Vendor lists the findings and responds');
    const findings = (await vendor('GET', `/v1/submissions/${id}/findings`)) as {
      items: Array<{ findingId: string; agencyId: DemoAgencyId; severity: string; title: string }>;
    };
    const claims: Array<{ findingId: string; agency: DemoAgency }> = [];
    for (const f of findings.items) {
      const response = f.severity === 'HIGH' ? 'MITIGATED' : 'ACKNOWLEDGED';
      await vendor('POST', `/v1/submissions/${id}/findings/${f.findingId}/response`, { response, note: 'Tracked in the release safety plan.' });
      say(`${f.findingId} (${f.severity}, ${f.agencyId}): "${f.title}" → ${response}`);
      if (response === 'MITIGATED') claims.push({ findingId: f.findingId, agency: agencies[f.agencyId]! });
    }
    const claimed = await state();
    say(`notice ${claimed.notice}: mitigations awaiting the reporting agency's confirmation: ${claimed.mitigationsAwaitingConfirmation.join(', ') || 'none'}`);

    step('The reporting agency reads the response in its inbox and API, and confirms the claimed mitigation (signed command)');
    for (const { findingId, agency: a } of claims) {
      await inboxHas(a, 'gov.preflight.agency.mitigation-claimed.v1');
      const f = await a.get(`/v1/agency/assessments/${id}/findings/${findingId}`);
      const response = f.vendorResponse as { response: string; note?: string } | undefined;
      say(`${a.id.toUpperCase()} reads ${findingId}: response ${String(response?.response)}, note "${response?.note ?? ''}"`);
      await agency(a, 'gov.preflight.finding.confirm-mitigation.v1', { findingId, note: 'Re-tested on the updated checkpoint.' });
    }
    await until('the mitigations confirmed', async () => ((await state()).mitigationsAwaitingConfirmation.length === 0 ? true : undefined));
    await vendor('POST', `/v1/submissions/${id}/acknowledge`, { note: 'Thank you.' });
    const final = await state();
    say(`notice now ${final.notice}; results acknowledged`);

    step('Waiting for the webhook deliveries to arrive');
    await until('the clearance webhook', async () => (receiver.received.includes('gov.preflight.clearance.issued.v1') ? true : undefined), 30_000).catch(() =>
      say('(the clearance webhook has not arrived yet; deliveries retry on their own schedule)'),
    );
    await sleep(1500);

    step(`Timeline of ${id}`);
    const timeline = (await call('GET', `/ops/submissions/${id}/timeline`, secrets.opsToken)) as unknown as Timeline;
    process.stdout.write(formatTimeline(timeline));
    say();
    say(`Console:  ${api}/console/#token=${encodeURIComponent(secrets.opsToken)}&submission=${id}`);
    say(`CLI:      npx preflight submissions history ${id}`);
  } finally {
    for (const a of Object.values(agencies)) await a.close();
    await receiver.close();
  }
}

/** `preflight demo` (the same as `npm run demo`). */
if (require.main === module) {
  runDemo(loadConfig(process.env)).catch((err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
