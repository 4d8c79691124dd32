import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { sendAgencyCommand } from '../events/agency-client';
import { createKafka } from '../events/kafka';
import { importPrivateKey } from '../events/signing';
import { loadConfig, type Config } from '../infra/config';
import { devCredentialPaths, readDevSecrets } from '../stack/dev-credentials';
import { createLogger } from '../infra/logger';
import type { SubmissionView } from '../wire/submission';
import { DAY_MS } from '../workflows/shared/time';
import { formatTimeline, type Timeline } from '../clients/timeline';
import { expectedEndpoints } from '../stack/servers';

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

/**
 * `npm run demo`: against a running `npm start`, the parties act out one evaluation — a vendor registers a webhook
 * endpoint and submits a model; NSA and CISA accept and assess through signed Kafka commands; NSA asks for
 * information and the vendor answers; both submit findings; the vendor reads and responds to them; the advisory
 * clearance notice is issued; the timeline is printed.
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
  const kafka = createKafka(config.kafka, logger, expectedEndpoints(config).kafka, 'demo');
  const producer = kafka.producer();
  await producer.connect();
  try {
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
    const agencyStatus = async (agencyId: string) => (await state()).agencies.find((a) => a.agencyId === agencyId)?.status;
    const waitAgency = (agencyId: string, status: string) =>
      until(`${agencyId} ${status}`, async () => ((await agencyStatus(agencyId)) === status ? true : undefined));
    const s1 = await until('screening and access provisioning', async () => {
      const s = await state();
      return s.status === 'UNDER_ASSESSMENT' ? s : undefined;
    });
    say(`screened, access granted; window ${s1.window?.opensAt} → ${s1.window?.closesAt}; agencies invited`);

    const keys = { nsa: importPrivateKey(secrets.agencyKeys.nsa!), cisa: importPrivateKey(secrets.agencyKeys.cisa!) };
    const agency = async (agencyId: 'nsa' | 'cisa', type: string, data: Record<string, unknown> = {}) => {
      const sent = await sendAgencyCommand(producer, { agencyId, type, subject: id, data }, keys[agencyId]);
      say(`${agencyId.toUpperCase()} sends ${type} (signed, ce_id ${sent.id})`);
    };

    step('Agencies accept and start, through signed commands on preflight.agency-commands.v1');
    await agency('nsa', 'gov.preflight.assessment.accept.v1');
    await agency('cisa', 'gov.preflight.assessment.accept.v1');
    await waitAgency('nsa', 'ACCEPTED');
    await waitAgency('cisa', 'ACCEPTED');
    await agency('nsa', 'gov.preflight.assessment.start.v1');
    await agency('cisa', 'gov.preflight.assessment.start.v1');
    await waitAgency('nsa', 'IN_PROGRESS');
    await waitAgency('cisa', 'IN_PROGRESS');

    step('NSA requests information; its review clock pauses');
    await agency('nsa', 'gov.preflight.assessment.request-info.v1', { question: 'Which abuse classifiers run in front of the API, and at which thresholds?' });
    const requestId = await until('the information request', async () => (await state()).openInfoRequests[0]?.requestId);
    say(`information request ${requestId} is open`);

    step('Vendor answers the information request');
    await vendor('POST', `/v1/submissions/${id}/info-requests/${requestId}/response`, {
      response: 'Classifier stack v3 (cyber, CBRN) runs on every request; thresholds are in the attached model card.',
    });
    await waitAgency('nsa', 'IN_PROGRESS');
    say('answered; NSA review clock resumes');

    step('Agencies submit findings and complete');
    await agency('nsa', 'gov.preflight.finding.submit.v1', {
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
    await agency('cisa', 'gov.preflight.finding.submit.v1', {
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
    await until('both findings', async () => ((await state()).agencies.every((a) => a.findingsCount > 0) ? true : undefined));
    await agency('nsa', 'gov.preflight.assessment.complete.v1');
    await agency('cisa', 'gov.preflight.assessment.complete.v1');
    const issued = await until('the clearance notice', async () => {
      const s = await state();
      return s.status === 'CLEARANCE_ISSUED' ? s : undefined;
    });
    say(`advisory clearance notice: ${issued.notice} (advisory only: Preflight never approves, blocks or delays a release)`);

    step('Vendor reads the findings and responds');
    const summary = (await call('GET', `/ops/submissions/${id}`, secrets.opsToken)) as { findings: { findings: Array<{ findingId: string }> } };
    const claims: Array<{ findingId: string; agencyId: 'nsa' | 'cisa' }> = [];
    for (const { findingId } of summary.findings.findings) {
      const f = await vendor('GET', `/v1/submissions/${id}/findings/${findingId}`);
      const response = f.severity === 'HIGH' ? 'MITIGATED' : 'ACKNOWLEDGED';
      await vendor('POST', `/v1/submissions/${id}/findings/${findingId}/response`, { response, note: 'Tracked in the release safety plan.' });
      say(`${findingId} (${String(f.severity)}, ${String(f.agencyId)}): "${String(f.title)}" → ${response}`);
      if (response === 'MITIGATED') claims.push({ findingId, agencyId: f.agencyId as 'nsa' | 'cisa' });
    }
    const claimed = await state();
    say(`notice ${claimed.notice}: mitigations awaiting the reporting agency's confirmation: ${claimed.mitigationsAwaitingConfirmation.join(', ') || 'none'}`);

    step('The reporting agency confirms each claimed mitigation (signed command)');
    for (const { findingId, agencyId } of claims) {
      await agency(agencyId, 'gov.preflight.finding.confirm-mitigation.v1', { findingId, note: 'Re-tested on the updated checkpoint.' });
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
    await producer.disconnect().catch(() => undefined);
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
