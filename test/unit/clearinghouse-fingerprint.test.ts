import crypto from 'node:crypto';
import { caseFingerprint, caseIdFor, deriveFingerprintKey, fingerprintMaterial, normalizeProduct, normalizeWeakness } from '../../clients/case-fingerprint';
import { CASE_ID_PATTERN } from '../../wire/enums';

const key = deriveFingerprintKey(Buffer.alloc(32, 7));

describe('case fingerprint', () => {
  it('gives three agencies reporting one vulnerability in different words and casing the same case id', () => {
    const nsa = { affectedProduct: 'Acme Inference Gateway 2.3', weakness: 'Prompt injection via tool output' };
    const cisa = { affectedProduct: 'ACME  inference-gateway v2.3', weakness: 'indirect PROMPT-INJECTION vulnerability' };
    const treasury = { affectedProduct: 'inference gateway (Acme, Inc.) 2.3', weakness: 'LLM prompt injection', cweId: 'cwe-1427' };
    const ids = [nsa, cisa, treasury].map((r) => caseIdFor(r, key));
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toMatch(CASE_ID_PATTERN);
  });

  it('de-duplicates third-party findings whose titles stand in for product and weakness', () => {
    const titles = [
      'Prompt injection in Acme Gateway 2.3',
      'ACME Gateway v2.3 vulnerable to indirect prompt-injection',
      'acme gateway 2.3: Prompt Injection (CWE-1427)',
    ];
    const ids = titles.map((t) => caseIdFor({ affectedProduct: t, weakness: t }, key));
    expect(new Set(ids).size).toBe(1);
    expect(normalizeProduct(titles[0]!)).toBe('2.3 acme gateway');
    expect(caseIdFor({ affectedProduct: 'SQL injection in Acme Gateway 2.3', weakness: 'SQL injection in Acme Gateway 2.3' }, key)).not.toBe(ids[0]);
    // A product named only by weakness words keeps them rather than vanishing.
    expect(normalizeProduct('Prompt Injection')).toBe('injection prompt');
  });

  it('separates different products, versions and weaknesses', () => {
    const base = { affectedProduct: 'Acme Inference Gateway 2.3', weakness: 'prompt injection' };
    const id = caseFingerprint(base, key);
    expect(caseFingerprint({ ...base, affectedProduct: 'Acme Inference Gateway 2.4' }, key)).not.toBe(id);
    expect(caseFingerprint({ ...base, affectedProduct: 'Globex Inference Gateway 2.3' }, key)).not.toBe(id);
    expect(caseFingerprint({ ...base, weakness: 'SQL injection' }, key)).not.toBe(id);
  });

  it('is keyed: another master key gives another fingerprint, and it is not a bare SHA-256', () => {
    const report = { affectedProduct: 'OpenSSL 3.0.7', weakness: 'CWE-787' };
    const other = deriveFingerprintKey(Buffer.alloc(32, 8));
    expect(caseFingerprint(report, other)).not.toBe(caseFingerprint(report, key));
    const bare = crypto.createHash('sha256').update(fingerprintMaterial(report)).digest('hex').slice(0, 32);
    expect(caseFingerprint(report, key)).not.toBe(bare);
    expect(caseFingerprint(report, key)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('normalizes products: case, punctuation, filler words, synonyms and word order', () => {
    expect(normalizeProduct('The  OpenSSL library, v3.0.7')).toBe('3.0.7 openssl');
    expect(normalizeProduct('openssl 3.0.7')).toBe('3.0.7 openssl');
    expect(normalizeProduct('MS Exchange Server')).toBe(normalizeProduct('exchange server (Microsoft Corp.)'));
    expect(normalizeProduct('Node.js')).toBe('nodejs');
    expect(() => normalizeProduct(' -- ')).toThrow(/no identifying words/);
  });

  it('normalizes weaknesses to CWE ids from ids, text and common wording', () => {
    expect(normalizeWeakness('anything', 'cwe 79')).toBe('CWE-79');
    expect(normalizeWeakness('Out-of-bounds write (CWE_0787)')).toBe('CWE-787');
    expect(normalizeWeakness('heap buffer overflow in the parser')).toBe('CWE-787');
    expect(normalizeWeakness('Cross-Site Scripting')).toBe('CWE-79');
    expect(normalizeWeakness('XSS')).toBe('CWE-79');
    expect(normalizeWeakness('Hard-coded credentials')).toBe('CWE-798');
    expect(normalizeWeakness('prompt injection leading to command injection')).toBe('CWE-1427');
    expect(normalizeWeakness('Weird   Token Leak')).toBe(normalizeWeakness('token leak, weird'));
    expect(normalizeWeakness('Weird Token Leak')).toMatch(/^text:/);
    expect(() => normalizeWeakness('x', 'seventy-nine')).toThrow(/CWE-79/);
  });

  it('refuses a short master key', () => {
    expect(() => deriveFingerprintKey(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});
