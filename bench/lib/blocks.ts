import { alternate } from './stats';

/** Runs `count` tasks with at most `concurrency` at a time; results in task order. Rejects on the first failure. */
export async function mapBounded<R>(count: number, concurrency: number, task: (i: number) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  const results: R[] = new Array<R>(count);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  });
  await Promise.all(lanes);
  return results;
}

export interface TimedBlock<R> {
  /** Wall-clock seconds from the first start to the last completion. */
  seconds: number;
  /** Completed tasks per second. */
  throughput: number;
  results: R[];
}

/** One block: `count` tasks started with bounded concurrency, timed as a whole. */
export async function timedBlock<R>(count: number, concurrency: number, task: (i: number) => Promise<R>): Promise<TimedBlock<R>> {
  const started = process.hrtime.bigint();
  const results = await mapBounded(count, concurrency, task);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, throughput: count / seconds, results };
}

/** Polls until `read` returns a value, at most `timeoutMs`. */
export async function pollUntil<T>(read: () => Promise<T | undefined>, what: string, timeoutMs: number, intervalMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const v = await read();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

/**
 * ABBA blocks (see `alternate`) until `maxPairs` pairs are done or the next pair would end after `deadline` (judged by
 * the first pair's duration, keeping `reserveMs` for the work after the blocks). At least one pair always runs.
 */
export async function alternateUntil<T>(
  deadline: number,
  maxPairs: number,
  candidate: () => Promise<T>,
  baseline: () => Promise<T>,
  reserveMs = 8_000,
): Promise<{ candidate: T[]; baseline: T[] }> {
  const started = Date.now();
  const first = await alternate(1, candidate, baseline);
  const pairMs = Math.max(Date.now() - started, 1);
  const more = Math.max(0, Math.min(maxPairs - 1, Math.floor((deadline - Date.now() - reserveMs) / pairMs)));
  if (more === 0) return first;
  // The first pair ran candidate then baseline, so the sequence goes on with the baseline.
  const rest = await alternate(more, baseline, candidate);
  return { candidate: [...first.candidate, ...rest.baseline], baseline: [...first.baseline, ...rest.candidate] };
}
