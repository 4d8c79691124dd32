import { INSTALL_HINT, provisionChromium, type BrowserHost } from '../helpers/browser';

/** A machine as the browser set-up sees it: what is on PATH, who the user is, what apt does. */
function fakeHost(o: { onPath?: string[]; installer?: 'root' | 'sudo'; apt?: boolean; env?: NodeJS.ProcessEnv; aptInstalls?: string }) {
  const onPath = new Set(o.onPath ?? []);
  const runs: string[] = [];
  const host: BrowserHost = {
    env: o.env ?? {},
    which: (name) => (onPath.has(name) ? `/usr/bin/${name}` : undefined),
    isExecutable: (file) => file === '/opt/chrome/chrome',
    installer: () => o.installer,
    hasApt: () => o.apt ?? true,
    run: (command, args) => {
      runs.push([command, ...args].join(' '));
      if (args.includes('install') && o.aptInstalls) onPath.add(o.aptInstalls);
    },
    log: () => undefined,
  };
  return { host, runs };
}

describe('provisioning the browser the tests drive', () => {
  it('uses PREFLIGHT_CHROMIUM when it names an executable, and stops when it does not', () => {
    expect(provisionChromium(fakeHost({ env: { PREFLIGHT_CHROMIUM: '/opt/chrome/chrome' } }).host)).toBe('/opt/chrome/chrome');
    expect(() => provisionChromium(fakeHost({ env: { PREFLIGHT_CHROMIUM: '/nope' }, onPath: ['chromium'] }).host)).toThrow(
      'PREFLIGHT_CHROMIUM=/nope is not an executable',
    );
  });

  it('finds chromium (or Chrome) on PATH and installs nothing', () => {
    const { host, runs } = fakeHost({ onPath: ['google-chrome'], installer: 'root' });
    expect(provisionChromium(host)).toBe('/usr/bin/google-chrome');
    expect(runs).toEqual([]);
  });

  it('installs Debian’s chromium with apt, non-interactively, as root or through sudo -n', () => {
    const root = fakeHost({ installer: 'root', aptInstalls: 'chromium' });
    expect(provisionChromium(root.host)).toBe('/usr/bin/chromium');
    expect(root.runs).toEqual(['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends chromium']);
    const sudo = fakeHost({ installer: 'sudo', aptInstalls: 'chromium' });
    expect(provisionChromium(sudo.host)).toBe('/usr/bin/chromium');
    expect(sudo.runs[1]).toBe('sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium');
  });

  it('stops with one line saying what to install when the user may not install, or there is no apt', () => {
    for (const host of [fakeHost({}).host, fakeHost({ installer: 'root', apt: false }).host]) {
      expect(() => provisionChromium(host)).toThrow(new Error(INSTALL_HINT));
    }
    expect(INSTALL_HINT).not.toContain('\n');
    expect(INSTALL_HINT).toContain('apt-get install -y chromium');
  });
});
