import { buildCsafDocument, csafDocumentId } from '../../workflows/clearinghouse/csaf';
import { DEFAULT_CASE_POLICY, type CaseView } from '../../workflows/clearinghouse/contract';
import { csafSchemaErrors } from '../helpers/csaf-validator';

const caseId = 'case/0f1e2d3c4b5a69788796a5b4c3d2e1f0';

function publishedCase(over: Partial<CaseView> = {}): CaseView {
  return {
    caseId,
    state: 'PUBLISHED',
    openedAt: '2026-07-01T12:00:00.000Z',
    updatedAt: '2026-08-02T12:00:00.000Z',
    affectedProduct: 'Acme Inference Gateway 2.3',
    weakness: 'prompt injection',
    cweId: 'CWE-1427',
    severity: 'HIGH',
    reports: [],
    reporters: ['nsa', 'cisa', 'treasury'],
    parties: [
      {
        partyId: 'nsa',
        kind: 'agency',
        status: 'AFFECTED',
        notifiedAt: '2026-07-02T00:00:00.000Z',
        updatedAt: '2026-07-03T00:00:00.000Z',
        remediatedAt: '2026-07-20T00:00:00.000Z',
      },
      { partyId: 'cisa', kind: 'agency', name: 'CISA', status: 'NOT_AFFECTED', notifiedAt: '2026-07-02T00:00:00.000Z', updatedAt: '2026-07-03T00:00:00.000Z' },
      { partyId: 'acme', kind: 'vendor', status: 'AFFECTED', notifiedAt: '2026-07-02T00:00:00.000Z', updatedAt: '2026-07-03T00:00:00.000Z' },
      { partyId: 'gw-maint', kind: 'maintainer', status: 'UNKNOWN', notifiedAt: '2026-07-02T00:00:00.000Z', updatedAt: '2026-07-02T00:00:00.000Z' },
    ],
    triagedAt: '2026-07-01T13:00:00.000Z',
    publishedAt: '2026-08-02T12:00:00.000Z',
    advisoryRef: 'https://advisories.example.gov/pf-1',
    duplicates: [],
    domains: [],
    offeredTo: [],
    modelReleases: [{ submissionId: 'sub-1', releaseAt: '2026-08-01T12:00:00.000Z' }],
    embargoUntil: '2026-08-01T12:00:00.000Z',
    embargoActive: false,
    disclosureDeadline: '2026-09-29T12:00:00.000Z',
    policy: DEFAULT_CASE_POLICY,
    ...over,
  };
}

describe('CSAF 2.0 document of a published case', () => {
  it('validates against the official OASIS CSAF 2.0 schema and the mandatory tests (Secvisogram validator)', () => {
    const doc = buildCsafDocument(publishedCase());
    expect(csafSchemaErrors(doc)).toEqual([]);
    expect(doc!.document).toMatchObject({
      category: 'csaf_vex',
      csaf_version: '2.0',
      publisher: { category: 'coordinator' },
      distribution: { tlp: { label: 'WHITE' } },
      tracking: { id: 'PREFLIGHT-CASE-0F1E2D3C4B5A69788796A5B4C3D2E1F0', version: '1', status: 'final' },
    });
  });

  it('maps each party to its product status and remediation, and the case to CWE and notes', () => {
    const doc = buildCsafDocument(publishedCase())!;
    const vuln = doc.vulnerabilities[0]!;
    // Parties sorted by id: acme, cisa, gw-maint, nsa.
    expect(vuln.product_status).toEqual({
      known_affected: ['CSAFPID-0001'],
      known_not_affected: ['CSAFPID-0002'],
      under_investigation: ['CSAFPID-0003'],
      fixed: ['CSAFPID-0004'],
    });
    // The catalog's name for a CWE id is not on the case, so the id is a note rather than `cwe` (CSAF test 6.1.11).
    expect(vuln.cwe).toBeUndefined();
    expect(vuln.notes).toContainEqual({ category: 'details', title: 'Weakness (CWE)', text: 'CWE-1427 (clearinghouse triage).' });
    expect(vuln.threats).toContainEqual(expect.objectContaining({ category: 'impact', product_ids: ['CSAFPID-0002'] }));
    expect(vuln.remediations).toEqual([
      expect.objectContaining({ category: 'vendor_fix', product_ids: ['CSAFPID-0004'] }),
      expect.objectContaining({ category: 'none_available', product_ids: ['CSAFPID-0001'] }),
    ]);
    expect(doc.document.notes[0]!.category).toBe('summary');
    expect(doc.document.references).toEqual([{ category: 'external', summary: 'Advisory', url: 'https://advisories.example.gov/pf-1' }]);
  });

  it('is deterministic: the same case gives the same bytes; closing adds a revision', () => {
    expect(JSON.stringify(buildCsafDocument(publishedCase()))).toBe(
      JSON.stringify(buildCsafDocument(publishedCase({ parties: [...publishedCase().parties].reverse() }))),
    );
    const closed = buildCsafDocument(publishedCase({ state: 'CLOSED', closedAt: '2026-08-10T00:00:00.000Z', closeReason: 'RESOLVED' }))!;
    expect(closed.document.tracking).toMatchObject({
      version: '2',
      current_release_date: '2026-08-10T00:00:00.000Z',
      initial_release_date: '2026-08-02T12:00:00.000Z',
    });
    expect(closed.document.tracking.revision_history.map((r) => r.number)).toEqual(['1', '2']);
    expect(csafSchemaErrors(closed)).toEqual([]);
    expect(csafDocumentId(caseId)).toBe(closed.document.tracking.id);
  });

  it('gives nothing before publication; the validator itself refuses a broken document', () => {
    expect(buildCsafDocument(publishedCase({ state: 'REMEDIATING', publishedAt: undefined }))).toBeUndefined();
    const doc = buildCsafDocument(publishedCase())! as unknown as { document: Record<string, unknown> };
    const broken = { ...doc, document: { ...doc.document, publisher: { category: 'nobody', name: 'x', namespace: 'not a uri' } } };
    expect(csafSchemaErrors(broken).length).toBeGreaterThan(0);
    expect(csafSchemaErrors({ ...doc, document: { ...doc.document, tracking: undefined } }).length).toBeGreaterThan(0);
  });
});
