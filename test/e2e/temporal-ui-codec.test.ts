import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig, type Config } from '../../infra/config';
import { bringUpStack, type StackEndpoints } from '../../stack/local-stack';
import { freePort } from '../../infra/local-process';
import { createLogger } from '../../infra/logger';
import { connectClient, deploymentDataConverter } from '../../infra/temporal';
import { combineAuthenticators, hashSecret, opsAuthenticator } from '../../workers/api/auth';
import { startApiServer } from '../../workers/api/server';
import { codecEndpointUrl } from '../../workers/start';
import { startEncryptedWorker, submitCanaryFinding } from '../helpers/codec-fixture';
import { testStack, unique } from '../helpers/stack-env';

jest.setTimeout(300_000);

const logger = createLogger({ level: 'warn' });
const OPS_TOKEN = 'pfo_' + 'u'.repeat(43);
const CANARY = `UI-CANARY-${crypto.randomBytes(4).toString('hex')}`;

/**
 * The Temporal Web UI of a dev server started the way `preflight start` starts it (`--ui-codec-endpoint` = the api's
 * `/codec`), an api and an encrypting worker: an operator's browser sees the finding decrypted, a browser without
 * ops credentials does not.
 */
describe('Temporal Web UI decrypts through the codec endpoint for ops only', () => {
  let config: Config;
  let stack: StackEndpoints;
  let client: Client;
  let browser: Browser;
  let apiUrl = '';
  let historyUrl = '';
  const stops: Array<() => Promise<void>> = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-codec-e2e-'));

  beforeAll(async () => {
    // A dev server of our own (the shared test server is headless); Kafka is the shared test broker.
    config = loadConfig({
      PREFLIGHT_DATA_DIR: dataDir,
      PREFLIGHT_TEMPORAL_PORT: String(await freePort()),
      PREFLIGHT_TEMPORAL_UI_PORT: String(await freePort()),
      PREFLIGHT_API_PORT: String(await freePort()),
      PREFLIGHT_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
      PREFLIGHT_TASK_QUEUE: unique('ui-codec'),
      PREFLIGHT_LOG_LEVEL: 'warn',
      KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
    });
    stack = await bringUpStack(config, { persistent: false, headless: false, uiCodecEndpoint: codecEndpointUrl(config) });
    stops.push(() => stack.stop());
    expect(stack.uiUrl).toBeDefined();
    // What the UI server tells the browser: the codec endpoint, and no credentials unless the browser setting says so.
    const settings = (await (await fetch(`${stack.uiUrl}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string; IncludeCredentials?: boolean } };
    expect(settings.Codec).toMatchObject({ Endpoint: `http://127.0.0.1:${config.apiPort}/codec`, IncludeCredentials: false });
    // Unset TEMPORAL_ADDRESS means the local stack, so the allowed UI origin is the default: this dev server's UI.
    expect(config.uiOrigins).toEqual([stack.uiUrl]);

    const worker = await startEncryptedWorker(config, stack.temporalAddress);
    stops.push(() => worker.stop());
    const authenticator = combineAuthenticators(opsAuthenticator({ version: 1, operators: [{ operator: 'ui-ops', sha256: hashSecret(OPS_TOKEN) }] }));
    const api = await startApiServer(config, logger, { temporalAddress: stack.temporalAddress, kafkaBrokers: stack.kafkaBrokers, authenticator });
    stops.push(() => api.stop());
    apiUrl = api.url;
    client = await connectClient(config.temporal, stack.temporalAddress, deploymentDataConverter(config));
    stops.push(() => client.connection.close());

    const { workflowId } = await submitCanaryFinding(client, config.taskQueue, CANARY);
    const { runId } = await client.workflow.getHandle(workflowId).describe();
    historyUrl = `${stack.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`;
    browser = await chromium.launch({ executablePath: process.env.PREFLIGHT_CHROMIUM, args: ['--no-sandbox'] });
    stops.push(() => browser.close());
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Codec calls the page makes, with their status and whether the browser attached the session cookie. */
  function watchCodec(page: Page) {
    const calls: Array<{ status: number; cookie: boolean }> = [];
    page.on('response', async (response) => {
      if (!response.url().startsWith(`${apiUrl}/codec/decode`) || response.request().method() !== 'POST') return;
      const headers = await response.request().allHeaders();
      calls.push({ status: response.status(), cookie: (headers.cookie ?? '').includes('preflight_ops_session=') });
    });
    return calls;
  }

  /**
   * The Data Encoder setting an operator makes once per browser ("use my browser setting", the same endpoint, "include
   * cross-origin credentials"): the UI keeps it in localStorage; `--ui-codec-endpoint` alone sends no credentials.
   */
  async function useCodecWithCredentials(context: BrowserContext) {
    const page = await context.newPage();
    await page.goto(stack.uiUrl!);
    const settings = { endpoint: JSON.stringify(`${apiUrl}/codec`), includeCredentials: 'true', overrideRemoteCodecConfiguration: 'true' };
    await page.evaluate(`for (const [k, v] of Object.entries(${JSON.stringify(settings)})) localStorage.setItem(k, v)`);
    await page.close();
  }

  /** The console's "Sign in for the Temporal UI" step: the api sets the ops session cookie in this browser. */
  async function signInThroughConsole(context: BrowserContext) {
    const page = await context.newPage();
    await page.goto(`${apiUrl}/console/#token=${OPS_TOKEN}`);
    await page.getByRole('button', { name: 'Sign in for the Temporal UI' }).click();
    await page.getByText('Temporal UI: decrypting until').waitFor({ timeout: 15_000 });
    await page.close();
  }

  /**
   * Opens the history, waits for the UI's codec calls, expands the `submitFinding` update event (its input is the
   * finding) and returns everything the page shows.
   */
  async function historyText(page: Page, calls: unknown[]): Promise<string> {
    await page.goto(historyUrl);
    await page.getByText('Event History').first().waitFor({ timeout: 60_000 });
    const row = page.locator('tr').filter({ hasText: 'Workflow Execution Update Accepted' }).filter({ hasText: 'submitFinding' }).first();
    await row.waitFor({ timeout: 30_000 });
    for (let i = 0; i < 100 && calls.length === 0; i++) await page.waitForTimeout(200);
    await row.click();
    await page.waitForTimeout(2500);
    return page.locator('body').innerText();
  }

  it('shows the finding decrypted to an operator who signed in through the console', async () => {
    const context = await browser.newContext();
    await useCodecWithCredentials(context);
    await signInThroughConsole(context);
    const cookie = (await context.cookies(apiUrl + '/codec')).find((c) => c.name === 'preflight_ops_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/codec' });

    const page = await context.newPage();
    const calls = watchCodec(page);
    const text = await historyText(page, calls);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((c) => c.status === 200 && c.cookie)).toBe(true);
    expect(text).toContain(`detail ${CANARY}`);
    await context.close();
  });

  /** Opens the history in this browser and checks the UI got 401s (no cookie sent) and shows no plaintext; returns the page text. */
  async function expectRefused(context: BrowserContext): Promise<string> {
    const page = await context.newPage();
    const calls = watchCodec(page);
    const text = await historyText(page, calls);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((c) => c.status === 401 && !c.cookie)).toBe(true);
    expect(text).not.toContain(CANARY);
    return text;
  }

  it('does not show it to a browser without ops credentials: the endpoint answers 401 and the page keeps ciphertext', async () => {
    const context = await browser.newContext();
    await useCodecWithCredentials(context);
    expect(await expectRefused(context)).toMatch(/Codec Server could not connect|binary\/encrypted|encryption-key-id/);
    await context.close();
  });

  it('with only the server flag (no browser setting), the UI sends no credentials, so even a signed-in browser gets 401', async () => {
    const context = await browser.newContext();
    await signInThroughConsole(context);
    await expectRefused(context);
    await context.close();
  });
});
