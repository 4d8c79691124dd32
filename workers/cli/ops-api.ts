import fs from 'node:fs';
import type { Command } from 'commander';
import type * as LocalProcess from '../../infra/local-process';
import type * as DevCredentials from '../../stack/dev-credentials';
import { CliError, configOrExit } from './common';

export interface ApiOptions {
  api?: string;
  tokenFile?: string;
  json?: boolean;
}

/**
 * Calls the ops API with the operator's token (from --token-file, by default the local stack's `dev/ops.token`), so
 * every action is checked and audited by the api exactly as from the console. A refusal becomes a CliError with the
 * problem's status, code and detail: exit 2 for input the api refused (422, 415), 3 for an unknown object, 4 for a
 * refused token, 1 otherwise (409: the object's state does not allow it).
 */
export async function opsCall(opts: ApiOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const config = configOrExit();
  const { hostPort } = require('../../infra/local-process') as typeof LocalProcess;
  const { devCredentialPaths } = require('../../stack/dev-credentials') as typeof DevCredentials;
  const tokenFile = opts.tokenFile ?? devCredentialPaths(config.stack.dataDir).opsTokenFile;
  let token: string;
  try {
    token = fs.readFileSync(tokenFile, 'utf8').trim();
  } catch (e) {
    throw new CliError(`--token-file: ${tokenFile}: ${(e as Error).message}`, 2);
  }
  const base = opts.api ?? `http://${hostPort(config.stack.host, config.apiPort)}`;
  let url: string;
  try {
    url = new URL(path, base).toString();
  } catch {
    throw new CliError(`--api: "${base}" is not a URL`, 2);
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (e) {
    throw new CliError(`cannot reach the api at ${base}: ${(e as Error).message} (is preflight start running?)`);
  }
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: reported below
  }
  if (!res.ok) {
    const errors = Array.isArray(parsed.errors)
      ? (parsed.errors as Array<{ path: string; message: string }>).map((e) => ` ${e.path}: ${e.message}.`).join('')
      : '';
    const exit = res.status === 401 || res.status === 403 ? 4 : res.status === 404 ? 3 : res.status === 422 || res.status === 415 ? 2 : 1;
    throw new CliError(`${res.status} ${String(parsed.code ?? res.statusText)}: ${String(parsed.detail ?? parsed.title ?? text.slice(0, 200))}${errors}`, exit);
  }
  return parsed;
}

export function withApiOptions(command: Command, json = 'print the answer as JSON'): Command {
  return command
    .option('--api <url>', 'the api (default: this machine’s, from the configuration)')
    .option('--token-file <path>', 'file holding the ops token (default: the local stack’s dev/ops.token)')
    .option('--json', json);
}
