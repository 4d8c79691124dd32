import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { agencyKafkaPassword } from '../events/kafka-acls';

/**
 * Gives each agency a SCRAM-SHA-512 user on the local broker (password derived from the master key). The Kafka admin
 * protocol call for SCRAM credentials is not in kafkajs, so one short-lived JVM runs `stack/java/ScramUsers.java`
 * against the broker's own client jars, reading the passwords on stdin (never on a command line, where `ps` shows
 * them); a marker file remembers which users were set so a restart does not pay for it again.
 */
export async function ensureAgencyPrincipals(options: {
  kafkaLibDir: string;
  /** The internal (PLAINTEXT) listener. */
  bootstrap: string;
  agencyIds: string[];
  masterKey: Buffer;
  /** Where to remember which users exist (the broker's data dir). */
  markerFile: string;
}): Promise<string[]> {
  const fingerprint = (id: string) => crypto.createHash('sha256').update(agencyKafkaPassword(options.masterKey, id)).digest('hex').slice(0, 16);
  let done: Record<string, string> = {};
  try {
    done = JSON.parse(fs.readFileSync(options.markerFile, 'utf8')) as Record<string, string>;
  } catch {
    // first start
  }
  const pending = options.agencyIds.filter((id) => done[id] !== fingerprint(id));
  if (pending.length === 0) return pending;
  const passwords = pending.map((id) => agencyKafkaPassword(options.masterKey, id));
  const input = pending.map((id, i) => `${id}\t${passwords[i]}\n`).join('');
  const { code, output } = await run(
    'java',
    ['-XX:TieredStopAtLevel=1', '-cp', `${options.kafkaLibDir}${path.sep}*`, SCRAM_USERS_SOURCE, options.bootstrap],
    input,
  );
  if (code !== 0) {
    const redacted = passwords.reduce((text, password) => text.split(password).join('<redacted>'), output);
    const reason = redacted
      .split('\n')
      .filter((l) => !l.startsWith('log4j:'))
      .join(' ')
      .slice(-300);
    throw new Error(`setting the SCRAM credentials of ${pending.join(', ')} on the local broker failed: ${reason}`);
  }
  for (const id of pending) done[id] = fingerprint(id);
  fs.writeFileSync(options.markerFile, JSON.stringify(done, null, 2));
  return pending;
}

/**
 * Run in Java's single-file source mode: no build step, compiled against the broker's jars at start. Found beside
 * this file, or in the source tree when running from `dist/`.
 */
const SCRAM_USERS_SOURCE =
  [path.join(__dirname, 'java', 'ScramUsers.java'), path.join(__dirname, '..', '..', 'stack', 'java', 'ScramUsers.java')].find((p) => fs.existsSync(p)) ??
  path.join(__dirname, 'java', 'ScramUsers.java');

function run(command: string, args: string[], input: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => resolve({ code: -1, output: String(err) }));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(input);
  });
}
