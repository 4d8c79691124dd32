import fs from 'node:fs';
import path from 'node:path';

/**
 * The Preflight checkout this code runs from: the nearest folder above this file whose package.json is Preflight's.
 * The same folder from the TypeScript sources (infra/) and from the compiled dist/infra/, so what lives beside the
 * sources (the data dir, generated documents) is found from either.
 */
export function projectRoot(from = __dirname): string {
  for (let dir = path.dirname(from); ; dir = path.dirname(dir)) {
    if (isPreflightPackage(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.dirname(from);
  }
}

function isPreflightPackage(file: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown }).name === 'preflight';
  } catch {
    return false;
  }
}
