import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The 32-byte master key from which access tokens and webhook secrets are derived. From PREFLIGHT_MASTER_KEY
 * when set; otherwise a key generated once into the data directory (mode 0600) for the local default.
 */
export function resolveMasterKey(configured: string | undefined, dataDir: string): Buffer {
  if (configured) return Buffer.from(configured, 'base64');
  const file = path.join(dataDir, 'master.key');
  if (fs.existsSync(file)) {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a base64 32-byte key; delete it or set PREFLIGHT_MASTER_KEY`);
    return key;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = crypto.randomBytes(32);
  try {
    fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return resolveMasterKey(undefined, dataDir);
    throw err;
  }
  return key;
}
