/**
 * The CSAF 2.0 document of a published clearinghouse case (OASIS Common Security Advisory Framework 2.0): a pure,
 * deterministic function of the case view, so the same case always gives the same bytes. The document id derives
 * from the case id; the version counts the published revisions (one, plus one when the case was closed after
 * publication). No Temporal calls and no Node built-ins: the workflow uses the id and version for its event, and the
 * api builds the document at read time.
 */
import type { CaseParty, CaseView } from './contract';

export const CSAF_INITIAL_VERSION = '1';
const PUBLISHER = { category: 'coordinator', name: 'Preflight Clearinghouse', namespace: 'https://preflight.example.gov' } as const;

/** `PREFLIGHT-CASE-<fingerprint>`: one id per case, the same on every read. */
export function csafDocumentId(caseId: string): string {
  return `PREFLIGHT-CASE-${caseId.slice(caseId.indexOf('/') + 1).toUpperCase()}`;
}

interface Revision {
  date: string;
  number: string;
  summary: string;
}

export interface CsafDocument {
  document: {
    category: 'csaf_vex';
    csaf_version: '2.0';
    title: string;
    lang: 'en';
    publisher: typeof PUBLISHER;
    distribution: { tlp: { label: 'WHITE' | 'GREEN' | 'AMBER' | 'RED'; url: string }; text?: string };
    notes: Array<{ category: string; text: string; title: string }>;
    references?: Array<{ category: 'external' | 'self'; summary: string; url: string }>;
    tracking: {
      id: string;
      status: 'final';
      version: string;
      initial_release_date: string;
      current_release_date: string;
      revision_history: Revision[];
      generator: { engine: { name: string; version: string }; date: string };
    };
    aggregate_severity?: { text: string };
  };
  product_tree: { branches: unknown[] };
  vulnerabilities: Array<Record<string, unknown>>;
}

/** The product id of the n-th party's product in the tree (parties sorted by id). */
function productId(index: number): string {
  return `CSAFPID-${String(index + 1).padStart(4, '0')}`;
}

/** A party's status in CSAF terms: remediated → fixed, AFFECTED → known_affected, … */
function statusOf(party: CaseParty): 'fixed' | 'known_affected' | 'known_not_affected' | 'under_investigation' {
  if (party.remediatedAt) return 'fixed';
  if (party.status === 'AFFECTED') return 'known_affected';
  if (party.status === 'NOT_AFFECTED') return 'known_not_affected';
  return 'under_investigation';
}

function isUrl(value: string | undefined): value is string {
  return value !== undefined && /^https?:\/\/[^\s]+$/.test(value);
}

/**
 * The CSAF 2.0 VEX document of a published case (the product status of every party's product), or undefined while
 * the case is unpublished. Reporters are named by agency id only; no report text goes into the document.
 */
export function buildCsafDocument(view: CaseView): CsafDocument | undefined {
  if (!view.publishedAt) return undefined;
  const id = csafDocumentId(view.caseId);
  const product = view.affectedProduct ?? 'Affected product';
  const revisions: Revision[] = [{ date: view.publishedAt, number: CSAF_INITIAL_VERSION, summary: 'Initial publication.' }];
  if (view.closedAt && view.closeReason === 'RESOLVED' && view.closedAt > view.publishedAt) {
    revisions.push({ date: view.closedAt, number: String(revisions.length + 1), summary: 'Case closed as resolved.' });
  }
  const current = revisions[revisions.length - 1]!;
  const parties = [...view.parties].sort((a, b) => a.partyId.localeCompare(b.partyId));
  const products = parties.map((party, i) => ({
    party,
    id: productId(i),
    name: `${product} (${party.name ?? party.partyId})`,
  }));
  const status: Record<string, string[]> = {};
  for (const p of products) (status[statusOf(p.party)] ??= []).push(p.id);
  const fixedOrAffected = products.filter((p) => ['fixed', 'known_affected'].includes(statusOf(p.party)));
  const remediations: Array<Record<string, unknown>> = [];
  const fixed = products.filter((p) => statusOf(p.party) === 'fixed');
  const affected = products.filter((p) => statusOf(p.party) === 'known_affected');
  if (fixed.length > 0) {
    remediations.push({ category: 'vendor_fix', details: 'The party reports its fix is in place.', product_ids: fixed.map((p) => p.id) });
  }
  if (affected.length > 0) {
    remediations.push({
      category: 'none_available',
      details: 'The party reports it is affected; no fix was reported to the clearinghouse at publication.',
      product_ids: affected.map((p) => p.id),
    });
  }
  const severity = view.severity ? view.severity.charAt(0) + view.severity.slice(1).toLowerCase() : undefined;
  const notes = [
    {
      category: 'summary',
      title: 'Summary',
      text: `${view.weakness ?? 'A vulnerability'} in ${product}, reported to the Preflight clearinghouse by ${view.reporters.length} agenc${view.reporters.length === 1 ? 'y' : 'ies'} and coordinated with ${view.parties.length} part${view.parties.length === 1 ? 'y' : 'ies'}.`,
    },
  ];
  if (view.exploitation)
    notes.push({ category: 'details', title: 'Exploitation', text: `Exploitation in the wild was reported on ${view.exploitation.reportedAt}.` });
  const vulnerability: Record<string, unknown> = {
    title: view.weakness ?? product,
    ids: [{ system_name: 'Preflight clearinghouse case', text: view.caseId }],
    notes: [{ category: 'description', title: 'Description', text: `${view.weakness ?? 'A vulnerability'} affecting ${product}.` }],
    discovery_date: view.openedAt,
    release_date: view.publishedAt,
    product_status: status,
  };
  // CSAF's `cwe` must carry the catalog's own name for the id (mandatory test 6.1.11), which the case does not hold:
  // the triaged CWE id goes into a note instead.
  if (view.cweId) {
    (vulnerability.notes as Array<Record<string, string>>).push({
      category: 'details',
      title: 'Weakness (CWE)',
      text: `${view.cweId} (clearinghouse triage).`,
    });
  }
  if (remediations.length > 0) vulnerability.remediations = remediations;
  const threats: Array<Record<string, unknown>> = [];
  if (severity && fixedOrAffected.length > 0) {
    threats.push({ category: 'impact', details: `Severity ${severity} (clearinghouse triage).`, product_ids: fixedOrAffected.map((p) => p.id) });
  }
  // A VEX document states why each product is not affected (mandatory test 6.1.27.9).
  const notAffected = products.filter((p) => statusOf(p.party) === 'known_not_affected');
  if (notAffected.length > 0) {
    threats.push({ category: 'impact', details: 'The party reports its product is not affected.', product_ids: notAffected.map((p) => p.id) });
  }
  if (threats.length > 0) vulnerability.threats = threats;
  if (view.advisoryRef && /^CVE-\d{4}-\d{4,}$/.test(view.advisoryRef)) vulnerability.cve = view.advisoryRef;
  return {
    document: {
      category: 'csaf_vex',
      csaf_version: '2.0',
      title: `Preflight clearinghouse advisory ${id}: ${view.weakness ?? 'vulnerability'} in ${product}`,
      lang: 'en',
      publisher: PUBLISHER,
      // CSAF 2.0 uses TLP 1.0 labels (WHITE, not 2.0's CLEAR): public once published.
      distribution: { tlp: { label: 'WHITE', url: 'https://www.first.org/tlp/' }, text: 'Published after the coordinated embargo.' },
      notes,
      ...(isUrl(view.advisoryRef) ? { references: [{ category: 'external' as const, summary: 'Advisory', url: view.advisoryRef }] } : {}),
      tracking: {
        id,
        status: 'final',
        version: current.number,
        initial_release_date: view.publishedAt,
        current_release_date: current.date,
        revision_history: revisions,
        generator: { engine: { name: 'Preflight', version: '1.0.0' }, date: current.date },
      },
      ...(severity ? { aggregate_severity: { text: severity } } : {}),
    },
    product_tree: {
      // One vendor branch per party (its own deployment of the product), each with one product.
      branches: products.map((p) => ({
        category: 'vendor',
        name: p.party.name ?? p.party.partyId,
        branches: [{ category: 'product_name', name: product, product: { name: p.name, product_id: p.id } }],
      })),
    },
    vulnerabilities: [vulnerability],
  };
}
