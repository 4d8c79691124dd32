/**
 * Golden fixtures: one wire message per (type, version) in test/contract/fixtures/events. Each must still decode and
 * pass its schema, and re-encoding must give the same bytes and headers, so a change that breaks consumers or
 * signers fails here. Run with UPDATE_GOLDEN=1 to write fixtures for new types (existing ones are never rewritten).
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildAgencyRegistry } from '../../events/agency-registry';
import { buildAgencyCommand } from '../../events/agency-client';
import { AGENCY_SOURCE_PREFIX, CATALOG, type CatalogEntry } from '../../events/catalog';
import { inspectCommand } from '../../events/command-intake';
import { decodeEvent } from '../../events/consumer';
import { encodeEvent, JSON_CONTENT_TYPE, SPEC_VERSION } from '../../events/envelope';
import { importPrivateKey, publicKeyOf } from '../../events/signing';
import { AGENCY_INBOX_CHANNEL } from '../../events/topics';

const DIR = path.join(__dirname, 'fixtures', 'events');
/** A key made for these fixtures only; it is pinned for the fixture agency "nsa" in the registry below. */
const PRIVATE_KEY = importPrivateKey(fs.readFileSync(path.join(__dirname, 'fixtures', 'fixture-agency-key.pem'), 'utf8'));
const TIMESTAMP = 1782907200; // 2026-07-01T12:00:00Z

interface Fixture {
  type: string;
  key: string;
  headers: Record<string, string>;
  /** The exact value bytes, as UTF-8 text. */
  value: string;
}

function fixturePath(type: string): string {
  return path.join(DIR, `${type}.json`);
}

function encodeFixture(entry: CatalogEntry, data: Record<string, unknown>, headers?: Record<string, string>): Fixture {
  if (entry.direction === 'inbound') {
    const m = buildAgencyCommand(
      {
        agencyId: 'nsa',
        type: entry.type,
        subject: headers?.ce_subject ?? (entry.key === 'caseId' ? 'case/0f1e2d3c4b5a69788796a5b4c3d2e1f0' : 'sub-0001'),
        data,
        id: headers?.ce_id ?? `nsa-${entry.name}-0001`,
        timestamp: TIMESTAMP,
      },
      PRIVATE_KEY,
    );
    return { type: entry.type, key: m.key, headers: m.headers, value: m.value.toString('utf8') };
  }
  const subject =
    headers?.ce_subject ??
    (typeof data.caseId === 'string' ? data.caseId : typeof data.agencyId === 'string' && entry.key === 'agencyId' ? data.agencyId : 'sub-0001');
  // Replies and inbox events carry no sequence (an inbox's order is its single partition's).
  const inbox = entry.topic === AGENCY_INBOX_CHANNEL;
  const sequence = headers?.ce_sequence ?? (entry.key === 'agencyId' || inbox ? undefined : '7');
  const m = encodeEvent(
    {
      specversion: SPEC_VERSION,
      id:
        headers?.ce_id ??
        (entry.key === 'agencyId'
          ? `nsa/nsa-command-0001/reply`
          : inbox
            ? `${entry.key === 'caseId' ? subject : `submission/${subject}`}/inbox/3`
            : `${entry.key === 'caseId' ? subject : `submission/${subject}`}/${sequence}`),
      source: entry.source,
      type: entry.type,
      time: headers?.ce_time ?? '2026-07-01T12:00:00.000Z',
      subject,
      datacontenttype: JSON_CONTENT_TYPE,
      ...(sequence ? { sequence: Number(sequence) } : {}),
    },
    data,
  );
  return { type: entry.type, key: m.key, headers: m.headers, value: m.value.toString('utf8') };
}

if (process.env.UPDATE_GOLDEN === '1') {
  fs.mkdirSync(DIR, { recursive: true });
  for (const entry of CATALOG) {
    if (!fs.existsSync(fixturePath(entry.type))) fs.writeFileSync(fixturePath(entry.type), JSON.stringify(encodeFixture(entry, entry.example), null, 2) + '\n');
  }
}

function readFixture(type: string): Fixture {
  return JSON.parse(fs.readFileSync(fixturePath(type), 'utf8')) as Fixture;
}

const registry = buildAgencyRegistry({
  version: 1,
  agencies: [{ id: 'nsa', name: 'NSA', domains: ['offensive-cyber'], publicKeys: [publicKeyOf(PRIVATE_KEY)] }],
});

describe('golden fixtures', () => {
  it('exist for every catalog (type, version) and for nothing else', () => {
    const files = fs
      .readdirSync(DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
    expect(files).toEqual(CATALOG.map((e) => e.type).sort());
  });

  describe.each(CATALOG.map((e) => [e.type, e] as const))('%s', (type, entry) => {
    const fixture = readFixture(type);

    it('decodes and passes the current schema', () => {
      const message = { key: fixture.key, value: Buffer.from(fixture.value, 'utf8'), headers: fixture.headers };
      if (entry.direction === 'inbound') {
        const result = inspectCommand(message, { registry, nowSeconds: TIMESTAMP });
        expect(result).toMatchObject({ ok: true, agencyId: 'nsa' });
        expect(fixture.headers.ce_source).toBe(`${AGENCY_SOURCE_PREFIX}nsa`);
      } else {
        const decoded = decodeEvent(message);
        expect(decoded.envelope.type).toBe(type);
        expect(decoded.entry.topic).toBe(entry.topic);
      }
    });

    it('re-encodes to the same bytes and headers', () => {
      const data = JSON.parse(fixture.value) as Record<string, unknown>;
      expect(encodeFixture(entry, data, fixture.headers)).toEqual(fixture);
    });
  });
});
