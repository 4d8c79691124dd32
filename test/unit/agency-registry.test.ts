import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgencyRegistryError, buildAgencyRegistry, DEFAULT_AGENCY_REGISTRY, loadAgencyRegistry, registrySnippet } from '../../events/agency-registry';
import { generateAgencyKeyPair } from '../../events/signing';

describe('agency registry', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return file;
  };

  it('has the six program agencies built in, without keys', () => {
    const registry = loadAgencyRegistry(undefined);
    expect(registry.list().map((a) => a.id)).toEqual(['nsa', 'cisa', 'treasury', 'nist', 'dod', 'dhs']);
    expect(registry.list().every((a) => a.publicKeys.length === 0 && a.domains.length > 0)).toBe(true);
  });

  it('loads a file with pinned keys', () => {
    const { publicKey } = generateAgencyKeyPair();
    const doc = { ...DEFAULT_AGENCY_REGISTRY, agencies: DEFAULT_AGENCY_REGISTRY.agencies.map((a) => (a.id === 'nsa' ? { ...a, publicKeys: [publicKey] } : a)) };
    const registry = loadAgencyRegistry(write('ok.json', JSON.stringify(doc)));
    expect(registry.get('nsa')?.publicKeys).toHaveLength(1);
    expect(registry.get('nsa')?.publicKeys[0]?.asymmetricKeyType).toBe('ed25519');
    expect(registry.get('cisa')?.publicKeys).toHaveLength(0);
    expect(registry.get('fbi')).toBeUndefined();
  });

  it('accepts the snippet keygen prints as an entry', () => {
    const { publicKey } = generateAgencyKeyPair();
    const entry = JSON.parse(registrySnippet('cisa', publicKey)) as unknown;
    expect(buildAgencyRegistry({ version: 1, agencies: [entry] }).get('cisa')?.publicKeys).toHaveLength(1);
  });

  it('refuses bad files with a message naming the file and the field', () => {
    expect(() => loadAgencyRegistry(path.join(dir, 'missing.json'))).toThrow(/Cannot read agency registry .*missing\.json/);
    expect(() => loadAgencyRegistry(write('bad.json', '{'))).toThrow(AgencyRegistryError);
    expect(() => loadAgencyRegistry(write('proto.json', '{"__proto__":{},"version":1,"agencies":[]}'))).toThrow(/forbidden key/);
    const badKey = { version: 1, agencies: [{ id: 'nsa', name: 'NSA', domains: ['x-y'], publicKeys: ['c2hvcnQ='] }] };
    expect(() => loadAgencyRegistry(write('key.json', JSON.stringify(badKey)))).toThrow(/agencies\.0\.publicKeys\.0/);
    const dup = {
      version: 1,
      agencies: [
        { id: 'nsa', name: 'A', domains: ['ab'] },
        { id: 'nsa', name: 'B', domains: ['ab'] },
      ],
    };
    expect(() => buildAgencyRegistry(dup)).toThrow(/duplicate agency id "nsa"/);
    expect(() => buildAgencyRegistry({ version: 1, agencies: [{ id: 'nsa', name: 'A', domains: ['ab'], extra: 1 }] })).toThrow(/Unrecognized key/);
  });
});
