import fs from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { AgencyId as AgencyIdSchema } from '../wire/common';
import { DOMAIN_PATTERN } from '../wire/enums';
import { parseJsonStrict, summarizeIssues } from './envelope';
import { importPublicKey } from './signing';

export { AgencyIdSchema };

const PublicKeyText = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 of a 32-byte Ed25519 public key')
  .refine((k) => {
    try {
      importPublicKey(k);
      return true;
    } catch {
      return false;
    }
  }, 'not a valid Ed25519 public key');

export const AgencyEntrySchema = z.strictObject({
  id: AgencyIdSchema,
  name: z.string().min(1).max(200),
  domains: z.array(z.string().regex(DOMAIN_PATTERN)).min(1).max(20),
  /** Pinned Ed25519 public keys; several during rotation. An agency without keys cannot send commands. */
  publicKeys: z.array(PublicKeyText).max(8).default([]),
});

export const AgencyRegistryFileSchema = z
  .strictObject({
    version: z.literal(1),
    agencies: z.array(AgencyEntrySchema).min(1).max(100),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.agencies.forEach((a, i) => {
      if (seen.has(a.id)) ctx.addIssue({ code: 'custom', path: ['agencies', i, 'id'], message: `duplicate agency id "${a.id}"` });
      seen.add(a.id);
    });
  });
export type AgencyRegistryFile = z.input<typeof AgencyRegistryFileSchema>;

export interface Agency {
  id: string;
  name: string;
  domains: string[];
  publicKeys: KeyObject[];
}

export interface AgencyRegistry {
  get(id: string): Agency | undefined;
  list(): Agency[];
}

/** The program's agencies and their assessment domains. Shipped without keys: commands need a configured registry. */
export const DEFAULT_AGENCY_REGISTRY: AgencyRegistryFile = {
  version: 1,
  agencies: [
    { id: 'nsa', name: 'National Security Agency', domains: ['offensive-cyber'] },
    { id: 'cisa', name: 'Cybersecurity and Infrastructure Security Agency', domains: ['critical-infrastructure'] },
    { id: 'treasury', name: 'Department of the Treasury', domains: ['financial-systems'] },
    { id: 'nist', name: 'National Institute of Standards and Technology', domains: ['measurement-safeguards'] },
    { id: 'dod', name: 'Department of Defense', domains: ['national-security'] },
    { id: 'dhs', name: 'Department of Homeland Security', domains: ['homeland-security'] },
  ],
};

const MAX_REGISTRY_BYTES = 1024 * 1024;

/** Raised when the registry file is missing, too large or invalid; the message names the file. */
export class AgencyRegistryError extends Error {
  override readonly name = 'AgencyRegistryError';
}

/** Validates a registry document (already parsed JSON) and builds the lookup. */
export function buildAgencyRegistry(document: unknown, origin = 'agency registry'): AgencyRegistry {
  const parsed = AgencyRegistryFileSchema.safeParse(document);
  if (!parsed.success) throw new AgencyRegistryError(`Invalid ${origin}: ${summarizeIssues(parsed.error)}`);
  const agencies = new Map<string, Agency>(
    parsed.data.agencies.map((a) => [a.id, { id: a.id, name: a.name, domains: [...a.domains], publicKeys: a.publicKeys.map(importPublicKey) }]),
  );
  return { get: (id) => agencies.get(id), list: () => [...agencies.values()] };
}

/** Loads the registry from `config.agencyRegistryPath`, or the built-in default (no keys) when no path is set. */
export function loadAgencyRegistry(path: string | undefined): AgencyRegistry {
  if (path === undefined) return buildAgencyRegistry(DEFAULT_AGENCY_REGISTRY, 'built-in agency registry');
  let bytes: Buffer;
  try {
    const stat = fs.statSync(path);
    if (stat.size > MAX_REGISTRY_BYTES) throw new AgencyRegistryError(`Agency registry ${path} is larger than ${MAX_REGISTRY_BYTES} bytes`);
    bytes = fs.readFileSync(path);
  } catch (e) {
    if (e instanceof AgencyRegistryError) throw e;
    throw new AgencyRegistryError(`Cannot read agency registry ${path}: ${(e as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseJsonStrict(bytes);
  } catch (e) {
    throw new AgencyRegistryError(`Agency registry ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return buildAgencyRegistry(document, `agency registry ${path}`);
}

/** A registry entry snippet for one agency's public key, as `agency keygen` prints it. */
export function registrySnippet(agencyId: string, publicKey: string): string {
  const known = DEFAULT_AGENCY_REGISTRY.agencies.find((a) => a.id === agencyId);
  const entry = { id: agencyId, name: known?.name ?? agencyId, domains: known?.domains ?? ['<domain>'], publicKeys: [publicKey] };
  return JSON.stringify(entry, null, 2);
}

/** The agencies whose registry domains include `domain` (domain routing of clearinghouse cases). */
export function agenciesInDomain(registry: AgencyRegistry): (domain: string) => string[] {
  return (domain) =>
    registry
      .list()
      .filter((a) => a.domains.includes(domain))
      .map((a) => a.id);
}
