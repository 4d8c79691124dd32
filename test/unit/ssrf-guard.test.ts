import { checkAddress, parseAllowlist, resolveAndCheck, type Resolver } from '../../infra/ssrf-guard';

// Decisions only: nothing here opens a connection.
describe('SSRF guard decision', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.10.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:127.0.0.1', 'ipv4-mapped'],
    ['::ffff:7f00:1', 'ipv4-mapped'],
    ['::ffff:169.254.169.254', 'ipv4-mapped'],
    ['::ffff:8.8.8.8', 'ipv4-mapped'],
    ['::127.0.0.1', 'ipv4-embedded'],
    ['64:ff9b::7f00:1', 'ipv4-embedded'],
    ['2002:7f00:1::', 'ipv4-embedded'],
    ['2130706433', 'non-canonical-ipv4'],
    ['017700000001', 'non-canonical-ipv4'],
    ['0177.0.0.1', 'non-canonical-ipv4'],
    ['0x7f.0.0.1', 'non-canonical-ipv4'],
    ['0x7f000001', 'non-canonical-ipv4'],
    ['127.1', 'non-canonical-ipv4'],
    ['fe80::1%eth0', 'ipv6-zone'],
    ['localhost', 'not-an-ip'],
  ])('refuses %s (%s)', (ip, reason) => {
    expect(checkAddress(ip)).toEqual({ allowed: false, address: ip, reason });
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.215.14', '2606:4700:4700::1111', '172.32.0.1', '100.128.0.1'])('allows public %s', (ip) => {
    expect(checkAddress(ip)).toMatchObject({ allowed: true, address: ip, allowlisted: false });
  });

  it('the allowlist admits exactly what it names', () => {
    const allow = ['127.0.0.1/32', '::1'];
    expect(checkAddress('127.0.0.1', allow)).toEqual({ allowed: true, address: '127.0.0.1', family: 4, allowlisted: true });
    expect(checkAddress('::1', allow)).toMatchObject({ allowed: true, family: 6, allowlisted: true });
    expect(checkAddress('127.0.0.2', allow)).toMatchObject({ allowed: false, reason: 'loopback' });
    expect(checkAddress('169.254.169.254', allow)).toMatchObject({ allowed: false, reason: 'metadata' });
    // The same address under an IPv4-mapped or non-canonical spelling stays refused.
    expect(checkAddress('::ffff:127.0.0.1', allow)).toMatchObject({ allowed: false, reason: 'ipv4-mapped' });
    expect(checkAddress('2130706433', allow)).toMatchObject({ allowed: false, reason: 'non-canonical-ipv4' });
    expect(checkAddress('10.1.2.3', ['10.0.0.0/8'])).toMatchObject({ allowed: true, allowlisted: true });
  });

  it('refuses malformed allowlist entries by name', () => {
    expect(() => parseAllowlist(['127.0.0.1/33'])).toThrow(/127\.0\.0\.1\/33/);
    expect(() => parseAllowlist(['example.com'])).toThrow(/example\.com/);
  });
});

describe('resolveAndCheck', () => {
  const resolver =
    (table: Record<string, string[]>): Resolver =>
    async (host) => {
      const addrs = table[host];
      if (!addrs) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };

  it('refuses a host name that resolves to loopback', async () => {
    await expect(resolveAndCheck('https://hooks.example.test/x', { resolver: resolver({ 'hooks.example.test': ['127.0.0.1'] }) })).rejects.toMatchObject({
      name: 'SsrfRefusedError',
      reason: 'loopback',
    });
    await expect(resolveAndCheck('https://v6.example.test/x', { resolver: resolver({ 'v6.example.test': ['::1'] }) })).rejects.toMatchObject({
      reason: 'loopback',
    });
  });

  it('refuses when any resolved address is refused, even if another is public', async () => {
    await expect(
      resolveAndCheck('https://mixed.example.test/', { resolver: resolver({ 'mixed.example.test': ['93.184.215.14', '169.254.169.254'] }) }),
    ).rejects.toMatchObject({ reason: 'metadata' });
  });

  it('returns the checked address for a public host, with port and host name', async () => {
    const target = await resolveAndCheck('https://hooks.example.test/in?x=1', { resolver: resolver({ 'hooks.example.test': ['93.184.215.14'] }) });
    expect(target).toMatchObject({ hostname: 'hooks.example.test', address: '93.184.215.14', family: 4, port: 443 });
  });

  it.each([
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0x7f.0.0.1/',
    'http://0177.0.0.1/',
    'http://0x7f000001:8080/',
    'http://127.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/',
    'http://0.0.0.0:80/',
  ])('refuses the literal URL %s without resolving', async (url) => {
    const never: Resolver = () => Promise.reject(new Error('must not resolve a literal'));
    await expect(resolveAndCheck(url, { resolver: never })).rejects.toMatchObject({ name: 'SsrfRefusedError' });
  });

  it.each(['ftp://example.com/', 'https://user:pw@example.com/', 'not a url', 'file:///etc/passwd'])('refuses the malformed URL %s', async (url) => {
    await expect(resolveAndCheck(url, { resolver: resolver({ 'example.com': ['93.184.215.14'] }) })).rejects.toMatchObject({ reason: 'bad-url' });
  });

  it('an allowlisted loopback passes, another loopback address does not', async () => {
    const table = resolver({ 'receiver.test': ['127.0.0.1'], 'canary.test': ['127.0.0.2'] });
    await expect(resolveAndCheck('http://receiver.test:8081/', { resolver: table, allowlist: ['127.0.0.1/32'] })).resolves.toMatchObject({
      address: '127.0.0.1',
      port: 8081,
    });
    await expect(resolveAndCheck('http://canary.test:8081/', { resolver: table, allowlist: ['127.0.0.1/32'] })).rejects.toMatchObject({ reason: 'loopback' });
  });

  it('reports an unresolvable host as such', async () => {
    await expect(resolveAndCheck('https://nowhere.test/', { resolver: resolver({}) })).rejects.toMatchObject({ reason: 'unresolvable' });
  });
});

describe('allowlisted loopback under another spelling', () => {
  it.each(['http://2130706433:8080/', 'http://0x7f.0.0.1:8080/', 'http://0177.0.0.1:8080/', 'http://127.1:8080/', 'http://[::ffff:127.0.0.1]:8080/'])(
    'refuses %s even with 127.0.0.1 allowlisted',
    async (url) => {
      await expect(resolveAndCheck(url, { allowlist: ['127.0.0.1/32'], resolver: () => Promise.reject(new Error('no lookup')) })).rejects.toMatchObject({
        name: 'SsrfRefusedError',
      });
    },
  );
});
