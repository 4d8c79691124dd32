import { retry } from '../../infra/retry';

/** A call that fails `failures` times, then answers. */
function flaky(failures: number) {
  let calls = 0;
  const fn = async () => {
    calls++;
    if (calls <= failures) throw new Error(`failure ${calls}`);
    return 'ok';
  };
  return { fn, calls: () => calls };
}

describe('retry', () => {
  it('waits with doubling backoff up to the cap, reporting each retried failure before its wait', async () => {
    const { fn, calls } = flaky(5);
    const events: string[] = [];
    const result = await retry(fn, {
      backoff: { initialMs: 200, maxMs: 1000 },
      onRetry: (e, attempt) => events.push(`retry ${attempt}: ${(e as Error).message}`),
      wait: async (ms) => {
        events.push(`wait ${ms}`);
      },
    });
    expect(result).toBe('ok');
    expect(calls()).toBe(6);
    expect(events).toEqual([
      'retry 1: failure 1',
      'wait 200',
      'retry 2: failure 2',
      'wait 400',
      'retry 3: failure 3',
      'wait 800',
      'retry 4: failure 4',
      'wait 1000',
      'retry 5: failure 5',
      'wait 1000',
    ]);
  });

  it('throws a failure that is not retriable at once', async () => {
    const { fn, calls } = flaky(3);
    const waits: number[] = [];
    await expect(
      retry(fn, { backoff: { initialMs: 1, maxMs: 1 }, isRetriable: (e) => (e as Error).message !== 'failure 2', wait: async (ms) => void waits.push(ms) }),
    ).rejects.toThrow('failure 2');
    expect(calls()).toBe(2);
    expect(waits).toEqual([1]);
  });

  it('throws the last failure once the attempts are used up', async () => {
    const { fn, calls } = flaky(10);
    await expect(retry(fn, { attempts: 3, backoff: { initialMs: 1, maxMs: 1 }, wait: async () => undefined })).rejects.toThrow('failure 3');
    expect(calls()).toBe(3);
  });

  it('waits on a real timer by default', async () => {
    const { fn } = flaky(1);
    const started = Date.now();
    await expect(retry(fn, { backoff: { initialMs: 30, maxMs: 30 } })).resolves.toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
