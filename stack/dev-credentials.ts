import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_AGENCY_REGISTRY, type AgencyRegistryFile } from '../events/agency-registry';
import type { AgencyKafkaLogin } from '../events/agency-login';
import { agencyGroupPrefix, agencyKafkaPassword } from '../events/kafka-acls';
import { generateAgencyKeyPair } from '../events/signing';
import { agencyInboxTopic, TOPICS } from '../events/topics';

/**
 * Local-default credentials for `npm start` and `npm run demo`, generated once into the data directory:
 *
 * - `<dataDir>/ops-keys.json` and `<dataDir>/vendor-keys.json`: what the api reads — SHA-256 hashes only;
 * - `<dataDir>/agencies.json`: the agency registry pinning each agency's Ed25519 public key (what the ingress reads
 *   when PREFLIGHT_AGENCY_REGISTRY is not set);
 * - `<dataDir>/dev/`: the matching secrets for the person at this machine (mode 0600): `ops.token`,
 *   `vendor-<id>.key`, `agency-keys/<agency>.key.pem` and, once the local broker runs, each agency's Kafka login
 *   `agency-<agency>.kafka.json` (`writeAgencyKafkaLogins`).
 *
 * Production configures its own files (PREFLIGHT_OPS_KEYS / PREFLIGHT_VENDOR_KEYS / PREFLIGHT_AGENCY_REGISTRY) and never
 * runs this.
 */
export interface DevCredentialPaths {
  opsKeyFile: string;
  vendorKeyFile: string;
  agencyRegistryFile: string;
  secretsDir: string;
  opsTokenFile: string;
  vendorKeyFiles: Record<string, string>;
  agencyKeyFiles: Record<string, string>;
}

export const DEV_VENDORS = ['acme', 'globex'] as const;
export const DEV_OPERATOR = 'local-ops';

const sha256 = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');
const secret = (prefix: string) => `${prefix}_${crypto.randomBytes(32).toString('base64url')}`;

export function devCredentialPaths(dataDir: string): DevCredentialPaths {
  const secretsDir = path.join(dataDir, 'dev');
  return {
    opsKeyFile: path.join(dataDir, 'ops-keys.json'),
    vendorKeyFile: path.join(dataDir, 'vendor-keys.json'),
    agencyRegistryFile: path.join(dataDir, 'agencies.json'),
    secretsDir,
    opsTokenFile: path.join(secretsDir, 'ops.token'),
    vendorKeyFiles: Object.fromEntries(DEV_VENDORS.map((v) => [v, path.join(secretsDir, `vendor-${v}.key`)])),
    agencyKeyFiles: Object.fromEntries(DEFAULT_AGENCY_REGISTRY.agencies.map((a) => [a.id, path.join(secretsDir, 'agency-keys', `${a.id}.key.pem`)])),
  };
}

function writeSecret(file: string, value: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, value + (value.endsWith('\n') ? '' : '\n'), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/**
 * Creates whatever is missing (existing files are kept, so keys survive restarts) and returns the paths. Each hash
 * file and its secrets are created together; a hash file whose secrets are gone is regenerated with new ones.
 */
export function ensureDevCredentials(dataDir: string): DevCredentialPaths {
  const p = devCredentialPaths(dataDir);
  fs.mkdirSync(dataDir, { recursive: true });

  if (!fs.existsSync(p.opsKeyFile) || !fs.existsSync(p.opsTokenFile)) {
    const token = secret('pfo');
    writeSecret(p.opsTokenFile, token);
    fs.writeFileSync(p.opsKeyFile, JSON.stringify({ version: 1, operators: [{ operator: DEV_OPERATOR, sha256: sha256(token) }] }, null, 2) + '\n');
  }

  if (!fs.existsSync(p.vendorKeyFile) || DEV_VENDORS.some((v) => !fs.existsSync(p.vendorKeyFiles[v]!))) {
    const keys = DEV_VENDORS.map((vendorId) => {
      const key = secret('pfv');
      writeSecret(p.vendorKeyFiles[vendorId]!, key);
      return { vendorId, keyId: `${vendorId}-dev-1`, sha256: sha256(key) };
    });
    fs.writeFileSync(p.vendorKeyFile, JSON.stringify({ version: 1, keys }, null, 2) + '\n');
  }

  if (!fs.existsSync(p.agencyRegistryFile) || Object.values(p.agencyKeyFiles).some((f) => !fs.existsSync(f))) {
    const registry: AgencyRegistryFile = {
      version: 1,
      agencies: DEFAULT_AGENCY_REGISTRY.agencies.map((a) => {
        const pair = generateAgencyKeyPair();
        writeSecret(p.agencyKeyFiles[a.id]!, pair.privateKeyPem);
        return { ...a, publicKeys: [pair.publicKey] };
      }),
    };
    fs.writeFileSync(p.agencyRegistryFile, JSON.stringify(registry, null, 2) + '\n');
  }
  return p;
}

/** The dev secrets, for the demo: the ops token, vendor keys and agency private keys (PEM). */
export function readDevSecrets(dataDir: string): { opsToken: string; vendorKeys: Record<string, string>; agencyKeys: Record<string, string> } {
  const p = devCredentialPaths(dataDir);
  const read = (f: string) => fs.readFileSync(f, 'utf8').trim();
  return {
    opsToken: read(p.opsTokenFile),
    vendorKeys: Object.fromEntries(Object.entries(p.vendorKeyFiles).map(([v, f]) => [v, read(f)])),
    agencyKeys: Object.fromEntries(Object.entries(p.agencyKeyFiles).map(([a, f]) => [a, fs.readFileSync(f, 'utf8')])),
  };
}

/** `<dataDir>/dev/agency-<agencyId>.kafka.json`: the agency's own Kafka login on the local broker. */
export function agencyKafkaLoginFile(dataDir: string, agencyId: string): string {
  return path.join(devCredentialPaths(dataDir).secretsDir, `agency-${agencyId}.kafka.json`);
}

/**
 * Writes each agency's SCRAM login on the local broker (mode 0600), so the agency side (`preflight agency inbox|send`)
 * connects as that agency alone. The password derives from the master key, as the broker's SCRAM users do.
 */
export function writeAgencyKafkaLogins(dataDir: string, options: { agencyIds: string[]; masterKey: Buffer; saslBrokers: string[] }): string[] {
  return options.agencyIds.map((agencyId) => {
    const login: AgencyKafkaLogin = {
      agencyId,
      username: agencyId,
      password: agencyKafkaPassword(options.masterKey, agencyId),
      mechanism: 'scram-sha-512',
      brokers: options.saslBrokers,
      inboxTopic: agencyInboxTopic(agencyId),
      commandTopic: TOPICS.agencyCommands,
      groupPrefix: agencyGroupPrefix(agencyId),
    };
    const file = agencyKafkaLoginFile(dataDir, agencyId);
    writeSecret(file, JSON.stringify(login, null, 2));
    return file;
  });
}
