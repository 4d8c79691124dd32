/**
 * A Temporal server as operators deploy it, on loopback: `go.temporal.io/server` built from the Go module proxy into
 * the cache (once), over a throwaway PostgreSQL from Debian's packages, with its schema set up by Temporal's own `sql`
 * tool, and its four services (history, matching, frontend, worker) as separate processes, each killable and
 * restartable on the same ports. Used by `npm run test:cluster`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import net from 'node:net';
import { isAlive, portOpen, sleep, spawnServer, waitForPortClosed, waitUntilReady } from '../../infra/local-process';
import { ProvisionError, which } from '../provision';
import { temporalHealthy } from '../servers';

/** v1.32.2 needs a newer Go than this machine's 1.26.8 (GOTOOLCHAIN=local refuses it). */
export const TEMPORAL_SERVER_VERSION = '1.32.0';
export const TEMPORAL_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

export interface TemporalServerBinaries {
  server: string;
  sql: string;
  /** Temporal's versioned PostgreSQL schema (`schema/postgresql/v12`), copied out of the module cache. */
  schemaDir: string;
}

async function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; logFile?: string } = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (b: Buffer) => {
      output += b.toString('utf8');
      if (options.logFile) fs.appendFileSync(options.logFile, b);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) => resolve({ code: -1, output: output + String(e) }));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

/**
 * `go install` of the server and its `sql` tool into `<cacheDir>/temporal-server-<version>/bin`, only when they are not
 * there yet (about 5 minutes on two cores the first time), and the schema copied beside them.
 */
export async function provisionTemporalServer(cacheDir: string, say: (line: string) => void = () => undefined): Promise<TemporalServerBinaries> {
  const dir = path.join(cacheDir, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const bin = path.join(dir, 'bin');
  const binaries = { server: path.join(bin, 'server'), sql: path.join(bin, 'sql'), schemaDir: path.join(dir, 'schema', 'postgresql', 'v12') };
  const go = which('go');
  if (!fs.existsSync(binaries.server) || !fs.existsSync(binaries.sql)) {
    if (!go) throw new ProvisionError(`Go not found: the Temporal server v${TEMPORAL_SERVER_VERSION} is built with Go 1.26+. Install Go.`);
    fs.mkdirSync(dir, { recursive: true });
    const partial = path.join(dir, 'bin.partial');
    fs.rmSync(partial, { recursive: true, force: true });
    const logFile = path.join(dir, 'build.log');
    say(`Building the Temporal server v${TEMPORAL_SERVER_VERSION} and its sql tool with Go (a few minutes the first time; log: ${logFile})…`);
    const started = Date.now();
    const built = await run(
      go,
      ['install', `go.temporal.io/server/cmd/server@v${TEMPORAL_SERVER_VERSION}`, `go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`],
      { env: { ...process.env, GOBIN: partial, GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false' }, logFile },
    );
    if (built.code !== 0) throw new ProvisionError(`Building the Temporal server failed (exit ${built.code}); see ${logFile}.`);
    fs.rmSync(bin, { recursive: true, force: true });
    fs.renameSync(partial, bin);
    say(`Temporal server built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  if (!fs.existsSync(binaries.schemaDir)) {
    if (!go) throw new ProvisionError('Go not found: it locates the Temporal server schema in the module cache. Install Go.');
    const modCache = (await run(go, ['env', 'GOMODCACHE'])).output.trim();
    let source = path.join(modCache, `go.temporal.io/server@v${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
    if (!fs.existsSync(source)) {
      const downloaded = await run(go, ['mod', 'download', '-json', `go.temporal.io/server@v${TEMPORAL_SERVER_VERSION}`], {
        env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
      });
      const moduleDir = /"Dir":\s*"([^"]+)"/.exec(downloaded.output)?.[1];
      if (!moduleDir) throw new ProvisionError(`Cannot find the Temporal server v${TEMPORAL_SERVER_VERSION} module: ${downloaded.output.slice(-300)}`);
      source = path.join(moduleDir, 'schema', 'postgresql', 'v12');
    }
    fs.mkdirSync(path.dirname(binaries.schemaDir), { recursive: true });
    fs.cpSync(source, binaries.schemaDir, { recursive: true });
    // The module cache is read-only; the copy need not be.
    spawnSync('chmod', ['-R', 'u+w', binaries.schemaDir]);
  }
  return binaries;
}

/** The one line printed when PostgreSQL is missing and this user may not install it. */
export const POSTGRES_HINT = 'The cluster suite needs PostgreSQL: run `sudo apt-get install -y postgresql` (Debian/Ubuntu).';

function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

/** Debian's PostgreSQL binaries; installed with apt (as root, or with passwordless sudo) when missing. */
export function provisionPostgres(say: (line: string) => void = () => undefined): string {
  const found = findPostgresBin();
  if (found) return found;
  const root = process.getuid?.() === 0;
  const sudo = !root && spawnSync('sudo', ['-n', 'true']).status === 0;
  if ((!root && !sudo) || !which('apt-get')) throw new ProvisionError(POSTGRES_HINT);
  say('Installing PostgreSQL from Debian (apt-get install postgresql)…');
  const prefix = root ? [] : ['sudo', '-n'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['apt-get', 'update'],
    ['apt-get', 'install', '-y', '--no-install-recommends', 'postgresql'],
  ]) {
    const [command, ...rest] = [...prefix, ...args];
    const result = spawnSync(command!, rest, { env, encoding: 'utf8' });
    if (result.status !== 0) throw new ProvisionError(`${args.join(' ')} failed: ${(result.stderr || result.stdout).slice(-300)}. ${POSTGRES_HINT}`);
  }
  const installed = findPostgresBin();
  if (!installed) throw new ProvisionError(POSTGRES_HINT);
  return installed;
}

/**
 * A throwaway PostgreSQL in `dir` listening on 127.0.0.1:`port` (trust auth, loopback only). initdb refuses root, so as
 * root the server runs as the `postgres` user Debian's package creates.
 */
export class Postgres {
  private readonly asPostgres = process.getuid?.() === 0;
  started = false;

  constructor(
    private readonly binDir: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  private command(binary: string, args: string[]): [string, string[]] {
    const full = path.join(this.binDir, binary);
    return this.asPostgres ? ['runuser', ['-u', 'postgres', '--', full, ...args]] : [full, args];
  }

  private async exec(binary: string, args: string[]): Promise<void> {
    const [command, argv] = this.command(binary, args);
    const result = await run(command, argv);
    if (result.code !== 0) throw new Error(`${binary} ${args[0] ?? ''} failed (exit ${result.code}): ${result.output.slice(-400)}`);
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    if (this.asPostgres) spawnSync('chown', ['-R', 'postgres', this.dir]);
    const data = path.join(this.dir, 'data');
    if (!fs.existsSync(path.join(data, 'PG_VERSION'))) await this.exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off`;
    await this.exec('pg_ctl', ['-D', data, '-o', options, '-l', path.join(this.dir, 'postgres.log'), '-w', '-t', '120', 'start']);
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await this.exec('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'fast', '-w', '-t', '60', 'stop']);
    this.started = false;
  }

  /** The postmaster's pid (from its pid file), for a leak check. */
  pid(): number | undefined {
    try {
      return Number(fs.readFileSync(path.join(this.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  }
}

export interface TemporalClusterPorts {
  postgres: number;
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  membership: Record<TemporalService, number>;
}

/** The server's configuration: PostgreSQL persistence and visibility, each service on its own loopback ports. */
export function temporalServerConfig(host: string, ports: TemporalClusterPorts, dynamicConfigFile: string): string {
  const store = (db: string, conns: number) =>
    `{ pluginName: "postgres12", databaseName: "${db}", connectAddr: "${host}:${ports.postgres}", connectProtocol: "tcp", user: "postgres", password: "", maxConns: ${conns}, maxIdleConns: ${conns}, maxConnLifetime: "1h" }`;
  const service = (name: TemporalService, grpc: number, extra = '') =>
    `  ${name}: { rpc: { grpcPort: ${grpc}, membershipPort: ${ports.membership[name]}, bindOnLocalHost: true${extra} } }`;
  return [
    'log: { stdout: true, level: warn }',
    'persistence:',
    '  defaultStore: pg',
    '  visibilityStore: pgv',
    '  numHistoryShards: 4',
    '  datastores:',
    `    pg: { sql: ${store('temporal', 20)} }`,
    `    pgv: { sql: ${store('temporal_visibility', 5)} }`,
    'global:',
    `  membership: { maxJoinDuration: 30s, broadcastAddress: "${host}" }`,
    'services:',
    service('frontend', ports.frontend, `, httpPort: ${ports.frontendHttp}`),
    service('matching', ports.matching),
    service('history', ports.history),
    service('worker', ports.worker),
    'clusterMetadata:',
    '  enableGlobalNamespace: false',
    '  failoverVersionIncrement: 10',
    '  masterClusterName: "active"',
    '  currentClusterName: "active"',
    '  clusterInformation:',
    `    active: { enabled: true, initialFailoverVersion: 1, rpcName: "frontend", rpcAddress: "${host}:${ports.frontend}" }`,
    'dcRedirectionPolicy: { policy: "noop" }',
    `dynamicConfigClient: { filepath: "${dynamicConfigFile}", pollInterval: "10s" }`,
    '',
  ].join('\n');
}

/** The same settings the local dev server runs with (see stack/servers.ts). */
const DYNAMIC_CONFIG = [
  'frontend.enableUpdateWorkflowExecution:',
  '  - value: true',
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted:',
  '  - value: true',
  'system.enableActivityEagerExecution:',
  '  - value: true',
  '',
].join('\n');

/** Creates the two databases and applies every versioned schema with Temporal's own `sql` tool. */
export async function setupTemporalSchema(binaries: TemporalServerBinaries, host: string, port: number, logFile: string): Promise<void> {
  const base = ['--plugin', 'postgres12', '--ep', host, '-p', String(port), '-u', 'postgres'];
  for (const [db, schema] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    for (const args of [
      ['--db', db, 'create-database'],
      ['--db', db, 'setup-schema', '-v', '0.0'],
      ['--db', db, 'update-schema', '-d', path.join(binaries.schemaDir, schema, 'versioned')],
    ]) {
      const result = await run(binaries.sql, [...base, ...args], { logFile });
      if (result.code !== 0) throw new Error(`temporal sql ${args.slice(2).join(' ')} on ${db} failed: ${result.output.slice(-400)}`);
    }
  }
}

/** One Temporal service process (history, matching, frontend or worker), killable and restartable on its ports. */
export class TemporalServiceProcess {
  readonly pids: number[] = [];
  private child: ChildProcess | undefined;

  constructor(
    readonly service: TemporalService,
    private readonly binary: string,
    private readonly configDir: string,
    private readonly host: string,
    readonly port: number,
    readonly membershipPort: number,
    private readonly logFile: string,
  ) {}

  get name(): string {
    return `temporal-${this.service}`;
  }

  async start(): Promise<void> {
    const child = spawnServer({
      name: this.name,
      command: this.binary,
      args: ['--config-file', path.join(this.configDir, 'cluster.yaml'), '--allow-no-auth', 'start', '--service', this.service],
      logFile: this.logFile,
    });
    this.child = child;
    this.pids.push(child.pid!);
    await waitUntilReady(`Temporal ${this.service}`, () => portOpen(this.host, this.port), { timeoutMs: 120_000, child, logFile: this.logFile });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async kill9(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    const deadline = Date.now() + 15_000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(50);
    this.child = undefined;
    for (const port of [this.port, this.membershipPort]) {
      if (!(await waitForPortClosed(this.host, port, 15_000))) throw new Error(`${this.name} port ${port} still open after SIGKILL`);
    }
  }

  async stop(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined || !isAlive(pid)) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + 15_000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) await this.kill9();
    this.child = undefined;
  }
}

export interface TemporalCluster {
  address: string;
  httpUrl: string;
  postgres: Postgres;
  services: Record<TemporalService, TemporalServiceProcess>;
  /** Stops the four services, then PostgreSQL; safe to call after a partial start. */
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL in `dir`, sets up Temporal's schema, starts the four services in turn (history, matching, frontend,
 * worker), and registers `namespace` with Preflight's search attributes.
 * On failure everything started is stopped again.
 */
export async function startTemporalCluster(options: {
  binaries: TemporalServerBinaries;
  postgresBin: string;
  dir: string;
  host: string;
  ports: TemporalClusterPorts;
  namespace: string;
  /** Registers the deployment's search attributes on the namespace. */
  prepareNamespace: (address: string) => Promise<void>;
  onStarted?: (cluster: TemporalCluster) => void;
  say?: (line: string) => void;
}): Promise<TemporalCluster> {
  const say = options.say ?? (() => undefined);
  const { host, ports } = options;
  const logDir = path.join(options.dir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const postgres = new Postgres(options.postgresBin, path.join(options.dir, 'postgres'), ports.postgres);
  const configDir = path.join(options.dir, 'temporal-config');
  fs.mkdirSync(configDir, { recursive: true });
  const dynamicConfig = path.join(configDir, 'dynamic.yaml');
  fs.writeFileSync(dynamicConfig, DYNAMIC_CONFIG);
  fs.writeFileSync(path.join(configDir, 'cluster.yaml'), temporalServerConfig(host, ports, dynamicConfig));
  const grpc: Record<TemporalService, number> = { history: ports.history, matching: ports.matching, frontend: ports.frontend, worker: ports.worker };
  const services = Object.fromEntries(
    TEMPORAL_SERVICES.map((s) => [
      s,
      new TemporalServiceProcess(s, options.binaries.server, configDir, host, grpc[s], ports.membership[s], path.join(logDir, `temporal-${s}.log`)),
    ]),
  ) as Record<TemporalService, TemporalServiceProcess>;
  const address = `${host}:${ports.frontend}`;
  const cluster: TemporalCluster = {
    address,
    httpUrl: `http://${host}:${ports.frontendHttp}`,
    postgres,
    services,
    async stop() {
      for (const s of [...TEMPORAL_SERVICES].reverse()) await services[s].stop().catch(() => undefined);
      await postgres.stop();
    },
  };
  options.onStarted?.(cluster);
  try {
    let t = Date.now();
    await postgres.start();
    say(`PostgreSQL ready on ${host}:${ports.postgres} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    await setupTemporalSchema(options.binaries, host, ports.postgres, path.join(logDir, 'temporal-sql.log'));
    say(`Temporal schema set up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    // One at a time: the first to start writes the cluster's metadata record, which two at once race for.
    for (const s of TEMPORAL_SERVICES) await services[s].start();
    await waitUntilReady('Temporal frontend', () => temporalHealthy(address).catch(() => false), { timeoutMs: 120_000 });
    await registerNamespace(address, options.namespace);
    await options.prepareNamespace(address);
    say(`Temporal services (history, matching, frontend, worker) ready at ${address} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  } catch (e) {
    await cluster.stop().catch(() => undefined);
    throw e;
  }
  return cluster;
}

/** Registers the namespace (one day of retention) unless it exists, and waits until the frontend knows it. */
async function registerNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    } catch (e) {
      if (!/already exists|AlreadyExists/i.test((e as Error).message)) throw e;
    }
    await waitUntilReady(
      `namespace ${namespace}`,
      async () => {
        try {
          await connection.workflowService.describeNamespace({ namespace });
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000 },
    );
  } finally {
    await connection.close();
  }
}

/**
 * A free port in 20000–32767: Temporal stores each service's membership port in a PostgreSQL `smallint`, so the
 * kernel's ephemeral ports (above 32767) are refused there.
 */
export async function freeLowPort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_700);
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port found in 20000-32767');
}

/** A throwaway directory for the cluster's data (PostgreSQL, Kafka logs, service logs). */
export function clusterDataDir(prefix = 'preflight-cluster-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  // PostgreSQL runs as `postgres` when this is root: it must reach its own folder below.
  fs.chmodSync(dir, 0o755);
  return dir;
}
