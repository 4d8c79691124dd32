import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { agencyKafkaPassword } from '../events/kafka-acls';

/**
 * Gives each agency a SCRAM-SHA-512 user on the local broker (password derived from the master key). The Kafka admin
 * protocol call for SCRAM credentials is not in kafkajs, so this runs the broker's own ConfigCommand; a marker file
 * remembers which users were set so a restart does not pay for it again.
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
  for (const agencyId of pending) {
    const password = agencyKafkaPassword(options.masterKey, agencyId);
    // ConfigCommand's --add-config-file does not take SCRAM credentials, so the password is an argument of a
    // short-lived local process talking to the loopback broker; it is never logged.
    const { code, output } = await run('java', [
      '-XX:TieredStopAtLevel=1',
      '-cp',
      `${options.kafkaLibDir}${path.sep}*`,
      'kafka.admin.ConfigCommand',
      '--bootstrap-server',
      options.bootstrap,
      '--alter',
      '--entity-type',
      'users',
      '--entity-name',
      agencyId,
      '--add-config',
      `SCRAM-SHA-512=[iterations=4096,password=${password}]`,
    ]);
    if (code !== 0) {
      const reason = output.split(password).join('<redacted>').split('\n').filter((l) => !l.startsWith('log4j:')).join(' ').slice(-300);
      throw new Error(`setting the SCRAM credentials of ${agencyId} on the local broker failed: ${reason}`);
    }
    done[agencyId] = fingerprint(agencyId);
    fs.writeFileSync(options.markerFile, JSON.stringify(done, null, 2));
  }
  return pending;
}

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => resolve({ code: -1, output: String(err) }));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}
