import crypto from 'node:crypto';
import { caseWorkflowId } from '../workflows/clearinghouse/contract';

/**
 * Case fingerprints: the same vulnerability reported in different words, casing, punctuation or word order maps to
 * one `case/<fingerprint>` id, so reports de-duplicate by construction.
 *
 * The hash is keyed (HMAC-SHA256 with a key derived from the master key) rather than a bare SHA-256: case ids travel
 * as Kafka keys and workflow ids, and a bare hash of "product + CWE" could be confirmed by anyone guessing candidate
 * products. Rotating the master key therefore starts new case ids for new reports.
 */

const PRODUCT_NOISE = new Set([
  'a',
  'an',
  'the',
  'of',
  'for',
  'by',
  'and',
  'in',
  'on',
  'from',
  'product',
  'products',
  'software',
  'library',
  'lib',
  'package',
  'pkg',
  'component',
  'module',
  'project',
  'inc',
  'corp',
  'corporation',
  'llc',
  'ltd',
  'co',
  'company',
  'version',
  'ver',
  'edition',
  'to',
  'via',
  'with',
  'affecting',
  'vulnerable',
  'vulnerability',
  'vulnerabilities',
  'vuln',
  'flaw',
  'bug',
  'issue',
]);

/** Token spellings that mean the same thing in product names. */
const PRODUCT_SYNONYMS: Record<string, string> = {
  ms: 'microsoft',
  msft: 'microsoft',
  k8s: 'kubernetes',
  'node.js': 'nodejs',
  gw: 'gateway',
  svr: 'server',
  srv: 'server',
  mgmt: 'management',
  mgr: 'manager',
  apis: 'api',
  sdks: 'sdk',
  servers: 'server',
  gateways: 'gateway',
  plugins: 'plugin',
};

/** Weakness phrases and the CWE each means; phrases are matched on the normalized text as whole words. */
const WEAKNESS_PHRASES: Array<[string, string]> = [
  ['prompt injection', 'CWE-1427'],
  ['indirect prompt injection', 'CWE-1427'],
  ['sql injection', 'CWE-89'],
  ['sqli', 'CWE-89'],
  ['cross site scripting', 'CWE-79'],
  ['xss', 'CWE-79'],
  ['os command injection', 'CWE-78'],
  ['command injection', 'CWE-78'],
  ['shell injection', 'CWE-78'],
  ['code injection', 'CWE-94'],
  ['path traversal', 'CWE-22'],
  ['directory traversal', 'CWE-22'],
  ['out of bounds write', 'CWE-787'],
  ['oob write', 'CWE-787'],
  ['buffer overflow', 'CWE-787'],
  ['heap overflow', 'CWE-787'],
  ['heap buffer overflow', 'CWE-787'],
  ['stack buffer overflow', 'CWE-787'],
  ['out of bounds read', 'CWE-125'],
  ['oob read', 'CWE-125'],
  ['buffer over read', 'CWE-125'],
  ['buffer overread', 'CWE-125'],
  ['use after free', 'CWE-416'],
  ['uaf', 'CWE-416'],
  ['server side request forgery', 'CWE-918'],
  ['ssrf', 'CWE-918'],
  ['deserialization of untrusted data', 'CWE-502'],
  ['insecure deserialization', 'CWE-502'],
  ['unsafe deserialization', 'CWE-502'],
  ['xml external entity', 'CWE-611'],
  ['xxe', 'CWE-611'],
  ['cross site request forgery', 'CWE-352'],
  ['csrf', 'CWE-352'],
  ['xsrf', 'CWE-352'],
  ['authentication bypass', 'CWE-287'],
  ['auth bypass', 'CWE-287'],
  ['improper authentication', 'CWE-287'],
  ['missing authorization', 'CWE-862'],
  ['hard coded credentials', 'CWE-798'],
  ['hardcoded credentials', 'CWE-798'],
  ['hard coded password', 'CWE-798'],
  ['hardcoded password', 'CWE-798'],
  ['integer overflow', 'CWE-190'],
  ['null pointer dereference', 'CWE-476'],
  ['null dereference', 'CWE-476'],
  ['race condition', 'CWE-362'],
  ['resource exhaustion', 'CWE-400'],
  ['uncontrolled resource consumption', 'CWE-400'],
  ['information disclosure', 'CWE-200'],
  ['information exposure', 'CWE-200'],
];

const PHRASES_LONGEST_FIRST = WEAKNESS_PHRASES.map(([p]) => p).sort((a, b) => b.length - a.length);

const WEAKNESS_NOISE = new Set(['a', 'an', 'the', 'of', 'in', 'on', 'via', 'through', 'vulnerability', 'vuln', 'flaw', 'bug', 'issue', 'weakness']);

/** Lowercase, compatibility-normalized, punctuation and runs of whitespace turned into single spaces. */
function plainWords(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, ' ')
    .replace(/\.(?![0-9a-z])|(?<![0-9a-z])\./g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function productTokens(text: string): string[] {
  return text
    .split(' ')
    .flatMap((t) => (/^[a-z]+\.[a-z]+$/.test(t) ? t.split('.') : [t]))
    .map((t) => t.replace(/^v(?=\d)/, ''))
    .map((t) => PRODUCT_SYNONYMS[t] ?? t)
    .filter((t) => t.length > 0 && !PRODUCT_NOISE.has(t));
}

/**
 * Affected product as a canonical token set: case, punctuation, filler words, synonyms and word order removed.
 * Weakness wording inside the product text ("Prompt injection in Acme Gateway", a finding title standing in for
 * both) is dropped too, unless nothing else would remain.
 */
export function normalizeProduct(product: string): string {
  const words = plainWords(
    product
      .normalize('NFKC')
      .toLowerCase()
      .replace(/node\.js/g, 'nodejs'),
  );
  let stripped = ` ${words.replace(/\bcwe[\s_-]*\d{1,6}\b/g, ' ')} `;
  for (const phrase of PHRASES_LONGEST_FIRST) stripped = stripped.split(` ${phrase} `).join(' ');
  let tokens = productTokens(stripped.replace(/\s+/g, ' ').trim());
  if (tokens.length === 0) tokens = productTokens(words);
  const unique = [...new Set(tokens)].sort();
  if (unique.length === 0) throw new TypeError('affectedProduct has no identifying words');
  return unique.join(' ');
}

/** "cwe 79", "CWE_079", "cwe-79" → "CWE-79"; undefined when the text holds no CWE id. */
export function findCweId(text: string): string | undefined {
  const match = /\bcwe[\s_-]*0*([1-9]\d{0,5})\b/i.exec(text);
  return match ? `CWE-${match[1]}` : undefined;
}

/**
 * Weakness as a CWE id when one is given, written in the text, or recognizable from common wording; otherwise the
 * canonical token set of the words.
 */
export function normalizeWeakness(weakness: string, cweId?: string): string {
  if (cweId !== undefined) {
    const id = findCweId(cweId);
    if (!id) throw new TypeError('cweId must look like CWE-79');
    return id;
  }
  const inText = findCweId(weakness);
  if (inText) return inText;
  const words = ` ${plainWords(weakness.replace(/hard-coded/gi, 'hard coded')).replace(/\./g, ' ')} `;
  let best: { at: number; length: number; cwe: string } | undefined;
  for (const [phrase, cwe] of WEAKNESS_PHRASES) {
    const at = words.indexOf(` ${phrase} `);
    if (at < 0) continue;
    // The weakness named first wins ("prompt injection leading to command injection" is a prompt injection);
    // at one position the longer phrase wins.
    if (!best || at < best.at || (at === best.at && phrase.length > best.length)) best = { at, length: phrase.length, cwe };
  }
  if (best) return best.cwe;
  const tokens = [
    ...new Set(
      words
        .trim()
        .split(' ')
        .filter((t) => t && !WEAKNESS_NOISE.has(t)),
    ),
  ].sort();
  if (tokens.length === 0) throw new TypeError('weakness has no identifying words');
  return `text:${tokens.join(' ')}`;
}

/** The case fingerprint key, derived from the master key (HKDF-SHA256, own label). */
export function deriveFingerprintKey(masterKey: Buffer): Buffer {
  if (masterKey.length < 32) throw new TypeError('the master key must be 32 bytes');
  return Buffer.from(crypto.hkdfSync('sha256', masterKey, 'preflight', 'clearinghouse-case-fingerprint/v1', 32));
}

export interface FingerprintInput {
  affectedProduct: string;
  weakness: string;
  cweId?: string;
}

/** The canonical text that is hashed; exposed for tests and diagnostics (it is as sensitive as the report). */
export function fingerprintMaterial(input: FingerprintInput): string {
  return `v1\n${normalizeProduct(input.affectedProduct)}\n${normalizeWeakness(input.weakness, input.cweId)}`;
}

/** 32 hex characters (128 bits) of HMAC-SHA256 over the canonical product and weakness. */
export function caseFingerprint(input: FingerprintInput, fingerprintKey: Buffer): string {
  return crypto.createHmac('sha256', fingerprintKey).update(fingerprintMaterial(input)).digest('hex').slice(0, 32);
}

/** `case/<fingerprint>` for a report. */
export function caseIdFor(input: FingerprintInput, fingerprintKey: Buffer): string {
  return caseWorkflowId(caseFingerprint(input, fingerprintKey));
}
