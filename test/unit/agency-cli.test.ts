import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { buildAgencyRegistry } from '../../events/agency-registry';
import { importPrivateKey, publicKeyOf } from '../../events/signing';
import { registerAgencyCommands, renderInboxRecord } from '../../workers/cli/agency';

function program(): Command {
  const p = new Command('preflight').exitOverride();
  registerAgencyCommands(p);
  return p;
}

async function run(args: string[]): Promise<string> {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    await program().parseAsync(['node', 'preflight', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('preflight agency keygen', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agency-keys-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes a private key only its owner can read, and prints the public key and a registry entry that pins it', async () => {
    const out = JSON.parse(await run(['agency', 'keygen', '--agency', 'cisa', '--out', dir, '--json'])) as {
      publicKey: string;
      privateKeyPath: string;
      registryEntry: unknown;
    };
    const privatePath = path.join(dir, 'cisa.key.pem');
    expect(out.privateKeyPath).toBe(privatePath);
    expect(fs.statSync(privatePath).mode & 0o777).toBe(0o600);
    expect(publicKeyOf(importPrivateKey(fs.readFileSync(privatePath, 'utf8')))).toBe(out.publicKey);
    expect(fs.readFileSync(path.join(dir, 'cisa.pub'), 'utf8').trim()).toBe(out.publicKey);
    const registry = buildAgencyRegistry({ version: 1, agencies: [out.registryEntry] });
    expect(registry.get('cisa')?.name).toBe('Cybersecurity and Infrastructure Security Agency');
    expect(registry.get('cisa')?.publicKeys).toHaveLength(1);
  });

  it('refuses to overwrite a key pair without --force, and refuses a bad agency id', async () => {
    await expect(run(['agency', 'keygen', '--agency', 'cisa', '--out', dir])).rejects.toThrow(/exists; pass --force/);
    await expect(run(['agency', 'keygen', '--agency', 'NSA!', '--out', dir])).rejects.toThrow(/not an agency id/);
    const human = await run(['agency', 'keygen', '--agency', 'cisa', '--out', dir, '--force']);
    expect(human).toMatch(/Public key {3}[A-Za-z0-9+/]{43}=/);
    expect(human).toContain('"publicKeys"');
  });
});

describe('preflight agency inbox and send: the agency login', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agency-login-'));
  const saved = process.env.PREFLIGHT_DATA_DIR;
  beforeAll(() => (process.env.PREFLIGHT_DATA_DIR = dir));
  afterAll(() => {
    if (saved === undefined) delete process.env.PREFLIGHT_DATA_DIR;
    else process.env.PREFLIGHT_DATA_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without a login there is no fallback to another connection: the command says where the login should be', async () => {
    const expected = path.join(dir, 'dev', 'agency-nsa.kafka.json');
    await expect(run(['agency', 'inbox', '--agency', 'nsa'])).rejects.toThrow(`no Kafka login for agency nsa: ${expected} does not exist`);
    const key = path.join(dir, 'nsa.key.pem');
    await run(['agency', 'keygen', '--agency', 'nsa', '--out', dir]);
    await expect(
      run(['agency', 'send', '--agency', 'nsa', '--key', key, '--type', 'gov.preflight.assessment.accept.v1', '--subject', 'sub-1']),
    ).rejects.toThrow(/no Kafka login for agency nsa/);
  });

  it("refuses another agency's login file, and a malformed one without echoing its password", async () => {
    const file = path.join(dir, 'cisa.kafka.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ agencyId: 'cisa', username: 'cisa', password: 'SECRET-PASSWORD', mechanism: 'scram-sha-512', brokers: ['127.0.0.1:1'] }),
    );
    await expect(run(['agency', 'inbox', '--agency', 'nsa', '--kafka-login', file])).rejects.toThrow(/is the login of agency cisa, not nsa/);
    fs.writeFileSync(file, JSON.stringify({ agencyId: 'nsa', username: 'nsa', password: 'SECRET-PASSWORD', mechanism: 'plain', brokers: [] }));
    const err = (await run(['agency', 'inbox', '--agency', 'nsa', '--kafka-login', file]).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/is not valid/);
    expect(err.message).not.toContain('SECRET-PASSWORD');
  });

  it('prints one readable line per inbox record', () => {
    const line = renderInboxRecord({
      id: 'submission/sub-1/inbox/2',
      type: 'gov.preflight.agency.access-granted.v1',
      time: '2026-07-01T12:00:00.000Z',
      subject: 'sub-1',
      data: { submissionId: 'sub-1', agencyId: 'nsa', grantId: 'sub-1.nsa.g1', expiresAt: '2026-07-31T12:00:00.000Z', at: '2026-07-01T12:00:00.000Z' },
    });
    expect(line).toBe('2026-07-01T12:00:00.000Z  access-granted           sub-1  grantId=sub-1.nsa.g1 expiresAt=2026-07-31T12:00:00.000Z\n');
    expect(
      renderInboxRecord({
        id: 'nsa/c1/reply',
        type: 'gov.preflight.command.accepted.v1',
        time: '2026-07-01T12:00:00.000Z',
        subject: 'nsa',
        data: { commandId: 'c1', agencyId: 'nsa', result: { status: 'ACCEPTED' } },
      }),
    ).toContain('command.accepted');
  });
});
