import dns from 'node:dns';
import net from 'node:net';

/** Why an address was refused; stable strings, logged and kept in the attempt log. */
export type RefusalReason =
  | 'not-an-ip'
  | 'non-canonical-ipv4'
  | 'ipv6-zone'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'cgnat'
  | 'multicast'
  | 'reserved'
  | 'broadcast'
  | 'documentation'
  | 'ipv4-mapped'
  | 'ipv4-embedded';

export type AddressDecision =
  { allowed: true; address: string; family: 4 | 6; allowlisted: boolean } | { allowed: false; address: string; reason: RefusalReason };

/** A CIDR allowlist for local development and tests (`127.0.0.1/32`, `::1/128`); empty by default. */
export type Allowlist = readonly string[] | net.BlockList;

/** Returns every address a host name resolves to (dns.lookup semantics, so /etc/hosts applies). */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/** Parses `10.0.0.0/8`, `127.0.0.1`, `::1/128` lists into a BlockList; throws naming the bad entry. */
export function parseAllowlist(cidrs: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of cidrs) {
    const [addr, prefixText, ...rest] = entry.trim().split('/');
    const family = net.isIP(addr ?? '');
    const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
    if (!addr || family === 0 || rest.length > 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
      throw new Error(`invalid allowlist entry "${entry}": expected an IP address or CIDR such as 127.0.0.1/32`);
    }
    list.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

function asBlockList(allowlist: Allowlist): net.BlockList {
  return allowlist instanceof net.BlockList ? allowlist : parseAllowlist(allowlist);
}

// IPv4 ranges that are never a public webhook receiver (RFC 6890 special-purpose registry and friends).
const V4_RANGES: Array<[string, number, RefusalReason]> = [
  ['169.254.169.254', 32, 'metadata'],
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['255.255.255.255', 32, 'broadcast'],
  ['240.0.0.0', 4, 'reserved'],
];

const V6_RANGES: Array<[string, number, RefusalReason]> = [
  ['fd00:ec2::254', 128, 'metadata'],
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::ffff:0:0', 96, 'ipv4-mapped'],
  ['::', 96, 'ipv4-embedded'], // deprecated IPv4-compatible addresses
  ['::ffff:0:0:0', 96, 'ipv4-embedded'], // SIIT
  ['64:ff9b::', 96, 'ipv4-embedded'], // NAT64
  ['64:ff9b:1::', 48, 'ipv4-embedded'],
  ['100::', 64, 'reserved'], // discard-only
  ['2001::', 32, 'ipv4-embedded'], // Teredo
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, 'ipv4-embedded'], // 6to4
  ['fc00::', 7, 'private'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'], // deprecated site-local
  ['ff00::', 8, 'multicast'],
];

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function v6ToBigInt(ip: string): bigint {
  // Normalise through the WHATWG URL parser so an embedded dotted quad becomes two hex groups.
  const host = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : new Array(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function inV4(ip: number, base: string, prefix: number): boolean {
  if (prefix === 0) return true;
  const mask = prefix === 32 ? 0xffffffff : (~0 << (32 - prefix)) >>> 0;
  return (ip & mask) >>> 0 === (v4ToInt(base) & mask) >>> 0;
}

function inV6(ip: bigint, base: string, prefix: number): boolean {
  const shift = BigInt(128 - prefix);
  return ip >> shift === v6ToBigInt(base) >> shift;
}

// inet_aton accepts 1-4 parts, each decimal, octal (leading 0) or hex (0x); browsers and resolvers honour it.
const LEGACY_V4 = /^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)(\.(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)){0,3}\.?$/i;

/**
 * Decides whether a webhook may connect to `ip`. Pure: no I/O. Refuses anything that is not a canonical IP literal
 * (decimal, octal, hex and short spellings of IPv4 included), IPv4-mapped/compatible IPv6 always, and the
 * special-purpose ranges unless the allowlist names them.
 */
export function checkAddress(ip: string, allowlist: Allowlist = []): AddressDecision {
  const address = ip.trim();
  if (address.includes('%')) return { allowed: false, address, reason: 'ipv6-zone' };
  const family = net.isIP(address);
  if (family === 0) {
    return { allowed: false, address, reason: LEGACY_V4.test(address) ? 'non-canonical-ipv4' : 'not-an-ip' };
  }
  if (family === 6) {
    const value = v6ToBigInt(address);
    // Embedded IPv4 forms are refused outright so an IPv4 allowlist entry cannot be reached under another spelling.
    const embedded = V6_RANGES.find(([base, prefix, reason]) => (reason === 'ipv4-mapped' || reason === 'ipv4-embedded') && inV6(value, base, prefix));
    const loopbackOrUnspecified = value === 0n || value === 1n;
    if (embedded && !loopbackOrUnspecified) return { allowed: false, address, reason: embedded[2] };
    if (asBlockList(allowlist).check(address, 'ipv6')) return { allowed: true, address, family: 6, allowlisted: true };
    const hit = V6_RANGES.find(([base, prefix]) => inV6(value, base, prefix));
    return hit ? { allowed: false, address, reason: hit[2] } : { allowed: true, address, family: 6, allowlisted: false };
  }
  if (asBlockList(allowlist).check(address, 'ipv4')) return { allowed: true, address, family: 4, allowlisted: true };
  const value = v4ToInt(address);
  const hit = V4_RANGES.find(([base, prefix]) => inV4(value, base, prefix));
  return hit ? { allowed: false, address, reason: hit[2] } : { allowed: true, address, family: 4, allowlisted: false };
}

/** A refused webhook target; `reason` is a stable code, the message names host and address. */
export class SsrfRefusedError extends Error {
  override readonly name = 'SsrfRefusedError';
  constructor(
    readonly reason: RefusalReason | 'bad-url' | 'unresolvable',
    message: string,
  ) {
    super(message);
  }
}

export function isSsrfRefusedError(err: unknown): err is SsrfRefusedError {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'SsrfRefusedError';
}

export interface CheckedTarget {
  url: URL;
  /** The host name as written in the URL, for the Host header and TLS server name. */
  hostname: string;
  /** The checked address the request must connect to. */
  address: string;
  family: 4 | 6;
  port: number;
}

/** Parses and validates a webhook URL's shape: http(s), no credentials, no fragment tricks. */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SsrfRefusedError('bad-url', 'webhook URL is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SsrfRefusedError('bad-url', `webhook URL scheme ${url.protocol} is not http or https`);
  if (url.username || url.password) throw new SsrfRefusedError('bad-url', 'webhook URL must not carry credentials');
  if (!url.hostname) throw new SsrfRefusedError('bad-url', 'webhook URL has no host');
  // The URL parser rewrites 0x7f.1 or 2130706433 to 127.0.0.1; refuse such spellings as written, not only as decoded.
  const rawHost = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(raw.trim())?.[1] ?? '';
  if (LEGACY_V4.test(rawHost) && net.isIPv4(rawHost.replace(/\.$/, '')) === false) {
    throw new SsrfRefusedError('non-canonical-ipv4', `webhook host ${rawHost} is a non-canonical IPv4 spelling`);
  }
  return url;
}

/**
 * Resolves the URL's host once and checks every address it resolves to; any refused address refuses the whole host
 * (so a DNS answer mixing a public and a private address cannot be used to pick the private one). Returns the checked
 * address, which the caller must connect to without resolving again.
 */
export async function resolveAndCheck(rawUrl: string, options: { resolver?: Resolver; allowlist?: Allowlist } = {}): Promise<CheckedTarget> {
  const url = parseWebhookUrl(rawUrl);
  const allowlist = asBlockList(options.allowlist ?? []);
  const literal = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let candidates: Array<{ address: string; family: number }>;
  if (net.isIP(literal) !== 0) {
    candidates = [{ address: literal, family: net.isIP(literal) }];
  } else if (LEGACY_V4.test(literal)) {
    throw new SsrfRefusedError('non-canonical-ipv4', `webhook host ${literal} is a non-canonical IPv4 spelling`);
  } else {
    try {
      candidates = await (options.resolver ?? systemResolver)(literal);
    } catch (err) {
      throw new SsrfRefusedError('unresolvable', `webhook host ${literal} did not resolve: ${(err as Error).message}`);
    }
    if (candidates.length === 0) throw new SsrfRefusedError('unresolvable', `webhook host ${literal} resolved to no address`);
  }
  let chosen: CheckedTarget | undefined;
  for (const candidate of candidates) {
    const decision = checkAddress(candidate.address, allowlist);
    if (!decision.allowed) {
      throw new SsrfRefusedError(decision.reason, `webhook host ${literal} resolves to ${candidate.address} (${decision.reason})`);
    }
    chosen ??= {
      url,
      hostname: literal,
      address: decision.address,
      family: decision.family,
      port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    };
  }
  return chosen!;
}
