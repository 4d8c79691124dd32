import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { buildAgencyRegistry } from '../../events/agency-registry';
import { importPrivateKey, publicKeyOf } from '../../events/signing';
import { registerAgencyCommands } from '../../workers/cli/agency';

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
